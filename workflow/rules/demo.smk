# The embedded demo: ILSVRC-2012- and SUN397-layout trees built from installed packages
# (photographs) or generated (the learnable task).


rule demo:
    output:
        ilsvrc=directory(f"{RES}/demo/ILSVRC2012"),
        sun=directory(f"{RES}/demo/SUN397"),
    log:
        f"{LOGS}/demo/demo.log",
    localrule: True
    conda:
        "../../envs/data.yaml"
    params:
        library=library_code("demo.py"),
        demo=S.demo,
    script:
        "../scripts/demo.py"

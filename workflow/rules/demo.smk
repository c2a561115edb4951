# The embedded demo: ILSVRC-2012- and SUN397-layout trees built from installed packages.


rule demo:
    output:
        ilsvrc=directory(f"{DEMO_DIR}/ILSVRC2012"),
        sun=directory(f"{DEMO_DIR}/SUN397"),
    log:
        "logs/demo/demo.log",
    conda:
        "../../envs/data.yaml"
    params:
        train_per_source=config["demo"]["train_per_source"],
        test_per_source=config["demo"]["test_per_source"],
        seed=config["demo"]["seed"],
    script:
        "../scripts/demo.py"

# Test images (SUN397 layout) and their colorization at the original resolution.


rule test_set:
    input:
        demo=test_demo_input(),
    output:
        table="results/test/test_set.tsv",
        rejected="results/test/rejected.tsv",
    log:
        "logs/test/test_set.log",
    benchmark:
        "benchmarks/test/test_set.tsv"
    conda:
        "../../envs/data.yaml"
    threads: TEST["threads"]
    params:
        root=test_root,
        list_file=TEST["list_file"],
        n_per_category=TEST["n_per_category"],
        seed=TEST["seed"],
        min_chroma=TEST["min_chroma"],
        max_pixels=DATA["max_pixels"],
    script:
        "../scripts/test_set.py"


rule colorize:
    input:
        table=rules.test_set.output.table,
        model=rules.train.output.model,
    output:
        images=directory("results/colorize/model"),
        index="results/colorize/model.tsv",
    log:
        "logs/colorize/colorize.log",
    benchmark:
        "benchmarks/colorize/colorize.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: config["colorize"]["threads"]
    resources:
        gpu=config["colorize"]["gpus"],
        # full-resolution float64 Y/UV planes of one batch (SUN images reach ~12 MP)
        mem_mb=2048 + 400 * config["colorize"]["batch_size"],
    params:
        size=DATA["image_size"],
        batch_size=config["colorize"]["batch_size"],
        alpha=config["colorize"]["alpha"],
        device=lambda wc: "auto" if config["colorize"]["gpus"] else "cpu",
    script:
        "../scripts/colorize.py"

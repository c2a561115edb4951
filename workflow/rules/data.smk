# Training data: sample the manifest, then convert it shard by shard to Y and UV arrays.


rule sample:
    input:
        demo=demo_input("ilsvrc"),
    output:
        manifest="results/data/manifest.tsv",
    log:
        "logs/data/sample.log",
    benchmark:
        "benchmarks/data/sample.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        source=sample_source(),
        root=training_root,
        n_images=DATA["n_images"],
        allow_fewer=DATA["allow_fewer"],
        seed=DATA["seed"],
    script:
        "../scripts/sample.py"


rule prepare:
    input:
        manifest=rules.sample.output.manifest,
    output:
        Y="results/data/shards/shard-{shard}.Y.npy",
        UV="results/data/shards/shard-{shard}.UV.npy",
        index="results/data/shards/shard-{shard}.index.tsv",
        rejected="results/data/shards/shard-{shard}.rejected.tsv",
    log:
        "logs/data/prepare-{shard}.log",
    benchmark:
        "benchmarks/data/prepare-{shard}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: DATA["threads"]
    resources:
        # A shard is written through a memory map; the pool holds one decoded image per thread.
        mem_mb=lambda wc, threads: 1024 + 256 * threads,
    params:
        shard_size=DATA["shard_size"],
        image_size=DATA["image_size"],
        resize=DATA["resize"],
        resample=DATA["resample"],
        min_side=DATA["min_side"],
        max_pixels=DATA["max_pixels"],
        min_chroma=DATA["min_chroma"],
        reduced_decode=DATA["reduced_decode"],
    script:
        "../scripts/prepare.py"


rule rejected:
    input:
        shard_files("rejected.tsv"),
    output:
        "results/data/rejected.tsv",
    log:
        "logs/data/rejected.log",
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/concat_rejected.py"

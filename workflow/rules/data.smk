# Training data: sample the manifest, convert it shard by shard to Y and UV arrays, and
# summarise what was kept and rejected.


rule sample:
    input:
        demo=demo_tree("ilsvrc"),
    output:
        manifest=f"{RES}/data/manifest.tsv",
    log:
        f"{LOGS}/data/sample.log",
    benchmark:
        f"{BENCH}/data/sample.tsv"
    conda:
        "../../envs/data.yaml"
    resources:
        # listing 1.3M files on a network file system can take a while
        runtime=grow(60),
    params:
        library=library_code("sample.py"),
        source="ilsvrc" if S.data.source == "demo" else S.data.source,
        root=training_root,
        dataset=dataset("ilsvrc"),
        n_images=S.data.n_sampled,
        n_val_images=S.data.n_val_images,
        allow_fewer=S.data.allow_fewer,
        seed=S.data.seed,
    script:
        "../scripts/sample.py"


rule prepare:
    input:
        manifest=rules.sample.output.manifest,
    output:
        Y=shard_path("Y"),
        UV=shard_path("UV"),
        index=shard_path("index"),
        rejected=shard_path("rejected"),
    log:
        f"{LOGS}/data/prepare-{{shard}}.log",
    benchmark:
        f"{BENCH}/data/prepare-{{shard}}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: S.data.threads
    resources:
        # kept rows are appended as they come; the pool holds a few decoded images per thread
        mem_mb=grow(lambda wc, threads: 1024 + 256 * threads),
        # about 20 ms per image and thread, from a network file system
        runtime=grow(lambda wc, threads: minutes(S.data.shard_size, 0.02, threads)),
    params:
        library=library_code("prepare.py"),
        options=asdict(S.data.prepare),
        shard_size=S.data.shard_size,
        train_rows=S.data.n_images,
    script:
        "../scripts/prepare.py"


rule data_summary:
    input:
        manifest=rules.sample.output.manifest,
        index=shard_files("index"),
        rejected=shard_files("rejected"),
    output:
        rejected=f"{RES}/data/rejected.tsv",
        classes=f"{RES}/data/classes.tsv",
        chroma=f"{RES}/data/chroma_stats.json",
    log:
        f"{LOGS}/data/data_summary.log",
    localrule: True
    conda:
        "../../envs/data.yaml"
    params:
        library=library_code("data_summary.py"),
    script:
        "../scripts/data_summary.py"

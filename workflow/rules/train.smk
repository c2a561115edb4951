# The backbone's weights, resolved locally, and one training job per variant and seed.


rule backbone:
    input:
        backbone_source(),
    output:
        weights=f"{RES}/backbone/weights.pt",
        record=f"{RES}/backbone/weights.json",
    log:
        f"{LOGS}/backbone/backbone.log",
    conda:
        "../../envs/torch.yaml"
    params:
        plan=asdict(BACKBONE),
    script:
        "../scripts/backbone.py"


rule train:
    input:
        Y=shard_files("Y"),
        UV=shard_files("UV"),
        index=shard_files("index"),
        backbone=rules.backbone.output.weights,
        backbone_record=rules.backbone.output.record,
    output:
        model=protected(f"{RUN_DIR}/train/model.pt"),
        metrics=f"{RUN_DIR}/train/metrics.tsv",
        summary=f"{RUN_DIR}/train/summary.json",
    log:
        f"{LOGS}/{{variant}}/seed{{seed}}/train.log",
    benchmark:
        f"{BENCH}/{{variant}}/seed{{seed}}/train.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: lambda wc: run_of(wc).resources.threads
    resources:
        gpu=lambda wc: run_of(wc).resources.gpus,
        mem_mb=train_mem_mb,
        runtime=lambda wc: run_of(wc).resources.runtime_min,
    params:
        head=lambda wc: asdict(run_of(wc).head),
        train=lambda wc: asdict(run_of(wc).train),
        gpus=lambda wc: run_of(wc).resources.gpus,
        n_train_rows=S.data.n_images,
        checkpoint_dir=lambda wc: f"{RES}/{wc.variant}/seed{wc.seed}/train/checkpoints",
        record=lambda wc: {"variant": wc.variant, "seed": int(wc.seed)},
    script:
        "../scripts/train.py"

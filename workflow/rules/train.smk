# The backbone's weights, resolved locally, and one training job per variant and seed.


rule backbone:
    input:
        backbone_source(),
    output:
        weights=f"{RES}/backbone/weights.pt",
        record=f"{RES}/backbone/weights.json",
    log:
        f"{LOGS}/backbone/backbone.log",
    localrule: True
    conda:
        "../../envs/torch-cpu.yaml"
    params:
        library=library_code("backbone.py"),
        key=BACKBONE.key,
        download=S.download_weights,
        data_source=S.data.source,
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
        model=f"{RUN_DIR}/train/model.pt",
        metrics=f"{RUN_DIR}/train/metrics.tsv",
        summary=f"{RUN_DIR}/train/summary.json",
    log:
        f"{LOGS}/{RUN_FOLDER}/train.log",
    benchmark:
        f"{BENCH}/{RUN_FOLDER}/train.tsv"
    conda:
        run_torch_env
    threads: run_threads
    resources:
        gpu=run_gpus,
        mem_mb=grow(train_mem_mb),
        # not grown: a job stopped at its wall time resumes from its checkpoint when resubmitted
        runtime=run_minutes,
    params:
        library=library_code("train.py"),
        head=run_head,
        train=run_train,
        gpus=run_gpus,
        n_train_rows=S.data.n_images,
        record=run_record,
    script:
        "../scripts/train.py"

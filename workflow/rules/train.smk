# Training the head of the paper's network on the shards.


rule train:
    input:
        Y=shard_files("Y.npy"),
        UV=shard_files("UV.npy"),
    output:
        model=protected("results/train/model.pt"),
        metrics="results/train/metrics.tsv",
        summary="results/train/summary.json",
    log:
        "logs/train/train.log",
    benchmark:
        "benchmarks/train/train.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: TRAIN["threads"]
    resources:
        gpu=TRAIN["gpus"],
        mem_mb=train_mem_mb,
        runtime=TRAIN["runtime_min"],
    params:
        head=head_params(),
        train=train_params(),
        backbone=backbone_params(),
        checkpoint_dir="results/train/checkpoints",
        gpus=TRAIN["gpus"],
    script:
        "../scripts/train.py"

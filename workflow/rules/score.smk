# Metrics for the model and the baselines, scored the same way.


rule chroma_stats:
    input:
        UV=shard_files("UV.npy"),
    output:
        "results/data/chroma_stats.json",
    log:
        "logs/data/chroma_stats.log",
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/chroma_stats.py"


rule score:
    input:
        table=rules.test_set.output.table,
        index=rules.colorize.output.index,
        stats=rules.chroma_stats.output[0],
    output:
        scores="results/score/scores.tsv",
        summary="results/score/summary.tsv",
        by_category="results/score/by_category.tsv",
    log:
        "logs/score/score.log",
    benchmark:
        "benchmarks/score/score.tsv"
    conda:
        "../../envs/data.yaml"
    threads: config["score"]["threads"]
    resources:
        # each process holds one image pair's 12 float64 QSSIM planes (~1.2 GB at 12 MP)
        mem_mb=lambda wc, threads: 1024 + 1536 * threads,
    params:
        resolution=config["score"]["resolution"],
        model_size=DATA["image_size"],
        n_boot=config["score"]["n_boot"],
    script:
        "../scripts/score.py"

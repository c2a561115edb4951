# Metrics for every run of the model and for the baselines (scored once), then the study:
# paired comparisons, seeds, claims.


rule score:
    input:
        table=rules.test_set.output.table,
        colorized=rules.colorize.output.index,
    output:
        scores=f"{RUN_DIR}/score/scores.tsv",
    log:
        f"{LOGS}/{{variant}}/seed{{seed}}/score.log",
    benchmark:
        f"{BENCH}/{{variant}}/seed{{seed}}/score.tsv"
    conda:
        "../../envs/data.yaml"
    threads: S.score.threads
    resources:
        # each process holds one image pair's planes (~1.2 GB at 12 MP)
        mem_mb=lambda wc, threads: 1024 + 1536 * threads,
        # QSSIM, SSIM, PSNR and colourfulness: about 0.2 s per 1 MP image
        runtime=lambda wc, threads: minutes(n_test_images(), 0.2, threads),
    params:
        resolution=S.score.resolution,
        model_size=S.data.prepare.image_size,
        run=lambda wc: {"variant": wc.variant, "seed": int(wc.seed)},
    script:
        "../scripts/score.py"


use rule score as score_baselines with:
    input:
        table=rules.test_set.output.table,
        stats=rules.data_summary.output.chroma,
    output:
        scores=f"{RES}/baselines/score/scores.tsv",
    log:
        f"{LOGS}/baselines/score.log",
    benchmark:
        f"{BENCH}/baselines/score.tsv"
    resources:
        mem_mb=lambda wc, threads: 1024 + 1536 * threads,
        runtime=lambda wc, threads: minutes(2 * n_test_images(), 0.2, threads),
    params:
        resolution=S.score.resolution,
        model_size=S.data.prepare.image_size,
        run={},


rule study:
    input:
        runs=run_files("score/scores.tsv"),
        baselines=rules.score_baselines.output.scores,
    output:
        scores=f"{RES}/study/scores.tsv",
        claims=f"{RES}/study/claims.tsv",
        summary=f"{RES}/study/summary.tsv",
        seeds=f"{RES}/study/seeds.tsv",
        by_category=f"{RES}/study/by_category.tsv",
    log:
        f"{LOGS}/study/study.log",
    benchmark:
        f"{BENCH}/study/study.tsv"
    conda:
        "../../envs/data.yaml"
    resources:
        runtime=60,
    params:
        claims={r.variant: r.claim for r in S.runs},
        reference=S.reference,
        n_boot=S.score.n_boot,
    script:
        "../scripts/study.py"

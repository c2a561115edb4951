# Metrics for every run of the model and for the baselines (scored once), then the study:
# paired comparisons, seeds, claims.


rule score:
    input:
        table=rules.test_set.output.table,
        colorized=rules.colorize.output.index,
    output:
        scores=f"{RUN_DIR}/score/scores.tsv",
    log:
        f"{LOGS}/{RUN_FOLDER}/score.log",
    benchmark:
        f"{BENCH}/{RUN_FOLDER}/score.tsv"
    conda:
        "../../envs/data.yaml"
    threads: S.score.threads
    resources:
        mem_mb=grow(score_mem_mb),
        # QSSIM, SSIM, PSNR, colourfulness 0.2 s and CIEDE2000 0.5 s per 1 MP image
        runtime=grow(lambda wc, threads: minutes(n_test_images(), 0.7, threads)),
    params:
        library=library_code("score.py"),
        resolution=S.score.resolution,
        model_size=S.data.prepare.image_size,
        run=run_record,
    script:
        "../scripts/score.py"


rule score_baselines:
    input:
        table=rules.test_set.output.table,
        stats=rules.data_summary.output.chroma,
    output:
        scores=f"{RES}/baselines/score/scores.tsv",
    log:
        f"{LOGS}/baselines/score.log",
    benchmark:
        f"{BENCH}/baselines/score.tsv"
    conda:
        "../../envs/data.yaml"
    threads: S.score.threads
    resources:
        mem_mb=grow(score_mem_mb),
        runtime=grow(
            lambda wc, threads: minutes(len(BASELINES) * n_test_images(), 0.7, threads)
        ),
    params:
        library=library_code("score_baselines.py"),
        resolution=S.score.resolution,
        model_size=S.data.prepare.image_size,
        baselines=list(BASELINES),
    script:
        "../scripts/score_baselines.py"


rule score_external:
    input:
        table=rules.test_set.output.table,
        outputs=external_outputs,
    output:
        scores=f"{RES}/external/{{system}}/score/scores.tsv",
    log:
        f"{LOGS}/external/{{system}}/score.log",
    benchmark:
        f"{BENCH}/external/{{system}}/score.tsv"
    conda:
        "../../envs/data.yaml"
    threads: S.score.threads
    resources:
        mem_mb=grow(score_mem_mb),
        runtime=grow(lambda wc, threads: minutes(n_test_images(), 0.7, threads)),
    params:
        library=library_code("score_external.py"),
        listing=external_listing,
        resize=lambda wc: external_of(wc).resize,
        resolution=S.score.resolution,
        model_size=S.data.prepare.image_size,
    script:
        "../scripts/score_external.py"


rule study:
    input:
        runs=run_files("score/scores.tsv"),
        baselines=rules.score_baselines.output.scores,
        external=external_scores(),
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
        runtime=grow(60),
    params:
        library=library_code("study.py"),
        claims={r.variant: r.claim for r in S.runs},
        external_claims={e.name: e.claim for e in S.external},
        reference=S.reference,
        n_boot=S.score.n_boot,
    script:
        "../scripts/study.py"

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


# LPIPS and FID (score.perceptual, off by default): one torch job per system, like the
# scores above, then FID over every system's features.


rule perceptual:
    input:
        table=rules.test_set.output.table,
        colorized=rules.colorize.output.index,
        weights=perceptual_weights(),
    output:
        scores=f"{RUN_DIR}/perceptual/scores.tsv",
        features=f"{RUN_DIR}/perceptual/features.npz",
    log:
        f"{LOGS}/{RUN_FOLDER}/perceptual.log",
    benchmark:
        f"{BENCH}/{RUN_FOLDER}/perceptual.tsv"
    conda:
        torch_env(PERCEPTUAL.gpus)
    threads: PERCEPTUAL.threads
    resources:
        gpu=PERCEPTUAL.gpus,
        mem_mb=grow(perceptual_mem_mb),
        runtime=grow(perceptual_minutes(1)),
    params:
        **perceptual_params(),
        library=library_code("perceptual.py"),
        kind="run",
        run=run_record,
        baselines=[],
        resize=False,
    script:
        "../scripts/perceptual.py"


rule perceptual_baselines:
    input:
        table=rules.test_set.output.table,
        stats=rules.data_summary.output.chroma,
        weights=perceptual_weights(),
    output:
        scores=f"{RES}/baselines/perceptual/scores.tsv",
        features=f"{RES}/baselines/perceptual/features.npz",
    log:
        f"{LOGS}/baselines/perceptual.log",
    benchmark:
        f"{BENCH}/baselines/perceptual.tsv"
    conda:
        torch_env(PERCEPTUAL.gpus)
    threads: PERCEPTUAL.threads
    resources:
        gpu=PERCEPTUAL.gpus,
        mem_mb=grow(perceptual_mem_mb),
        runtime=grow(perceptual_minutes(len(BASELINES) + 1)),
    params:
        **perceptual_params(),
        library=library_code("perceptual.py"),
        kind="baselines",
        run={},
        baselines=list(BASELINES),
        resize=False,
    script:
        "../scripts/perceptual.py"


rule perceptual_external:
    input:
        table=rules.test_set.output.table,
        outputs=external_outputs,
        weights=perceptual_weights(),
    output:
        scores=f"{RES}/external/{{system}}/perceptual/scores.tsv",
        features=f"{RES}/external/{{system}}/perceptual/features.npz",
    log:
        f"{LOGS}/external/{{system}}/perceptual.log",
    benchmark:
        f"{BENCH}/external/{{system}}/perceptual.tsv"
    conda:
        torch_env(PERCEPTUAL.gpus)
    threads: PERCEPTUAL.threads
    resources:
        gpu=PERCEPTUAL.gpus,
        mem_mb=grow(perceptual_mem_mb),
        runtime=grow(perceptual_minutes(1)),
    params:
        **perceptual_params(),
        library=library_code("perceptual.py"),
        kind="external",
        run={},
        baselines=[],
        listing=external_listing,
        resize=lambda wc: external_of(wc).resize,
    script:
        "../scripts/perceptual.py"


rule fid:
    input:
        features=perceptual_files("features.npz"),
    output:
        fid=f"{RES}/perceptual/fid.tsv",
    log:
        f"{LOGS}/perceptual/fid.log",
    benchmark:
        f"{BENCH}/perceptual/fid.tsv"
    conda:
        torch_env(PERCEPTUAL.gpus)
    threads: PERCEPTUAL.threads
    resources:
        gpu=PERCEPTUAL.gpus,
        mem_mb=grow(4096),
        # a Fréchet distance per resample and system (2,048 features: about 2 s on a CPU)
        runtime=grow(
            lambda wc, threads: minutes(
                (PERCEPTUAL.fid_n_boot + 1) * len(perceptual_files("features.npz")),
                2.0,
            )
        ),
    params:
        library=library_code("fid.py"),
        n_boot=PERCEPTUAL.fid_n_boot,
        device="cuda" if PERCEPTUAL.gpus else "cpu",
    script:
        "../scripts/fid.py"


rule study:
    input:
        runs=run_files("score/scores.tsv"),
        baselines=rules.score_baselines.output.scores,
        external=external_scores(),
        lpips=perceptual_files("scores.tsv") if PERCEPTUAL.lpips else [],
        fid=[rules.fid.output.fid] if PERCEPTUAL.fid else [],
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

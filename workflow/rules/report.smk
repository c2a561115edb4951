# Figures and tables in the reports folder, built from the results tables alone: editing a
# figure script reruns only its rule, never training or inference. Every rule here is local.


rule figure_training:
    input:
        metrics=run_files("train/metrics.tsv"),
    output:
        figure("training_curves"),
    log:
        f"{LOGS}/report/figure_training.log",
    localrule: True
    conda:
        "../../envs/report.yaml"
    params:
        library=library_code("figure_training.py"),
        runs=[{"variant": r.variant, "seed": r.seed} for r in S.runs],
    script:
        "../scripts/figure_training.py"


rule figure_scores:
    input:
        scores=rules.study.output.scores,
    output:
        qssim=figure("qssim_distribution"),
        seeds=figure("seed_spread"),
        vs_gray=figure("model_vs_gray"),
        colourfulness=figure("qssim_vs_colourfulness"),
    log:
        f"{LOGS}/report/figure_scores.log",
    localrule: True
    conda:
        "../../envs/report.yaml"
    params:
        library=library_code("figure_scores.py"),
        reference=S.reference,
    script:
        "../scripts/figure_scores.py"


rule figure_claims:
    input:
        claims=rules.study.output.claims,
    output:
        figure("paired_deltas"),
    log:
        f"{LOGS}/report/figure_claims.log",
    localrule: True
    conda:
        "../../envs/report.yaml"
    params:
        library=library_code("figure_claims.py"),
    script:
        "../scripts/figure_claims.py"


rule figure_categories:
    input:
        by_category=rules.study.output.by_category,
    output:
        figure("category_qssim"),
    log:
        f"{LOGS}/report/figure_categories.log",
    localrule: True
    conda:
        "../../envs/report.yaml"
    params:
        library=library_code("figure_categories.py"),
        reference=S.reference,
    script:
        "../scripts/figure_categories.py"


rule figure_examples:
    input:
        scores=reference_run(rules.score.output.scores),
        baselines=rules.score_baselines.output.scores,
        table=rules.test_set.output.table,
        colorized=reference_run(rules.colorize.output.index),
    output:
        figure("examples"),
    log:
        f"{LOGS}/report/figure_examples.log",
    localrule: True
    conda:
        "../../envs/report.yaml"
    params:
        library=library_code("figure_examples.py"),
    script:
        "../scripts/figure_examples.py"


rule results_table:
    input:
        claims=rules.study.output.claims,
        summary=rules.study.output.summary,
        seeds=rules.study.output.seeds,
        runs=run_files("train/summary.json"),
        peers=peer_records(),
    output:
        html=report(
            f"{REPORTS}/results.html",
            caption="../report/results.rst",
            category="Claims",
            labels={"item": "results table"},
        ),
        md=f"{REPORTS}/results.md",
        tsv=f"{REPORTS}/results.tsv",
    log:
        f"{LOGS}/report/results_table.log",
    localrule: True
    conda:
        "../../envs/report.yaml"
    params:
        library=library_code("results_table.py"),
        settings=report_workflow_settings(),
    script:
        "../scripts/results_table.py"


rule gallery:
    input:
        scores=rules.study.output.scores,
        claims=rules.study.output.claims,
        table=rules.test_set.output.table,
        stats=rules.data_summary.output.chroma,
        colorized=gallery_runs(rules.colorize.output.index),
        external=external_folders(),
    output:
        report(
            directory(f"{REPORTS}/gallery"),
            htmlindex="index.html",
            caption="../report/gallery.rst",
            category="Gallery",
            labels={"item": "gallery"},
        ),
    log:
        f"{LOGS}/report/gallery.log",
    benchmark:
        f"{BENCH}/report/gallery.tsv"
    conda:
        "../../envs/report.yaml"
    threads: S.gallery.threads
    resources:
        # decode, resize and encode every column of every test image: ~0.1 s each on a CPU
        runtime=grow(lambda wc, threads: minutes(6 * n_test_images(), 0.1, threads)),
    params:
        library=library_code("gallery.py"),
        variants=VARIANTS,
        externals=list(EXTERNAL),
        thumb_size=S.gallery.thumb_size,
        view_size=S.gallery.view_size,
        per_page=S.gallery.per_page,
        title=f"colorcnn gallery: {Path(REPORTS).name}",
    script:
        "../scripts/gallery.py"


rule reports:
    default_target: False
    input:
        [f"{REPORTS}/figures/{name}.png" for name in FIGURES],
        rules.results_table.output,
        rules.gallery.output,
    localrule: True

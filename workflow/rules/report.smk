# Figures and tables in the reports folder, built from the results tables alone: editing a
# figure script reruns only these rules, never training or inference.


localrules:
    demo,
    backbone,
    data_summary,
    figure_training,
    figure_scores,
    figure_claims,
    figure_categories,
    figure_examples,
    results_table,
    reports,
    all,


rule figure_training:
    input:
        metrics=run_files("train/metrics.tsv"),
    output:
        figure("training_curves", "Training"),
    log:
        f"{LOGS}/report/figure_training.log",
    conda:
        "../../envs/report.yaml"
    params:
        kind="training",
        runs=[{"variant": r.variant, "seed": r.seed} for r in S.runs],
    script:
        "../scripts/figures.py"


rule figure_scores:
    input:
        scores=rules.study.output.scores,
    output:
        qssim=figure("qssim_distribution", "Scores"),
        seeds=figure("seed_spread", "Scores"),
        vs_gray=figure("model_vs_gray", "Scores"),
        colourfulness=figure("qssim_vs_colourfulness", "Scores"),
    log:
        f"{LOGS}/report/figure_scores.log",
    conda:
        "../../envs/report.yaml"
    params:
        kind="scores",
        reference=S.reference,
    script:
        "../scripts/figures.py"


rule figure_claims:
    input:
        claims=rules.study.output.claims,
    output:
        figure("paired_deltas", "Claims"),
    log:
        f"{LOGS}/report/figure_claims.log",
    conda:
        "../../envs/report.yaml"
    params:
        kind="claims",
    script:
        "../scripts/figures.py"


rule figure_categories:
    input:
        by_category=rules.study.output.by_category,
    output:
        figure("category_qssim", "Scores"),
    log:
        f"{LOGS}/report/figure_categories.log",
    conda:
        "../../envs/report.yaml"
    params:
        kind="categories",
        reference=S.reference,
    script:
        "../scripts/figures.py"


rule figure_examples:
    input:
        scores=f"{RES}/{S.reference}/seed{SEEDS[0]}/score/scores.tsv",
        baselines=rules.score_baselines.output.scores,
        table=rules.test_set.output.table,
        colorized=f"{RES}/{S.reference}/seed{SEEDS[0]}/colorize/colorized.tsv",
    output:
        figure("examples", "Examples"),
    log:
        f"{LOGS}/report/figure_examples.log",
    conda:
        "../../envs/report.yaml"
    params:
        kind="examples",
    script:
        "../scripts/figures.py"


rule results_table:
    input:
        claims=rules.study.output.claims,
        summary=rules.study.output.summary,
        seeds=rules.study.output.seeds,
        runs=run_files("train/summary.json"),
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
    conda:
        "../../envs/report.yaml"
    params:
        kind="table",
        settings=report_workflow_settings(),
    script:
        "../scripts/figures.py"


rule reports:
    default_target: False
    input:
        REPORT_FILES,

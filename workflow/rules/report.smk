# Figures and tables in reports/, built from the results tables alone: editing a figure
# script reruns only these rules, never training or inference.


rule figure_training:
    input:
        metrics=rules.train.output.metrics,
    output:
        report(
            "reports/figures/training_curves.png",
            caption="../report/training_curves.rst",
            category="Training",
        ),
    log:
        "logs/report/figure_training.log",
    conda:
        "../../envs/report.yaml"
    params:
        kind="training",
    script:
        "../scripts/figures.py"


rule figure_qssim:
    input:
        scores=rules.score.output.scores,
    output:
        report(
            "reports/figures/qssim_distribution.png",
            caption="../report/qssim_distribution.rst",
            category="Scores",
        ),
    log:
        "logs/report/figure_qssim.log",
    conda:
        "../../envs/report.yaml"
    params:
        kind="qssim",
    script:
        "../scripts/figures.py"


rule figure_categories:
    input:
        by_category=rules.score.output.by_category,
    output:
        report(
            "reports/figures/category_qssim.png",
            caption="../report/category_qssim.rst",
            category="Scores",
        ),
    log:
        "logs/report/figure_categories.log",
    conda:
        "../../envs/report.yaml"
    params:
        kind="categories",
    script:
        "../scripts/figures.py"


rule figure_colourfulness:
    input:
        scores=rules.score.output.scores,
    output:
        report(
            "reports/figures/qssim_vs_colourfulness.png",
            caption="../report/qssim_vs_colourfulness.rst",
            category="Scores",
        ),
    log:
        "logs/report/figure_colourfulness.log",
    conda:
        "../../envs/report.yaml"
    params:
        kind="colourfulness",
    script:
        "../scripts/figures.py"


rule figure_examples:
    input:
        scores=rules.score.output.scores,
        table=rules.test_set.output.table,
        index=rules.colorize.output.index,
    output:
        report(
            "reports/figures/examples.png",
            caption="../report/examples.rst",
            category="Examples",
        ),
    log:
        "logs/report/figure_examples.log",
    conda:
        "../../envs/report.yaml"
    params:
        kind="examples",
    script:
        "../scripts/figures.py"


rule results_table:
    input:
        summary=rules.score.output.summary,
        train=rules.train.output.summary,
    output:
        md=report(
            "reports/results.md",
            caption="../report/results.rst",
            category="Tables",
        ),
        tsv="reports/results.tsv",
    log:
        "logs/report/results_table.log",
    conda:
        "../../envs/report.yaml"
    params:
        kind="table",
        settings=report_settings(),
    script:
        "../scripts/figures.py"


rule reports:
    default_target: False
    input:
        REPORT_FILES,

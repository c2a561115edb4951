# Varga & Szirányi, "Fully automatic image colorization based on Convolutional Neural
# Network" (ICPR 2016), reimplemented end to end. This file is the table of contents; each
# stage lives in workflow/rules/, the substance in src/colorcnn/.

from snakemake.utils import min_version, validate

min_version("8.0")


configfile: "config.yaml"


validate(config, "workflow/schemas/config.schema.yaml", set_default=False)


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/colorize.smk"
include: "workflow/rules/score.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets(),
    localrule: True

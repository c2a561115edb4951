# Running from a checkout: `snakemake --cores all` here runs the workflow, whose entry point
# is workflow/Snakefile (the one Snakemake modules, snakedeploy and the workflow catalog use).


include: "workflow/Snakefile"


# an included file's default target does not carry over: make the workflow's `all` it here too
workflow.default_target = "all"

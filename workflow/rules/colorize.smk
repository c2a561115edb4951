# Test images (SUN397 layout) and their colorization at the original resolution.


rule test_set:
    input:
        demo=demo_tree("sun"),
    output:
        table=f"{RES}/test/test_set.tsv",
        rejected=f"{RES}/test/rejected.tsv",
        # the ground truth of protocols that prepare it (val5k, val50k), and PROTOCOL.txt
        truth=directory(f"{RES}/test/truth"),
    log:
        f"{LOGS}/test/test_set.log",
    benchmark:
        f"{BENCH}/test/test_set.tsv"
    conda:
        "../../envs/data.yaml"
    threads: S.test.threads
    resources:
        # one reduced-size decode per candidate, a few rejected per category
        runtime=grow(lambda wc, threads: minutes(1.5 * n_test_images(), 0.05, threads)),
    params:
        library=library_code("test_set.py"),
        root=test_root,
        dataset=dataset("sun"),
        source=S.test.source,
        protocol=S.test.protocol,
        list_file=S.test.list_file,
        n_per_category=S.test.n_per_category,
        seed=S.test.seed,
        min_chroma=S.test.min_chroma,
        max_pixels=S.data.prepare.max_pixels,
    script:
        "../scripts/test_set.py"


rule gray_inputs:
    """On demand (snakemake gray_inputs): every test image's gray version, the input each
    system colorizes, as <path>.png (as colorize names outputs); run another method on them.
    """
    input:
        table=rules.test_set.output.table,
    output:
        images=directory(f"{RES}/test/gray"),
    log:
        f"{LOGS}/test/gray_inputs.log",
    benchmark:
        f"{BENCH}/test/gray_inputs.tsv"
    conda:
        "../../envs/data.yaml"
    threads: S.test.threads
    resources:
        runtime=grow(lambda wc, threads: minutes(n_test_images(), 0.2, threads)),
    params:
        library=library_code("gray_inputs.py"),
    script:
        "../scripts/gray_inputs.py"


rule colorize:
    input:
        table=rules.test_set.output.table,
        model=rules.train.output.model,
    output:
        images=directory(f"{RUN_DIR}/colorize/images"),
        index=f"{RUN_DIR}/colorize/colorized.tsv",
    log:
        f"{LOGS}/{RUN_FOLDER}/colorize.log",
    benchmark:
        f"{BENCH}/{RUN_FOLDER}/colorize.tsv"
    conda:
        torch_env(S.colorize.gpus)
    threads: S.colorize.threads
    resources:
        gpu=S.colorize.gpus,
        # full-resolution planes of one batch (SUN images reach ~12 MP)
        mem_mb=grow(2048 + 400 * S.colorize.batch_size),
        # decode, inference, recombination and PNG writing: about 0.5 s per image on a CPU
        runtime=grow(lambda wc, threads: minutes(n_test_images(), 0.5, threads)),
    params:
        library=library_code("colorize.py"),
        size=S.data.prepare.image_size,
        batch_size=S.colorize.batch_size,
        alpha=S.colorize.alpha,
        compression=S.colorize.png_compression,
        device="cuda" if S.colorize.gpus else "cpu",
    script:
        "../scripts/colorize.py"


rule external_builtin:
    input:
        table=rules.test_set.output.table,
    output:
        images=directory(f"{RES}/external/{{system}}/images"),
    log:
        f"{LOGS}/external/{{system}}/images.log",
    benchmark:
        f"{BENCH}/external/{{system}}/images.tsv"
    conda:
        "../../envs/data.yaml"
    resources:
        runtime=grow(lambda wc, threads: minutes(n_test_images(), 0.2, threads)),
    params:
        library=library_code("external_builtin.py"),
        method=lambda wc: external_of(wc).builtin,
    script:
        "../scripts/external_builtin.py"


rule peer:
    input:
        table=rules.test_set.output.table,
        weights=peer_weights,
    output:
        images=directory(f"{RES}/peers/{{system}}/images"),
        record=f"{RES}/peers/{{system}}/weights.json",
    log:
        f"{LOGS}/peers/{{system}}/colorize.log",
    benchmark:
        f"{BENCH}/peers/{{system}}/colorize.tsv"
    conda:
        torch_env(S.colorize.gpus)
    threads: S.colorize.threads
    resources:
        gpu=S.colorize.gpus,
        mem_mb=grow(2048 + 400 * S.colorize.batch_size),
        # Lab at both sizes, the network at 256x256, Lab to RGB at full size: about 1 s an
        # image on a CPU core (ECCV16's network alone is 0.6 s at 256x256 on 2 cores)
        runtime=grow(lambda wc, threads: minutes(n_test_images(), 1.5, threads)),
    params:
        library=library_code("peer.py"),
        network=lambda wc: external_of(wc).network,
        weights=lambda wc: external_of(wc).weights,
        batch_size=S.colorize.batch_size,
        compression=S.colorize.png_compression,
        device="cuda" if S.colorize.gpus else "cpu",
    script:
        "../scripts/peer.py"

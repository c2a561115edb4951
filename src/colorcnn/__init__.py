"""colorcnn: a reimplementation of Varga & Szirányi's colorization CNN (ICPR 2016).

The library behind the Snakemake workflow. Rule scripts in ``workflow/scripts`` are thin
wrappers around the functions here; the same functions are reachable from the command line
(``python -m colorcnn``) and from the tests (``tests/test_<module>.py`` for each module).

The modules, by stage (the rule that uses them first):

=============  ==================================================================================
stage          modules
=============  ==================================================================================
(every stage)  ``config`` (typed settings, checked while the DAG is built), ``layout`` (file
               names), ``tables`` (every TSV's columns, readers, writers), ``files`` (durable
               writes), ``logs`` (logging), ``provenance`` (code version, run identity),
               ``color`` (Y/UV conversion)
demo           ``demo`` (the embedded datasets: package photographs, the learnable task)
sample         ``sampling``
prepare        ``images`` (decoding, rejections), ``shards`` (Y/UV arrays, their indexes)
data_summary   ``datasummary``
backbone       ``backbone`` (VGG-16 weights: planned, resolved, verified); ``statedicts``
               (any published weights file verified: hash prefix, keys, shapes)
train          ``model`` (the network), ``train`` (the rule's ``Job`` and the loop),
               ``loader`` (batches from the shards), ``runtime`` (devices, processes, DDP,
               signals), ``trainlog`` (the metrics table), ``checkpoint`` (the file format)
test_set       ``testset`` (SUN397; ImageNet val's protocols; the gray inputs)
colorize       ``colorize``; ``peers`` (Zhang et al.'s ECCV16 and SIGGRAPH17: the networks with
               their published keys, their pipeline, the weights' checks)
score          ``scoring``, ``metrics`` (QSSIM, SSIM, PSNR, colourfulness, CF, CIEDE2000),
               ``metrics_torch`` (the same QSSIM batched on a GPU), ``external`` (another
               method's outputs matched to the test images and scored; ``colorcnn evaluate``),
               ``perceptual`` (LPIPS and FID, where their weights are given)
study          ``systems`` (the registry of systems: variants, external systems, baselines),
               ``study`` (paired statistics, claims)
report         ``figures``, ``results`` (the results tables), ``gallery`` (every image under
               every system, in a static page)
=============  ==================================================================================

``cli`` is the command line; ``testimages`` generates images and shards for the tests and the
benchmarks.
"""

__version__ = "0.1.0"

#: Every module of the package (the workflow fetches them one by one when it is used as a
#: Snakemake module from git; ``tests/test_package.py`` keeps this complete).
MODULES = (
    "__main__",
    "backbone",
    "checkpoint",
    "cli",
    "color",
    "colorize",
    "config",
    "datasummary",
    "demo",
    "external",
    "figures",
    "files",
    "gallery",
    "images",
    "layout",
    "loader",
    "logs",
    "metrics",
    "metrics_torch",
    "model",
    "peers",
    "perceptual",
    "provenance",
    "results",
    "runtime",
    "sampling",
    "scoring",
    "shards",
    "statedicts",
    "study",
    "systems",
    "tables",
    "testimages",
    "testset",
    "train",
    "trainlog",
)

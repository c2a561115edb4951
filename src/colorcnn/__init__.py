"""colorcnn: a reimplementation of Varga & Szirányi's colorization CNN (ICPR 2016).

The library behind the Snakemake workflow. Rule scripts in ``workflow/scripts`` are thin
wrappers around the functions here; the same functions are reachable from the command line
(``python -m colorcnn``) and from the tests.
"""

__version__ = "0.1.0"

"""Scoring colorizations against the originals: every system recombined with the same
full-resolution Y and scored at the same resolution by the same functions.

:func:`score_run` scores a run of the model (the PNGs the colorize stage wrote);
:func:`score_baselines` scores the baselines of :mod:`colorcnn.systems`. Both build one
:class:`ScoreJob` per test image and score the images in parallel processes.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from .color import rgb_to_yuv
from .images import drop_alpha, load_rgb, open_image
from .metrics import ciede2000_each, colourfulness, colourfulness_abs, image_quality
from .systems import MODEL, baseline_rgb
from .tables import COLORIZED_COLUMNS, SCORE_COLUMNS, TEST_COLUMNS, read_rooted, read_tsv

log = logging.getLogger(__name__)

#: Per-image metrics the study summarises: the paper's QSSIM, SSIM, PSNR; Hasler &
#: Süsstrunk's signed colourfulness and its gap to the truth; the literature's CF (absolute
#: values), its gap (whose mean is the difference of means, the literature's ΔCF up to sign)
#: and absolute gap; CIEDE2000 ΔE (mean over pixels).
METRICS = (
    "qssim",
    "ssim",
    "psnr",
    "colourfulness",
    "colourfulness_gap",
    "cf",
    "cf_gap",
    "cf_abs_gap",
    "delta_e00",
)

#: The learned metrics, where their weights are given (:mod:`colorcnn.perceptual`): LPIPS
#: per image, FID per system (a set metric, in the summary only).
PERCEPTUAL_METRICS = ("lpips", "fid")


def metrics_in(columns) -> list[str]:
    """The metrics of :data:`METRICS` and :data:`PERCEPTUAL_METRICS` that ``columns`` (a
    table's) hold, in that order."""
    return [m for m in (*METRICS, *PERCEPTUAL_METRICS) if m in set(columns)]


@dataclass(frozen=True)
class ScoreJob:
    """One test image, and what to score on it: the model's PNG and/or baselines."""

    image: str
    category: str
    original: str
    prediction: str | None = None  # the model's PNG
    baselines: tuple[str, ...] = ()
    stats: dict | None = None  # training chroma (mean_chroma)
    resolution: str = "original"  # or "model": everything resized to model_size first
    model_size: int = 224
    run: dict = field(default_factory=dict)  # {"variant": ..., "seed": ...} of the model
    method: str = MODEL  # the prediction's rows: ``model``, or ``external`` (another method)
    fit_prediction: bool = False  # a prediction of another size: resized to the original's


def _to_eval_size(rgb: np.ndarray, job: ScoreJob) -> np.ndarray:
    if job.resolution == "original":
        return rgb
    s = job.model_size
    return np.asarray(Image.fromarray(rgb).resize((s, s), Image.Resampling.BILINEAR))


def score_image(job: ScoreJob) -> list[dict]:
    """Score every method of ``job`` on its image; one row per method. Errors name the image."""
    try:
        return _score(job)
    except Exception as e:
        raise ValueError(f"scoring {job.image} ({job.original}) failed: {e}") from e


@dataclass(frozen=True)
class Candidates:
    """What a :class:`ScoreJob` scores, at the evaluation size: the original (``truth``),
    ``{method: RGB}`` of its candidates, ``{method: run}`` (the prediction's variant and
    seed; ``{}`` for a baseline), and the original's own size."""

    truth: np.ndarray
    tests: dict[str, np.ndarray]
    runs: dict[str, dict]
    width: int
    height: int


def candidates(job: ScoreJob) -> Candidates:
    """The original and every candidate of ``job``: baselines from the original's Y, the
    prediction decoded as the originals (resized to the original's size if allowed); every
    metric, the learned ones of :mod:`colorcnn.perceptual` too, scores what this returns."""
    gt = np.asarray(load_rgb(job.original))
    found = {}
    if job.baselines:
        y = rgb_to_yuv(gt)[..., 0]
        found = {m: baseline_rgb(m, y, job.stats) for m in job.baselines}
    if job.prediction:
        # decoded as the originals (EXIF orientation applied); a gray output is gray RGB
        im = drop_alpha(open_image(job.prediction)).convert("RGB")
        if im.size != (gt.shape[1], gt.shape[0]):
            w, h = im.size
            size = f"{w}x{h} differs from the original's {gt.shape[1]}x{gt.shape[0]}"
            if not job.fit_prediction:
                raise ValueError(f"{job.prediction}: size {size}")
            log.warning("%s: size %s: resized to it (bilinear)", job.prediction, size)
            im = im.resize((gt.shape[1], gt.shape[0]), Image.Resampling.BILINEAR)
        found[job.method] = np.asarray(im)
    runs = {m: job.run if job.prediction and m == job.method else {} for m in found}
    tests = {m: _to_eval_size(rgb, job) for m, rgb in found.items()}
    return Candidates(_to_eval_size(gt, job), tests, runs, gt.shape[1], gt.shape[0])


def _score(job: ScoreJob) -> list[dict]:
    c = candidates(job)
    gt_e, tests, runs = c.truth, c.tests, c.runs
    quality = image_quality(gt_e, list(tests.values()))  # the reference downsampled once
    delta_e = ciede2000_each(gt_e, list(tests.values()))  # and converted to Lab once
    c_gt, cf_gt = colourfulness(gt_e), colourfulness_abs(gt_e)
    rows = []
    for (method, p), q, de in zip(tests.items(), quality, delta_e, strict=True):
        cp, cf = colourfulness(p), colourfulness_abs(p)
        run = runs[method]
        rows.append(
            {
                "method": method,
                "variant": run.get("variant", ""),
                "seed": run.get("seed", ""),
                "image": job.image,
                "category": job.category,
                "width": c.width,
                "height": c.height,
                **q,
                "colourfulness": cp,
                "colourfulness_gt": c_gt,
                "colourfulness_gap": cp - c_gt,
                "cf": cf,
                "cf_gt": cf_gt,
                "cf_gap": cf - cf_gt,
                "cf_abs_gap": abs(cf - cf_gt),
                "delta_e00": de,
            }
        )
    return rows


#: the thread-count variables of the BLAS / OpenMP libraries numpy and scipy may load
BLAS_THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
#: setters of the BLAS / OpenMP thread count, by a part of the names of the libraries that
#: export them ("omp": GNU libgomp, LLVM libomp, Intel libiomp5)
_THREAD_SETTERS = {
    "openblas": (
        "openblas_set_num_threads",
        "openblas_set_num_threads64_",
        "scipy_openblas_set_num_threads",
        "scipy_openblas_set_num_threads64_",
    ),
    "mkl_rt": ("MKL_Set_Num_Threads",),
    "blis": ("bli_thread_set_num_threads",),
    "omp": ("omp_set_num_threads",),
}


def one_blas_thread() -> int:
    """Set this process to one BLAS / OpenMP thread: the environment variables (for libraries
    loaded later) and, through ``ctypes``, every thread-count setter of the BLAS and OpenMP
    libraries already loaded (a forked worker inherits the parent's thread pools, which the
    variables no longer change). Returns how many setters were called (Linux; 0 elsewhere)."""
    import ctypes

    os.environ.update(dict.fromkeys(BLAS_THREAD_VARS, "1"))
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return 0
    libs = {line.split()[-1] for line in maps.splitlines() if ".so" in line}
    called = 0
    for path in sorted(libs):
        name = Path(path).name
        for key, symbols in _THREAD_SETTERS.items():
            if key not in name:
                continue
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for symbol in symbols:
                if hasattr(lib, symbol):
                    getattr(lib, symbol)(1)
                    called += 1
    return called


def worker_pool(processes: int) -> ProcessPoolExecutor:
    """``processes`` worker processes with one BLAS / OpenMP thread each: Snakemake sets
    ``OMP_NUM_THREADS`` to the job's threads, and each of ``threads`` workers would otherwise
    run that many (12 threads were seen on 2 cores)."""
    return ProcessPoolExecutor(processes, initializer=one_blas_thread)


def _scored(jobs: list[ScoreJob], processes: int):
    if processes > 1 and len(jobs) > 1:
        chunk = max(1, min(16, len(jobs) // (4 * processes)))
        with worker_pool(processes) as pool:
            yield from pool.map(score_image, jobs, chunksize=chunk)
    else:
        yield from map(score_image, jobs)


def score_all(jobs: list[ScoreJob], processes: int = 1, progress: bool = True) -> pd.DataFrame:
    """Score all images, in ``processes`` worker processes."""
    from tqdm import tqdm

    rows: list[dict] = []
    with tqdm(total=len(jobs), unit="image", mininterval=10, disable=not progress) as bar:
        for r in _scored(jobs, processes):
            rows += r
            bar.update(1)
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))


def read_stats(path: str | Path) -> dict:
    import json

    return json.loads(Path(path).read_text())


def _jobs(table, what, resolution: str, model_size: int) -> list[ScoreJob]:
    root, rows = read_rooted(table, TEST_COLUMNS)
    return [
        ScoreJob(
            r["path"],
            r["category"],
            str(root / r["path"]),
            resolution=resolution,
            model_size=model_size,
            **what(r),
        )
        for r in rows
    ]


def run_jobs(table, colorized, run: dict, *, resolution: str, model_size: int) -> list[ScoreJob]:
    """One job per test image of ``table`` for a run of the model (``run``: its variant and
    seed); ``colorized`` is the colorize stage's index of PNGs."""
    pngs = {r["image"]: r["png"] for r in read_tsv(colorized, COLORIZED_COLUMNS)[1]}
    what = lambda r: {"prediction": pngs[r["path"]], "run": dict(run)}  # noqa: E731
    return _jobs(table, what, resolution, model_size)


def baseline_jobs(table, stats_path, baselines, *, resolution: str, model_size: int):
    """One job per test image of ``table`` for ``baselines`` (names in
    :data:`colorcnn.systems.BASELINES`); ``stats_path`` holds the training set's chroma."""
    what = {"baselines": tuple(baselines), "stats": read_stats(stats_path)}
    return _jobs(table, lambda r: what, resolution, model_size)


def score_run(
    table, colorized, run: dict, *, resolution: str, model_size: int, processes: int = 1
) -> pd.DataFrame:
    """Scores of one run of the model on every test image (see :func:`run_jobs`)."""
    jobs = run_jobs(table, colorized, run, resolution=resolution, model_size=model_size)
    return score_all(jobs, processes)


def score_baselines(
    table, stats_path, baselines, *, resolution: str, model_size: int, processes: int = 1
) -> pd.DataFrame:
    """Scores of ``baselines`` on every test image (see :func:`baseline_jobs`)."""
    jobs = baseline_jobs(table, stats_path, baselines, resolution=resolution, model_size=model_size)
    return score_all(jobs, processes)

"""Shared by the benchmark scripts: the library on sys.path, a header line, and side-by-side
timing (warm, interleaved, repeated).

:func:`compare` runs every candidate once to warm up, then in rounds A B C A B C ..., so that
a slow phase of a shared machine hits all sides alike; it reports each side's median over the
rounds with the spread (min-max), and ratios against a baseline. :func:`report` prints them.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def header(title: str) -> None:
    import torch

    print(f"# {title}")
    print(f"# {machine()} · torch {torch.__version__}, {torch.get_num_threads()} threads")


@dataclass(frozen=True)
class Timing:
    name: str
    seconds: list[float]  # one per round
    work: float = 1.0  # units of work per call (images, pairs, ...)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rate(self) -> float:
        """Units of work per second, at the median."""
        return self.work / self.median

    def spread(self) -> str:
        return f"{min(self.seconds) * 1e3:.1f}-{max(self.seconds) * 1e3:.1f} ms"


def compare(
    candidates: dict[str, Callable[[], object]],
    *,
    repeats: int = 5,
    work: float | dict[str, float] = 1.0,
    warmup: int = 1,
) -> dict[str, Timing]:
    """Time each zero-argument callable ``repeats`` times, interleaved, after ``warmup`` calls
    each. ``work`` (per candidate or shared) converts times into rates."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    per = work if isinstance(work, dict) else dict.fromkeys(candidates, work)
    return {name: Timing(name, ts, per[name]) for name, ts in times.items()}


def report(
    timings: dict[str, Timing], baseline: str, *, unit: str = "call", title: str = ""
) -> str:
    """A table: median time per call, spread, rate, and ratio of time to the baseline's."""
    base = timings[baseline].median
    width = max(len(n) for n in timings) + 2
    lines = [title] if title else []
    lines.append(
        f"{'':{width}}{'median':>11} {'spread (min-max)':>22} {unit + '/s':>12} {'time ratio':>11}"
    )
    for name, t in timings.items():
        lines.append(
            f"{name:{width}}{t.median * 1e3:8.2f} ms {t.spread():>22} {t.rate:12.2f} "
            f"{t.median / base:10.2f}x"
        )
    text = "\n".join(lines)
    print(text)
    return text


def machine() -> str:
    """One line about where the numbers came from."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{time.strftime('%Y-%m-%d')} · {platform.machine()}, {os.cpu_count()} CPUs "
        f"({platform.processor() or platform.platform()}) · load {load:.2f} · "
        f"Python {platform.python_version()}"
    )

"""Shared by the benchmark scripts: the library on sys.path, and a header line."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from colorcnn.benchmark import machine  # noqa: E402


def header(title: str) -> None:
    import torch

    print(f"# {title}")
    print(f"# {machine()} · torch {torch.__version__}, {torch.get_num_threads()} threads")

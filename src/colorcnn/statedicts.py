"""Weights files as verified inputs: the one place a published ``.pth`` file is checked before
any network loads it (the peers of :mod:`colorcnn.peers`, LPIPS's and FID's networks of
:mod:`colorcnn.perceptual`).

A file whose name carries a hash (``x-9b330a0b.pth``, as ``torch.hub`` names downloads) must
have a SHA-256 that starts with it; any file must hold exactly the expected keys with the
expected shapes (a list of what is missing, unexpected or mis-shaped otherwise), and is then
loaded strictly. Batch norm's ``num_batches_tracked``, which files from before PyTorch 0.4.1
lack, is not compared, and filled in where absent, as PyTorch does for old files.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

log = logging.getLogger(__name__)


class WeightsError(ValueError):
    """A weights file is not the published one, or not of the expected network."""


def hash_prefix_of(name: str) -> str:
    """The SHA-256 prefix a file's name carries, as ``torch.hub`` reads it (``x-<hex>.pth``);
    ``""`` if none."""
    m = re.search(r"-([a-f0-9]{6,})\.", name)
    return m.group(1) if m else ""


def _counted(state: dict) -> dict:
    return {k: tuple(v.shape) for k, v in state.items() if not k.endswith("num_batches_tracked")}


def check_state(state, want: dict, what: str, source: str = "the state dict", ignore=()):
    """``state`` (a state dict) if it holds exactly the keys of ``want`` (key -> shape) with
    those shapes, keys starting with one of ``ignore`` dropped (a whole torchvision model's
    file where only its features are used); :class:`WeightsError` listing the differences,
    naming ``what`` (the network and its published file)."""
    import torch

    if not isinstance(state, dict):
        raise WeightsError(f"{source} is not a state dict (a {type(state).__name__})")
    state = {k: v for k, v in state.items() if not (ignore and k.startswith(tuple(ignore)))}
    got, want = _counted(state), {k: tuple(v) for k, v in want.items()}
    want = {k: v for k, v in want.items() if not k.endswith("num_batches_tracked")}
    problems = []
    for kind, keys in (("missing", sorted(set(want) - set(got))),
                       ("unexpected", sorted(set(got) - set(want)))):  # fmt: skip
        if keys:
            problems.append(f"{len(keys)} {kind} keys: {', '.join(keys[:5])}")
    shapes = [f"{k} {got[k]} (published {want[k]})" for k in want if k in got and got[k] != want[k]]
    if shapes:
        problems.append(f"{len(shapes)} shapes differ: {', '.join(shapes[:5])}")
    if problems:
        raise WeightsError(f"{source} is not {what}:\n" + "\n".join(problems))
    for k in want:
        if k.endswith("running_var"):
            state.setdefault(k.replace("running_var", "num_batches_tracked"), torch.tensor(0))
    return state


def read_verified(path: str | Path, want: dict, what: str, *, published: str = "", ignore=()):
    """The state dict in ``path``, verified (see the module), and a record of it: its path,
    SHA-256, how it was verified and whether it is the ``published`` file by name. ``want``
    maps the expected keys to their shapes; ``what`` names the network in errors."""
    import torch

    from .backbone import sha256_file

    path = Path(path)
    if not path.is_file():
        where = f" (the published one is {published})" if published else ""
        raise WeightsError(f"{what}: no weights file {path}{where}")
    digest = sha256_file(path)
    verified = "published keys and shapes"
    prefix = hash_prefix_of(path.name)
    if prefix:  # a name that carries a hash is held to it, as torch.hub does
        if not digest.startswith(prefix):
            raise WeightsError(f"{path}: its SHA-256 is {digest}, but its name says it starts "
                               f"with {prefix} (a corrupt or different file)")  # fmt: skip
        verified = f"SHA-256 prefix {prefix} of its name, and " + verified
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is the same user error
        raise WeightsError(f"{path} is not a PyTorch state dict: {e}") from e
    state = check_state(state, want, what, str(path), ignore)
    record = {"weights": str(path), "sha256": digest, "verified": verified,
              "published": bool(published) and path.name == Path(published).name}  # fmt: skip
    log.info("%s: %s (sha256 %s), verified by %s", what, path, digest[:16], verified)
    return state, record

"""Synthetic PRIST-style data: scenes of simple shapes and things with parts, exact masks, and
dialogues that narrow down to one object or part before asking for its segmentation.

    from miras.synth import generate, generate_sample
    generate(Path("data/synth"), n=1000, seed=0)                            # PRIST layout on disk
    image, annotation, samples = generate_sample(np.random.default_rng(0))  # in memory

`add_arguments` and `run` are the body of `miras synth`. Importing this package stays light (the
CLI can mount the command without loading scikit-image); the generators load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from miras.synth.cli import add_arguments, run
from miras.synth.domain import DOMAIN_NAMES

__all__ = ["DOMAIN_NAMES", "add_arguments", "generate", "generate_sample", "generate_scene", "run"]

_LAZY = {"generate", "generate_sample", "generate_scene"}

if TYPE_CHECKING:
    from miras.synth.dataset import generate, generate_sample, generate_scene


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module("miras.synth.dataset"), name)
    raise AttributeError(f"module 'miras.synth' has no attribute {name!r}")

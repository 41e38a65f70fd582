"""MIRAS: multi-turn reasoning segmentation (ACL 2025, arXiv 2502.09447), as a library.

`import miras` stays light: torch and the towers are imported on first use, so that napari
starts fast and the plugin opens at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from miras.errors import (
    CheckpointError,
    ConfigError,
    ContextLengthError,
    DataError,
    ImageError,
    MirasError,
    OutOfMemoryError,
    TextError,
)

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "ConfigError",
    "ContextLengthError",
    "DataError",
    "ImageError",
    "MirasError",
    "OutOfMemoryError",
    "TextError",
    "load",
    "save_pretrained",
    "MirasConfig",
    "MirasModel",
    "Chat",
    "Reply",
    "preset",
]

_LAZY = {
    "load": ("miras.checkpoint", "load"),
    "save_pretrained": ("miras.checkpoint", "save_pretrained"),
    "MirasConfig": ("miras.config", "MirasConfig"),
    "preset": ("miras.presets", "preset"),
    "MirasModel": ("miras.modeling.miras", "MirasModel"),
    "Chat": ("miras.chat", "Chat"),
    "Reply": ("miras.chat", "Reply"),
}

if TYPE_CHECKING:
    from miras.chat import Chat, Reply
    from miras.checkpoint import load, save_pretrained
    from miras.config import MirasConfig
    from miras.modeling.miras import MirasModel
    from miras.presets import preset


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'miras' has no attribute {name!r}")

"""Which model a command runs, and the version name its scores and reports are filed under."""

from __future__ import annotations

from pathlib import Path


def model_version_of(name_or_path: str) -> str:
    """"tiny" and "demo" name themselves; a registry names its current version (v0003); another
    checkpoint folder is named by its folder."""
    from miras.checkpoint import resolve

    if name_or_path in ("tiny", "demo"):
        return name_or_path
    return Path(resolve(name_or_path)).resolve().name


def load_model(name_or_path: str, version: str | None = None):
    """(model, version): the model in eval mode on the CPU, and its version name."""
    import miras

    return miras.load(name_or_path), version or model_version_of(name_or_path)

"""Resumable training state: weights, optimiser, step and settings, written atomically."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_model, save_model

from miras.errors import ConfigError

STATE_DIR = "train-state"
# The policy picks the trainable parameters, so the optimiser's saved groups; the stage picks
# the data and the task, whose step count and schedule the saved state continues.
RUN_DEFINING = ("stage", "policy")


def save_state(out: Path, model, optimizer, step: int, settings: dict, best: float | None) -> None:
    """Write `out/train-state/` via a temporary folder and a rename, so a kill leaves the old one."""
    tmp = out / (STATE_DIR + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_model(model, str(tmp / "model.safetensors"))
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    (tmp / "state.json").write_text(json.dumps({"step": step, "settings": settings, "best": best}))
    final = out / STATE_DIR
    old = out / (STATE_DIR + ".old")
    if final.exists():
        if old.exists():  # left by a kill after the last save's second rename: `final` is newer
            shutil.rmtree(old)
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def check_resumable(out: Path, settings: dict) -> None:
    """Refuse to resume the state in `out` with settings that define another run."""
    folder = _state_folder(out)
    if folder is None:
        return
    saved = json.loads((folder / "state.json").read_text()).get("settings", {})
    changed = [key for key in RUN_DEFINING if key in saved and saved[key] != settings.get(key)]
    if changed:
        was = ", ".join(f"{key} {saved[key]!r}" for key in changed)
        now = ", ".join(f"{key} {settings.get(key)!r}" for key in changed)
        raise ConfigError(
            f"{out} holds a run with {was}, which cannot be resumed with {now}; pass a new --out, "
            "or resume with the original settings")


def restore_state(out: Path, model, optimizer) -> tuple[int, float | None]:
    """Load the saved state into model and optimiser; (step, best) or (0, None) if there is none."""
    folder = _state_folder(out)
    if folder is None:
        return 0, None
    try:
        load_model(model, str(folder / "model.safetensors"))
    except RuntimeError as err:  # missing, unexpected or differently shaped weights
        first = str(err).strip().splitlines()[0]
        raise ConfigError(f"{out} holds a run of another model than this one ({first}); pass a "
                          "new --out, or resume with the original --init") from None
    # Our own file, but still no arbitrary unpickling: tensors and plain containers only.
    optimizer.load_state_dict(torch.load(folder / "optimizer.pt", weights_only=True))
    state = json.loads((folder / "state.json").read_text())
    return int(state["step"]), state.get("best")


def _state_folder(out: Path) -> Path | None:
    """The newest complete state in `out`, whichever step of `save_state` a kill interrupted."""
    for folder in (out / STATE_DIR, out / (STATE_DIR + ".old")):  # `.old`: killed between the renames
        if (folder / "state.json").exists():
            return folder
    return None

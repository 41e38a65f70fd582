"""Resumable training state: weights, optimiser, step and settings, written atomically."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_model, save_model

STATE_DIR = "train-state"


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
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def restore_state(out: Path, model, optimizer) -> tuple[int, float | None]:
    """Load the saved state into model and optimiser; (step, best) or (0, None) if there is none."""
    folder = out / STATE_DIR
    if not (folder / "state.json").exists():
        old = out / (STATE_DIR + ".old")  # killed between the two renames
        if not (old / "state.json").exists():
            return 0, None
        folder = old
    load_model(model, str(folder / "model.safetensors"))
    # Our own file, but still no arbitrary unpickling: tensors and plain containers only.
    optimizer.load_state_dict(torch.load(folder / "optimizer.pt", weights_only=True))
    state = json.loads((folder / "state.json").read_text())
    return int(state["step"]), state.get("best")

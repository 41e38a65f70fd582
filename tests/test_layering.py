"""The layers point down: miras <- active_learning <- napari_miras (architecture.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

UI_MODULES = ("napari", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "magicgui", "vispy")


def _modules_after_import(statement: str) -> set[str]:
    code = f"import json, sys; {statement}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "statement",
    [
        "import miras, miras.chat, miras.checkpoint, miras.prist, miras.metrics, miras.cli",
        "import active_learning",
    ],
)
def test_core_layers_pull_in_no_ui(statement):
    loaded = _modules_after_import(statement)
    ui = sorted(m for m in loaded if m.split(".")[0] in UI_MODULES)
    assert ui == []


def test_miras_does_not_import_the_upper_layers():
    loaded = _modules_after_import(
        "import miras, miras.chat, miras.checkpoint, miras.prist, miras.metrics, miras.cli, miras.trainable"
    )
    assert not {m for m in loaded if m.split(".")[0] in ("active_learning", "napari_miras")}


def test_import_miras_is_light():
    loaded = _modules_after_import("import miras")
    assert "torch" not in loaded and "transformers" not in loaded

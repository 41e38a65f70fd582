"""`napari -w napari-miras` starts with the chat dock and no error (a real napari process)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui

# napari runs a .py file it is asked to open: this one checks the docks, then quits.
QUIT_SCRIPT = textwrap.dedent("""
    import napari
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication

    def check_and_quit():
        viewer = napari.current_viewer()
        print("DOCKS:", sorted(viewer.window.dock_widgets), flush=True)
        viewer.window.add_plugin_dock_widget("napari-miras", "MIRAS active learning")
        print("AL DOCK OK", flush=True)
        QApplication.instance().quit()

    QTimer.singleShot(1500, check_and_quit)
""")


def test_napari_starts_with_the_plugin_dock(tmp_path):
    napari_exe = Path(sys.executable).with_name("napari")
    command = [str(napari_exe) if napari_exe.exists() else shutil.which("napari")]
    script = tmp_path / "quit_soon.py"
    script.write_text(QUIT_SCRIPT)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}  # DISPLAY comes from pytest-xvfb
    result = subprocess.run(
        [*command, str(script), "-w", "napari-miras"],
        capture_output=True, text=True, timeout=150, env=env, cwd=tmp_path,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "MIRAS chat (napari-miras)" in result.stdout, output[-3000:]
    assert "AL DOCK OK" in result.stdout
    assert "Traceback" not in output and "Error" not in output, output[-3000:]

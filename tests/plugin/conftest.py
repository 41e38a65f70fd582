"""Fixtures of the napari plugin tests: a viewer with the MIRAS docks, a fake model, a store.

The tests need napari and a display: pytest-xvfb starts Xvfb for the run (not offscreen Qt, which
gives vispy no OpenGL context; see environment.md).
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

pytest.importorskip("napari")

from .fakes import FakeModel  # noqa: E402

PLUGIN = "napari-miras"


def pytest_configure(config):
    # Qt wants a private runtime folder; CI machines often have none.
    if not os.environ.get("XDG_RUNTIME_DIR"):
        folder = tempfile.mkdtemp(prefix="runtime-")
        os.chmod(folder, 0o700)
        os.environ["XDG_RUNTIME_DIR"] = folder


@pytest.fixture
def fake_model() -> FakeModel:
    return FakeModel()


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


def wait_idle(qtbot, widget, timeout: int = 20_000) -> None:
    qtbot.waitUntil(lambda: widget.busy is None, timeout=timeout)


@pytest.fixture
def chat_dock(viewer, fake_model, qtbot):
    """The "MIRAS chat" dock as napari opens it, talking to `fake_model`."""
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "MIRAS chat")
    widget.loader = lambda target: fake_model
    with widget.model_picker.changed.blocked():
        widget.model_picker.value = "tiny"
    yield widget
    widget.stop()
    wait_idle(qtbot, widget)


@pytest.fixture
def al_dock(viewer, qtbot):
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "MIRAS active learning")
    yield widget
    qtbot.waitUntil(lambda: widget.busy is None, timeout=20_000)


@pytest.fixture
def notes(monkeypatch):
    """Notifications shown through napari, as (kind, message) pairs."""
    from napari.utils import notifications

    shown: list[tuple[str, str]] = []
    for kind in ("info", "warning", "error"):
        monkeypatch.setattr(
            notifications, f"show_{kind}", lambda message, kind=kind: shown.append((kind, message))
        )
    return shown


@pytest.fixture
def rgb_image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)


def ask(qtbot, chat, text: str, timeout: int = 20_000) -> None:
    """Type `text`, press Send, wait for the answer."""
    chat.message.value = text
    chat.send_button.native.click()
    qtbot.waitUntil(lambda: chat.busy is None, timeout=timeout)

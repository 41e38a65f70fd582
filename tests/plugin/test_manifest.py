"""The npe2 manifest validates, every python_name imports, and napari finds the contributions."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def manifest():
    from npe2 import PluginManifest

    return PluginManifest.from_distribution("napari-miras")


def test_the_installed_manifest_is_the_root_one(manifest):
    from npe2 import PluginManifest

    assert PluginManifest.from_file(ROOT / "napari.yaml") == manifest
    assert (ROOT / "napari_miras" / "napari.yaml").resolve() == (ROOT / "napari.yaml").resolve()


def test_manifest_validates_and_every_python_name_imports(manifest):
    manifest.validate_imports()  # npe2's own check
    commands = manifest.contributions.commands
    assert len(commands) == 6
    for command in commands:
        module, attr = command.python_name.split(":")
        assert callable(getattr(importlib.import_module(module), attr)), command.python_name


def test_contributions(manifest):
    contributions = manifest.contributions
    assert manifest.name == "napari-miras"
    assert {w.display_name for w in contributions.widgets} == {"MIRAS chat", "MIRAS active learning"}
    assert contributions.readers[0].filename_patterns == ["*.zarr"]
    assert contributions.writers[0].layer_types == ["labels"]
    assert {s.key for s in contributions.sample_data} == {"scene", "stack"}


def test_sample_data_opens_in_napari(make_napari_viewer):
    import numpy as np

    viewer = make_napari_viewer()
    [scene] = viewer.open_sample("napari-miras", "scene")
    assert scene.data.shape == (256, 256, 3) and scene.rgb
    [stack] = viewer.open_sample("napari-miras", "stack")
    assert stack.data.shape == (5, 128, 128) and stack.data.dtype == np.uint16
    assert stack.data.max() > 1000  # a 16-bit range, not 8-bit values in a wide type

"""The store reader and the Labels writer, through napari's own open / save."""

from __future__ import annotations

import numpy as np
import pytest

from napari_miras._reader import get_reader
from napari_miras._writer import write_labels

from .conftest import ask, wait_idle
from .test_chat_widget import _labels

pytestmark = pytest.mark.gui
PLUGIN = "napari-miras"


def test_round_trip_through_napari_save_and_open(viewer, chat_dock, qtbot, rgb_image, tmp_path):
    viewer.add_image(rgb_image, name="scene")
    ask(qtbot, chat_dock, "What is red?")
    ask(qtbot, chat_dock, "And its parts?")
    [labels] = _labels(viewer)
    labels.paint((30, 40), 7)
    path = str(tmp_path / "saved.zarr")

    viewer.layers.selection = {labels}
    assert viewer.layers.save(path, selected=True, plugin=PLUGIN) == [path]
    opened = viewer.open(path, plugin=PLUGIN)

    image, correction = opened
    assert image.rgb and np.array_equal(image.data, rgb_image)
    assert np.array_equal(correction.data, labels.data)
    saved, original = correction.metadata["miras"], labels.metadata["miras"]
    assert saved["dialogue"] == original["dialogue"]
    assert np.array_equal(saved["proposal"], original["proposal"])
    assert saved["status"] == "corrected" and saved["sample_id"]


def test_saving_a_layer_read_from_the_store_updates_its_sample(viewer, chat_dock, qtbot,
                                                               rgb_image, tmp_path):  # fmt: skip
    import active_learning

    viewer.add_image(rgb_image)
    ask(qtbot, chat_dock, "What is red?")
    path = str(tmp_path / "saved.zarr")
    [labels] = _labels(viewer)
    write_labels(path, labels.data, {"name": labels.name, "metadata": labels.metadata})

    reader = get_reader(path)
    _, (data, meta, kind) = reader(path)
    assert kind == "labels"
    data = data.copy()
    data[:3, :3] = 9
    write_labels(path, data, meta)  # the same sample, corrected again
    [record] = active_learning.open_store(path, mode="r").samples()
    assert np.array_equal(record.correction, data)


def test_saving_the_chat_layer_again_then_accept_update_one_sample(viewer, chat_dock, qtbot,
                                                                    rgb_image, tmp_path):  # fmt: skip
    import active_learning

    path = str(tmp_path / "saved.zarr")
    chat_dock.session.set_store(active_learning.open_store(path))
    viewer.add_image(rgb_image)
    ask(qtbot, chat_dock, "What is red?")
    [labels] = _labels(viewer)
    viewer.layers.selection = {labels}
    viewer.layers.save(path, selected=True, plugin=PLUGIN)
    viewer.layers.save(path, selected=True, plugin=PLUGIN)  # Ctrl+S again, out of habit
    labels.paint((30, 40), 7)
    chat_dock.accept_button.native.click()
    wait_idle(qtbot, chat_dock)

    [record] = active_learning.open_store(path, mode="r").samples()
    assert chat_dock.conversation.sample_id == record.sample_id
    assert np.array_equal(record.correction, labels.data)


def test_reader_declines_what_is_not_a_store(tmp_path):
    import zarr

    zarr.create_group(str(tmp_path / "ome.zarr"))  # another kind of zarr
    (tmp_path / "file.zarr").write_text("")
    (tmp_path / "empty").mkdir()
    for name in ("ome.zarr", "file.zarr", "empty", "missing.zarr"):
        assert get_reader(str(tmp_path / name)) is None
    assert get_reader([str(tmp_path / "ome.zarr")]) is None


def test_writer_refuses_labels_without_a_conversation(tmp_path):
    with pytest.raises(ValueError, match="MIRAS chat dock"):
        write_labels(str(tmp_path / "x.zarr"), np.zeros((4, 4), np.uint8), {"name": "hand-made"})

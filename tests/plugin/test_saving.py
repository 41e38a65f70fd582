"""Accept / Curate / Reject through the chat dock: what active_learning reads back."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import ask, wait_idle
from .test_chat_widget import _labels

pytestmark = pytest.mark.gui


@pytest.fixture
def store(tmp_path, chat_dock):
    import active_learning

    opened = active_learning.open_store(tmp_path / "corrections.zarr")
    chat_dock.session.set_store(opened)
    return opened


def _fix_mask(labels) -> None:
    """What an annotator does with napari's tools: paint a bit more, erase a bit."""
    labels.brush_size = 5
    labels.paint((30, 40), 4)
    labels.paint((6, 6), 0)


def test_accept_then_curate_writes_one_sample_active_learning_reads_back(
    viewer, chat_dock, store, qtbot, rgb_image
):
    import active_learning

    viewer.add_image(rgb_image)
    ask(qtbot, chat_dock, "What is red?")
    ask(qtbot, chat_dock, "And its parts?")
    [labels] = _labels(viewer)
    proposal = labels.data != 0
    _fix_mask(labels)
    corrected = labels.data.copy()
    assert not np.array_equal(corrected != 0, proposal)

    chat_dock.accept_button.native.click()
    wait_idle(qtbot, chat_dock)
    chat_dock.curate_button.native.click()
    wait_idle(qtbot, chat_dock)

    reopened = active_learning.open_store(store.where, mode="r")
    [record] = reopened.samples()
    assert record.status == "curated"
    assert record.dialogue == labels.metadata["miras"]["dialogue"]
    assert [t["from"] for t in record.dialogue] == ["human", "gpt", "human", "gpt"]
    assert "[SEG]" in record.dialogue[-1]["value"]
    assert np.array_equal(record.proposal, proposal)
    assert np.array_equal(record.correction, corrected)
    assert np.array_equal(record.image, rgb_image)
    assert record.focus == "the red box; the lid; the handle"
    assert record.turns == 2 and record.seconds > 0
    assert record.score == pytest.approx(np.mean([0.9, 0.9, 0.8]))
    assert labels.metadata["miras"]["sample_id"] == record.sample_id


def test_a_stack_plane_is_saved_as_the_sample_image(viewer, chat_dock, store, qtbot):
    stack = np.random.default_rng(2).integers(0, 4000, (4, 40, 50), dtype=np.uint16)
    viewer.add_image(stack)
    viewer.dims.set_current_step(0, 2)
    ask(qtbot, chat_dock, "Segment the cell")
    [labels] = _labels(viewer)
    chat_dock.accept_button.native.click()
    wait_idle(qtbot, chat_dock)

    [record] = store.samples()
    assert record.image.dtype == np.uint16 and np.array_equal(record.image, stack[2])
    assert np.array_equal(record.correction, labels.data[2])


def test_reject_keeps_the_proposal_on_record_and_a_new_message_starts_over(
    viewer, chat_dock, store, qtbot, rgb_image
):
    viewer.add_image(rgb_image)
    ask(qtbot, chat_dock, "What is red?")
    chat_dock.reject_button.native.click()
    wait_idle(qtbot, chat_dock)
    [record] = store.samples()
    assert record.status == "rejected" and record.correction is None
    assert record.proposal.sum() == 60

    ask(qtbot, chat_dock, "What is red?")  # the saved conversation takes no more turns
    assert len(_labels(viewer)) == 2
    assert len(chat_dock.conversation.turns) == 2


def test_a_failing_store_loses_nothing(viewer, chat_dock, store, qtbot, rgb_image, notes, monkeypatch):
    viewer.add_image(rgb_image)
    ask(qtbot, chat_dock, "What is red?")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(store, "add_sample", broken)
    chat_dock.accept_button.native.click()
    wait_idle(qtbot, chat_dock)
    [(kind, message)] = notes
    assert kind == "error" and "disk full" in message and "still in layer" in message
    assert chat_dock.conversation.sample_id is None and chat_dock.accept_button.enabled


def test_accept_refuses_a_conversation_whose_layer_was_deleted(viewer, chat_dock, store, qtbot,
                                                               rgb_image, notes):  # fmt: skip
    viewer.add_image(rgb_image)
    ask(qtbot, chat_dock, "What is red?")
    [labels] = _labels(viewer)
    viewer.layers.remove(labels)
    assert not chat_dock.accept_button.enabled

    chat_dock.save("accept")  # what the Accept shortcut does
    wait_idle(qtbot, chat_dock)
    assert list(store.samples()) == []
    [(kind, message)] = notes
    assert kind == "warning" and "deleted" in message


def test_accept_warns_that_labels_on_other_planes_are_not_stored(viewer, chat_dock, store, qtbot,
                                                                 notes):  # fmt: skip
    viewer.add_image(np.zeros((4, 40, 50), np.uint16))
    viewer.dims.set_current_step(0, 2)
    ask(qtbot, chat_dock, "Segment the cell")
    [labels] = _labels(viewer)
    labels.data_setitem((np.array([2]), np.array([30]), np.array([30])), 1)  # its own plane
    chat_dock.accept_button.native.click()
    wait_idle(qtbot, chat_dock)
    assert notes == []

    labels.data_setitem((np.array([3]), np.array([10]), np.array([10])), 1)  # the next plane
    chat_dock.curate_button.native.click()
    wait_idle(qtbot, chat_dock)
    [record] = store.samples()
    assert record.status == "curated" and np.array_equal(record.correction, labels.data[2])
    [(kind, message)] = notes
    assert kind == "warning" and "plane(s) 3" in message and "new conversation" in message
    assert "plane 2 only" in chat_dock.status.value

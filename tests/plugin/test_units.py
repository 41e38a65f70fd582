"""The plugin's helpers without a viewer: conversation, transcript, planes, retrain output."""

from __future__ import annotations

import numpy as np
import pytest

from napari_miras import _layers, _retrain, _transcript
from napari_miras._conversation import Conversation, split_reply
from napari_miras._queue_cursor import QueueCursor
from napari_miras._triton_guard import keep_triton_out_if_unsafe, mesa_llvm_loaded


def _conversation() -> Conversation:
    conversation = Conversation(image_name="scene", image=np.zeros((8, 8), np.uint8))
    first = np.zeros((8, 8), bool)
    first[:2] = True
    conversation.add_turn("What is red?", "Sure, [OBJ]the mug[SEG].", [first], ["the mug"], [0.9])
    conversation.add_turn("Parts?", "[SEG] and [OBJ]a<b>[SEG]", [first.T, first.T], ["", "a<b>"],
                          [0.5, 0.7])  # fmt: skip
    return conversation


def test_each_seg_gets_the_next_label_id_and_the_proposal_is_their_union():
    conversation = _conversation()
    assert [s.label_id for s in conversation.segments] == [1, 2, 3]
    assert [s.turn for s in conversation.segments] == [1, 3, 3]
    assert conversation.proposal.sum() == 16 + 16 - 4
    assert conversation.focus() == "the mug; a<b>"
    assert conversation.score() == pytest.approx(0.7)
    assert conversation.dialogue()[1] == {"from": "gpt", "value": "Sure, [OBJ]the mug[SEG]."}


def test_metadata_round_trip_keeps_what_the_writer_needs():
    conversation = _conversation()
    again = Conversation.from_metadata(conversation.to_metadata())
    assert again.dialogue() == conversation.dialogue()
    assert again.segments == conversation.segments
    assert np.array_equal(again.proposal, conversation.proposal)
    assert not again.live and again.started is None


def test_split_reply_finds_every_seg_with_and_without_obj():
    assert split_reply("Sure, [OBJ]the mug[SEG].") == [("Sure, ", None), ("the mug", 0), (".", None)]
    assert split_reply("[SEG][SEG]") == [("", 0), ("", 1)]
    assert split_reply("no masks") == [("no masks", None)]


def test_transcript_escapes_model_text_and_colours_chips():
    html = _transcript.render(_conversation(), lambda label_id: f"#00000{label_id}")
    assert "a&lt;b&gt;" in html and "<b>[SEG]" not in html
    assert "#000001" in html and "#000003" in html and "0.90" in html


@pytest.mark.parametrize(
    ("dtype", "values", "stored"),
    [(np.uint8, [0, 255], np.uint8), (np.int32, [0, 4000], np.uint16),
     (np.int16, [-5, 9], np.float32), (np.float64, [0.5, 1.5], np.float32),
     (bool, [0, 1], np.uint8)],
)  # fmt: skip
def test_planes_are_stored_in_a_dtype_the_store_takes(dtype, values, stored):
    image = np.array([values], dtype=dtype)
    out = _layers.storable(image)
    assert out.dtype == stored and np.array_equal(out, image.astype(stored))


def test_plane_index_follows_the_sliders_through_scale(make_napari_viewer):
    from napari.layers import Image

    layer = Image(np.zeros((4, 6, 10, 12), np.uint16), scale=(1, 2, 1, 1))
    viewer = make_napari_viewer()
    viewer.add_layer(layer)
    viewer.dims.set_current_step(0, 2)
    viewer.dims.set_current_step(1, 5)
    assert _layers.plane_index(layer, viewer.dims) == (2, 5)
    viewer.dims.ndisplay = 3
    with pytest.raises(_layers.PlaneError, match="2D"):
        _layers.plane_index(layer, viewer.dims)


def test_rgb_and_multiscale_planes():
    from napari.layers import Image

    rgb = np.zeros((3, 10, 12, 3), np.uint8)
    rgb[1] = 7
    layer = Image([rgb, rgb[:, ::2, ::2]], multiscale=True, rgb=True)
    assert _layers.spatial_shape(layer) == (3, 10, 12)
    assert _layers.read_plane(layer, (1,)).shape == (10, 12, 3)
    assert _layers.read_plane(layer, (1,)).max() == 7


def test_a_stroke_gives_later_masks_the_overlap_and_keeps_only_their_box():
    first, second = np.zeros((2, 8, 10), bool)
    first[1:4, 2:6], second[3:5, 5:9] = True, True
    stroke = _layers.make_stroke((8, 10), [first, second], first_id=4)
    assert stroke.box == (slice(1, 5), slice(2, 9))
    assert stroke.ids[2, 0] == 4 and stroke.ids[2, 3] == 5 and stroke.ids[0, 6] == 0
    assert _layers.make_stroke((8, 10), [np.zeros((8, 10), bool)], first_id=1) is None
    with pytest.raises(ValueError, match="input image's size"):
        _layers.make_stroke((8, 10), [first.T], first_id=1)


def test_planes_with_labels_are_those_besides_the_conversations():
    labels = np.zeros((2, 3, 4, 5), np.uint8)
    labels[0, 1, 2, 3] = labels[1, 2, 0, 0] = 7
    assert _layers.planes_with_labels(labels, (0, 1)) == [(1, 2)]
    assert _layers.planes_with_labels(labels, (1, 2)) == [(0, 1)]
    assert _layers.planes_with_labels(labels[0, 1], ()) == []  # 2D: no other plane


def test_labels_beyond_uint8_are_refused_with_a_hint():
    with pytest.raises(ValueError, match="relabel"):
        _layers.labels_plane(np.array([[0, 300]], np.uint16), ())


@pytest.mark.parametrize(
    ("line", "figures"),
    [("epoch 1: 12/40 [00:03<00:09]", (12, 40)), ("fine-tuning  30%|###", (30, 100)),
     ("loading v0003", None), ("0/0", None)],
)  # fmt: skip
def test_retrain_progress_is_read_from_stderr(line, figures):
    assert _retrain.parse_progress(line) == figures


def test_retrain_result_is_the_last_json_line():
    out = 'log line\n{"promoted": true, "before": 0.41, "after": 0.52, "version": "v0004"}\n'
    result = _retrain.parse_result(out)
    assert _retrain.describe(result) == "promoted v0004: 0.410 -> 0.520"
    assert "not promoted" in _retrain.describe({**result, "promoted": False})
    with pytest.raises(ValueError, match="no JSON"):
        _retrain.parse_result("Traceback ...")


def test_queue_cursor_moves_and_skips_items_seen():
    from types import SimpleNamespace as Item

    cursor = QueueCursor()
    assert cursor.extend([Item(sample_id="a"), Item(sample_id="b")]) == 2
    assert cursor.forward().sample_id == "a" and not cursor.has_previous()
    assert cursor.extend([Item(sample_id="b"), Item(sample_id="c")]) == 1
    assert [cursor.forward().sample_id, cursor.forward().sample_id] == ["b", "c"]
    assert cursor.back().sample_id == "b" and cursor.has_next()


def test_triton_is_kept_out_only_when_mesa_llvm_is_loaded(tmp_path, monkeypatch):
    import sys

    maps = tmp_path / "maps"
    maps.write_text("7f00 r-xp /usr/lib/x86_64-linux-gnu/libLLVM-15.so.1\n")
    assert mesa_llvm_loaded(str(maps))
    maps.write_text("7f00 r-xp /usr/lib/libc.so.6\n")
    assert not mesa_llvm_loaded(str(maps)) and not mesa_llvm_loaded(str(tmp_path / "none"))

    monkeypatch.delitem(sys.modules, "triton", raising=False)
    monkeypatch.setattr("napari_miras._triton_guard.mesa_llvm_loaded", lambda: True)
    assert keep_triton_out_if_unsafe()
    with pytest.raises(ImportError):
        import triton  # noqa: F401
    assert not keep_triton_out_if_unsafe()  # once is enough

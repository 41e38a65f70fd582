"""Bad ids, unknown statuses, illegal moves and malformed data are refused, and nothing is written."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from active_learning.errors import (
    DuplicateSampleError,
    InvalidIdError,
    InvalidStatusError,
    ReadOnlyStoreError,
    SampleDataError,
    SampleNotFoundError,
    ShapeMismatchError,
    StoreError,
    StoreFormatError,
    StoreNotFoundError,
    TransitionError,
)
from active_learning.store import open_store, validate_id
from miras.errors import MirasError

from .helpers import DIALOGUE, add, make_image, make_mask

BAD_IDS = ["", "../x", "a/b", "a\\b", "..", "x..y", ".hidden", "a b", "caf\u00e9", "a:b",
           "zarr.json", "x.partial", "a" * 129, None, 17]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_bad_ids_are_refused_everywhere(store, bad):
    sid = add(store)
    for call in (
        lambda: store.get(bad),
        lambda: store.set_status(bad, "rejected"),
        lambda: store.set_correction(bad, np.zeros((64, 48), np.uint8)),
        lambda: store.image(bad),
        # sample_id=None asks add_sample() for a new id, so None is no bad id there
        lambda: add(store, sample_id=bad) if bad is not None else validate_id(bad),
    ):
        with pytest.raises(InvalidIdError, match="id"):
            call()
    assert [r.sample_id for r in store.samples()] == [sid]


@pytest.mark.parametrize("good", ["a", "A-1_b.c", "0" * 128, "x.y"])
def test_good_ids_pass(good):
    assert validate_id(good) == good


def test_errors_are_miras_errors_with_advice():
    assert issubclass(StoreError, MirasError)
    with pytest.raises(MirasError, match="Use only letters"):
        validate_id("../etc")


def test_unknown_status_is_refused(store):
    sid = add(store)
    with pytest.raises(InvalidStatusError, match="use one of proposed, corrected"):
        store.set_status(sid, "done")
    with pytest.raises(InvalidStatusError):
        store.samples(status="Curated")
    with pytest.raises(InvalidStatusError):
        add(store, status="new")
    assert store.get(sid).status == "proposed"


@pytest.mark.parametrize(
    ("path", "target", "advice"),
    [
        ([], "curated", "set_correction"),
        ([], "corrected", "set_correction"),
        (["rejected"], "proposed", "final"),
        (["rejected"], "curated", "final"),
        (["correct", "curated"], "proposed", "may move to"),
    ],
)
def test_illegal_transitions_are_refused(store, path, target, advice):
    sid = add(store)
    for step in path:
        if step == "correct":
            store.set_correction(sid, make_mask().astype(np.uint8))
        else:
            store.set_status(sid, step)
    before = store.get(sid).status
    with pytest.raises(TransitionError, match=advice):
        store.set_status(sid, target)
    assert store.get(sid).status == before


def test_rejected_sample_takes_no_correction(store):
    sid = add(store)
    store.set_status(sid, "rejected")
    with pytest.raises(TransitionError, match="final"):
        store.set_correction(sid, make_mask().astype(np.uint8))
    assert store.get(sid).correction is None


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"status": "rejected"}, TransitionError, "cannot start"),
        ({"proposal": None}, SampleDataError, "needs a proposal"),
        ({"status": "curated"}, SampleDataError, "needs a correction"),
        ({"proposal": np.zeros((48, 64), bool)}, ShapeMismatchError, r"\(48, 64\).*\(64, 48\)"),
        ({"correction": np.zeros((64, 47), np.uint8)}, ShapeMismatchError, "image's size"),
        ({"proposal": np.zeros((64, 48), np.float32)}, SampleDataError, "threshold"),
        ({"correction": np.full((64, 48), 300, np.int32)}, SampleDataError, "0..255"),
        ({"image": np.zeros((8, 8), np.float64)}, SampleDataError, "astype"),
        ({"image": np.zeros((8, 8, 2), np.uint8)}, SampleDataError, r"\(H, W, 3\)"),
        ({"image": [[1, 2], [3, 4]]}, SampleDataError, "numpy array"),
        ({"dialogue": "hi"}, SampleDataError, "list of"),
        ({"dialogue": [{"from": "bot", "value": "x"}]}, SampleDataError, "human"),
        ({"dialogue": [{"from": "gpt", "value": "x", "extra": 1}]}, SampleDataError, "exactly"),
        ({"focus": None}, SampleDataError, "focus"),
        ({"score": float("nan")}, SampleDataError, "finite"),
        ({"seconds": -1.0, "correction": np.zeros((64, 48), np.uint8)}, SampleDataError, "neg"),
        ({"turns": 1.5, "correction": np.zeros((64, 48), np.uint8)}, SampleDataError, "turns"),
        ({"meta": {"x": object()}}, SampleDataError, "JSON"),
    ],
)
def test_bad_sample_data_is_refused_before_anything_is_written(store, kwargs, error, match):
    with pytest.raises(error, match=match):
        add(store, **kwargs)
    assert len(store) == 0 and store.image_ids() == [] and store.incomplete() == []


def test_set_correction_checks_the_shape(store):
    sid = add(store)
    with pytest.raises(ShapeMismatchError):
        store.set_correction(sid, np.zeros((10, 10), np.uint8))
    assert store.get(sid).status == "proposed"


def test_unknown_sample_and_duplicate_id(store):
    with pytest.raises(SampleNotFoundError, match="no sample"):
        store.get("0123abc")
    add(store, sample_id="mine-1")
    with pytest.raises(DuplicateSampleError):
        add(store, sample_id="mine-1", seed=5)


def test_read_only_store_refuses_writes(store, store_path):
    sid = add(store)
    reader = open_store(store_path, mode="r")
    with pytest.raises(ReadOnlyStoreError, match="mode='a'"):
        reader.set_status(sid, "rejected")
    with pytest.raises(ReadOnlyStoreError):
        add(reader)


def test_opening_what_is_not_a_store(tmp_path):
    with pytest.raises(StoreNotFoundError):
        open_store(tmp_path / "missing.zarr", mode="r")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(b"x")
    with pytest.raises(StoreFormatError, match="not empty"):
        open_store(tmp_path / "photos")
    zarr.create_group(str(tmp_path / "other.zarr"), attributes={"format": "something"})
    with pytest.raises(StoreFormatError, match="not a napari-miras store"):
        open_store(tmp_path / "other.zarr")
    zarr.create_group(str(tmp_path / "newer.zarr"),
                      attributes={"format": "napari-miras-store", "version": 2})
    with pytest.raises(StoreFormatError, match="upgrade"):
        open_store(tmp_path / "newer.zarr")
    with pytest.raises(StoreError, match="storage_options"):
        open_store(tmp_path / "x.zarr", storage_options={"anon": True})
    assert not (tmp_path / "x.zarr").exists()


def test_dialogue_is_copied_not_aliased(store):
    dialogue = [dict(turn) for turn in DIALOGUE]
    sid = add(store, dialogue=dialogue, image=make_image(seed=11))
    dialogue[0]["value"] = "changed"
    assert store.get(sid).dialogue == DIALOGUE

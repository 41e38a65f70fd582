"""What goes into the store comes back exactly: fields, dialogue, masks, images of every dtype."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from active_learning.store import STATUSES, open_store
from active_learning.store.backend import ROOT_ATTRS

from .helpers import DIALOGUE, add, make_image, make_mask


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [
        ((64, 48), np.uint8),
        ((40, 30, 3), np.uint16),
        ((33, 21, 4), np.float32),
        ((600, 530, 3), np.uint8),  # more than one 512x512 chunk in both axes
    ],
)
def test_round_trip_all_fields(store, shape, dtype):
    image = make_image(shape, dtype, seed=3)
    proposal = make_mask(shape, seed=4)
    sid = add(store, image=image, proposal=proposal, meta={"img_id": "x.jpg"})

    record = open_store(store.where, mode="r").get(sid)  # a fresh handle: nothing cached

    assert record.sample_id == sid
    assert record.dialogue == DIALOGUE
    assert record.focus == "the bread knife"
    assert (record.status, record.model_version, record.score) == ("proposed", "v0003", 0.41)
    assert record.annotator == "ana"
    assert record.meta == {"img_id": "x.jpg"}
    assert record.shape == shape[:2]
    assert record.created == record.updated and record.created.endswith("Z")
    assert record.image.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(record.image, image)
    assert record.proposal.dtype == bool
    np.testing.assert_array_equal(record.proposal, proposal)
    assert record.correction is None
    assert record.dice is None and record.pixels_changed is None


def test_large_image_is_chunked_by_tiles_with_whole_channels(store):
    sid = add(store, image=make_image((1100, 600, 3)))
    record = store.get(sid)
    assert store.image_array(record.image_id).chunks == (512, 512, 3)


def test_same_image_is_stored_once(store):
    image = make_image(seed=7)
    first = add(store, image=image, seed=1)
    second = add(store, image=image.copy(), seed=2)
    other = add(store, image=make_image(seed=8))

    ids = {store.get(s).image_id for s in (first, second)}
    assert len(ids) == 1
    assert set(store.image_ids()) == ids | {store.get(other).image_id}


def test_same_bytes_in_another_shape_is_another_image(store):
    image = make_image((8, 6))
    a = add(store, image=image)
    b = add(store, image=image.reshape(6, 8))
    assert store.get(a).image_id != store.get(b).image_id


def test_correction_stores_mask_and_effort_figures(store):
    image = make_image((4, 4))
    proposal = np.zeros((4, 4), bool)
    proposal[0, :] = True  # 4 pixels
    correction = np.zeros((4, 4), np.uint8)
    correction[0, :2] = 1  # 2 kept
    correction[1, :2] = 2  # 2 added, label 2
    sid = add(store, image=image, proposal=proposal)

    record = store.set_correction(sid, correction, seconds=12.5, turns=3)

    assert record.status == "corrected"
    assert record.dice == pytest.approx(2 * 2 / (4 + 4))
    assert record.pixels_changed == 4
    assert (record.turns, record.seconds) == (3, 12.5)
    np.testing.assert_array_equal(store.get(sid).correction, correction)
    assert store.load_masks(sid)[1].dtype == np.uint8


def test_import_as_curated_with_ground_truth_only(store):
    image = make_image()
    truth = make_mask(seed=9).astype(np.uint8)
    sid = add(store, image=image, proposal=None, correction=truth, status="curated")

    record = store.get(sid)
    assert record.status == "curated" and record.proposal is None
    np.testing.assert_array_equal(record.correction, truth)
    assert record.dice is None  # no proposal to compare with


def test_status_flow_counts_and_filters(store):
    ids = [add(store, seed=i) for i in range(4)]
    mask = make_mask(seed=5).astype(np.uint8)
    store.set_correction(ids[0], mask)
    store.set_status(ids[0], "curated")
    store.set_correction(ids[1], mask)
    store.set_status(ids[2], "rejected")

    assert store.counts() == {"proposed": 1, "corrected": 1, "curated": 1, "rejected": 1}
    assert set(store.counts()) == set(STATUSES)
    assert len(store) == 4
    assert [r.sample_id for r in store.samples(status="curated")] == [ids[0]]
    assert {r.sample_id for r in store.samples(["proposed", "corrected"])} == {ids[3], ids[1]}
    assert [r.sample_id for r in store.samples()] == ids  # creation order
    assert ids[0] in store and "nope" not in store and "../x" not in store


def test_repeating_a_status_is_a_no_op(store):
    sid = add(store)
    store.set_correction(sid, make_mask().astype(np.uint8))
    updated = store.set_status(sid, "curated").updated
    assert store.set_status(sid, "curated").updated == updated


def test_recorrecting_a_curated_sample_sends_it_back_to_corrected(store):
    sid = add(store)
    store.set_correction(sid, make_mask(seed=1).astype(np.uint8))
    store.set_status(sid, "curated")
    new = make_mask(seed=2).astype(np.uint8) * 3
    assert store.set_correction(sid, new, annotator="ben").status == "corrected"
    record = store.get(sid)
    np.testing.assert_array_equal(record.correction, new)
    assert record.annotator == "ben"


def test_root_attrs_are_written_once_and_kept(store, store_path):
    add(store)
    sid = add(store, seed=2)
    store.set_correction(sid, make_mask().astype(np.uint8))
    store.remove_incomplete()
    root = zarr.open_group(str(store_path), mode="r", zarr_format=3)
    assert root.attrs.asdict() == ROOT_ATTRS == {"format": "napari-miras-store", "version": 1}


def test_reopening_keeps_everything(store_path):
    sid = add(open_store(store_path))
    assert open_store(store_path).get(sid).sample_id == sid
    assert open_store(f"file://{store_path}", mode="r").get(sid).sample_id == sid


def test_accepting_the_proposal_unchanged_records_no_effort(store):
    sid = add(store)
    record = store.set_correction(sid, store.get(sid).proposal, seconds=0.8, turns=1)
    assert (record.dice, record.pixels_changed) == (1.0, 0)
    assert store.set_status(sid, "curated").status == "curated"

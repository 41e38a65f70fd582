"""fsck finds what crashed writers leave behind, and repairs what can be repaired."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import zarr

from active_learning.errors import IncompleteImageError, StoreNotFoundError
from active_learning.store import fsck

from .helpers import add, make_image


def _set_attrs(store_path, path, **changes):
    node = zarr.open(str(store_path), path=path, mode="r+", zarr_format=3)
    node.attrs.put({**node.attrs.asdict(), **changes})


def test_clean_store_is_ok(store):
    add(store)
    report = fsck(store)
    assert report["ok"] and report["samples"] == 1 and report["counts"]["proposed"] == 1
    assert "removed" not in report  # nothing is changed without repair


def test_fsck_of_a_path_does_not_create_a_store(tmp_path):
    with pytest.raises(StoreNotFoundError):
        fsck(tmp_path / "typo.zarr")
    assert not (tmp_path / "typo.zarr").exists()


def test_sample_whose_image_is_gone_is_reported(store, store_path):
    sid = add(store)
    image_id = store.get(sid).image_id
    shutil.rmtree(store_path / "images" / image_id)
    report = fsck(store_path)
    assert report["missing_images"] == {sid: image_id} and not report["ok"]


def test_unfinished_image_is_completed_when_its_pixels_match_its_hash(store, store_path):
    sid = add(store)
    image_id = store.get(sid).image_id
    _set_attrs(store_path, f"images/{image_id}", complete=False)
    with pytest.raises(IncompleteImageError, match="fsck"):
        store.get(sid).image  # noqa: B018
    assert fsck(store)["incomplete_images"] == [image_id]

    assert fsck(store, repair=True)["completed_images"] == [image_id]
    np.testing.assert_array_equal(store.get(sid).image, make_image())
    assert fsck(store)["ok"]


def test_unfinished_image_with_wrong_pixels_stays_unfinished(store, store_path):
    sid = add(store)
    image_id = store.get(sid).image_id
    array = zarr.open_array(str(store_path), path=f"images/{image_id}", mode="r+")
    array[0, 0] = array[0, 0] + 1  # a torn write: these pixels are not the image's
    _set_attrs(store_path, f"images/{image_id}", complete=False)
    report = fsck(store, repair=True)
    assert report["completed_images"] == [] and report["missing_images"] == {sid: image_id}


def test_orphan_images_are_pruned_only_when_asked(store, store_path):
    kept = add(store, seed=1)
    gone = add(store, seed=2)
    orphan = store.get(gone).image_id
    shutil.rmtree(store_path / "samples" / gone)
    assert fsck(store, repair=True)["orphan_images"] == [orphan]
    assert orphan in store.image_ids()
    assert fsck(store, repair=True, prune_images=True)["pruned_images"] == [orphan]
    assert store.image_ids() == [store.get(kept).image_id] and fsck(store)["ok"]


def test_fresh_incomplete_samples_are_left_to_their_writer(store, store_path):
    sid = add(store)
    _set_attrs(store_path, f"samples/{sid}", complete=False)
    assert store.remove_incomplete(min_age_s=3600) == []
    assert store.incomplete() == [sid]
    assert store.remove_incomplete() == [sid] and store.incomplete() == []


def test_unreadable_sample_metadata_counts_as_incomplete(store, store_path, caplog):
    kept = add(store, seed=1)
    torn = add(store, seed=2)
    (store_path / "samples" / torn / "zarr.json").write_text('{"attributes": {"sta')
    assert [r.sample_id for r in store.samples()] == [kept]
    assert "skipped 1 incomplete sample" in caplog.text  # readers skip, and say so
    assert store.incomplete() == [torn]
    assert fsck(store, repair=True)["removed"] == [torn]
    assert not (store_path / "samples" / torn).exists()

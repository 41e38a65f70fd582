"""A store on S3: a real S3 API (moto's server) on 127.0.0.1, reached through fsspec/s3fs."""

from __future__ import annotations

import socket

import numpy as np
import pytest
import zarr
from zarr.storage import FsspecStore

from active_learning.store import fsck, open_store

from .helpers import DIALOGUE, add, make_image, make_mask

pytest.importorskip("s3fs")


def test_loopback_guard_refuses_other_addresses(loopback_only):
    with socket.socket() as sock, pytest.raises(AssertionError, match="only loopback"):
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed


def test_round_trip_through_s3(s3_bucket):
    bucket, options = s3_bucket
    url = f"s3://{bucket}/store.zarr"
    store = open_store(url, storage_options=options)
    image = make_image((700, 520, 3), np.uint16, seed=4)  # two chunks down, two across
    sid = add(store, image=image, proposal=make_mask((700, 520), seed=5))
    twin = add(store, image=image.copy(), seed=6)
    correction = make_mask((700, 520), seed=7).astype(np.uint8)
    store.set_correction(sid, correction, seconds=3.5, turns=2)
    store.set_status(sid, "curated")

    reader = open_store(url, mode="r", storage_options=options)
    (record,) = reader.samples(status="curated")
    assert record.sample_id == sid and record.dialogue == DIALOGUE
    np.testing.assert_array_equal(record.image, image)
    np.testing.assert_array_equal(record.proposal, make_mask((700, 520), seed=5))
    np.testing.assert_array_equal(record.correction, correction)
    assert (record.turns, record.seconds) == (2, 3.5)
    assert reader.get(twin).image_id == record.image_id and len(reader.image_ids()) == 1
    assert reader.counts() == {"proposed": 1, "corrected": 0, "curated": 1, "rejected": 0}
    assert fsck(url, storage_options=options)["ok"]


def test_s3_incomplete_sample_is_skipped_and_repaired(s3_bucket):
    bucket, options = s3_bucket
    url = f"s3://{bucket}/s.zarr"
    store = open_store(url, storage_options=options)
    kept = add(store)
    # What a writer killed before its marker leaves (test_processes kills real ones locally).
    half = add(store, seed=3)
    group = zarr.open_group(FsspecStore.from_url(url, storage_options=options),
                            path=f"samples/{half}", mode="r+", zarr_format=3)
    group.attrs.put({**group.attrs.asdict(), "complete": False})
    assert [r.sample_id for r in store.samples()] == [kept]
    assert fsck(store, repair=True)["removed"] == [half]
    assert store.incomplete() == [] and len(store) == 1
    np.testing.assert_array_equal(store.get(kept).image, make_image())

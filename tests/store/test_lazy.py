"""samples() reads metadata only; arrays are read when a record is asked for them."""

from __future__ import annotations

import numpy as np
from zarr.storage import LocalStore, WrapperStore

from active_learning.store import open_store

from .helpers import add, make_mask


class CountingStore(WrapperStore):
    """Records every key read; copies made by zarr (e.g. read-only views) share the record."""

    def __init__(self, store, reads=None):
        super().__init__(store)
        self.reads = [] if reads is None else reads

    def _with_store(self, store):
        return type(self)(store, self.reads)

    async def get(self, key, prototype, byte_range=None):
        self.reads.append(key)
        return await self._store.get(key, prototype, byte_range)


def _array_reads(reads, prefix=""):
    """Chunk keys read (images/... and samples/<id>/<array>/c/...), those under prefix only."""
    return [k for k in reads if "/c/" in k and k.startswith(prefix)]


def test_samples_reads_no_arrays_until_asked(store, store_path):
    ids = [add(store, seed=i) for i in range(3)]
    for sid in ids:
        store.set_correction(sid, make_mask(seed=9).astype(np.uint8))
    counting = CountingStore(LocalStore(str(store_path)))
    reader = open_store(counting)

    records = list(reader.samples(status="corrected"))
    assert [r.sample_id for r in records] == ids
    assert len(reader) == 3 and reader.counts()["corrected"] == 3
    assert _array_reads(counting.reads) == []  # metadata only so far

    np.testing.assert_array_equal(records[1].proposal, make_mask(seed=1001))
    assert _array_reads(counting.reads) == [f"samples/{ids[1]}/proposal/c/0/0"]
    records[1].correction  # noqa: B018 - the read is the point
    records[1].image  # noqa: B018
    records[1].proposal  # noqa: B018 - cached: not read again
    assert len(_array_reads(counting.reads)) == 3
    assert _array_reads(counting.reads, f"samples/{ids[0]}") == []
    assert _array_reads(counting.reads, f"samples/{ids[2]}") == []


def test_iteration_reads_one_sample_at_a_time(store, store_path):
    ids = [add(store, seed=i) for i in range(5)]
    counting = CountingStore(LocalStore(str(store_path)))
    iterator = open_store(counting).samples()
    before = len(counting.reads)

    assert next(iterator).sample_id == ids[0]
    sample_metadata = [k for k in counting.reads[before:] if k.startswith("samples/")]
    assert sample_metadata == [f"samples/{ids[0]}/zarr.json"]

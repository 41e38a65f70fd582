"""The correction store: proposals, corrections and their images in one zarr v3 store.

    from active_learning.store import open_store
    store = open_store("corrections.zarr")      # or "s3://bucket/x.zarr", storage_options=...
    sid = store.add_sample(image=img, dialogue=turns, focus="the bread knife", proposal=mask)
    store.set_correction(sid, corrected, seconds=12.5, turns=2)
    store.set_status(sid, "curated")
    for record in store.samples(status="curated"):
        record.correction                       # read from the store on first access
"""

from active_learning.store.fsck import fsck
from active_learning.store.ids import new_sample_id, validate_id
from active_learning.store.records import SampleRecord
from active_learning.store.status import STATUSES
from active_learning.store.store import CorrectionStore, open_store

__all__ = [
    "STATUSES",
    "CorrectionStore",
    "SampleRecord",
    "fsck",
    "new_sample_id",
    "open_store",
    "validate_id",
]

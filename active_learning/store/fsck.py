"""fsck: check a correction store for what crashed or racing writers can leave behind.

Problems it reports:
- incomplete samples: a writer died (or is still writing); readers skip them;
- samples whose image is missing or unfinished: their pixels are gone, only removal helps;
- incomplete images: a writer died mid-image; if the pixels hash to the id they are whole;
- orphan images: no complete sample points at them (a writer died between image and sample,
  or their samples were removed); harmless, they only take space.

With repair=True it removes incomplete samples (an interrupted re-correction is rolled back to its
proposal instead), marks whole-but-unmarked images complete, and with prune_images=True also
deletes orphan images. Pass min_age_s while annotators may be writing, so that their samples in
flight are left alone; pruning images is only safe while no one writes.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from active_learning.store.attrs import is_complete
from active_learning.store.status import STATUSES
from active_learning.store.store import CorrectionStore, open_store


def fsck(
    store: CorrectionStore | str,
    repair: bool = False,
    *,
    min_age_s: float = 0.0,
    prune_images: bool = False,
    storage_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Check `store` (a CorrectionStore, path or URL); with repair, fix what can be fixed.

    Returns a JSON-ready dict: store, samples, counts, incomplete, missing_images,
    incomplete_images, orphan_images, ok (nothing found), and with repair: removed, rolled_back,
    completed_images, pruned_images.
    """
    if not isinstance(store, CorrectionStore):
        store = open_store(store, mode="a" if repair else "r", storage_options=storage_options)
    report = _scan(store)
    if repair:
        report.update(_repair(store, report, min_age_s=min_age_s, prune_images=prune_images))
    return report


def _scan(store: CorrectionStore) -> dict[str, Any]:
    counts: Counter[str] = Counter(dict.fromkeys(STATUSES, 0))
    incomplete: list[str] = []
    uses: dict[str, list[str]] = {}  # image id -> complete samples showing it
    for sample_id, attrs in store.sample_attrs():
        if not is_complete(attrs):
            incomplete.append(sample_id)
            continue
        counts[attrs["status"]] += 1
        uses.setdefault(attrs["image_id"], []).append(sample_id)
    states = {image_id: store.image_state(image_id) for image_id in store.image_ids()}
    missing = {
        sample_id: image_id
        for image_id, sample_ids in uses.items()
        if states.get(image_id, "missing") != "complete"
        for sample_id in sample_ids
    }
    report = {
        "store": store.where,
        "samples": sum(counts.values()),
        "counts": dict(counts),
        "incomplete": incomplete,
        "missing_images": missing,
        "incomplete_images": sorted(i for i, s in states.items() if s == "incomplete"),
        "orphan_images": sorted(i for i in states if i not in uses),
    }
    report["ok"] = not any(report[k] for k in _PROBLEMS)
    return report


_PROBLEMS = ("incomplete", "missing_images", "incomplete_images", "orphan_images")


def _repair(
    store: CorrectionStore, report: dict[str, Any], *, min_age_s: float, prune_images: bool
) -> dict[str, list[str]]:
    done = store.repair_incomplete(min_age_s=min_age_s)
    done["completed_images"] = [i for i in report["incomplete_images"] if store.complete_image(i)]
    done["pruned_images"] = []
    if prune_images:
        # Orphans as of the scan: images of samples just removed are orphans only on the next run.
        for image_id in report["orphan_images"]:
            store.remove_image(image_id)
            done["pruned_images"].append(image_id)
    return done

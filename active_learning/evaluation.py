"""What a retrain is judged on: a PRIST folder, or a fixed held-out share of the store.

The held-out share is decided by a hash of the image id alone, so a sample is held out in every
retrain or in none, and so are all the dialogues of its image (a model that trained on one of them
has seen the image). Held-out samples that the parent or an ancestor trained on anyway (a run with
--eval trains on every curated sample) are left out of the judgement (retrain.unseen_by_ancestry),
so no version is judged on what it or its parent trained on, and figures of successive versions
compare. Figures are teacher-forced mask figures
(miras.training.loop.evaluate_masks: cIoU, gIoU, precision, recall, F1), which need no generation
and reuse the registry's feature cache.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from active_learning.errors import NoEvaluationDataError


def is_heldout(image_id: str, share: float) -> bool:
    digest = hashlib.sha256(image_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def split(records, share: float) -> tuple[list, list]:
    """(train, held-out) records, whole images on one side."""
    train, held = [], []
    for record in records:
        (held if is_heldout(record.image_id, share) else train).append(record)
    return train, held


def eval_source(eval_dir: str | Path | None, store, heldout_records):
    """A training-style source to judge on, and a name for the report."""
    from active_learning.sources import StoreSource

    if eval_dir is not None:
        from miras.training.data import PristSource

        source, name = PristSource(eval_dir, stage=2), str(eval_dir)
    else:
        source, name = StoreSource(store, heldout_records), "store held-out share"
    if len(source) == 0:
        raise NoEvaluationDataError(
            f"nothing to evaluate on in the {name}: pass --eval DIR (a PRIST folder), or curate "
            "more samples (a fixed share of them is held out)"
        )
    return source, name


def eval_items(source, limit: int | None) -> list:
    n = len(source) if limit is None else min(limit, len(source))
    return [source.item(i) for i in range(n)]


def mask_figures(model, items: list, cache_root: str | Path, signature: str) -> dict[str, Any]:
    """cIoU, gIoU, precision, recall, F1 and n of `model` on `items`, features from the cache."""
    from miras.trainable import apply_policy
    from miras.training.feature_cache import FeatureCache
    from miras.training.loop import evaluate_masks

    # The cache's folder is named by the frozen weights: mark them as training would.
    apply_policy(model, "paper")
    cache = FeatureCache(Path(cache_root), model, f"eval-{signature}")
    return evaluate_masks(model, items, cache)

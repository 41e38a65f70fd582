"""The annotation queue: the next items for one annotator, held for them by a lease.

What the queue serves: samples with status `proposed` (the model proposed a mask that nobody has
corrected yet) that nobody holds. Corrected, curated and rejected samples are done and never
served. Each call serves new items, so a client can page through the queue (the plugin keeps what
it fetched); with include_held=True the caller's own still-leased items come back first, leases
renewed (a client that restarted and lost its list).

    from active_learning.queue import next_items, release
    items = next_items(store, "hybrid", k=5, annotator="ada")   # held for ada for 15 minutes
    release(store, items[0].sample_id, "ada")                   # hand one back unannotated
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import asdict, dataclass

from active_learning.leases import Clock, LeaseBook, check_annotator
from active_learning.scores import ItemScores, ScoreBook
from active_learning.store import validate_id
from active_learning.strategies import Candidate, Pick, feature_version, get_strategy

LABELED = ("corrected", "curated")


@dataclass(frozen=True)
class QueueItem:
    sample_id: str
    image_id: str
    score: float | None  # the value the strategy picked it by (None: held already, or fallback)
    strategy: str
    rank: int  # 0-based position in this answer
    annotator: str
    lease_expires: float  # Unix seconds
    model_version: str | None = None  # of the stored scores
    predicted_iou: float | None = None
    entropy: float | None = None
    disagreement: float | None = None

    def to_json(self) -> dict:
        return asdict(self)


def next_items(
    store,
    strategy: str,
    k: int,
    annotator: str,
    lease_seconds: float = 900,
    *,
    seed: int | None = None,
    include_held: bool = False,
    clock: Clock = time.time,
) -> list[QueueItem]:
    """Up to `k` proposed items for `annotator`, each leased to them for `lease_seconds`."""
    chooser = get_strategy(strategy)
    annotator = check_annotator(annotator)
    leases = LeaseBook.of(store, clock)
    book = ScoreBook.of(store)
    active = leases.active()
    pool = {r.sample_id: r for r in store.samples(status="proposed")}
    mine = sorted(sid for sid, lease in active.items()
                  if include_held and lease.annotator == annotator and sid in pool)
    picks = [Pick(Candidate(sid, pool[sid].image_id, book.get(sid)), None) for sid in mine]
    free = [Candidate(sid, r.image_id, book.get(sid))
            for sid, r in pool.items() if sid not in active]
    labeled = _labeled_features(store, book)
    served: list[QueueItem] = []
    while len(served) < k and (picks or free):
        if not picks:
            # Ask for a few more than needed: some may be taken by another annotator meanwhile.
            picks = chooser.select(free, 2 * (k - len(served)) + 4,
                                   labeled=labeled.get(feature_version(free), []), seed=seed)
            if not picks:
                break
            tried = {p.candidate.sample_id for p in picks}
            free = [c for c in free if c.sample_id not in tried]
        pick = picks.pop(0)
        lease = leases.acquire(pick.candidate.sample_id, annotator, lease_seconds)
        if lease is not None:
            served.append(_item(pick, chooser.name, len(served), lease.annotator, lease.expires))
    return served


def release(store, sample_id: str, annotator: str, *, clock: Clock = time.time) -> bool:
    """Hand an item back unannotated; False if `annotator` did not hold it."""
    return LeaseBook.of(store, clock).release(validate_id(sample_id), annotator)


def _labeled_features(store, book: ScoreBook) -> dict[str, list]:
    """Features of the labeled samples by the model version that computed them: a strategy
    compares the candidates' features of one version (which may change as `free` shrinks) with
    the labeled ones of that version only."""
    by_version = defaultdict(list)
    scores = (book.get(r.sample_id) for r in store.samples(status=list(LABELED)))
    for s in scores:
        if s is not None and s.features is not None:
            by_version[s.model_version].append(s.features)
    return by_version


def _item(pick: Pick, strategy: str, rank: int, annotator: str, expires: float) -> QueueItem:
    scores: ItemScores | None = pick.candidate.scores
    return QueueItem(
        sample_id=pick.candidate.sample_id, image_id=pick.candidate.image_id, score=pick.value,
        strategy=strategy, rank=rank, annotator=annotator, lease_expires=expires,
        model_version=scores.model_version if scores else None,
        predicted_iou=scores.predicted_iou if scores else None,
        entropy=scores.entropy if scores else None,
        disagreement=scores.disagreement if scores else None,
    )

"""Acquisition strategies: which items to annotate next, picked from stored scores.

MONAI Label's split: scoring (scoring.py) runs the model and stores figures; a strategy only
ranks those figures, so it is cheap and testable on canned scores. `STRATEGIES` is the registry a
UI lists (each entry has a `name` and a one-line `description`).

A strategy gets the candidates (items not leased to someone else, each with its stored scores or
None) and the features of the labeled samples, and returns up to k picks in the order to serve
them, each with the value it was picked by. Items without the figures a strategy needs come after
those with them, in id order, so a scoring backlog never empties the queue.

Features of two model versions need not share a space (nor a length), so the feature strategies
compare those of one version only, `feature_version(candidates)`; an item scored by another has
no features for them. `labeled` must hold features of that version (the queue sees to it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from active_learning.errors import UnknownStrategyError
from active_learning.scores import ItemScores


@dataclass(frozen=True)
class Candidate:
    sample_id: str
    image_id: str
    scores: ItemScores | None


@dataclass(frozen=True)
class Pick:
    candidate: Candidate
    value: float | None  # what the strategy ranked by (None for a fallback pick)


class Strategy:
    name: str = ""
    description: str = ""
    needs: str = "scores"  # what scoring must provide: "scores", "features" or "nothing"

    def select(
        self,
        candidates: Sequence[Candidate],
        k: int,
        *,
        labeled: Sequence[np.ndarray] = (),
        seed: int | None = None,
    ) -> list[Pick]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class RandomStrategy(Strategy):
    name = "random"
    description = "uniformly at random (seeded): the baseline every other strategy must beat"
    needs = "nothing"

    def select(self, candidates, k, *, labeled=(), seed=None):
        order = np.random.default_rng(seed).permutation(len(candidates))
        ordered = sorted(candidates, key=lambda c: c.sample_id)  # the seed alone decides
        return [Pick(ordered[i], None) for i in order[:k]]


class UncertaintyStrategy(Strategy):
    name = "uncertainty"
    description = ("least sure first: low predicted IoU, high mask entropy, masks that change "
                   "when the request is reworded")

    def select(self, candidates, k, *, labeled=(), seed=None):
        known = [(c, u) for c in candidates if (u := _uncertainty(c)) is not None]
        known.sort(key=lambda cu: (-cu[1], cu[0].sample_id))
        picks = [Pick(c, u) for c, u in known[:k]]
        return picks + _fallback(candidates, picks, k)


class DiversityStrategy(Strategy):
    name = "diversity"
    description = "spread over the images: k-center greedy on image features, away from the labeled"
    needs = "features"

    def select(self, candidates, k, *, labeled=(), seed=None):
        version = feature_version(candidates)
        with_features = [c for c in candidates if _features(c, version) is not None]
        picks = kcenter_greedy(with_features, k, labeled)
        return picks + _fallback(candidates, picks, k)


class HybridStrategy(Strategy):
    name = "hybrid"
    description = ("uncertain and spread: the most uncertain few times k, then k-center greedy "
                   "among them")

    def __init__(self, pool_factor: int = 3) -> None:
        self.pool_factor = pool_factor

    def select(self, candidates, k, *, labeled=(), seed=None):
        version = feature_version(candidates)
        ranked = UncertaintyStrategy().select(candidates, len(candidates))
        shortlist = [p.candidate for p in ranked if p.value is not None
                     and _features(p.candidate, version) is not None][: self.pool_factor * k]
        if not shortlist:
            return _fallback(candidates, [], k)
        # Start from the most uncertain item unless labeled samples already anchor the spread.
        first = [] if len(labeled) else [shortlist[0]]
        spread = kcenter_greedy(shortlist, k, labeled, first=first)
        picks = [Pick(p.candidate, _uncertainty(p.candidate)) for p in spread]
        return picks + _fallback(candidates, picks, k)


def feature_version(candidates: Sequence[Candidate]) -> str | None:
    """The model version whose features the feature strategies compare: the one most candidates
    have features of, ties to the greater name.

    Version names do not tell which model is newer ("tiny", a checkpoint folder's name), so the
    majority decides: while scores of two versions are mixed (an interrupted rescore, items
    scored after a retrain) it leaves the fewest items to the fallback. Registry versions
    (v0002, v0003) sort by age, so a tie among them goes to the newer.
    """
    counts = Counter(c.scores.model_version for c in candidates
                     if c.scores is not None and c.scores.features is not None)
    return max(counts, key=lambda version: (counts[version], version)) if counts else None


def kcenter_greedy(
    candidates: Sequence[Candidate],
    k: int,
    labeled: Sequence[np.ndarray] = (),
    *,
    first: Sequence[Candidate] = (),
) -> list[Pick]:
    """Greedy k-center (Sener & Savarese, 2018) on L2-normalised features.

    Each pick is the candidate farthest from everything chosen or labeled so far; its value is
    that distance. With nothing labeled and no `first`, the first pick is the candidate nearest
    the mean (a typical item, not an outlier). Ties go to the smaller sample id. The candidates
    and `labeled` must all have features of one model version.
    """
    if k <= 0 or not candidates:
        return []
    candidates = sorted(candidates, key=lambda c: c.sample_id)
    points = _normalise(np.stack([c.scores.features for c in candidates]))
    distance = np.full(len(candidates), np.inf)
    for center in labeled:
        distance = np.minimum(distance, _distances(points, _normalise(np.asarray(center)[None])))
    picks: list[Pick] = []
    chosen = np.zeros(len(candidates), bool)
    seeds = [candidates.index(c) for c in first]
    if not seeds and not len(labeled):
        seeds = [int(np.argmin(_distances(points, points.mean(0, keepdims=True))))]
    for index in seeds:
        picks.append(Pick(candidates[index], None))
        chosen[index] = True
        distance = np.minimum(distance, _distances(points, points[index][None]))
    while len(picks) < min(k, len(candidates)):
        index = int(np.argmax(np.where(chosen, -np.inf, distance)))
        picks.append(Pick(candidates[index], float(distance[index])))
        chosen[index] = True
        distance = np.minimum(distance, _distances(points, points[index][None]))
    return picks[:k]


def _distances(points: np.ndarray, center: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points - center, axis=1)


def _normalise(x: np.ndarray) -> np.ndarray:
    # Directions, not magnitudes: feature norms vary with image contrast more than content.
    x = np.asarray(x, np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _uncertainty(c: Candidate) -> float | None:
    return None if c.scores is None or c.scores.kind != "full" else c.scores.uncertainty()


def _features(c: Candidate, version: str | None) -> np.ndarray | None:
    return None if c.scores is None or c.scores.model_version != version else c.scores.features


def _fallback(candidates: Sequence[Candidate], picks: list[Pick], k: int) -> list[Pick]:
    """The rest, in id order, to fill up to k when too few items have the needed figures."""
    taken = {p.candidate.sample_id for p in picks}
    rest = sorted((c for c in candidates if c.sample_id not in taken), key=lambda c: c.sample_id)
    return [Pick(c, None) for c in rest[: max(0, k - len(picks))]]


STRATEGIES: dict[str, Strategy] = {
    s.name: s for s in (RandomStrategy(), UncertaintyStrategy(), DiversityStrategy(),
                        HybridStrategy())
}


def get_strategy(name: str) -> Strategy:
    try:
        return STRATEGIES[name]
    except KeyError:
        raise UnknownStrategyError(
            f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}"
        ) from None

"""Scoring: run the current model once per item and keep what the strategies rank by.

Like MONAI Label's ScoringMethod, this is the expensive half of acquisition and runs apart from
it (after each new model version, from `miras-al score` or a job); strategies then pick from the
stored figures in milliseconds (strategies.py).

An item is probed the way an annotator meets it, through the model's chat interface: its
dialogue's human turns are sent in order up to the segmentation request, and the reply's masks,
their probabilities and SAM's predicted IoU give predicted_iou and entropy. Then the chat starts
over (the image features are kept) and the same context is sent with the request reworded, once
per paraphrase: the masks' mean pairwise IoU measures whether the model means the same region.
One chat per image: its features are computed once and give the diversity features too.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from active_learning.scores import ItemScores, ScoreBook

# Rewordings of a segmentation request, in PRIST's phrasing (what the model was trained on).
PARAPHRASES = (
    "Based on the conversation above, generate a segmentation that supports the answers.",
    "Please use the conversation above to outline a segmentation that aligns with the answers "
    "provided.",
    "Now please segment it.",
)
SEG = "[SEG]"
Progress = Callable[[int, int], None]


@dataclass
class ScoreSettings:
    paraphrases: int = 2  # rewordings per item (0 turns disagreement off); at most len(PARAPHRASES)
    max_new_tokens: int | None = None  # per reply; None: the model's own limit


@dataclass
class Probe:
    scores: ItemScores
    mask: np.ndarray | None  # union of the request reply's masks, (H, W) bool; None if no reply


def request_turns(dialogue: list[dict[str, str]]) -> list[str]:
    """The human turns up to the segmentation request: the last one answered with [SEG] (all of
    them when none was, e.g. a dialogue whose proposal came from a drawn mask)."""
    humans: list[str] = []
    last_request = None
    for turn in dialogue:
        if turn["from"] == "human":
            humans.append(turn["value"])
        elif SEG in turn["value"] and humans:
            last_request = len(humans)
    return humans[:last_request] if last_request else humans


def mean_entropy_bits(probabilities: list[np.ndarray]) -> float:
    """Mean binary entropy (bits) over the pixels of each mask, averaged over masks."""
    values = []
    for p in probabilities:
        p = np.clip(np.asarray(p, np.float64), 1e-7, 1 - 1e-7)
        values.append(float(np.mean(-(p * np.log2(p) + (1 - p) * np.log2(1 - p)))))
    return float(np.mean(values)) if values else 1.0


def mean_pairwise_iou(masks: list[np.ndarray]) -> float:
    """Mean IoU over all pairs; two empty masks agree (IoU 1)."""
    ious = []
    for a, b in itertools.combinations(masks, 2):
        union = np.count_nonzero(a | b)
        ious.append(1.0 if union == 0 else np.count_nonzero(a & b) / union)
    return float(np.mean(ious)) if ious else 1.0


class Scorer:
    """Probes items with one model version. Not thread-safe (one chat at a time)."""

    def __init__(self, model, model_version: str, settings: ScoreSettings | None = None) -> None:
        self.model = model
        self.model_version = model_version
        self.settings = settings or ScoreSettings()

    def chat(self, image: np.ndarray):
        return self.model.chat(image, max_new_tokens=self.settings.max_new_tokens)

    def features(self, image: np.ndarray) -> ItemScores:
        """Features only, for a labeled sample."""
        features = self.chat(image).image_features()
        return ItemScores(self.model_version, kind="features", features=features)

    def probe(self, chat, dialogue: list[dict[str, str]], features: np.ndarray) -> Probe:
        """Score one dialogue on an open chat (its image's features already known)."""
        from miras.errors import TextError

        turns = request_turns(dialogue)
        if not turns:
            return Probe(self._failed("the dialogue has no human turn", features), None)
        try:
            reply = self._replay(chat, turns)
            masks = [_union(reply.masks, chat.image_size)]
            for wording in self._rewordings(turns[-1]):
                masks.append(_union(self._replay(chat, [*turns[:-1], wording]).masks,
                                    chat.image_size))
        except TextError as err:  # e.g. the dialogue does not fit the model's context
            return Probe(self._failed(str(err), features), None)
        scores = ItemScores(
            self.model_version,
            predicted_iou=float(np.mean(reply.scores)) if reply.masks else 0.0,
            entropy=mean_entropy_bits(reply.probabilities) if reply.masks else 1.0,
            disagreement=1.0 - mean_pairwise_iou(masks) if len(masks) > 1 else None,
            has_mask=bool(reply.masks), features=features,
        )
        return Probe(scores, masks[0])

    def _replay(self, chat, turns: list[str]):
        chat.reset()
        reply = None
        for text in turns:
            reply = chat.send(text)
        return reply

    def _rewordings(self, request: str) -> list[str]:
        others = [p for p in PARAPHRASES if p.strip() != request.strip()]
        return others[: self.settings.paraphrases]

    def _failed(self, why: str, features: np.ndarray) -> ItemScores:
        # Unscorable items keep their features (diversity can still place them) but no figures,
        # so uncertainty strategies serve them after the scored ones.
        return ItemScores(self.model_version, features=features, error=why)


def _union(masks: list[np.ndarray], size: tuple[int, int]) -> np.ndarray:
    out = np.zeros(size, bool)
    for mask in masks:
        out |= mask
    return out


def score_store(
    store,
    model,
    model_version: str,
    *,
    settings: ScoreSettings | None = None,
    statuses: Iterable[str] = ("proposed",),
    features_for: Iterable[str] = ("corrected", "curated"),
    force: bool = False,
    features_only: bool = False,
    on_progress: Progress | None = None,
) -> dict[str, Any]:
    """Score the samples of `statuses` (and give features to those of `features_for`) whose
    stored scores are missing or of another model version; a JSON-ready summary.

    features_only: no chat at all, features for every sample (what diversity needs).
    """
    book = ScoreBook.of(store)
    scorer = Scorer(model, model_version, settings)
    full, feats = set(statuses), set(features_for)
    if features_only:
        full, feats = set(), full | feats
    todo = [r for r in store.samples(status=sorted(full | feats))
            if force or _stale(book.get(r.sample_id), model_version, r.status in full)]
    done = {"scored": 0, "features": 0, "unscorable": 0}
    by_image = itertools.groupby(sorted(todo, key=lambda r: r.image_id), key=lambda r: r.image_id)
    for _, group in by_image:
        records = list(group)
        chat = scorer.chat(records[0].image)
        features = chat.image_features()
        for record in records:
            if record.status in full:
                scores = scorer.probe(chat, record.dialogue, features).scores
                done["scored" if scores.error is None else "unscorable"] += 1
            else:
                scores = ItemScores(model_version, kind="features", features=features)
                done["features"] += 1
            book.put(record.sample_id, scores)
            if on_progress is not None:
                on_progress(sum(done.values()), len(todo))
    return {"store": store.where, "model_version": model_version, **done,
            "up_to_date": _count(store, full | feats) - len(todo)}


def _stale(scores: ItemScores | None, version: str, needs_full: bool) -> bool:
    if scores is None or scores.model_version != version:
        return True
    return needs_full and scores.kind != "full"


def _count(store, statuses: set[str]) -> int:
    counts = store.counts()
    return sum(counts[s] for s in statuses)

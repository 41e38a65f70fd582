"""Per-sample acquisition scores, computed once per model version and kept beside the store.

One JSON document per sample, `STORE/active-learning/scores/<sample_id>.json`, replaced whole
(see sidefiles.py), so a scorer killed half-way leaves every document either old or new. Each
records the model version it was computed with; a scorer recomputes documents of other versions.

Figures (all "higher = less sure", except predicted_iou):
- predicted_iou: SAM's IoU head for the mask of the segmentation request, mean over its masks;
- entropy: mean binary entropy of the mask probabilities, in bits (0 sure .. 1 coin toss);
- disagreement: 1 - mean pairwise IoU of the masks for paraphrases of the request;
- features: the image's (D,) feature vector (mean visual token), for diversity.
A reply without a mask to a segmentation request is as unsure as it gets: predicted_iou 0,
entropy 1. Labeled samples get features only (kind "features"): diversity measures new items
against them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from active_learning.sidefiles import SideFiles, side_files

SCORES = "scores"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ItemScores:
    model_version: str
    kind: str = "full"  # "full" (an item to rank) or "features" (a labeled sample)
    predicted_iou: float | None = None
    entropy: float | None = None
    disagreement: float | None = None
    has_mask: bool = False
    features: np.ndarray | None = field(default=None, compare=False)
    error: str | None = None  # why the item could not be scored (e.g. too long for the model)

    def uncertainty(self) -> float | None:
        """Mean of (1 - predicted_iou), entropy and disagreement, of those known; 0..1."""
        parts = [1.0 - self.predicted_iou if self.predicted_iou is not None else None,
                 self.entropy, self.disagreement]
        known = [p for p in parts if p is not None]
        return float(np.mean(known)) if known else None

    def to_json(self) -> dict[str, Any]:
        features = None if self.features is None else [float(v) for v in self.features]
        return {"format": FORMAT_VERSION, "model_version": self.model_version, "kind": self.kind,
                "predicted_iou": self.predicted_iou, "entropy": self.entropy,
                "disagreement": self.disagreement, "has_mask": self.has_mask,
                "error": self.error, "features": features}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ItemScores | None:
        """None for a document of another format (it is then recomputed)."""
        if doc.get("format") != FORMAT_VERSION or not isinstance(doc.get("model_version"), str):
            return None
        features = doc.get("features")
        return cls(
            model_version=doc["model_version"], kind=doc.get("kind", "full"),
            predicted_iou=doc.get("predicted_iou"), entropy=doc.get("entropy"),
            disagreement=doc.get("disagreement"), has_mask=bool(doc.get("has_mask")),
            features=None if features is None else np.asarray(features, np.float32),
            error=doc.get("error"),
        )


class ScoreBook:
    """The scores of one store's samples."""

    def __init__(self, side: SideFiles) -> None:
        self.side = side

    @classmethod
    def of(cls, store) -> ScoreBook:
        return cls(side_files(store))

    def get(self, sample_id: str) -> ItemScores | None:
        doc = self.side.read_json(f"{SCORES}/{sample_id}.json")
        return None if doc is None else ItemScores.from_json(doc)

    def put(self, sample_id: str, scores: ItemScores) -> None:
        self.side.write_json(f"{SCORES}/{sample_id}.json", scores.to_json())

    def many(self, sample_ids) -> dict[str, ItemScores | None]:
        return {sid: self.get(sid) for sid in sample_ids}

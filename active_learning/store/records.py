"""SampleRecord: one sample's metadata, with its arrays read only when first asked for.

Iterating a store of thousands of samples reads one small JSON document per sample; the masks and
the image of a record are read from the store on first access of `proposal`, `correction` or
`image` (then kept on the record), so a strategy that ranks by score never touches pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


class ArrayLoader(Protocol):
    """What a record needs from its store to read its arrays."""

    def load_array(self, sample_id: str, name: str) -> np.ndarray: ...

    def image(self, image_id: str) -> np.ndarray: ...


@dataclass(frozen=True)
class SampleRecord:
    """A complete sample as stored. Frozen: change a sample through the store's methods."""

    sample_id: str
    image_id: str
    dialogue: list[dict[str, str]]
    focus: str
    status: str
    model_version: str | None
    score: float | None
    annotator: str | None
    created: str
    updated: str
    shape: tuple[int, int]
    has_proposal: bool
    has_correction: bool
    dice: float | None = None
    pixels_changed: int | None = None
    turns: int | None = None
    seconds: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    _loader: ArrayLoader | None = field(default=None, repr=False, compare=False)
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_attrs(
        cls, sample_id: str, attrs: dict[str, Any], loader: ArrayLoader | None
    ) -> SampleRecord:
        return cls(
            sample_id=sample_id,
            image_id=attrs["image_id"],
            dialogue=attrs["dialogue"],
            focus=attrs["focus"],
            status=attrs["status"],
            model_version=attrs.get("model_version"),
            score=attrs.get("score"),
            annotator=attrs.get("annotator"),
            created=attrs["created"],
            updated=attrs["updated"],
            shape=tuple(attrs["shape"]),
            has_proposal=bool(attrs.get("has_proposal")),
            has_correction=bool(attrs.get("has_correction")),
            dice=attrs.get("dice"),
            pixels_changed=attrs.get("pixels_changed"),
            turns=attrs.get("turns"),
            seconds=attrs.get("seconds"),
            meta=attrs.get("meta") or {},
            _loader=loader,
        )

    @property
    def proposal(self) -> np.ndarray | None:
        """The model's mask (bool, (H, W)), or None if the sample was added without one."""
        return self._sample_array("proposal") if self.has_proposal else None

    @property
    def correction(self) -> np.ndarray | None:
        """The annotator's mask (uint8 labels, (H, W)), or None before a correction."""
        return self._sample_array("correction") if self.has_correction else None

    @property
    def image(self) -> np.ndarray:
        """The pixels, as given to add_sample(). Read whole: use store.image_array() for tiles."""
        if "image" not in self._cache:
            self._cache["image"] = self._require_loader().image(self.image_id)
        return self._cache["image"]

    def load(self) -> SampleRecord:
        """Read all arrays now (e.g. before handing the record to another thread); returns self."""
        _ = self.proposal, self.correction, self.image
        return self

    def _sample_array(self, name: str) -> np.ndarray:
        if name not in self._cache:
            self._cache[name] = self._require_loader().load_array(self.sample_id, name)
        return self._cache[name]

    def _require_loader(self) -> ArrayLoader:
        if self._loader is None:
            raise RuntimeError(
                f"record {self.sample_id} is detached from its store; get it with store.get()"
            )
        return self._loader

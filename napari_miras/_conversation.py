"""One conversation about one image plane: its turns, its masks' label ids, and its sample.

A conversation is either *live* (it holds a `miras` chat and can take more turns) or *stored*
(opened from a correction store, or already saved: it shows its dialogue and can be accepted,
curated or rejected again, but a new message starts a new conversation).

Everything a writer needs to save it travels with its Labels layer as `layer.metadata["miras"]`
(see `to_metadata`), so File > Save and the reader/writer round-trip need no widget.
No napari, no Qt here.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

METADATA_KEY = "miras"
HUMAN, GPT = "human", "gpt"  # PRIST role names, as in chat.history
OBJ, SEG = "[OBJ]", "[SEG]"
SAVED = ("sample_id", "status", "store", "saved_digest")  # where and what was last saved
_SEGMENT = re.compile(r"(?:\[OBJ\](.*?))?\[SEG\]", re.DOTALL)


@dataclass
class Segment:
    """One [SEG] of a reply: the label id its mask got, its class phrase and score."""

    label_id: int
    label: str
    score: float | None
    turn: int  # index of the gpt turn in `Conversation.turns`


@dataclass
class Conversation:
    image_name: str
    index: tuple[int, ...] = ()  # the plane in the image's leading axes
    chat: Any = None  # a live miras chat; None once stored or when opened from a store
    model: Any = None  # the model the chat belongs to (a reload starts a new conversation)
    model_version: str | None = None
    image: np.ndarray | None = None  # the (H, W[, C]) plane the model saw
    turns: list[tuple[str, str]] = field(default_factory=list)  # (role, raw text)
    segments: list[Segment] = field(default_factory=list)
    proposal: np.ndarray | None = None  # union of the model's masks, bool (H, W)
    sample_id: str | None = None
    status: str | None = None
    store: str | None = None
    saved_digest: str | None = None  # `_layers.digest` of the labels as last saved
    focus_text: str | None = None  # the store's focus for stored samples
    stored_score: float | None = None
    started: float | None = field(default_factory=time.monotonic)  # None: effort unknown
    closed: bool = False  # "New conversation" was pressed: no more turns
    asked: int = 0  # questions asked here (not those of a stored dialogue): the effort figure
    image_layer: Any = field(default=None, repr=False)  # the napari layers it belongs to
    labels_layer: Any = field(default=None, repr=False)

    @property
    def live(self) -> bool:
        """Can take another turn: has a chat, and was neither closed nor saved."""
        return self.chat is not None and not self.closed and self.sample_id is None

    def take_saved(self, meta: dict[str, Any]) -> None:
        """Take where a layer's metadata says it was saved (File > Save records it there)."""
        for name in SAVED:
            setattr(self, name, meta.get(name, getattr(self, name)))

    def add_turn(self, text: str, raw: str, masks, labels, scores) -> list[Segment]:
        """Record a question and its reply; give each mask the next free label id."""
        self.turns += [(HUMAN, text), (GPT, raw)]
        self.asked += 1
        turn = len(self.turns) - 1
        first = self.next_label_id()
        new = [
            Segment(first + i, _at(labels, i, ""), _at(scores, i, None), turn)
            for i in range(len(masks))
        ]
        self.segments += new
        for mask in masks:
            mask = np.asarray(mask, dtype=bool)
            self.proposal = mask.copy() if self.proposal is None else self.proposal | mask
        return new

    def next_label_id(self) -> int:
        """The label id the next reply's first mask gets."""
        return max((s.label_id for s in self.segments), default=0) + 1

    def segments_of(self, turn: int) -> list[Segment]:
        return [s for s in self.segments if s.turn == turn]

    def dialogue(self) -> list[dict[str, str]]:
        """The turns in the PRIST / store format."""
        return [{"from": role, "value": text} for role, text in self.turns]

    def focus(self) -> str:
        """What the sample is about: the masks' class phrases, else the last question."""
        if self.focus_text:
            return self.focus_text
        phrases = list(dict.fromkeys(s.label for s in self.segments if s.label))
        if phrases:
            return "; ".join(phrases)
        questions = [text for role, text in self.turns if role == HUMAN]
        return questions[-1] if questions else ""

    def score(self) -> float | None:
        """The model's confidence in its proposal: the mean of its masks' scores."""
        scores = [s.score for s in self.segments if s.score is not None]
        return float(np.mean(scores)) if scores else self.stored_score

    def proposal_or_empty(self, shape: tuple[int, int]) -> np.ndarray:
        return self.proposal if self.proposal is not None else np.zeros(shape, bool)

    def layer_name(self) -> str:
        """Named after the first [OBJ] class, else after the image."""
        label = next((s.label for s in self.segments if s.label), "")
        return f"{label or self.image_name} (MIRAS)"

    def to_metadata(self) -> dict[str, Any]:
        """What the writer and a reopened conversation need; kept in the Labels layer."""
        return {
            "dialogue": self.dialogue(),
            "focus": self.focus(),
            "image": self.image,
            "image_name": self.image_name,
            "plane": list(self.index),
            "proposal": self.proposal,
            "model_version": self.model_version,
            "score": self.score(),
            "segments": [vars(s).copy() for s in self.segments],
            "sample_id": self.sample_id,
            "status": self.status,
            "store": self.store,
            "saved_digest": self.saved_digest,
        }

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> Conversation:
        """A stored conversation from a layer's metadata (reader, queue, an older layer)."""
        turns = [(t["from"], t["value"]) for t in meta.get("dialogue", [])]
        segments = [Segment(**s) for s in meta.get("segments", [])]
        return cls(
            image_name=meta.get("image_name", "image"),
            index=tuple(meta.get("plane", ())),
            model_version=meta.get("model_version"),
            image=meta.get("image"),
            turns=turns,
            segments=segments,
            proposal=meta.get("proposal"),
            sample_id=meta.get("sample_id"),
            status=meta.get("status"),
            store=meta.get("store"),
            saved_digest=meta.get("saved_digest"),
            focus_text=meta.get("focus") or None,
            stored_score=meta.get("score"),
            started=None,  # the caller sets it if it knows when annotation began
        )


def split_reply(raw: str) -> list[tuple[str, int | None]]:
    """The reply as (text, seg_number) pieces: text runs with None, each [SEG] with its number.

    "Sure, [OBJ]the mug[SEG]." -> [("Sure, ", None), ("the mug", 0), (".", None)]
    """
    pieces: list[tuple[str, int | None]] = []
    at = 0
    for number, match in enumerate(_SEGMENT.finditer(raw)):
        if match.start() > at:
            pieces.append((raw[at : match.start()], None))
        pieces.append((match.group(1) or "", number))
        at = match.end()
    if at < len(raw):
        pieces.append((raw[at:], None))
    return pieces


def _at(values, i: int, default):
    return values[i] if values is not None and i < len(values) else default

"""A stored sample as napari layer data: its image, and its correction (or proposal) as Labels.

Used by the reader (a whole store) and by the active-learning dock (one queue item). The Labels
layer carries the sample's conversation in `metadata["miras"]`, so the chat dock can show its
dialogue and Accept updates the same sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_miras._conversation import GPT, METADATA_KEY, Conversation, Segment
from napari_miras._layers import LABELS_DTYPE

LayerData = tuple[Any, dict[str, Any], str]


def image_name(record) -> str:
    """The name a sample's image gets: its PRIST img_id if it has one, else its content id."""
    return str(record.meta.get("img_id") or f"image {record.image_id[:12]}")


def image_layer_data(record, image: np.ndarray, *, visible: bool = True) -> LayerData:
    rgb = image.ndim == 3
    return image, {"name": image_name(record), "rgb": rgb, "visible": visible}, "image"


def labels_layer_data(store, record, image: np.ndarray, *, visible: bool = True) -> LayerData:
    """The sample's correction (else its proposal as label 1), with its conversation."""
    if record.correction is not None:
        labels = np.array(record.correction, dtype=LABELS_DTYPE)
    else:
        labels = np.asarray(record.proposal, dtype=LABELS_DTYPE)
    conversation = conversation_of(store, record, image)
    meta = {
        "name": f"{record.focus or record.sample_id} ({record.status})",
        "metadata": {METADATA_KEY: conversation.to_metadata()},
        "visible": visible,
    }
    return labels, meta, "labels"


def conversation_of(store, record, image: np.ndarray) -> Conversation:
    """The stored sample as a (not live) conversation."""
    turns = [(t["from"], t["value"]) for t in record.dialogue]
    last_reply = max((i for i, (role, _) in enumerate(turns) if role == GPT), default=0)
    ids = sorted(int(v) for v in np.unique(record.correction) if v) if record.has_correction else []
    segments = [Segment(i, record.focus, record.score, last_reply) for i in ids or [1]]
    return Conversation(
        image_name=image_name(record),
        model_version=record.model_version,
        image=image,
        turns=turns,
        segments=segments,
        proposal=record.proposal,
        sample_id=record.sample_id,
        status=record.status,
        store=store.where,
        focus_text=record.focus,
        stored_score=record.score,
        started=None,
    )

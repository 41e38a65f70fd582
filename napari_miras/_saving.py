"""Accept, curate or reject a conversation: what goes into the correction store, and how.

    accept   the annotator's labels become the sample's correction  -> "corrected"
    curate   accept, then mark it fit for training                  -> "curated"
    reject   keep the proposal on record, never train on it         -> "rejected"

A conversation saved before (or opened from this store) updates its sample; otherwise a new sample
is written in one `add_sample` call (arrays first, status last: crash-safe). Runs in a worker.
"""

from __future__ import annotations

import time

import numpy as np

from napari_miras._conversation import Conversation
from napari_miras._layers import storable

ACTIONS = {"accept": "corrected", "curate": "curated", "reject": "rejected"}


class NothingToSave(ValueError):
    """The conversation has no image yet (no turn was answered)."""


def save(
    store,
    conversation: Conversation,
    correction: np.ndarray,
    action: str,
    annotator: str | None = None,
) -> tuple[str, str]:
    """Write the conversation to `store`; returns (sample_id, new status)."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {sorted(ACTIONS)}, not {action!r}")
    if conversation.image is None:
        raise NothingToSave(
            "nothing to save yet: ask the model about the image first (or open a sample from "
            "the queue in the MIRAS active learning dock)"
        )
    sample_id = _existing_sample(store, conversation)
    if action == "reject":
        if sample_id is None:
            sample_id = _add(store, conversation, None, "proposed", annotator)
        store.set_status(sample_id, "rejected")
        return sample_id, "rejected"
    started = conversation.started
    effort = {
        "seconds": None if started is None else round(time.monotonic() - started, 3),
        "turns": conversation.asked or None,
    }
    if sample_id is None:
        sample_id = _add(store, conversation, correction, "corrected", annotator, **effort)
    else:
        store.set_correction(sample_id, correction, annotator=annotator, **effort)
    if action == "curate":
        store.set_status(sample_id, "curated")
    return sample_id, ACTIONS[action]


def _existing_sample(store, conversation: Conversation) -> str | None:
    """The conversation's sample id if it lives in this very store."""
    if conversation.sample_id is None or conversation.store != store.where:
        return None
    return conversation.sample_id


def _add(store, conversation, correction, status, annotator, **effort) -> str:
    image = storable(conversation.image)
    return store.add_sample(
        image=image,
        dialogue=conversation.dialogue(),
        focus=conversation.focus(),
        proposal=conversation.proposal_or_empty(image.shape[:2]),
        correction=correction,
        status=status,
        model_version=conversation.model_version,
        score=conversation.score(),
        annotator=annotator,
        **effort,
    )

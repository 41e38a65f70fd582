"""Save a MIRAS Labels layer (the annotator's correction and its dialogue) into a store.

The chat dock keeps the conversation in `layer.metadata["miras"]`; File > Save Selected Layers…
with a `.zarr` name writes it as a corrected sample (a curated one stays curated). A layer that
came from this store updates its own sample instead of adding a copy. The sample it wrote is
recorded in the layer's metadata (napari passes the layer's own dict), so saving again, or
Accept in the chat dock, updates that sample too.
"""

from __future__ import annotations

from typing import Any

from napari_miras._conversation import METADATA_KEY, Conversation
from napari_miras._layers import digest, labels_plane
from napari_miras._saving import save


def write_labels(path: str, data: Any, meta: dict) -> list[str]:
    stored = _stored(meta)
    conversation = Conversation.from_metadata(stored)
    correction = labels_plane(data, conversation.index, meta.get("name", "the labels"))
    import active_learning

    store = active_learning.open_store(path)
    action = "curate" if conversation.status == "curated" else "accept"
    sample_id, status = save(store, conversation, correction, action)
    stored.update(sample_id=sample_id, status=status, store=store.where, saved_digest=digest(data))
    return [path]


def _stored(meta: dict) -> dict:
    """The conversation kept in the layer's metadata (the layer's own dict, not a copy)."""
    found = (meta.get("metadata") or {}).get(METADATA_KEY)
    if not found or found.get("image") is None or not found.get("dialogue"):
        raise ValueError(
            f"layer {meta.get('name', '')!r} holds no MIRAS conversation (metadata['miras'] with "
            "its dialogue and image); only Labels layers made by the MIRAS chat dock or opened "
            "from a correction store can be saved into a store"
        )
    return found

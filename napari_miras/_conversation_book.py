"""The chat dock's conversations in one viewer, and the Labels layer each one writes into.

Which conversation takes the next turn (the current one, if it is live and about the same plane
with the same model), which chat a new one can reuse (same plane and model: the image features
are cached), and the layer bookkeeping: made over the image on the first reply, metadata kept in
step for the writer, a MIRAS Labels layer selected in the layer list becomes the current one.
napari is imported inside functions only.
"""

from __future__ import annotations

import time
from typing import Any

from napari_miras import _layers
from napari_miras._conversation import METADATA_KEY, Conversation


class ConversationBook:
    def __init__(self, viewer: Any) -> None:
        self.viewer = viewer
        self.current: Conversation | None = None
        self.items: list[Conversation] = []

    def for_turn(self, layer, index: tuple[int, ...], model, version: str | None) -> Conversation:
        """The current conversation if it can take this turn, else a new (current) one."""
        layer = _layers.unwrap(layer)
        current = self.current
        if current is not None:
            self.take_file_save(current)  # saved with File > Save: takes no more turns
        if (
            current is not None
            and current.live
            and current.image_layer is layer
            and current.index == index
            and current.model is model
        ):
            return current
        conversation = Conversation(
            image_name=layer.name, index=index, model=model, model_version=version,
            image_layer=layer,
        )  # fmt: skip
        self._reuse_chat(conversation)
        self.items.append(conversation)
        self.current = conversation
        return conversation

    def _reuse_chat(self, new: Conversation) -> None:
        """Take an idle chat of the same plane and model, reset (its image features are kept)."""
        for old in self.items:
            same = old.image_layer is new.image_layer and old.index == new.index
            if old.chat is not None and same and old.model is new.model:
                old.chat.reset()
                new.chat, new.image, old.chat = old.chat, old.image, None
                return

    def close_current(self) -> None:
        """"New conversation": the current one takes no more turns."""
        if self.current is not None:
            self.current.closed = True  # its chat is reused, reset, by the next one
        self.current = None

    def labels_of(self, conversation: Conversation):
        """The conversation's Labels layer, made over its image if missing or deleted."""
        labels = conversation.labels_layer
        if labels is not None and labels in self.viewer.layers:
            return labels
        from napari.layers import Labels

        image = conversation.image_layer
        labels = Labels(
            _layers.empty_labels(image), name=conversation.layer_name(),
            metadata={METADATA_KEY: conversation.to_metadata()}, **_layers.placement(image),
        )  # fmt: skip
        # Linked before it is added: adding selects it, and selecting shows its conversation.
        conversation.labels_layer = labels
        self.viewer.layers.append(labels)
        return labels

    @staticmethod
    def sync(conversation: Conversation) -> None:
        """Keep the layer's metadata (for the writer) and features (for the status bar)."""
        labels = conversation.labels_layer
        if labels is None:
            return
        labels.metadata[METADATA_KEY] = conversation.to_metadata()
        segments = conversation.segments
        labels.features = {
            "index": [s.label_id for s in segments],
            "class": [s.label for s in segments],
            "score": [float("nan") if s.score is None else s.score for s in segments],
        }
        if labels.name.endswith(f"{conversation.image_name} (MIRAS)"):
            labels.name = conversation.layer_name()  # named after the first [OBJ] class

    @staticmethod
    def take_file_save(conversation: Conversation) -> None:
        """Take the sample File > Save wrote the layer into (the writer records it there)."""
        labels = conversation.labels_layer
        if labels is not None:
            conversation.take_saved(labels.metadata.get(METADATA_KEY, {}))

    def adopt(self, labels) -> Conversation | None:
        """Make the conversation kept in a MIRAS Labels layer current; None for other layers."""
        if METADATA_KEY not in getattr(labels, "metadata", {}):
            return None
        labels = _layers.unwrap(labels)
        known = next((c for c in self.items if c.labels_layer is labels), None)
        if known is None:
            known = Conversation.from_metadata(labels.metadata[METADATA_KEY])
            known.labels_layer = labels
            known.started = time.monotonic()  # the annotator's time on it counts from here
            self.items.append(known)
        self.current = known
        return known

    def prune(self) -> None:
        """Forget conversations whose layer was deleted (the current one stays)."""
        alive = {id(_layers.unwrap(layer)) for layer in self.viewer.layers}
        self.items = [
            c for c in self.items
            if c is self.current or c.labels_layer is None or id(c.labels_layer) in alive
        ]  # fmt: skip

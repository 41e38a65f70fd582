"""Training sources over a correction store, for `miras.training.loop.train`.

A source has item(i), key(i), indices(step, batch_size, seed), signature() and len (see
miras/training/data.py). StoreSource serves curated samples; ReplaySource mixes a share of earlier
data (a PRIST folder, e.g. what the base model was trained on) into every batch, so that
fine-tuning on a few corrections does not make the model forget the rest.

Feature-cache keys are content hashes (image, dialogue, mask), so the cache under REG/ stays valid
from one retrain to the next: a sample's features are computed once, however many retrains use it
(the frozen weights are part of the cache's folder name, see miras.training.feature_cache).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

SEG = "[SEG]"
KEY_SCHEME = "al-store-v1"


def training_turns(dialogue: list[dict[str, str]]) -> list[tuple[str, str]] | None:
    """The dialogue up to its last [SEG] answer, as (role, text) turns; None if it cannot train
    with one mask: no [SEG] answer, or [SEG] more than once (a store sample has one correction)."""
    turns = [(t["from"], t["value"]) for t in dialogue]
    ends = [i for i, (role, text) in enumerate(turns) if role == "gpt" and SEG in text]
    if not ends:
        return None
    turns = turns[: ends[-1] + 1]
    if sum(text.count(SEG) for _, text in turns) != 1:
        return None
    return turns


def trainable(record) -> bool:
    return record.has_correction and training_turns(record.dialogue) is not None


def walk(n: int, position: int, seed: int, stream: int = 0) -> int:
    """Index at `position` of an endless walk through seeded permutations of range(n)."""
    epoch, offset = divmod(position, n)
    return int(np.random.default_rng([seed, stream, epoch]).permutation(n)[offset])


class StoreSource:
    """Curated samples of a store (records as store.samples() yields them).

    Pixels are read from the store at each item() and not kept: after the first epoch the feature
    cache answers, and a store may hold more images than memory.
    """

    def __init__(self, store, records) -> None:
        self.store = store
        self.records = [r for r in records if trainable(r)]

    def __len__(self) -> int:
        return len(self.records)

    @property
    def sample_ids(self) -> list[str]:
        return [r.sample_id for r in self.records]

    def item(self, index: int):
        from miras.training.data import Item

        record = self.records[index % len(self.records)]
        turns, mask = self._turns_and_mask(record)
        return Item(key=_content_key(record, turns, mask), image=self.store.image(record.image_id),
                    turns=turns, masks=[mask])

    def key(self, index: int) -> str:
        """item(index).key from the dialogue and mask alone: no image read."""
        record = self.records[index % len(self.records)]
        return _content_key(record, *self._turns_and_mask(record))

    def _turns_and_mask(self, record):
        return training_turns(record.dialogue), self.store.load_array(record.sample_id, "correction") > 0

    def indices(self, step: int, batch_size: int, seed: int) -> list[int]:
        start = step * batch_size
        return [walk(len(self), p, seed) for p in range(start, start + batch_size)]

    def signature(self) -> str:
        # Keys are content hashes, so one folder serves every retrain (see module docstring).
        return KEY_SCHEME


def _content_key(record, turns, mask: np.ndarray) -> str:
    digest = hashlib.sha256(f"{record.image_id}|{json.dumps(turns)}|{mask.shape}".encode())
    digest.update(np.packbits(mask).tobytes())
    return f"store-{digest.hexdigest()[:24]}"


class ReplaySource:
    """`primary` with a `share` of each batch drawn from `replay` (indices past len(primary))."""

    def __init__(self, primary, replay, share: float) -> None:
        if not 0.0 <= share < 1.0:
            from active_learning.errors import LoopError

            raise LoopError(f"the replay share must be in [0, 1), got {share}")
        self.primary, self.replay, self.share = primary, replay, share

    def __len__(self) -> int:
        return len(self.primary) + len(self.replay)

    def item(self, index: int):
        source, local = self._which(index)
        return source.item(local)

    def key(self, index: int) -> str:
        from miras.training.data import item_key

        return item_key(*self._which(index))

    def _which(self, index: int):
        if index < len(self.primary):
            return self.primary, index
        return self.replay, index - len(self.primary)

    def indices(self, step: int, batch_size: int, seed: int) -> list[int]:
        # Slot p of the run is replay with probability `share`, decided by (seed, p) alone, so
        # a resumed run or another process sees the same batches.
        start = step * batch_size
        out = []
        for p in range(start, start + batch_size):
            if np.random.default_rng([seed, 7, p]).random() < self.share:
                out.append(len(self.primary) + walk(len(self.replay), p, seed, stream=1))
            else:
                out.append(walk(len(self.primary), p, seed))
        return out

    def signature(self) -> str:
        return f"{self.primary.signature()}+{self.replay.signature()}"

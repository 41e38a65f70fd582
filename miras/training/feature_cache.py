"""Stage-2 feature cache: with towers and LLM frozen, what a step needs is computed once.

For each (image, dialogue) the cache keeps SAM's image embedding and the LLM's last-layer states
at the [SEG] tokens and their `[OBJ]`...name spans; a step then runs only the [SEG] head, the
region alignment and the mask decoder. Entries live under a signature of the frozen weights, the
config and the data: any change there puts them in a new folder (micro-sam does the same).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from miras.batch import collate, make_example
from miras.modeling.miras import seg_spans, span_rows


@dataclass
class CachedItem:
    sam_embedding: torch.Tensor  # (D_prompt, g, g)
    hidden: torch.Tensor  # (L, D_llm): states at the [SEG] tokens and their [OBJ] spans, in order
    ids: torch.Tensor  # (L,) the token ids at those positions
    masks: torch.Tensor  # (n_seg, H, W) targets
    input_size: tuple[int, int]

    def to(self, device) -> CachedItem:
        """The same entry on `device` (entries are read from disk onto the CPU)."""
        return CachedItem(self.sam_embedding.to(device), self.hidden.to(device), self.ids.to(device),
                          self.masks.to(device), self.input_size)


@dataclass
class CachedBatch:
    items: list[CachedItem]

    def __len__(self) -> int:
        return len(self.items)


def frozen_signature(model) -> str:
    """A hash of the config and every frozen weight: what the cached features depend on."""
    digest = hashlib.blake2b(digest_size=12)
    digest.update(json.dumps(model.config.to_dict(), sort_keys=True).encode())
    for name, param in sorted(model.named_parameters()):
        if not param.requires_grad:
            digest.update(name.encode())
            digest.update(param.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def rows_to_keep(ids: torch.Tensor, token_ids) -> torch.Tensor:
    """Positions of each [SEG] and of the `[OBJ]`...name span right before it."""
    return torch.tensor(span_rows(seg_spans(ids, token_ids)), dtype=torch.long, device=ids.device)


@torch.no_grad()
def compute_item(model, image, turns, masks) -> CachedItem:
    example = make_example(model, image, turns, masks)
    batch = collate([example])
    features = model.encode_images(batch.clip, batch.aux, batch.sam)
    spliced = model.splice(batch.input_ids, features.visual_tokens)
    hidden = model.hidden_states(spliced.embeds, spliced.attention_mask)[0]
    rows = rows_to_keep(spliced.ids[0], model.token_ids)
    return CachedItem(
        sam_embedding=features.sam_embedding[0],
        hidden=hidden[rows],
        ids=spliced.ids[0, rows],
        masks=example.masks,
        input_size=example.views.input_size,
    )


class FeatureCache:
    """A folder of safetensors files, one per item, under `root/<signature>/`."""

    def __init__(self, root: str | Path, model, data_signature: str) -> None:
        self.model = model
        self.folder = Path(root) / f"{frozen_signature(model)}-{data_signature}"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.hits = 0
        self.misses = 0

    def get(self, item) -> CachedItem:
        return self.lookup(item.key, lambda: item)

    def lookup(self, key: str, load: Callable[[], object]) -> CachedItem:
        """The entry under `key`; `load()` gives the item (image, turns, masks) only on a miss,
        so a step that hits the cache reads no pixels."""
        path = self.folder / f"{key}.safetensors"
        if path.exists():
            self.hits += 1
            return _read(path)
        self.misses += 1
        item = load()
        cached = compute_item(self.model, item.image, item.turns, item.masks)
        _write(path, cached)
        return cached


def _write(path: Path, item: CachedItem) -> None:
    tensors = {
        "sam_embedding": item.sam_embedding.contiguous(),
        "hidden": item.hidden.contiguous(),
        "ids": item.ids.contiguous(),
        "masks": item.masks.to(torch.uint8).contiguous(),
        "input_size": torch.tensor(item.input_size),
    }
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp))
    tmp.replace(path)  # atomic: a killed run never leaves half an entry


def _read(path: Path) -> CachedItem:
    t = load_file(str(path))
    return CachedItem(
        sam_embedding=t["sam_embedding"],
        hidden=t["hidden"],
        ids=t["ids"],
        masks=t["masks"].float(),
        input_size=tuple(int(v) for v in t["input_size"]),
    )

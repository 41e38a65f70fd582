"""Training examples: an image's three views, a tokenised dialogue and one mask per [SEG]."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from miras.conversation import encode_dialogue
from miras.errors import DataError
from miras.preprocess import ImageViews, image_views


@dataclass
class Example:
    views: ImageViews
    input_ids: list[int]
    labels: list[int]
    masks: torch.Tensor  # (n_seg, H, W) float 0/1 at the image's size


@dataclass
class Batch:
    clip: torch.Tensor  # (B, 3, S_clip, S_clip)
    aux: torch.Tensor  # (B, 3, S_aux, S_aux)
    sam: torch.Tensor  # (B, 3, S_sam, S_sam)
    input_ids: list[list[int]]
    labels: list[list[int]]
    masks: list[torch.Tensor]
    input_sizes: list[tuple[int, int]]
    original_sizes: list[tuple[int, int]]

    def __len__(self) -> int:
        return len(self.input_ids)


def views_for(model, image: np.ndarray) -> ImageViews:
    config = model.config
    return image_views(
        image,
        aux_size=config.convnext.image_size,
        clip_size=int(config.clip["image_size"]),
        sam_size=config.sam.image_size,
    )


def make_example(
    model,
    image: np.ndarray,
    turns: Sequence[tuple[str, str]],
    masks: Sequence[np.ndarray],
    unsupervised: Collection[int] = (),
) -> Example:
    """One training example; `masks` holds one (H, W) mask per [SEG] in the dialogue, in order;
    the replies at turn indices `unsupervised` are context, not targets."""
    views = views_for(model, image)
    encoded = encode_dialogue(model.tokenizer, model.token_ids, turns, system=model.config.system_prompt,
                              unsupervised=unsupervised)
    n_seg = encoded.input_ids.count(model.token_ids.seg)
    if n_seg != len(masks):
        raise DataError(f"the dialogue has {n_seg} [SEG] tokens but {len(masks)} masks were given")
    size = views.original_size
    stack = np.zeros((len(masks), *size), np.float32)
    for i, mask in enumerate(masks):
        if mask.shape != size:
            raise DataError(f"mask {i} has shape {mask.shape} but the image is {size}")
        stack[i] = mask > 0
    return Example(views, encoded.input_ids, encoded.labels, torch.from_numpy(stack))


def collate(examples: Sequence[Example]) -> Batch:
    return Batch(
        clip=torch.stack([e.views.clip for e in examples]),
        aux=torch.stack([e.views.aux for e in examples]),
        sam=torch.stack([e.views.sam for e in examples]),
        input_ids=[e.input_ids for e in examples],
        labels=[e.labels for e in examples],
        masks=[e.masks for e in examples],
        input_sizes=[e.views.input_size for e in examples],
        original_sizes=[e.views.original_size for e in examples],
    )

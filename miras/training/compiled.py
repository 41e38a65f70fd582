"""`torch.compile` for the length of one training run.

On this project's 2-core CPU (demo preset, batch 16), steps got faster after a minute or two
of compiling: a dialogue step in bf16 with all but the towers training took 723 ms instead of
968 ms. A step on cached features took 62 ms instead of 77 ms. That pays off in long runs and
not in short ones, such as an active-learning retrain, so it is opt-in
(`TrainSettings.compile`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


def compiled_parts(model) -> list[nn.Module]:
    """The parts a training step runs, each compiled on its own: the towers and their fusion,
    the LLM's decoder stack, SAM's image encoder and mask decoder. The glue between them (splicing
    image tokens, [SEG] spans, the alignment's per-phrase lists) stays eager."""
    return [
        model.vision_tower,
        model.vision_tower_aux,
        model.fusion,
        model.llm.get_decoder(),
        model.sam.image_encoder,
        model.sam.mask_decoder,
    ]


@contextlib.contextmanager
def compiled(model, enabled: bool = True) -> Iterator[None]:
    """Compile the model's parts in place while the block runs, and run them eagerly again after.

    In place (`nn.Module.compile`), so state-dict keys and checkpoints stay as they are. A shape
    that changes from one step to the next, such as the length of a padded batch or the number of
    [SEG] prompts, is compiled once more as a dynamic size, after which it does not recompile.
    A part that cannot be compiled (no C++ compiler, an op inductor lacks) runs eagerly.
    """
    if not enabled:
        yield
        return
    parts = compiled_parts(model)
    for part in parts:
        part.compile()
    try:
        with torch._dynamo.config.patch(suppress_errors=True):
            yield
    finally:
        for part in parts:
            # nn.Module.compile has no public inverse; this attribute is the one it sets.
            part._compiled_call_impl = None

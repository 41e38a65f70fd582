"""Each step's training batch, made ahead of the step by DataLoader workers when asked.

Making a batch (scenes drawn or images decoded, polygons filled, dialogues tokenised) is CPU
work that the step waits on: on a 2-core CPU about a tenth of a demo dialogue step, on a GPU
more than the step itself (docs/speed-log.md). With `workers` > 0 a torch DataLoader makes the
coming steps' batches in worker processes while this one trains. An item depends on its index
alone, so the batches, and the run, are the same with any number of workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from torch.utils.data import DataLoader, Dataset

from miras.batch import Batch, collate, make_example


@dataclass(frozen=True)
class ExampleMaker:
    """What `make_example` reads from a model, without its weights: what a worker needs."""

    config: object
    tokenizer: object
    token_ids: object

    @classmethod
    def of(cls, model) -> ExampleMaker:
        return cls(model.config, model.tokenizer, model.token_ids)


def make_batch(maker, items) -> Batch:
    return collate([make_example(maker, it.image, it.turns, it.masks, it.unsupervised) for it in items])


class _StepBatches(Dataset):
    """Element `indices` is the batch of those items (the sampler hands out one step's indices)."""

    def __init__(self, source, maker: ExampleMaker) -> None:
        self.source, self.maker = source, maker

    def __getitem__(self, indices: list[int]) -> Batch:
        return make_batch(self.maker, [self.source.item(i) for i in indices])


def _as_made(batch: Batch) -> Batch:
    """The DataLoader's collate: a worker already hands back a whole step's batch."""
    return batch


def step_batches(model, source, steps: Iterator[list[int]], workers: int) -> Iterator[Batch]:
    """The batch of each step's item indices in `steps`, in order; made ahead by `workers`
    processes (two batches each, DataLoader's default), or here at each step when `workers` is 0."""
    if workers <= 0:
        return (make_batch(model, [source.item(i) for i in indices]) for indices in steps)
    dataset = _StepBatches(source, ExampleMaker.of(model))
    return iter(DataLoader(dataset, sampler=steps, batch_size=None, collate_fn=_as_made, num_workers=workers))

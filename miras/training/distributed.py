"""Several processes through torchrun (DDP): gloo on CPU, NCCL on GPU; one process otherwise."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from miras.devices import checked_device


@dataclass
class Distributed:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls, device: str | None = None) -> Distributed:
        """Join the process group torchrun describes in the environment, if any."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        chosen = checked_device(device) or torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if world == 1:
            return cls(device=chosen)
        rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        if chosen.type == "cuda":
            chosen = torch.device("cuda", local)
            torch.cuda.set_device(chosen)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo")
        return cls(rank=rank, world=world, device=chosen)

    def shard(self, indices: list[int]) -> list[int]:
        """This process's share of a global batch (the global batch must divide evenly)."""
        if len(indices) % self.world:
            raise ValueError(f"batch {len(indices)} does not split over {self.world} processes")
        return indices[self.rank :: self.world]

    def wrap(self, model: nn.Module) -> nn.Module:
        if self.world == 1:
            return model
        from torch.nn.parallel import DistributedDataParallel

        # Frozen towers, SAM's point embeddings and CLIP's last layer never see a gradient.
        return DistributedDataParallel(model, find_unused_parameters=True)

    def mean(self, value: float) -> float:
        if self.world == 1:
            return value
        t = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(t)
        return float(t) / self.world

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def close(self) -> None:
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()

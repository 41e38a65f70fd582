"""Several processes under torchrun: who leads, and handing the leader's plan to the others.

A retrain under `torchrun --nproc_per_node N` runs N copies of the command. Rank 0 leads: it alone
takes the registry lock, evaluates, files and promotes; the others only join the training steps
(miras.training.loop.train splits each batch across the processes). They learn what to train from
the leader, so that all train on the same samples even if the store changes meanwhile.
"""

from __future__ import annotations

import os
from typing import Any


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_leader() -> bool:
    return rank() == 0


def device() -> str:
    """Where this process computes: its GPU under torchrun (LOCAL_RANK), else cuda or cpu."""
    import torch

    if not torch.cuda.is_available():
        return "cpu"
    return f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"


def share(plan: Any = None) -> Any:
    """Rank 0's `plan`, on every rank (the others pass nothing). Joins the process group that
    train() will then reuse."""
    import torch.distributed as dist

    from miras.training.distributed import Distributed

    Distributed.from_env()
    box = [plan]
    dist.broadcast_object_list(box, src=0)
    return box[0]

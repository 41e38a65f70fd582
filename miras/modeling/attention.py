"""The scaled-dot-product attention kernels the LLM may use.

cuDNN attention builds a new graph for every new sequence length, about 33 ms each on an H100.
A decode step is always a new length (94% of a turn went there, benchmarks/full_size.py), and a
training batch, padded to its longest dialogue, changes length from batch to batch too. The
other kernels need no per-shape set-up; on a CPU the choice is the same with or without this.
"""

from __future__ import annotations

from torch.nn.attention import SDPBackend, sdpa_kernel

VARIABLE_LENGTH_BACKENDS = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]


def variable_length_attention():
    """A context in which attention never picks cuDNN."""
    return sdpa_kernel(VARIABLE_LENGTH_BACKENDS)

"""The scaled-dot-product attention kernels the LLM may use.

cuDNN attention builds a new graph for every new sequence length, about 33 ms each on an H100.
A decode step is always a new length (94% of a turn went there, benchmarks/full_size.py), and a
training batch changes length from batch to batch too (then padded to its longest dialogue): a demo
stage-0 step of 16 dialogues (H100, bf16) took 0.25-2.3 s at each new length with cuDNN allowed,
0.11-0.14 s at a length seen before, and 0.14-0.19 s with cuDNN kept off (5 of 6 new lengths;
one took 1.9 s). The other kernels need no per-shape set-up; a CPU picks the same kernel either way.
"""

from __future__ import annotations

from torch.nn.attention import SDPBackend, sdpa_kernel

VARIABLE_LENGTH_BACKENDS = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]


def variable_length_attention():
    """A context in which attention never picks cuDNN."""
    return sdpa_kernel(VARIABLE_LENGTH_BACKENDS)

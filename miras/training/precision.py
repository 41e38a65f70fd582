"""bf16 autocast where the hardware runs it natively, float32 where it would only emulate it.

On a CPU without AVX512-BF16 or AMX, PyTorch's bfloat16 matrix products take a slow reference
path: on a 2-core AMD EPYC with AVX2 only, a 512x512 product took 209 ms in bf16 against 1.8 ms
in float32, and a demo dialogue step of 16 about 52 s against 4.0 s (one thread each, two runs side
by side; docs/speed-log.md, session 23). Asking for bf16 there is never what a user wants, so
training falls back to float32 and says so.
"""

from __future__ import annotations

import warnings

import torch


def native_bf16(device: torch.device) -> bool:
    """Does `device` compute in bfloat16 natively (rather than emulate it, far slower)?"""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        # Private helpers of torch.cpu; a build without them is trusted, as before this check.
        names = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        checks = [getattr(torch.cpu, name) for name in names if hasattr(torch.cpu, name)]
        return not checks or any(check() for check in checks)
    return True


def use_bf16(requested: bool, device: torch.device) -> bool:
    """Whether training autocasts to bf16: as requested, unless the device would emulate it."""
    if requested and not native_bf16(device):
        why = "no AVX512-BF16 or AMX" if device.type == "cpu" else f"a {device.type} device without it"
        warnings.warn(
            f"bf16 was asked for, but there is no native bfloat16 here ({why}): it would run tens of "
            "times slower, if at all, so training runs in float32 instead. The losses differ "
            "slightly from a bf16 run's, so a `miras demo-train` here will not match the bundled model bit for bit.",
            stacklevel=2,
        )
        return False
    return requested

"""The device and dtype a user names (`--device cuda:1`, `dtype="bfloat16"`), checked up front.

torch's own errors for these come late and read as internal failures ("Torch not compiled with
CUDA enabled" from deep inside `.to()`); these name the option and what to pass instead.
"""

from __future__ import annotations

import torch

from miras.errors import ConfigError


def checked_device(device: str | torch.device | None) -> torch.device | None:
    if device is None:
        return None
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"{device!r} is not a device; use cpu, cuda or cuda:N") from None
    if chosen.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {device!r}: no CUDA GPU is visible here; use cpu")
        if chosen.index is not None and chosen.index >= torch.cuda.device_count():
            raise ConfigError(f"device {device!r}: this machine has CUDA GPUs 0 to "
                              f"{torch.cuda.device_count() - 1}")
    return chosen


def checked_dtype(dtype: str | torch.dtype | None) -> torch.dtype | None:
    """A torch dtype, also from its name ("bfloat16", "torch.float16")."""
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    found = getattr(torch, str(dtype).removeprefix("torch."), None)
    if not isinstance(found, torch.dtype):
        raise ConfigError(f"{dtype!r} is not a torch dtype; use e.g. torch.bfloat16 or 'float16'")
    return found

"""Keep triton out of a napari process whose OpenGL already loaded Mesa's LLVM.

torch (the CUDA builds) imports triton when transformers loads; triton carries its own LLVM, and
loading it into a process that already holds Mesa's libLLVM (software OpenGL as under Xvfb or in
a VM, and Mesa drivers that compile shaders with LLVM) crashes the process with a segmentation
fault. napari has its OpenGL up before the model loads, so this happens on the first model load.
The chat only runs inference and never needs triton; in that one case torch is told it is absent.
"""

from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)


def mesa_llvm_loaded(maps_file: str = "/proc/self/maps") -> bool:
    """Is a libLLVM mapped into this process? (Linux; False where it cannot be told.)"""
    try:
        with open(maps_file, encoding="utf-8", errors="replace") as maps:
            return any("libLLVM" in line for line in maps)
    except OSError:
        return False


def keep_triton_out_if_unsafe() -> bool:
    """Block `import triton` if loading it now would crash; True if it was blocked."""
    if "triton" in sys.modules or not mesa_llvm_loaded():
        return False  # already loaded (safely, before OpenGL) or blocked, or no clash
    sys.modules["triton"] = None  # `import triton` now raises ImportError; torch copes
    log.warning("OpenGL loaded Mesa's LLVM: torch runs without triton in this napari process")
    return True

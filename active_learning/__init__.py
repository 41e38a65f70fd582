"""The active-learning loop: correction store, strategies, retraining jobs, model registry.

Uses `miras`, never napari or Qt. Imports are lazy so `import active_learning` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["STATUSES", "CorrectionStore", "SampleRecord", "open_store"]

_LAZY = {name: "active_learning.store" for name in __all__}

if TYPE_CHECKING:
    from active_learning.store import STATUSES, CorrectionStore, SampleRecord, open_store


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'active_learning' has no attribute {name!r}")

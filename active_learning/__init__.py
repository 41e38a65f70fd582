"""The active-learning loop: correction store, strategies, retraining jobs, model registry.

Uses `miras`, never napari or Qt. Imports are lazy so `import active_learning` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

_LAZY = {
    "STATUSES": "active_learning.store",
    "CorrectionStore": "active_learning.store",
    "SampleRecord": "active_learning.store",
    "open_store": "active_learning.store",
    "STRATEGIES": "active_learning.strategies",
    "next_items": "active_learning.queue",
    "release": "active_learning.queue",
    "Registry": "active_learning.registry",
}
__all__ = [
    "STATUSES", "CorrectionStore", "SampleRecord", "open_store",
    "STRATEGIES", "next_items", "release", "Registry",
]

if TYPE_CHECKING:
    from active_learning.queue import next_items, release
    from active_learning.registry import Registry
    from active_learning.store import STATUSES, CorrectionStore, SampleRecord, open_store
    from active_learning.strategies import STRATEGIES


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'active_learning' has no attribute {name!r}")

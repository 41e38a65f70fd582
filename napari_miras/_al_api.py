"""The parts of `active_learning` the docks use beyond the store, looked up when first needed.

Strategies, the queue and the registry are separate modules of `active_learning`; an install
without one of them still opens the docks, and the feature that needs it says what is missing.
"""

from __future__ import annotations

import importlib
from typing import Any


class FeatureMissing(RuntimeError):
    """An `active_learning` module the plugin needs is not installed."""


def _module(name: str, feature: str):
    try:
        return importlib.import_module(f"active_learning.{name}")
    except ModuleNotFoundError as err:
        if err.name not in (f"active_learning.{name}", "active_learning"):
            raise  # the module exists but something it imports is broken: show that
        raise FeatureMissing(
            f"{feature} needs active_learning.{name}, which this installation lacks; update "
            "napari-miras (pip install -U napari-miras)"
        ) from err


def strategies() -> dict[str, Any]:
    """name -> strategy (with `.name` and `.description`), as `active_learning` lists them."""
    return dict(_module("strategies", "The annotation queue").STRATEGIES)


def next_items(store, strategy: str, k: int, annotator: str) -> list:
    """The k most informative items by the named strategy, leased to `annotator` for 15 min."""
    queue = _module("queue", "The annotation queue")
    return list(queue.next_items(store, strategy, k, annotator, lease_seconds=900))


def registry_current(path: str) -> str | None:
    """The promoted version of the registry at `path` (None if nothing is promoted yet)."""
    registry = _module("registry", "The model registry").Registry(path)
    return registry.current

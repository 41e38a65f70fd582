"""What the two docks of one viewer share: the open store, the registry, the annotator.

Not a global singleton: one `Session` per viewer, dropped with the viewer. The docks talk through
its signals only, so each dock works alone (the chat dock without a store just cannot save).
"""

from __future__ import annotations

import getpass
import weakref
from typing import Any

from psygnal import Signal

from napari_miras._layers import unwrap


class Session:
    store_changed = Signal(object)  # the CorrectionStore, or None
    registry_changed = Signal(str)  # the registry folder ("" for none)
    promoted = Signal(str)  # a new model version became `current` in the registry
    sample_opened = Signal(object)  # a Labels layer holding a stored sample (queue, reader)
    saved = Signal(str, str)  # (sample_id, status) after accept / curate / reject

    def __init__(self) -> None:
        self.store: Any = None
        self.registry: str = ""
        self.annotator: str = _user()
        self.model_target: str = ""  # what the chat loaded ("demo", a folder): a retrain base
        self.saving: Any = None  # the Labels layer the chat is saving now, if any

    def set_store(self, store: Any) -> None:
        self.store = store
        self.store_changed.emit(store)

    def set_registry(self, path: str) -> None:
        self.registry = path
        self.registry_changed.emit(path)


_SESSIONS: weakref.WeakKeyDictionary[Any, Session] = weakref.WeakKeyDictionary()


def session_for(viewer: Any) -> Session:
    """The session of `viewer`, made on first use."""
    # Keyed on the viewer itself: napari hands each dock its own proxy of it, and a closed
    # dock's proxy dies with the dock, which would drop the session the other dock still uses.
    viewer = unwrap(viewer)
    if viewer not in _SESSIONS:
        _SESSIONS[viewer] = Session()
    return _SESSIONS[viewer]


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): the annotator can type one
        return ""

"""Keyboard shortcuts of the docks (listed for users in SHORTCUTS.md; keep the two in step).

Qt shortcuts with window context: they work wherever the focus is in the napari window, the
canvas and the message box included. The keys avoid napari's own bindings (checked against
napari 0.9's defaults).
"""

from __future__ import annotations

from collections.abc import Callable

SEND = "Ctrl+Return"  # Enter alone sends from the message box
ACCEPT = "Ctrl+Shift+A"
NEXT = "Ctrl+Shift+N"
PREVIOUS = "Ctrl+Shift+B"


def bind(widget, keys: str, action: Callable[[], object]):
    """Run `action` when `keys` are pressed in `widget`'s window; returns the QShortcut."""
    from qtpy.QtCore import Qt
    from qtpy.QtGui import QKeySequence, QShortcut

    shortcut = QShortcut(QKeySequence(keys), widget)
    shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
    shortcut.activated.connect(action)
    return shortcut

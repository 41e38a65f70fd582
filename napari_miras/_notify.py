"""napari notifications, imported when first shown (helpers stay importable without napari)."""

from __future__ import annotations


def notify(kind: str, message: str) -> None:
    """Show `message` as a napari "info", "warning" or "error" notification."""
    from napari.utils import notifications

    show = {
        "info": notifications.show_info,
        "warning": notifications.show_warning,
        "error": notifications.show_error,
    }[kind]
    show(message)

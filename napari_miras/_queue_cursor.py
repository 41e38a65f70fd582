"""Where the annotator is in the queue: the items fetched so far and the one on screen."""

from __future__ import annotations

from typing import Any


class QueueCursor:
    def __init__(self) -> None:
        self.items: list[Any] = []
        self.position = -1  # index of the item on screen; -1 before the first

    @property
    def current(self) -> Any | None:
        return self.items[self.position] if 0 <= self.position < len(self.items) else None

    def has_next(self) -> bool:
        return self.position + 1 < len(self.items)

    def has_previous(self) -> bool:
        return self.position > 0

    def extend(self, items: list[Any]) -> int:
        """Append newly fetched items, skipping ones already seen; returns how many were new."""
        seen = {item.sample_id for item in self.items}
        new = [item for item in items if item.sample_id not in seen]
        self.items += new
        return len(new)

    def forward(self) -> Any:
        if not self.has_next():
            raise IndexError("no next item: fetch more first")
        self.position += 1
        return self.items[self.position]

    def back(self) -> Any:
        if not self.has_previous():
            raise IndexError("already at the first item")
        self.position -= 1
        return self.items[self.position]

    def reset(self) -> None:
        self.items, self.position = [], -1

"""Model and store work off the GUI thread, with napari's thread workers and progress bars.

The work functions here see no Qt: they take plain callbacks (`should_stop`, a `Stream` to write
partial text into), as micro-sam's core functions do; the widgets poll the stream on a timer, so
a fast model cannot flood the event loop with updates.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

import numpy as np


class Stream:
    """The latest partial reply, written by the worker and read by the GUI (one str, no lock:
    assigning a reference is atomic)."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text = text


def start(
    function: Callable[..., Any],
    *args: Any,
    desc: str,
    on_done: Callable[[Any], None],
    on_error: Callable[[BaseException], None],
    widget: Any = None,
):
    """Run `function(*args)` in a napari thread worker with an activity-dock progress bar.

    Exactly one of `on_done(result)` / `on_error(exception)` runs on the GUI thread, unless
    `widget` (a QWidget) was deleted meanwhile (napari closed while the work ran). Returns the
    started worker.
    """
    from napari.qt.threading import create_worker

    if widget is not None:
        on_done, on_error = _while_alive(widget, on_done), _while_alive(widget, on_error)

    # Errors go to on_error (a notification saying what to do), not re-raised on the GUI thread.
    worker = create_worker(
        function, *args, _progress={"desc": desc, "total": 0}, _ignore_errors=True
    )
    worker.returned.connect(on_done)
    worker.errored.connect(on_error)
    worker.start()
    return worker


def _while_alive(widget, callback: Callable[[Any], None]) -> Callable[[Any], None]:
    def call(value: Any) -> None:
        try:
            widget.objectName()  # raises RuntimeError once Qt deleted the widget
        except RuntimeError:
            return
        callback(value)

    return call


def run_turn(
    conversation,
    make_chat: Callable[[np.ndarray], Any],
    read_image: Callable[[], np.ndarray],
    text: str,
    stop: threading.Event,
    stream: Stream,
):
    """One question to the conversation's chat; returns the model's reply.

    The first turn reads the plane and makes the chat (and keeps both on the conversation, so a
    stopped first turn does not lose them). Runs in a worker, while the widget is busy and does
    not touch the conversation; `stop.is_set()` is polled by the model between tokens.
    """
    if conversation.chat is None:
        image = read_image()
        conversation.chat = make_chat(image)  # validates the image: bad input raises MirasError
        conversation.image = image
    return conversation.chat.send(text, should_stop=stop.is_set, on_text=stream.write)


def is_cancelled(error: BaseException, stop: threading.Event) -> bool:
    """Was this error the model honouring Stop (miras.chat.Cancelled)?"""
    # miras.chat imports torch; look it up only if the model already loaded it.
    chat_module = sys.modules.get("miras.chat")
    cancelled = getattr(chat_module, "Cancelled", None)
    if cancelled is not None and isinstance(error, cancelled):
        return True
    return stop.is_set() and type(error).__name__ == "Cancelled"

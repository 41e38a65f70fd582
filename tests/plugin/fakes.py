"""A fake MIRAS model that satisfies the chat interface (`model.chat(image).send(text, ...)`).

Deterministic: turn k of a chat answers SCRIPT[k % 2], with one box mask per [SEG]; the n-th mask
of a chat (counting over all its turns) is the box `box(shape, n)`. `delay` seconds per turn are
spent in `steps` slices, polling `should_stop` and streaming text as a real model does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

import miras

SCRIPT = [
    (["the red box"], "Sure, it is [OBJ]the red box[SEG]."),
    (["the lid", "the handle"], "The lid is [OBJ]the lid[SEG] and this is [OBJ]the handle[SEG]."),
]


class Cancelled(miras.MirasError):
    """Stands for miras.chat.Cancelled, which imports torch (as the model would have)."""


@dataclass
class FakeReply:
    text: str
    raw: str
    masks: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    scores: list = field(default_factory=list)
    probabilities: list = field(default_factory=list)


def box(shape: tuple[int, int], n: int) -> np.ndarray:
    """The n-th mask a chat returns: a 6 x 10 box, further down and right for each n."""
    mask = np.zeros(shape, bool)
    top, left = 4 + 6 * n, 4 + 10 * n
    mask[top : top + 6, left : left + 10] = True
    return mask


class FakeModel:
    def __init__(self, delay: float = 0.0, steps: int = 10, error: Exception | None = None):
        self.delay, self.steps, self.error = delay, steps, error
        self.chats: list[FakeChat] = []

    def chat(self, image: np.ndarray) -> FakeChat:
        image = np.asarray(image)
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
            raise miras.ImageError(f"got an array of shape {image.shape}; pass one plane")
        chat = FakeChat(self, image)
        self.chats.append(chat)
        return chat


class FakeChat:
    def __init__(self, model: FakeModel, image: np.ndarray) -> None:
        self.model, self.image = model, image
        self.history: list[tuple[str, str]] = []
        self.masks_given = 0
        self.resets = 0

    def reset(self) -> None:
        self.history, self.masks_given = [], 0
        self.resets += 1

    def send(self, text, *, should_stop=None, on_text=None) -> FakeReply:
        if not text.strip():
            raise miras.TextError("the message is empty; type a question")
        if self.model.error is not None:
            raise self.model.error
        labels, raw = SCRIPT[(len(self.history) // 2) % len(SCRIPT)]
        steps = self.model.steps
        for step in range(1, steps + 1):
            if should_stop is not None and should_stop():
                raise Cancelled("stopped on request; the conversation is unchanged")
            time.sleep(self.model.delay / steps)
            if on_text is not None:
                on_text(raw[: len(raw) * step // steps])
        first = self.masks_given
        masks = [box(self.image.shape[:2], first + i) for i in range(len(labels))]
        self.masks_given += len(masks)
        self.history += [("human", text.strip()), ("gpt", raw)]
        scores = [0.9 - 0.1 * i for i in range(len(masks))]
        return FakeReply(raw.replace("[OBJ]", "").replace("[SEG]", ""), raw, masks, labels, scores)

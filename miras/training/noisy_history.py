"""Dialogues whose earlier answers are sometimes wrong, as the model's own answers are.

Played turn by turn, the model's history is its own answers, and a wrong one ("the yellow
triangle" for the green mug) derails every turn after it, even a question that names the object
("Where is the body of the green mug?" / "On the yellow triangle, ..."). Trained on right answers
only, it learnt to trust its history. Here, in a share of the dialogues, every answer before the
last two gets its colour and kind words swapped for random ones and is left out of the loss, so
the turns after it learn to answer from the image and the question (session 15's probe: named turn by
turn in 206 of 400 held-out dialogues after 600 such steps, 184 after 600 plain ones).
"""

from __future__ import annotations

import re

import numpy as np

from miras.synth.domain import DOMAINS
from miras.training.data import EndlessSource, Item

SWAP_CHANCE = 0.7  # of each colour or kind word in a garbled answer
# The generator's draws for item i are keyed (seed, i); the garbling takes its own stream.
_STREAM = 7


def answer_garbler(domain: str = "base"):
    """`garble(text, rng)`: `text` with each colour and kind word of `domain` (plurals too)
    swapped, with SWAP_CHANCE, for a random word of the same sort."""
    colours = sorted(DOMAINS[domain].colours)
    kinds = sorted(set(DOMAINS[domain].kinds))
    word = re.compile(r"\b(" + "|".join(colours + kinds) + r")s?\b")

    def swap(match: re.Match, rng: np.random.Generator) -> str:
        pool = colours if match.group(1) in colours else kinds
        return str(rng.choice(pool)) if rng.random() < SWAP_CHANCE else match.group(0)

    return lambda text, rng: word.sub(lambda m: swap(m, rng), text)


class NoisyHistory(EndlessSource):
    """The items of `source` (a synthetic source with `seed` and `domain`); in `share` of them the
    answers before the last two are garbled and marked unsupervised."""

    def __init__(self, source, share: float) -> None:
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"share must be within [0, 1], not {share}")
        self.source, self.share = source, share
        self.garble = answer_garbler(source.domain)

    def item(self, index: int) -> Item:
        item = self.source.item(index)
        rng = np.random.default_rng([self.source.seed, index, _STREAM])
        if rng.random() >= self.share:
            return item
        answers = [k for k, (role, _) in enumerate(item.turns) if role == "gpt"][:-2]
        turns, garbled = list(item.turns), []
        for k in answers:
            text = self.garble(turns[k][1], rng)
            if text != turns[k][1]:
                turns[k] = ("gpt", text)
                garbled.append(k)
        return Item(item.key, item.image, turns, item.masks, tuple(garbled))

    def signature(self) -> str:
        return f"{self.source.signature()}+noisy-history-{self.share}"

"""What the things in a scene are for: the functions of kinds and of their parts.

A function names every kind it fits, so a question like "what could hold a drink?" is answered
with every mug and bottle in the scene, never with a kind that is absent.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Function:
    """Something an object can do: questions that ask for it and the phrase that states it."""

    kinds: frozenset[str]
    questions: tuple[str, ...]  # "What {scope} ...?"; {scope} is "here", "of them" ...
    states: str  # "could hold a drink": completes "the red mug ..."


def _f(kinds: str, states: str, *questions: str) -> Function:
    return Function(frozenset(kinds.split()), tuple(questions), states)


FUNCTIONS: dict[str, Function] = {
    "drink": _f(
        "mug bottle",
        "could hold a drink",
        "What {scope} could hold a drink?",
        "Which object {scope} could you drink from?",
    ),
    "hot_drink": _f(
        "mug",
        "could hold hot tea",
        "What {scope} could hold tea?",
        "Which object {scope} would you drink hot coffee from?",
    ),
    "live": _f(
        "house",
        "is a place to live",
        "Where {scope} could a family live?",
        "Which object {scope} is a building people live in?",
    ),
    "light": _f(
        "lamp",
        "could light up a room",
        "What {scope} could light up a dark room?",
        "Which object {scope} gives light?",
    ),
    "sun_shade": _f(
        "tree umbrella",
        "could give shade from the sun",
        "What {scope} could give shade on a sunny day?",
        "Which objects {scope} could protect you from the sun?",
    ),
    "rain": _f(
        "umbrella house",
        "could keep you dry in the rain",
        "What {scope} could keep you dry in the rain?",
        "Which object {scope} would help when it rains?",
    ),
    "grows": _f(
        "tree",
        "is alive and grows",
        "What {scope} is alive and grows?",
        "Which object {scope} could lose its leaves in autumn?",
    ),
    "wind": _f(
        "flag",
        "could wave in the wind",
        "What {scope} could wave in the wind?",
        "Which object {scope} could show which country a ship is from?",
    ),
    "drive": _f(
        "car",
        "could be driven",
        "What {scope} could you drive to work?",
        "Which object {scope} has an engine and carries people?",
    ),
}


@dataclass(frozen=True)
class PartFunction:
    """What one part of a kind is for: questions about "it" (the object) and a statement."""

    questions: tuple[str, ...]  # "Which part of {obj} ...?"
    states: str  # "you would hold {obj} by its handle"


PART_FUNCTIONS: dict[tuple[str, str], PartFunction] = {
    ("mug", "handle"): PartFunction(
        (
            "Which part of {obj} would you hold?",
            "How would you pick up {obj} without burning your fingers?",
        ),
        "you would hold {obj} by its handle",
    ),
    ("mug", "body"): PartFunction(
        ("Which part of {obj} holds the drink?",), "the body of {obj} holds the drink"
    ),
    ("house", "door"): PartFunction(
        ("How would someone get into {obj}?", "Which part of {obj} do people walk through?"),
        "people enter {obj} through its door",
    ),
    ("house", "roof"): PartFunction(
        ("Which part of {obj} keeps the rain out?", "What sits on top of {obj}?"),
        "the roof keeps the rain out of {obj}",
    ),
    ("house", "walls"): PartFunction(
        ("Which part of {obj} holds up the roof?",), "the walls of {obj} hold up its roof"
    ),
    ("lamp", "shade"): PartFunction(
        ("Which part of {obj} covers the bulb?",), "the shade of {obj} covers the bulb"
    ),
    ("lamp", "stand"): PartFunction(
        ("Which part of {obj} stands on the table?", "What holds {obj} up?"),
        "the stand holds {obj} up",
    ),
    ("tree", "crown"): PartFunction(
        ("Which part of {obj} has the leaves?", "Where would birds nest in {obj}?"),
        "the leaves of {obj} are in its crown",
    ),
    ("tree", "trunk"): PartFunction(
        ("Which part of {obj} is the woody stem?", "What carries the weight of {obj}?"),
        "the trunk carries {obj}",
    ),
    ("flag", "cloth"): PartFunction(
        ("Which part of {obj} flutters in the wind?", "Which part of {obj} shows its colours?"),
        "the cloth of {obj} flutters in the wind",
    ),
    ("flag", "pole"): PartFunction(
        ("What holds {obj} up?", "Which part of {obj} is fixed in the ground?"),
        "the pole holds {obj} up",
    ),
    ("umbrella", "canopy"): PartFunction(
        ("Which part of {obj} keeps the rain off?",), "the canopy of {obj} keeps the rain off"
    ),
    ("umbrella", "handle"): PartFunction(
        ("Which part of {obj} would you hold?",), "you would hold {obj} by its handle"
    ),
    ("car", "wheels"): PartFunction(
        ("Which part of {obj} rolls on the road?",), "the wheels of {obj} roll on the road"
    ),
    ("car", "window"): PartFunction(
        ("Which part of {obj} can you look through?",), "you can look through the window of {obj}"
    ),
    ("car", "body"): PartFunction(
        ("Which part of {obj} carries the passengers?",), "the body of {obj} carries the passengers"
    ),
    ("bottle", "neck"): PartFunction(
        ("Which part of {obj} would you pour from?",), "you would pour from the neck of {obj}"
    ),
    ("bottle", "body"): PartFunction(
        ("Which part of {obj} holds most of the water?",), "the body of {obj} holds the water"
    ),
}


def functions_of(kind: str) -> list[str]:
    """The ids of the functions that `kind` has, in a fixed order."""
    return [name for name, function in FUNCTIONS.items() if kind in function.kinds]

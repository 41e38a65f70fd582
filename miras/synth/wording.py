"""Questions and answers for each kind of turn, in several wordings each.

A narrowing answer names exactly the objects that pass its filter, so the dialogue carries what
is needed to find the target. Nothing here mentions an object that is not in the scene: lists
come from the scene and kinds only from objects in it.
"""

from __future__ import annotations

import numpy as np

from miras.synth.knowledge import FUNCTIONS, PART_FUNCTIONS
from miras.synth.phrases import (
    SIZE_WORDS,
    article,
    capitalise,
    join,
    looks,
    number,
    part_is,
    part_side,
    pick,
    plural,
    region,
    some,
)
from miras.synth.reasoning import Step
from miras.synth.scene import SceneObject

# The 11 final requests of PRIST's test.json, verbatim; 1 in 11 does not contain "segment".
PRIST_REQUESTS = (
    "Based on the conversation above, generate a segmentation that supports the answers.",
    "Using the conversation above, create a segmentation that validates the answers.",
    "Please use the conversation above to outline a segmentation that aligns with the answers"
    " provided.",
    "Segment the provided conversation to match the answers accordingly.",
    "Please segment the conversation above to align with the provided answers.",
    "Please structure the above conversation into segments that correspond to the answers.",
    "Segment the above conversation in a way that substantiates the answers.",
    "Please divide the conversation above to correspond with the given answers.",
    "Use the above dialogue to produce a segmentation that backs up the answers.",
    "Use the above conversation to create a segmentation that justifies the answers.",
    "Please use the above conversation to provide a segmentation that supports the answers.",
)
OWN_REQUESTS = (
    "Now please segment it.",
    "Segment what we just found.",
    "Please show me that as a mask.",
    "Highlight it in the image.",
    "Can you mark it on the picture?",
    "Outline the region we talked about.",
    "Please draw a mask over the answer.",
    "Give me the mask of it, please.",
    "Mark the area that answers my questions.",
    "Show me exactly where it is.",
)
# MIRAS's ANSWER_LIST (utils_v1.py): the 15 final answers of PRIST, verbatim.
ANSWER_LIST = (
    "It is [SEG].",
    "Sure, [SEG].",
    "Sure, it is [SEG].",
    "Sure, the segmentation result is [SEG].",
    "[SEG].",
    "Certainly, [SEG].",
    "Segmented as [SEG].",
    "The result is [SEG].",
    "The identified area is [SEG].",
    "Here is the segmentation: [SEG].",
    "The segmentation is [SEG].",
    "Identified as [SEG].",
    "The segmentation mask is [SEG].",
    "Definitely, [SEG].",
    "This is the segmentation: [SEG].",
)
SHORT_REQUESTS = (
    "Please segment the {ref}.",
    "Segment the {ref}.",
    "Can you segment the {ref} in this image?",
    "Highlight the {ref}.",
    "Show me the {ref}.",
    "Where is the {ref}? Please mark it.",
    "Outline the {ref}.",
    "I need a mask of the {ref}.",
    "Find the {ref} in the picture.",
)

DIRECTION_WORDS = {
    "left": "to the left of",
    "right": "to the right of",
    "above": "above",
    "below": "below",
}
EXTREME_QUESTIONS = {
    "leftmost": ("furthest to the left", "closest to the left edge"),
    "rightmost": ("furthest to the right", "closest to the right edge"),
    "topmost": ("highest up", "nearest the top"),
    "lowest": ("lowest down", "nearest the bottom"),
    "largest": ("the largest", "the biggest"),
    "smallest": ("the smallest", "the tiniest"),
}
TEXTURE_HAS = {
    "plain": "no pattern",
    "striped": "stripes",
    "dotted": "dots",
    "checked": "a checked pattern",
    "wavy": "wavy lines",
}


def answer_with_seg(rng: np.random.Generator, class_phrase: str, name_target: bool) -> str:
    """A final answer holding one [SEG]: PRIST's ANSWER_LIST, or with `[OBJ]{class}` before it."""
    template = pick(rng, ANSWER_LIST)
    if name_target:
        return template.replace("[SEG]", f"[OBJ]{class_phrase}[SEG]")
    return template


def final_request(rng: np.random.Generator) -> str:
    return pick(rng, PRIST_REQUESTS if rng.random() < 0.5 else OWN_REQUESTS)


def short_request(rng: np.random.Generator, ref: str) -> str:
    return pick(rng, SHORT_REQUESTS).format(ref=ref)


# --- the visible elements -------------------------------------------------------------------


def overview(rng: np.random.Generator, objects: tuple[SceneObject, ...]) -> tuple[str, str]:
    question = pick(
        rng,
        (
            "What objects can you see in this image?",
            "What is in this picture?",
            "Which things are visible here?",
            "How many objects are there, and what are they?",
            "What do you notice in the scene?",
        ),
    )
    with_size = rng.random() < 0.5
    items = join([article(looks(o, with_size)) for o in objects])
    n = number(len(objects))
    answer = pick(
        rng,
        (
            f"I can see {n} objects: {items}.",
            f"The picture shows {items}.",
            f"There are {n} objects: {items}.",
            f"The scene contains {items}.",
        ),
    )
    return question, answer


# --- narrowing steps ----------------------------------------------------------------------


def step_turn(
    rng: np.random.Generator, step: Step, first: bool, image_size: int, anchor_name: str
) -> tuple[str, str]:
    """The question that asks for `step`'s filter and the answer that names who passes it.

    `first` says the question is asked of the whole image (no earlier narrowing); `anchor_name`
    is the unique description of a relation's anchor.
    """
    question = _step_question(rng, step, first, anchor_name)
    listed = join([_item(o, step.filter, image_size) for o in step.after])
    return question, _step_answer(rng, step, listed, anchor_name)


def _step_question(rng: np.random.Generator, step: Step, first: bool, anchor_name: str) -> str:
    if first:
        which = pick(rng, ("Which objects", "Which of the objects"))
        scope = pick(rng, ("in the image", "here", "in this picture"))
    else:
        which = pick(rng, ("Which of them", "Which of those"))
        scope = pick(rng, ("among them", "among those"))
    if step.filter == "kind":
        kinds = plural(step.value)
        options = (f"{which} are {kinds}?", f"How many {kinds} are there {scope}?")
        return pick(rng, (*options, f"Where are the {kinds}?"))
    if step.filter == "function":
        return pick(rng, FUNCTIONS[step.value].questions).format(scope=scope)
    if step.filter == "extreme":
        which_one = "Which object" if first else pick(rng, ("Which of them", "Which one"))
        return f"{which_one} is {pick(rng, EXTREME_QUESTIONS[step.value])}?"
    if step.filter == "relation":
        where = f"{DIRECTION_WORDS[step.value]} the {anchor_name}"
        return pick(
            rng, (f"{which} {'are' if first else 'lie'} {where}?", f"What {scope} is {where}?")
        )
    plural_predicate = _plural_predicate(step, anchor_name)
    return pick(
        rng, (f"{which} {plural_predicate}?", f"What {scope} {_predicate(step, anchor_name)}?")
    )


def _step_answer(rng: np.random.Generator, step: Step, listed: str, anchor_name: str) -> str:
    n = len(step.after)
    if step.filter == "kind":
        if n == 1:
            return pick(rng, (f"There is one {step.value}: {listed}.", f"Only one: {listed}."))
        many = f"There are {number(n)} {plural(step.value)}: {listed}."
        return pick(rng, (many, f"{capitalise(number(n))} of them: {listed}."))
    predicate = _predicate(step, anchor_name)
    if step.filter == "extreme":
        return pick(rng, (f"{capitalise(listed)} {predicate}.", f"That is {listed}."))
    if n == 1:
        options = (f"Only {listed} {predicate}.", f"That is {listed}, which {predicate}.")
        return pick(rng, (f"{capitalise(listed)} {predicate}.", *options))
    plural_predicate = _plural_predicate(step, anchor_name)
    options = (f"{capitalise(number(n))} of them {plural_predicate}: {listed}.",)
    return pick(rng, (*options, f"{capitalise(listed)} {plural_predicate}."))


def _item(obj: SceneObject, known: str, image_size: int) -> str:
    """How to name a passing object in a list: what the filter did not already say, and where."""
    if known == "colour":
        return f"the {obj.kind} {region(obj, image_size)}"
    if known == "kind":
        return f"the {obj.colour} one {region(obj, image_size)}"
    return f"the {looks(obj)} {region(obj, image_size)}"


def _predicate(step: Step, anchor_name: str) -> str:
    """What passing the filter means, for one object: "is red", "has stripes" ..."""
    if step.filter in ("colour", "size"):
        return f"is {SIZE_WORDS.get(step.value, step.value)}"
    if step.filter == "texture":
        return f"has {TEXTURE_HAS[step.value]}"
    if step.filter == "function":
        return FUNCTIONS[step.value].states
    if step.filter == "relation":
        return f"is {DIRECTION_WORDS[step.value]} the {anchor_name}"
    if step.filter == "extreme":
        return f"is {EXTREME_QUESTIONS[step.value][0]}"
    return f"is {article(step.value)}"


def _plural_predicate(step: Step, anchor_name: str) -> str:
    if step.filter in ("colour", "size"):
        return f"are {SIZE_WORDS.get(step.value, step.value)}"
    if step.filter == "texture":
        return f"have {TEXTURE_HAS[step.value]}"
    if step.filter == "function":
        return FUNCTIONS[step.value].states
    if step.filter == "relation":
        return f"are {DIRECTION_WORDS[step.value]} the {anchor_name}"
    return f"are {plural(step.value)}"


# --- about the target, once found ----------------------------------------------------------


def part_turn(
    rng: np.random.Generator, obj: SceneObject, obj_name: str, part: str
) -> tuple[str, str]:
    """A question that singles out one part of the found object, and the answer naming it:
    by what the part is for, or by its name."""
    where = f"the {part} {part_is(part)} {part_side(obj, part)}"
    the_obj = f"the {obj_name}"
    known = PART_FUNCTIONS.get((obj.kind, part))
    if known is not None and rng.random() < 0.6:
        question = pick(rng, known.questions).format(obj=the_obj)
        return question, f"{capitalise(known.states.format(obj=the_obj))}; {where}."
    form = int(rng.integers(3))
    if form == 0:
        return f"Where is the {part} of {the_obj}?", f"On {the_obj}, {where}."
    if form == 1:
        return f"Does {the_obj} have {some(part)}?", f"Yes, {where}."
    parts = join([some(p) for p in obj.parts])
    return f"What parts does {the_obj} have?", f"It has {parts}; {where}."


DETAIL_QUESTIONS = {
    "where": ("Where is it in the picture?", "Where exactly is it?"),
    "pattern": ("What pattern does it have?", "Is its surface patterned?"),
    "size": ("How big is it?", "What size is it?"),
    "colour": ("What colour is it?", "Which colour does it have?"),
    "why": ("Why is that the one?", "How do you know it is that one?"),
}


def detail_turn(
    rng: np.random.Generator,
    detail: str,
    obj: SceneObject,
    steps: list[Step],
    image_size: int,
    anchors: dict[int, str],
) -> tuple[str, str]:
    """A question about the found object (a DETAIL_QUESTIONS key) that adds a true fact without
    narrowing further; "why" retells the steps that led to it."""
    question = pick(rng, DETAIL_QUESTIONS[detail])
    if detail == "where":
        return question, f"It is {region(obj, image_size)}."
    if detail == "pattern":
        return question, f"It has {TEXTURE_HAS[obj.texture]}."
    if detail == "size":
        return question, f"It is {SIZE_WORDS[obj.size]}."
    if detail == "colour":
        return question, f"It is {obj.colour}."
    reasons = [_predicate(s, anchors[s.anchor.index] if s.anchor else "") for s in steps]
    return question, f"Because it {join(reasons)}, it is the {looks(obj)}."

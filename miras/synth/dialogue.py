"""Dialogues about a scene, made the way PRIST's were.

Visible elements (an overview of the objects) -> a path down the reasoning tree (2-4 narrowing
question/answer turns that end at one object, then maybe at one of its parts) -> a segmentation
request -> an answer with exactly one `[SEG]`. A share of dialogues is a single request that names
the target outright, so that a small model can learn grounding before reasoning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from miras.prist import PristSample, Turn
from miras.synth.knowledge import FUNCTIONS, functions_of
from miras.synth.reasoning import Step, describable, narrowing_steps, referring_phrase
from miras.synth.scene import Scene, SceneObject
from miras.synth.wording import (
    DIRECTION_WORDS,
    answer_with_seg,
    detail_turn,
    final_request,
    overview,
    part_turn,
    short_request,
    step_turn,
)

PART_SHARE = 0.6  # of targets that are a part, when the scene has objects with parts (~half)
MAX_NARROWING = 3  # narrowing steps; with a part turn that makes at most 4 question turns
QA_TURNS, QA_TURN_WEIGHTS = (2, 3, 4), (0.15, 0.7, 0.15)  # as PRIST: mostly 3 before the request
OVERVIEW_SHARE = 0.85  # of dialogues with room for it that open with the visible elements
STYLES = ("attribute", "relation", "function")
STYLE_WEIGHTS = (0.45, 0.35, 0.2)
# How much each style likes each filter; a missing filter is never chosen in that style.
FILTER_WEIGHTS: dict[str, dict[str, float]] = {
    "attribute": {"colour": 3, "kind": 3, "texture": 1.5, "size": 1.5, "extreme": 0.2},
    "relation": {"colour": 1, "kind": 2, "relation": 4, "extreme": 2},
    "function": {
        "function": 4,
        "colour": 3,
        "kind": 1,
        "texture": 1.5,
        "size": 1.5,
        "extreme": 0.2,
    },
}
SPATIAL = frozenset({"relation", "extreme"})


@dataclass(frozen=True)
class Target:
    """What a dialogue asks to segment: a whole object (part "") or one of its parts."""

    obj: SceneObject
    part: str

    @property
    def focus(self) -> str:
        """The PRIST focus: a label prefix that only this object's (part's) polygons contain."""
        return self.obj.part_label(self.part)

    @property
    def labels(self) -> frozenset[str]:
        """The labels of the polygons the focus must select."""
        parts = (self.part,) if self.part else self.obj.parts
        return frozenset(self.obj.part_label(p) for p in parts)


@dataclass(frozen=True)
class Dialogue:
    """A PRIST sample together with how it was made (for checks and statistics)."""

    sample: PristSample
    target: Target
    style: str  # a STYLE, or "short" for a single request
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class _Context:
    scene: Scene
    names: dict[int, str]  # object index -> phrase that singles it out ("red mug")
    anchors: dict[int, str]  # object index -> unique attribute description, for relations


def make_dialogues(
    rng: np.random.Generator,
    scene: Scene,
    img_id: str,
    count: int,
    obj_answer_share: float = 0.5,
    short_share: float = 0.2,
) -> list[Dialogue]:
    """Up to `count` dialogues about different targets of `scene` (fewer if it has fewer)."""
    names = {}
    for obj in scene.objects:
        phrase = referring_phrase(obj, scene.objects, scene.size)
        if phrase is not None:
            names[obj.index] = phrase
    context = _Context(scene, names, describable(scene.objects))
    dialogues = []
    for target in choose_targets(rng, scene, names, count):
        name_target = bool(rng.random() < obj_answer_share)
        if rng.random() < short_share:
            dialogues.append(_short(rng, context, target, img_id, name_target))
        else:
            dialogues.append(_multi_turn(rng, context, target, img_id, name_target))
    return dialogues


def choose_targets(
    rng: np.random.Generator, scene: Scene, names: dict[int, str], count: int
) -> list[Target]:
    """Distinct targets, on different objects while there are some left; about half parts."""
    wholes = [Target(o, "") for o in scene.objects if o.index in names]
    parts = [
        Target(o, p) for o in scene.objects if o.index in names and o.is_thing for p in o.parts
    ]
    chosen: list[Target] = []
    for _ in range(count):
        pool = parts if parts and rng.random() < PART_SHARE else wholes
        used = {t.obj.index for t in chosen}
        fresh = [t for t in pool if t.obj.index not in used]
        pool = fresh or [t for t in wholes + parts if t not in chosen]
        if not pool:
            break
        chosen.append(pool[int(rng.integers(len(pool)))])
    return chosen


def plan_path(
    rng: np.random.Generator, context: _Context, target: SceneObject, style: str
) -> list[Step] | None:
    """Narrowing steps from all objects down to `target` in `style`; None if the style cannot."""
    objects = context.scene.objects
    candidates: tuple[SceneObject, ...] = objects
    steps: list[Step] = []
    while len(candidates) > 1:
        if len(steps) == MAX_NARROWING:
            return None
        options = narrowing_steps(target, candidates, objects, context.scene.size, context.anchors)
        weights = np.array([_weight(style, s, first=not steps) for s in options], dtype=float)
        if not options or weights.sum() == 0:
            return None
        step = options[int(rng.choice(len(options), p=weights / weights.sum()))]
        steps.append(step)
        candidates = step.after
    if style == "relation" and not any(s.filter in SPATIAL for s in steps):
        return None
    if style == "function" and (not steps or steps[0].filter != "function"):
        return None
    return steps


def _weight(style: str, step: Step, first: bool) -> float:
    if style == "function" and first:
        return 1.0 if step.filter == "function" else 0.0
    if style == "relation" and step.filter not in SPATIAL and len(step.after) == 1:
        return 0.0  # in this style the last step must be spatial
    weight = FILTER_WEIGHTS[style].get(step.filter, 0.0)
    if step.filter == "relation" and len(step.after) > 2:
        weight *= 0.2  # "what is right of X?" answered with four objects narrows too little
    return weight


def _multi_turn(
    rng: np.random.Generator, context: _Context, target: Target, img_id: str, name_target: bool
) -> Dialogue:
    styles = list(STYLES)
    if not functions_of(target.obj.kind):
        styles.remove("function")
    weights = np.array([STYLE_WEIGHTS[STYLES.index(s)] for s in styles])
    first = styles[int(rng.choice(len(styles), p=weights / weights.sum()))]
    for style in [first, *[s for s in styles if s != first]]:
        steps = plan_path(rng, context, target.obj, style)
        if steps is not None:
            break
    else:
        return _short(rng, context, target, img_id, name_target)
    pairs = _reasoning_turns(rng, context, target, steps)
    pairs.append(
        (final_request(rng), answer_with_seg(rng, _class_phrase(context, target), name_target))
    )
    return Dialogue(_sample(img_id, pairs, target), target, style, tuple(steps))


def _reasoning_turns(
    rng: np.random.Generator, context: _Context, target: Target, steps: list[Step]
) -> list[tuple[str, str]]:
    """Overview, narrowing, details and the part question: 2-4 question/answer pairs."""
    scene, obj = context.scene, target.obj
    wanted = int(rng.choice(QA_TURNS, p=QA_TURN_WEIGHTS))
    extra = max(wanted - len(steps) - bool(target.part), 0)
    pairs = []
    if extra and rng.random() < OVERVIEW_SHARE:
        pairs.append(overview(rng, scene.objects))
        extra -= 1
    for step in steps:
        anchor = context.anchors[step.anchor.index] if step.anchor else ""
        pairs.append(step_turn(rng, step, not pairs, scene.size, anchor))
    for detail in _details(rng, steps, extra):
        pairs.append(detail_turn(rng, detail, obj, steps, scene.size, context.anchors))
    if target.part:
        pairs.append(part_turn(rng, obj, context.names[obj.index], target.part))
    return pairs


def _details(rng: np.random.Generator, steps: list[Step], count: int) -> list[str]:
    """`count` different facts to add about the found object, none a step already stated."""
    said = {s.filter for s in steps}
    options = [
        d
        for d, f in (("where", ""), ("pattern", "texture"), ("size", "size"), ("colour", "colour"))
        if f not in said
    ]
    if len(steps) >= 2:
        options.append("why")
    return [options[i] for i in rng.permutation(len(options))[:count]]


def _short(
    rng: np.random.Generator, context: _Context, target: Target, img_id: str, name_target: bool
) -> Dialogue:
    """One request naming the target (by looks, place, relation or use) and the [SEG] answer."""
    refs = _short_refs(context, target.obj)
    ref, step = refs[0]  # by its looks, at least half of the time
    if len(refs) > 1 and rng.random() < 0.5:
        ref, step = refs[int(rng.integers(1, len(refs)))]
    if target.part:
        # "the star left of the ring handle" would not parse; "the red mug handle" does
        by_looks = step is None and rng.random() < 0.5
        ref = f"{ref} {target.part}" if by_looks else f"{target.part} of the {ref}"
    pairs = [
        (short_request(rng, ref), answer_with_seg(rng, _class_phrase(context, target), name_target))
    ]
    return Dialogue(_sample(img_id, pairs, target), target, "short", (step,) if step else ())


def _short_refs(context: _Context, obj: SceneObject) -> list[tuple[str, Step | None]]:
    """Phrases that single `obj` out among all objects; the first names its looks."""
    scene = context.scene
    refs: list[tuple[str, Step | None]] = [(context.names[obj.index], None)]
    for step in narrowing_steps(obj, scene.objects, scene.objects, scene.size, context.anchors):
        if step.after != (obj,):
            continue
        if step.filter == "relation":
            anchor = context.anchors[step.anchor.index]  # type: ignore[union-attr]
            refs.append((f"{obj.kind} {DIRECTION_WORDS[step.value]} the {anchor}", step))
        elif step.filter == "function":
            refs.append((f"object that {FUNCTIONS[step.value].states}", step))
        elif step.filter == "extreme":
            refs.append((f"{step.value} object", step))
    return refs


def _class_phrase(context: _Context, target: Target) -> str:
    """The [OBJ] class phrase: "the red mug", "the red mug handle"."""
    name = f"the {context.names[target.obj.index]}"
    return f"{name} {target.part}" if target.part else name


def _sample(img_id: str, pairs: list[tuple[str, str]], target: Target) -> PristSample:
    turns = tuple(Turn(role, text) for q, a in pairs for role, text in (("human", q), ("gpt", a)))
    return PristSample(img_id=img_id, dialogue=turns, focus=target.focus)

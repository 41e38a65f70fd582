"""Copy a checkpoint's tensors into a MIRAS model through a key map, checking everything first.

A "part" is a top-level module of `MirasModel` (`sam`, `llm`, `vision_tower`, ...). A source must
provide every tensor of each part it touches, so a part is never half loaded; parts it does not
touch keep their values. Every check runs before the first copy: a refused checkpoint leaves the
model as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from miras.errors import CheckpointError
from miras.loaders.weights import Weights

KeyMap = Callable[[str], "str | None"]  # source key -> our key, None if it has no place in ours
# Buffers that older libraries saved and newer ones recompute: ignored where ours lack them.
_STALE_BUFFERS = (".rotary_emb.inv_freq", "embeddings.position_ids")
_SHOWN = 5  # keys quoted in an error message


@dataclass
class LoadReport:
    """What a load did: `loaded` maps each part to the checkpoint it came from; `random` lists
    the parts it left alone (at their random initialisation unless an earlier load set them)."""

    loaded: dict[str, str] = field(default_factory=dict)
    random: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def then(self, later: LoadReport) -> LoadReport:
        """This load followed by `later` on the same model: later sources win."""
        return LoadReport(
            loaded={**self.loaded, **later.loaded},
            random=[part for part in self.random if part not in later.loaded],
            notes=self.notes + later.notes,
        )

    def __str__(self) -> str:
        lines = [f"{part}: {source}" for part, source in self.loaded.items()]
        if self.random:
            lines.append(f"random (not in any checkpoint given): {', '.join(self.random)}")
        return "\n".join(lines + self.notes)


def parts_of(model: nn.Module) -> list[str]:
    """The model's top-level modules that hold weights, in definition order."""
    return [name for name, child in model.named_children() if child.state_dict()]


def prefix_map(rules: Sequence[tuple[str, str]]) -> KeyMap:
    """Rename by prefix: the longest matching source prefix is replaced by its target."""
    ordered = sorted(rules, key=lambda rule: len(rule[0]), reverse=True)

    def rename(key: str) -> str | None:
        for source, target in ordered:
            if key.startswith(source):
                return target + key[len(source) :]
        return None

    return rename


def load_mapped(
    model: nn.Module,
    weights: Weights,
    key_map: KeyMap,
    *,
    skip: Callable[[str], bool] = lambda key: False,
    resizable: Collection[str] = (),
    hint: str = "",
) -> LoadReport:
    """Copy `weights` into `model` through `key_map`; raise CheckpointError before copying if
    any tensor has no place, any part is incomplete, or any shape differs.

    `skip(key)` drops source tensors we deliberately ignore (a text tower, a classifier head).
    Keys in `resizable` (token embeddings) may differ in their first dimension: the common rows
    are copied and the rest keep their values. `hint` ends each error message (what to do).
    """
    ours = model.state_dict()
    plan = _plan(weights, key_map, skip, ours, hint)
    parts = sorted({key.split(".", 1)[0] for key in plan})
    _check_complete(model, ours, plan, parts, weights.name, hint)
    _check_shapes(weights, ours, plan, resizable, hint)
    notes = _copy(weights, ours, plan)
    return LoadReport(
        loaded={part: weights.name for part in parts},
        random=[part for part in parts_of(model) if part not in parts],
        notes=notes,
    )


def _plan(
    weights: Weights, key_map: KeyMap, skip: Callable[[str], bool], ours: dict, hint: str
) -> dict[str, str]:
    """Our key -> source key for every tensor to copy."""
    plan: dict[str, str] = {}
    unexpected: list[str] = []
    for key in weights:
        if skip(key):
            continue
        target = key_map(key)
        if target in ours:
            if target in plan:
                raise CheckpointError(
                    f"{weights.name}: {plan[target]} and {key} both map to {target}; {hint}"
                )
            plan[target] = key
        elif not key.endswith(_STALE_BUFFERS):
            unexpected.append(key if target is None else f"{key} (as {target})")
    if unexpected:
        raise CheckpointError(
            f"{weights.name} holds {_count(unexpected)} with no place in the model: "
            f"{_some(unexpected)}. {hint}"
        )
    if not plan:
        raise CheckpointError(f"{weights.name} holds none of the tensors expected here. {hint}")
    return plan


def _check_complete(
    model: nn.Module, ours: dict, plan: dict, parts: list[str], name: str, hint: str
) -> None:
    covered = set(plan)
    for names in _aliases(model):
        if covered & names:  # tied weights: one checkpoint tensor fills them all
            covered |= names
    missing = [
        key
        for key in ours
        if key.split(".", 1)[0] in parts and key not in covered and not key.endswith(_STALE_BUFFERS)
    ]
    if missing:
        raise CheckpointError(
            f"{name} lacks {_count(missing)} of the model's {', '.join(parts)}: "
            f"{_some(missing)}. {hint}"
        )


def _aliases(model: nn.Module) -> list[set[str]]:
    """Groups of state-dict names that are one tensor (tied embeddings)."""
    groups: dict[int, set[str]] = {}
    named = [
        *model.named_parameters(remove_duplicate=False),
        *model.named_buffers(remove_duplicate=False),
    ]
    for key, tensor in named:
        groups.setdefault(id(tensor), set()).add(key)
    return [names for names in groups.values() if len(names) > 1]


def _check_shapes(
    weights: Weights, ours: dict, plan: dict, resizable: Collection[str], hint: str
) -> None:
    wrong = []
    for target, key in plan.items():
        theirs, mine = weights.shape(key), tuple(ours[target].shape)
        fits = theirs == mine or (target in resizable and theirs[1:] == mine[1:])
        if not fits:
            wrong.append(f"{key} {list(theirs)} vs {target} {list(mine)}")
    if wrong:
        raise CheckpointError(
            f"{weights.name}: {_count(wrong)} differ in shape from the model's "
            f"(checkpoint vs model): {_some(wrong)}. Is the config the size of this "
            f"checkpoint? {hint}"
        )


def _copy(weights: Weights, ours: dict, plan: dict) -> list[str]:
    notes = []
    with torch.no_grad():
        for target, key in plan.items():
            source, destination = weights.tensor(key), ours[target]
            if source.shape == destination.shape:
                destination.copy_(source)
                continue
            rows = min(source.shape[0], destination.shape[0])
            destination[:rows].copy_(source[:rows])
            notes.append(
                f"{target}: its first {rows} rows come from {key}, which has {source.shape[0]}; "
                f"the model has {destination.shape[0]}, and any rows past the copied ones keep "
                "their initialisation"
            )
    return notes


def _some(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_SHOWN])
    return shown if len(items) <= _SHOWN else f"{shown} and {len(items) - _SHOWN} more"


def _count(items: Sequence[str]) -> str:
    return "1 tensor" if len(items) == 1 else f"{len(items)} tensors"

"""`miras-al rollback --registry R`: make the previously promoted version current again."""

from __future__ import annotations

import argparse

from active_learning.commands.common import add_json, add_registry, emit

HELP = "move `current` back to the version promoted before it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_registry(parser)
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from active_learning.registry import Registry

    registry = Registry(args.registry)
    before = registry.current
    current = registry.rollback()
    emit(args, {"registry": str(registry.root), "from": before, "current": current})
    return 0

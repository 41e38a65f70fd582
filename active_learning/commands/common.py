"""Options and output shared by the subcommands."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from miras.jsonsafe import jsonable


def add_store(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("--store", required=required,
                        help="the correction store: a path or an fsspec URL (s3://bucket/x.zarr)")


def open_existing_store(location: str):
    """The store at `location` for reading and writing; StoreNotFoundError if there is none
    (only `import` creates one: elsewhere a mistyped path would make an empty store)."""
    from active_learning.store import open_store

    open_store(location, mode="r")
    return open_store(location)


def add_registry(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("--registry", required=required,
                        help="the model registry folder (versions v0001/ ... and `current`)")


def add_training(parser: argparse.ArgumentParser, defaults: Any, steps_help: str) -> None:
    """--steps, --batch-size and --lr, defaulting to a settings object's fields."""
    parser.add_argument("--steps", type=int, default=defaults.steps,
                        help=f"{steps_help} (default: {defaults.steps})")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size,
                        help=f"default: {defaults.batch_size}")
    parser.add_argument("--lr", type=float, default=defaults.lr, help=f"default: {defaults.lr}")


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def emit(args: argparse.Namespace, result: dict[str, Any],
         text: Callable[[dict[str, Any]], str] | None = None) -> None:
    """Print `result` as one JSON object with --json, else as text (key: value lines by default)."""
    if getattr(args, "json", False):
        print(json.dumps(jsonable(result)))
    elif text is not None:
        print(text(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


def progress_bar(desc: str, unit: str = "it"):
    """A bar on stderr (miras.progress) and an on_progress(done, total) callback that drives it."""
    from miras.progress import advancer
    from miras.progress import progress_bar as bar_on_stderr

    bar = bar_on_stderr(desc=desc, unit=unit)
    return bar, advancer(bar)

"""Subcommands of `miras` (and the runner `miras-al` shares).

Each subcommand module holds HELP, `add_arguments(parser)` and `run(args) -> exit code`, and
imports what is heavy inside `run`, so `--help` answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Mapping
from typing import Any

from miras.errors import MirasError
from miras.jsonsafe import jsonable

_PATH_ERRORS = (FileExistsError, FileNotFoundError, NotADirectoryError, IsADirectoryError,
                PermissionError)


def build_parser(prog: str, description: str, subcommands: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in subcommands.items():
        module = importlib.import_module(module_name)
        sub = commands.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def run_command(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    """Parse and run; an error the user can act on is one line and exit code 2, like argparse's."""
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except MirasError as err:
        message = " ".join(str(err).split())
        print(f"{parser.prog} {args.command}: error: {message}", file=sys.stderr)
        return 2
    except _PATH_ERRORS as err:
        # A path given on the command line that is not what it should be (a file where a folder
        # goes, no permission): the user's to fix, so one line, not a traceback.
        where = f": {err.filename}" if err.filename else ""
        print(f"{parser.prog} {args.command}: error: {err.strerror or err}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog} {args.command}: interrupted", file=sys.stderr)
        return 130


def print_json(value: Any) -> None:
    """Print `value` as one line of strict JSON: a score that could not be computed (NaN) is
    null, since bare NaN, which json.dumps writes by default, is not JSON."""
    print(json.dumps(jsonable(value), allow_nan=False))

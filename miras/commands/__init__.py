"""Subcommands of `miras` (and the runner `miras-al` shares).

Each subcommand module holds HELP, `add_arguments(parser)` and `run(args) -> exit code`, and
imports what is heavy inside `run`, so `--help` answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Mapping

from miras.errors import MirasError


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
    except KeyboardInterrupt:
        print(f"{parser.prog} {args.command}: interrupted", file=sys.stderr)
        return 130

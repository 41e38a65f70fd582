"""The `miras-al` command: one subcommand per module in `active_learning.commands`.

Each module holds HELP, add_arguments(parser) and run(args) -> exit code, and imports what is heavy
(torch, the model, the scheduler) inside run(), so that `miras-al --help` answers at once.
Errors the user can act on (MirasError) are printed as one line, `miras-al CMD: error: ...`, with
exit code 2, as argparse does for bad options.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from miras.errors import MirasError

SUBCOMMANDS = {
    "import": "active_learning.commands.import_",
    "export": "active_learning.commands.export",
    "fsck": "active_learning.commands.fsck",
    "score": "active_learning.commands.score",
    "next": "active_learning.commands.next",
    "release": "active_learning.commands.release",
    "retrain": "active_learning.commands.retrain",
    "rollback": "active_learning.commands.rollback",
    "schedule": "active_learning.commands.schedule",
    "replay": "active_learning.commands.replay",
    "report": "active_learning.commands.report",
    "simulate": "active_learning.commands.simulate",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="miras-al", description="The active-learning loop around a correction store."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        sub = commands.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except MirasError as err:
        print(f"miras-al {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"miras-al {args.command}: interrupted", file=sys.stderr)
        return 130


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())


if __name__ == "__main__":
    sys.exit(main())

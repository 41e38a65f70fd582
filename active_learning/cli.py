"""The `miras-al` command: one subcommand per module in `active_learning.commands`.

Each module holds HELP, add_arguments(parser) and run(args) -> exit code, and imports what is heavy
(torch, the model, the scheduler) inside run(), so that `miras-al --help` answers at once.
Errors the user can act on (MirasError) are printed as one line, `miras-al CMD: error: ...`, with
exit code 2, as argparse does for bad options.
"""

from __future__ import annotations

import argparse
import sys

from miras.commands import build_parser as _build_parser
from miras.commands import run_command

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
    return _build_parser("miras-al", "The active-learning loop around a correction store.", SUBCOMMANDS)


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())

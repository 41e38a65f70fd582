"""The `miras` command: one subcommand per module in `miras.commands` (`--help` on each)."""

from __future__ import annotations

import argparse
import sys

from miras.commands import build_parser as _build_parser
from miras.commands import run_command

SUBCOMMANDS = {
    "synth": "miras.commands.synth",
    "train": "miras.commands.train",
    "demo-train": "miras.commands.demo_train",
    "chat": "miras.commands.chat",
    "eval": "miras.commands.eval",
    "demo": "miras.commands.demo",
}


def build_parser() -> argparse.ArgumentParser:
    return _build_parser("miras", "The MIRAS model library.", SUBCOMMANDS)


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())

"""The `miras` command: one subcommand per module in `miras.commands` (`--help` on each)."""

from __future__ import annotations

import argparse
import importlib
import sys

from miras.errors import MirasError

SUBCOMMANDS = {
    "synth": "miras.commands.synth",
    "train": "miras.commands.train",
    "demo-train": "miras.commands.demo_train",
    "chat": "miras.commands.chat",
    "eval": "miras.commands.eval",
    "demo": "miras.commands.demo",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="miras", description="The MIRAS model library.")
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
        print(f"miras {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"miras {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

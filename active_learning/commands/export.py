"""`miras-al export --store STORE --out DIR`: curated samples out in the PRIST layout."""

from __future__ import annotations

import argparse
import sys

from active_learning.commands.common import add_json, add_store, emit

HELP = "write the curated samples of a store as a PRIST-format folder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_store(parser)
    parser.add_argument("--out", required=True, help="folder to write prist.json, images/, masks/")
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from active_learning.prist_io import export_prist
    from active_learning.store import open_store

    summary = export_prist(open_store(args.store, mode="r"), args.out)
    if summary["mismatched"]:
        print(f"miras-al export: warning: {len(summary['mismatched'])} mask(s) do not redraw "
              "exactly from their polygons (holes, or a focus inside another's); see "
              "'mismatched'", file=sys.stderr)
    emit(args, summary)
    return 0

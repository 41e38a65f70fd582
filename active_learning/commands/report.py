"""`miras-al report --store S --registry R`: effort figures and version history, table and PNG."""

from __future__ import annotations

import argparse

from active_learning.commands.common import add_json, add_registry, add_store, emit

HELP = "effort figures of the store and the registry's version history, as tables and a PNG"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_store(parser)
    add_registry(parser)
    parser.add_argument("--plot", default=None, metavar="PNG",
                        help="where to save the plot (default: REG/report.png)")
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from active_learning.registry import Registry
    from active_learning.report import (
        effort_summary,
        effort_table,
        history_table,
        plot_report,
        version_history,
    )
    from active_learning.store import open_store

    registry = Registry(args.registry)
    effort = effort_summary(open_store(args.store, mode="r"))
    rows = version_history(registry)
    plot = plot_report(effort, rows, args.plot or Path(args.registry) / "report.png")
    result = {"effort": effort, "versions": rows, "plot": str(plot)}
    emit(args, result, lambda r: f"{effort_table(effort)}\n\n{history_table(rows)}\n\n"
                                 f"plot: {plot}")
    return 0

"""`miras-al schedule --store S --registry R --every 6h [--after N] [-- RETRAIN OPTIONS]`."""

from __future__ import annotations

import argparse

from active_learning.commands.common import add_json, add_registry, add_store, emit

HELP = "run retrain on a schedule (an embedded scheduler; logs in REG/logs/)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_store(parser)
    add_registry(parser)
    parser.add_argument("--every", default=None, metavar="DURATION",
                        help="retrain this often if any curated sample is new (30m, 6h, 1d)")
    parser.add_argument("--after", type=int, default=None, metavar="N",
                        help="retrain as soon as N new curated samples wait")
    parser.add_argument("--poll", default="5m", metavar="DURATION",
                        help="how often --after counts new samples (default: 5m)")
    parser.add_argument("--nproc", type=int, default=1,
                        help="processes per retrain, through torchrun (default: 1)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the jobs, their first run times and the command; do not wait")
    add_json(parser)
    parser.add_argument("retrain_args", nargs=argparse.REMAINDER, metavar="-- RETRAIN OPTIONS",
                        help="options for each retrain, after --: e.g. -- --eval DIR --steps 300")


def run(args: argparse.Namespace) -> int:
    from active_learning.schedule import (
        SchedulePlan,
        build_scheduler,
        parse_duration,
        retrain_command,
    )
    from active_learning.store import open_store

    open_store(args.store, mode="r")  # a mistyped store fails now, not at every run
    extra = args.retrain_args[1:] if args.retrain_args[:1] == ["--"] else args.retrain_args
    plan = SchedulePlan(
        store=args.store, registry=args.registry,
        every=parse_duration(args.every) if args.every else None, after=args.after,
        poll=parse_duration(args.poll), nproc=args.nproc, retrain_args=list(extra),
    )
    scheduler = build_scheduler(plan)
    summary = {"command": retrain_command(plan),
               "jobs": [{"id": job.id, "first_run": job.trigger.start_date.isoformat(),
                         "interval_s": job.trigger.interval.total_seconds()}
                        for job in scheduler.get_jobs()]}
    emit(args, summary)
    if not args.dry_run:
        scheduler.start()  # blocks until Ctrl-C
    return 0

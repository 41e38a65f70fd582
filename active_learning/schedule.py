"""Retrain on a schedule: an embedded APScheduler (3.x) that starts `miras-al retrain` processes.

- `--every 6h`: every interval, retrain if any curated sample is new (seen by no version yet);
- `--after N`: check every `--poll` interval, retrain once N new curated samples are waiting.
Both may be given. Each retrain runs as a subprocess (`python -m active_learning.cli retrain`,
or under torchrun with `--nproc N`), so a crash or a leak in training never takes the scheduler
down, and its output goes to REG/logs/retrain-<time>.log; REG/logs/schedule.jsonl gets one line
per decision. Jobs run one at a time (a one-thread executor) and a late run fires once
(coalesce), not once per missed interval; the registry lock keeps out any retrain started
by hand meanwhile (that run is logged as refused).

For cron and Slurm instead of a resident process, see docs/cluster.md.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from active_learning.errors import MirasError, ScheduleError
from active_learning.registry import Registry, now_iso

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")

Runner = Callable[[Sequence[str], Path], int]


def parse_duration(text: str) -> float:
    """Seconds of "90s", "15m", "6h", "1d" or a bare number of seconds."""
    found = _DURATION.fullmatch(str(text).strip())
    if not found or float(found.group(1)) <= 0:
        raise ScheduleError(f"cannot read the duration {text!r}; write e.g. 30m, 6h or 1d")
    return float(found.group(1)) * _UNITS[found.group(2) or "s"]


@dataclass
class SchedulePlan:
    store: str
    registry: str
    every: float | None = None  # seconds
    after: int | None = None  # new curated samples
    poll: float = 300.0  # seconds between checks for --after
    nproc: int = 1  # processes per retrain (torchrun) when > 1
    retrain_args: list[str] = field(default_factory=list)  # passed on: --eval DIR, --steps N, ...

    def __post_init__(self) -> None:
        if self.every is None and self.after is None:
            raise ScheduleError("say when to retrain: --every DURATION and/or --after N")
        if self.after is not None and self.after < 1:
            raise ScheduleError(f"--after must be at least 1, got {self.after}")
        if self.nproc < 1:
            raise ScheduleError(f"--nproc must be at least 1, got {self.nproc}")


def retrain_command(plan: SchedulePlan) -> list[str]:
    """The command line of one scheduled retrain."""
    if plan.nproc > 1:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                    f"--nproc_per_node={plan.nproc}"]
    else:
        launcher = [sys.executable]
    return [*launcher, "-m", "active_learning.cli", "retrain", "--store", plan.store,
            "--registry", plan.registry, "--json", *plan.retrain_args]


def run_logged(command: Sequence[str], log: Path) -> int:
    """Run `command` with stdout and stderr into `log`; its exit code."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        out.write(f"$ {' '.join(command)}\n".encode())
        out.flush()
        return subprocess.run(list(command), stdout=out, stderr=subprocess.STDOUT,
                              check=False).returncode


class RetrainJob:
    """What the scheduler calls: decide, run a retrain, log the outcome."""

    def __init__(self, plan: SchedulePlan, runner: Runner = run_logged) -> None:
        self.plan = plan
        self.runner = runner
        self.registry = Registry(plan.registry)

    def on_interval(self) -> int | None:
        return self._maybe_run("every", need=1)

    def on_poll(self) -> int | None:
        return self._maybe_run("after", need=self.plan.after or 1)

    def new_samples(self) -> int:
        from active_learning.retrain import new_curated
        from active_learning.store import open_store

        return new_curated(open_store(self.plan.store, mode="r"), self.registry)

    def _maybe_run(self, reason: str, need: int) -> int | None:
        try:
            new = self.new_samples()
        except MirasError as err:
            # A store gone or unreadable: say so where the decisions are logged, try next time.
            self._note({"reason": reason, "ran": False, "error": str(err)})
            print(f"miras-al schedule: {err}", file=sys.stderr, flush=True)
            return None
        if new < need:
            self._note({"reason": reason, "new_curated": new, "ran": False})
            return None
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        log = self.registry.logs / f"retrain-{stamp}.log"
        started = time.perf_counter()
        code = self.runner(retrain_command(self.plan), log)
        self._note({"reason": reason, "new_curated": new, "ran": True, "exit_code": code,
                    "seconds": round(time.perf_counter() - started, 1), "log": log.name})
        return code

    def _note(self, entry: dict) -> None:
        self.registry.logs.mkdir(parents=True, exist_ok=True)
        with open(self.registry.logs / "schedule.jsonl", "a", encoding="utf-8") as out:
            out.write(json.dumps({"at": now_iso(), **entry}) + "\n")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def build_scheduler(plan: SchedulePlan, job: RetrainJob | None = None, *, background=False,
                    clock: Callable[[], datetime] = utc_now):
    """A scheduler with the plan's jobs, not started (BlockingScheduler unless `background`).

    `clock` places the first runs; tests pass a fake one (and give APScheduler the same).
    """
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    job = job or RetrainJob(plan)
    kind = BackgroundScheduler if background else BlockingScheduler
    # One worker: the jobs queue behind each other instead of racing for the registry lock.
    # misfire_grace_time None + coalesce: a run missed while the machine slept fires once, late.
    scheduler = kind(timezone=timezone.utc, executors={"default": ThreadPoolExecutor(1)},
                     job_defaults={"coalesce": True, "max_instances": 1,
                                   "misfire_grace_time": None})
    now = clock()
    if plan.every is not None:
        scheduler.add_job(job.on_interval, IntervalTrigger(
            seconds=plan.every, start_date=now + timedelta(seconds=plan.every)), id="every")
    if plan.after is not None:
        scheduler.add_job(job.on_poll, IntervalTrigger(
            seconds=plan.poll, start_date=now + timedelta(seconds=plan.poll)), id="after")
    return scheduler

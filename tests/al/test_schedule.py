"""The scheduler fires retrains under a fake clock; a real run is logged under REG/logs/."""

from __future__ import annotations

import json
import queue
from datetime import datetime, timedelta, timezone

import apscheduler.schedulers.base
import pytest

from active_learning.cli import main
from active_learning.errors import ScheduleError
from active_learning.schedule import (
    RetrainJob,
    SchedulePlan,
    build_scheduler,
    parse_duration,
    retrain_command,
)

from .conftest import add_easy, read_json_lines


class FakeClock:
    """A settable clock, and a datetime class that reads it (for APScheduler's own now())."""

    def __init__(self) -> None:
        self.now_value = datetime(2030, 1, 1, tzinfo=timezone.utc)
        clock = self

        class FakeDatetime(datetime):
            @classmethod
            def now(cls, tz=None):
                return clock.now_value.astimezone(tz) if tz else clock.now_value

        self.datetime_class = FakeDatetime

    def now(self) -> datetime:
        return self.now_value

    def advance(self, seconds: float) -> None:
        self.now_value += timedelta(seconds=seconds)


class RecordingJob(RetrainJob):
    """Runs nothing; hands every decision to the test."""

    def __init__(self, plan):
        super().__init__(plan, runner=self.fake_run)
        self.decisions: queue.Queue = queue.Queue()
        self.commands: list = []

    def fake_run(self, command, log):
        self.commands.append(command)
        return 0

    def _note(self, entry):
        super()._note(entry)
        self.decisions.put(entry)


def test_the_scheduler_fires_under_a_fake_clock(store, tmp_path, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(apscheduler.schedulers.base, "datetime", clock.datetime_class)
    add_easy(store, [1])
    plan = SchedulePlan(store=store.where, registry=str(tmp_path / "reg"), every=6 * 3600,
                        after=3, poll=300)
    job = RecordingJob(plan)
    scheduler = build_scheduler(plan, job, background=True, clock=clock.now)
    scheduler.start()
    try:
        with pytest.raises(queue.Empty):  # nothing is due until the clock moves
            job.decisions.get(timeout=0.2)

        clock.advance(301)
        scheduler.wakeup()
        assert job.decisions.get(timeout=5) == {"reason": "after", "new_curated": 1,
                                                "ran": False}
        add_easy(store, [2, 3])
        clock.advance(300)
        scheduler.wakeup()
        ran = job.decisions.get(timeout=5)
        assert (ran["reason"], ran["ran"], ran["exit_code"]) == ("after", True, 0)
        assert job.commands == [retrain_command(plan)]

        clock.advance(6 * 3600)  # the interval job is due, and the poll (coalesced: once)
        scheduler.wakeup()
        reasons = {job.decisions.get(timeout=5)["reason"] for _ in range(2)}
        assert reasons == {"every", "after"}
        with pytest.raises(queue.Empty):
            job.decisions.get(timeout=0.2)
    finally:
        scheduler.shutdown(wait=False)
    lines = read_json_lines((tmp_path / "reg" / "logs" / "schedule.jsonl").read_text())
    assert [line["ran"] for line in lines] == [False, True, True, True]


def test_a_scheduled_retrain_runs_as_a_logged_subprocess(store, tmp_path):
    add_easy(store, [1])
    plan = SchedulePlan(store=store.where, registry=str(tmp_path / "reg"), every=60)
    # The registry is empty and no --base is passed (and the one sample may be held out): the
    # child process fails at once, and says why in its log.
    assert RetrainJob(plan).on_interval() == 2
    logs = tmp_path / "reg" / "logs"
    (entry,) = read_json_lines((logs / "schedule.jsonl").read_text())
    assert entry["exit_code"] == 2 and entry["reason"] == "every"
    text = (logs / entry["log"]).read_text()
    assert "active_learning.cli retrain" in text
    assert "miras-al retrain: error:" in text


def test_torchrun_is_the_launcher_for_several_processes():
    plan = SchedulePlan(store="s", registry="r", after=5, nproc=4, retrain_args=["--steps", "9"])
    command = retrain_command(plan)
    assert command[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=4"]
    assert command[-2:] == ["--steps", "9"]


def test_durations_and_plans_are_checked():
    assert parse_duration("6h") == 21600 and parse_duration("90") == 90
    assert parse_duration("1.5m") == 90
    for bad in ("six hours", "0h", "-1h"):
        with pytest.raises(ScheduleError):
            parse_duration(bad)
    with pytest.raises(ScheduleError, match="--every"):
        SchedulePlan(store="s", registry="r")


def test_a_store_gone_is_logged_and_the_scheduler_goes_on(tmp_path):
    plan = SchedulePlan(store=str(tmp_path / "gone.zarr"), registry=str(tmp_path / "r"),
                        every=60)
    job = RecordingJob(plan)
    assert job.on_interval() is None and job.commands == []  # no exception for APScheduler
    entry = job.decisions.get_nowait()
    assert entry["ran"] is False and "gone.zarr" in entry["error"]
    log = (tmp_path / "r" / "logs" / "schedule.jsonl").read_text(encoding="utf-8")
    assert read_json_lines(log)[-1]["error"] == entry["error"]


def test_schedule_refuses_a_store_that_is_not_there(tmp_path, capsys):
    argv = ["schedule", "--store", str(tmp_path / "typo.zarr"), "--registry",
            str(tmp_path / "r"), "--every", "6h", "--dry-run"]
    assert main(argv) == 2
    assert "typo.zarr" in capsys.readouterr().err
    assert not (tmp_path / "typo.zarr").exists()


def test_schedule_dry_run_prints_its_jobs(store, tmp_path, capsys):
    argv = ["schedule", "--store", store.where, "--registry", str(tmp_path / "r"),
            "--every", "6h", "--after", "20", "--dry-run", "--json", "--", "--eval", "E"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert [j["id"] for j in out["jobs"]] == ["every", "after"]
    assert [j["interval_s"] for j in out["jobs"]] == [21600, 300]
    assert out["command"][-2:] == ["--eval", "E"]
    assert main(argv[:5] + ["--every", "soon"]) == 2

"""Several writer processes at once, and writers killed (SIGKILL) in the middle of a sample."""

from __future__ import annotations

import multiprocessing
import random
import time
from pathlib import Path

import numpy as np
import pytest

from active_learning.errors import IncompleteSampleError
from active_learning.store import fsck, open_store
from active_learning.store.ids import image_id_of

from . import workers
from .helpers import add, make_image, make_mask

SPAWN = multiprocessing.get_context("spawn")  # no inherited zarr event-loop threads


def _done(done_file: Path) -> list[str]:
    return done_file.read_text().split() if done_file.exists() else []


def _run(target, *args, timeout: float = 60) -> int:
    child = SPAWN.Process(target=target, args=args)
    child.start()
    child.join(timeout)
    if child.is_alive():
        child.kill()
        raise AssertionError(f"{target.__name__} did not finish in {timeout} s")
    return child.exitcode


def test_two_writer_processes_lose_nothing(store_path, tmp_path):
    start = SPAWN.Event()
    # Both write the same five images (in opposite orders) to race on the idempotent image writes.
    seeds = [i % 5 for i in range(20)]
    plans = {"ana": seeds, "ben": seeds[::-1]}
    children = {
        tag: SPAWN.Process(target=workers.write_samples,
                           args=(str(store_path), tag, plan, start, str(tmp_path / tag)))
        for tag, plan in plans.items()
    }
    for child in children.values():
        child.start()
    start.set()
    for child in children.values():
        child.join(120)
        assert child.exitcode == 0

    store = open_store(store_path, mode="r")
    records = list(store.samples())
    written = {tag: _done(tmp_path / tag) for tag in plans}
    assert sorted(r.sample_id for r in records) == sorted(written["ana"] + written["ben"])
    assert len(records) == 40
    assert store.incomplete() == []
    assert len(store.image_ids()) == 5
    for record in records:
        seed = plans[record.meta["writer"]][record.meta["i"]]
        np.testing.assert_array_equal(record.image, make_image(seed=seed))
        np.testing.assert_array_equal(record.proposal, make_mask(seed=seed + 1000))
    assert fsck(store)["ok"]


def test_killed_after_arrays_before_marker(store, store_path, tmp_path):
    done_file = tmp_path / "done"
    exitcode = _run(workers.add_then_die_before_marker, str(store_path), 2, str(done_file))
    assert exitcode == -9

    complete = _done(done_file)
    reopened = open_store(store_path)
    assert len(complete) == 2
    assert [r.sample_id for r in reopened.samples()] == complete
    (lost,) = reopened.incomplete()
    with pytest.raises(IncompleteSampleError, match="fsck"):
        reopened.get(lost)

    report = fsck(reopened, repair=True)
    assert report["incomplete"] == [lost] and report["removed"] == [lost]
    after = fsck(reopened)
    assert after["incomplete"] == [] and after["samples"] == 2
    # The lost sample's image was written before it: now no sample shows it.
    assert after["orphan_images"] == [image_id_of(make_image(seed=2))]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_killed_at_a_random_moment(store, store_path, tmp_path, seed):
    done_file = tmp_path / "done"
    child = SPAWN.Process(target=workers.write_until_killed,
                          args=(str(store_path), 1024, str(done_file)))
    child.start()
    deadline = time.monotonic() + 60
    while len(_done(done_file)) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(random.Random(seed).uniform(0, 0.1))
    child.kill()
    child.join(10)

    complete = set(_done(done_file))
    reopened = open_store(store_path)
    listed = {r.sample_id for r in reopened.samples()}
    assert len(complete) >= 2
    # The child may have finished one more sample before it could report it.
    assert complete <= listed and len(listed - complete) <= 1
    assert len(reopened.incomplete()) <= 1
    for sample_id in listed:
        assert reopened.get(sample_id).image.shape == (1024, 1024, 3)

    report = fsck(reopened, repair=True, prune_images=True)
    assert report["removed"] == report["incomplete"]
    after = fsck(reopened)
    assert after["ok"], after
    assert {r.sample_id for r in reopened.samples()} == listed


def test_killed_while_replacing_a_correction_rolls_back(store, store_path):
    proposal = make_mask(seed=5)
    sid = add(store, proposal=proposal)
    store.set_correction(sid, make_mask(seed=6).astype(np.uint8), seconds=4.0, turns=1)

    assert _run(workers.recorrect_then_die_before_marker, str(store_path), sid) == -9
    assert store.incomplete() == [sid] and len(store) == 0

    report = fsck(store, repair=True)
    assert report["rolled_back"] == [sid] and report["removed"] == []
    record = store.get(sid)
    assert record.status == "proposed" and record.correction is None
    assert record.dice is None and record.seconds is None
    np.testing.assert_array_equal(record.proposal, proposal)
    assert fsck(store)["ok"]

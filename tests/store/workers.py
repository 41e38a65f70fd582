"""Code run in spawned child processes by the concurrency and crash tests.

Children report each finished sample id by appending a line to a file, flushed at once, so that
the parent knows what was complete before it killed them.
"""

from __future__ import annotations

import os
import signal

import numpy as np

from active_learning.store import CorrectionStore, open_store

from .helpers import add, make_image, make_mask


def _report(done_file: str, sample_id: str) -> None:
    with open(done_file, "a") as out:
        out.write(sample_id + "\n")


def write_samples(path: str, tag: str, image_seeds: list[int], start, done_file: str) -> None:
    """Add one sample per seed, after all writers are ready (so that they really overlap).

    The store does not exist yet: the writers also race to create it.
    """
    start.wait(timeout=60)
    store = open_store(path)
    for i, seed in enumerate(image_seeds):
        sid = add(store, seed=seed, annotator=tag, meta={"writer": tag, "i": i})
        _report(done_file, sid)


def write_until_killed(path: str, size: int, done_file: str) -> None:
    """Add samples with large, distinct images (slow writes) until the parent kills us."""
    store = open_store(path)
    seed = int.from_bytes(os.urandom(4), "little")
    while True:
        seed += 1
        sid = add(store, image=make_image((size, size, 3), seed=seed), seed=seed)
        _report(done_file, sid)


def _die_at_commit(after: int) -> None:
    """Make the store kill this process on its (after+1)-th commit: arrays written, marker not."""
    commits = 0
    original = CorrectionStore._commit

    def commit(self, group, attrs):
        nonlocal commits
        commits += 1
        if commits > after:
            os.kill(os.getpid(), signal.SIGKILL)
        original(self, group, attrs)

    CorrectionStore._commit = commit


def add_then_die_before_marker(path: str, complete: int, done_file: str) -> None:
    _die_at_commit(after=complete)
    store = open_store(path)
    for seed in range(complete + 1):
        _report(done_file, add(store, seed=seed))


def recorrect_then_die_before_marker(path: str, sample_id: str) -> None:
    _die_at_commit(after=0)
    open_store(path).set_correction(sample_id, np.asarray(make_mask(seed=99), np.uint8) * 2)

"""`benchmarks/training_drift.py`: the same dialogue steps timed padded to a multiple and to the
longest dialogue, each in its own process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from miras.modeling.miras import TRAINING_LENGTH_MULTIPLE

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "training_drift.py"


def test_both_arms_run_and_only_the_padded_one_pads_to_a_multiple():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--steps", "3", "--window", "2", "--batch", "2", "--json"],
        capture_output=True, text=True, timeout=600, check=True,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    padded, longest = figures["padded"], figures["longest"]
    assert figures["steps"] == 3 and figures["window"] == 2
    for arm in (padded, longest):
        assert 0 < arm["first_s_per_step"] <= arm["total_s"] and arm["peak_rss_mb"] > 0
    assert all(length % TRAINING_LENGTH_MULTIPLE == 0 for length in padded["lengths"])
    assert any(length % TRAINING_LENGTH_MULTIPLE for length in longest["lengths"])
    assert max(padded["lengths"]) >= max(longest["lengths"])
    assert figures["total_speedup"] == longest["total_s"] / padded["total_s"]

"""`benchmarks/full_size.py`, the GPU check, runs end to end on the tiny preset on the CPU."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "full_size.py"


def test_full_size_check_prints_turns_the_turn_cache_and_the_stage2_cache_figures():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--preset", "tiny", "--device", "cpu", "--new-tokens", "2",
         "--train-repeats", "1", "--json"],
        capture_output=True, text=True, timeout=300, check=True,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["preset"] == "tiny" and len(figures["turns"]) == 3
    assert all(turn["seconds"] > 0 for turn in figures["turns"])
    cache = figures["turn_cache"]
    assert cache["turn_ms_cached"] > 0 and cache["turn_speedup_from_cache"] == cache["turn_ms_fresh"] / cache["turn_ms_cached"]
    train = figures["stage2_step"]
    assert train["train_step_ms_cached"] > 0 and train["train_batch"] == 16
    assert train["train_speedup_from_feature_cache"] == train["train_step_ms_full"] / train["train_step_ms_cached"]

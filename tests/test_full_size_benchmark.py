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


def test_full_size_check_on_a_cpu_skips_the_turn_cache_and_takes_a_smaller_stage2_batch():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--preset", "tiny", "--device", "cpu", "--new-tokens", "2",
         "--turn-repeats", "0", "--train-repeats", "1", "--train-batch", "2", "--json"],
        capture_output=True, text=True, timeout=300, check=True,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert "turn_cache" not in figures and len(figures["turns"]) == 3
    assert figures["stage2_step"]["train_batch"] == 2
    assert figures["peak_rss_gib"] > 0


def test_the_random_model_is_created_in_the_asked_dtype_and_the_default_dtype_is_restored(monkeypatch):
    """On a 24 GB CPU, 7B float32 parameters (32 GB) cast afterwards would not fit."""
    import torch

    import miras.checkpoint

    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    from full_size import build_random

    real_build, created_as = miras.checkpoint.build, []

    def build(*args, **kwargs):
        model = real_build(*args, **kwargs)
        created_as.extend({p.dtype for p in model.parameters()})
        return model

    monkeypatch.setattr(miras.checkpoint, "build", build)
    model = build_random("tiny", torch.device("cpu"), torch.bfloat16)
    assert created_as == [torch.bfloat16]
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    assert torch.get_default_dtype() == torch.float32

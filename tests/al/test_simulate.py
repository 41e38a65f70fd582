"""Simulate plays the annotator with the ground truth and prints a learning curve."""

from __future__ import annotations

import json

import pytest

from active_learning.cli import main
from active_learning.errors import SimulationError
from active_learning.simulate import SimulationSettings, simulate, split_data


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    from miras.synth import generate

    return generate(tmp_path_factory.mktemp("synth") / "data", n=6, seed=0, size=64)


def test_simulate_prints_a_curve_with_one_point_per_round_and_the_start(
        synth_dir, tiny_checkpoint, tmp_path, capsys):
    argv = ["simulate", "--data", str(synth_dir), "--model", str(tiny_checkpoint),
            "--strategy", "uncertainty", "--rounds", "2", "--per-round", "2", "--seed", "1",
            "--pool", "6", "--heldout", "3", "--steps", "2", "--max-new-tokens", "2",
            "--work", str(tmp_path / "work"), "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    curve = result["curve"]
    assert [p["round"] for p in curve] == [0, 1, 2]
    assert [p["labeled"] for p in curve] == [0, 2, 4]
    assert all(0 <= p["ciou"] <= 1 and p["n"] == result["heldout"] for p in curve)
    assert result["heldout"] >= 3 and result["pool"] == 6
    assert main(argv) == 2  # the same --work again
    assert "holds an earlier simulation" in capsys.readouterr().err


def test_the_held_out_split_is_the_same_for_every_seed(synth_dir):
    from miras.prist import read_prist

    samples = read_prist(synth_dir)
    one, two = split_data(samples, 3, 100, seed=1), split_data(samples, 3, 100, seed=2)
    assert [i for i, _ in one.heldout] == [i for i, _ in two.heldout]
    assert not {s.img_id for _, s in one.heldout} & {s.img_id for _, s in one.pool}
    assert [i for i, _ in one.pool] != [i for i, _ in two.pool]  # the pool order is seeded


def test_a_pool_too_small_for_the_rounds_is_refused(synth_dir):
    with pytest.raises(SimulationError, match="need 40 pool items"):
        simulate(synth_dir, "tiny", "random", SimulationSettings(rounds=10, per_round=4, pool=8))

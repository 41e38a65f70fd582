"""`benchmarks/towers.py`: a linear probe says what the visual tokens carry, per attribute type."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

_PATH = Path(__file__).parents[1] / "benchmarks" / "towers.py"
_spec = importlib.util.spec_from_file_location("towers", _PATH)
towers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(towers)

NAMES = ("colour:red", "colour:blue", "kind:ring", "part:handle")


def test_f1_is_counted_per_attribute_type():
    present = torch.tensor([[1, 0, 1, 0], [0, 1, 1, 1]], dtype=torch.bool)
    predicted = torch.tensor([[1, 1, 0, 0], [0, 1, 0, 1]], dtype=torch.bool)
    f1 = towers.f1_by_type(predicted, present, NAMES)
    assert f1["colour"] == pytest.approx(2 * 2 / (3 + 2))  # 2 hits, 3 predicted, 2 present
    assert f1["kind"] == 0.0 and f1["part"] == 1.0
    assert f1["all"] == pytest.approx(2 * 3 / (4 + 5))


def _coverage(rows: int, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(rows, len(NAMES), generator=generator) < 0.3).float() * 0.6


def test_the_probe_reads_tokens_that_carry_the_coverage_and_nothing_from_noise():
    g = torch.Generator().manual_seed(0)
    mixing = torch.randn(len(NAMES), 16, generator=g)
    fit, held_out = _coverage(2000, g), _coverage(500, g)
    # Large, offset tokens, as collapsed towers give: the probe must not depend on their scale.
    informative = towers.fit_probe(fit @ mixing * 500 + 2000, fit)
    with torch.no_grad():
        predicted = informative(held_out @ mixing * 500 + 2000).sigmoid() >= 0.25
    assert towers.f1_by_type(predicted, held_out >= 0.25, NAMES)["all"] > 0.95

    noise = towers.fit_probe(torch.randn(2000, 16, generator=g), fit)
    with torch.no_grad():
        predicted = noise(torch.randn(500, 16, generator=g)).sigmoid() >= 0.25
    assert towers.f1_by_type(predicted, held_out >= 0.25, NAMES)["all"] < 0.5


def test_it_runs_end_to_end_on_a_model_with_pretrained_towers(tmp_path, capsys):
    import miras
    from miras.training.tower_pretraining import TowerSettings, pretrain_towers

    pretrain_towers(miras.load("tiny"), tmp_path, TowerSettings(steps=2, batch_size=2, eval_scenes=2, bf16=False))
    assert towers.main(["--model", "tiny", "--towers", str(tmp_path / "towers.safetensors"),
                        "--scenes", "4", "--held-out", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["f1"]) == {"all", "colour", "kind", "texture", "part"}
    assert all(0.0 <= value <= 1.0 for value in result["f1"].values())

"""bf16 autocast only where the hardware has it: elsewhere training falls back to float32, loudly."""

from __future__ import annotations

import warnings

import pytest
import torch

from miras.checkpoint import build
from miras.synth import generate
from miras.training import precision
from miras.training.data import PristSource
from miras.training.loop import train
from miras.training.settings import TrainSettings
from miras.training.tower_pretraining import TowerSettings, pretrain_towers

CPU = torch.device("cpu")


@pytest.fixture
def native(monkeypatch):
    """Set whether the CPU "has" native bf16."""

    def set_native(value: bool) -> None:
        monkeypatch.setattr(precision, "native_bf16", lambda device: value)

    return set_native


def test_bf16_is_kept_where_native_and_refused_with_a_warning_where_emulated(native):
    native(True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert precision.use_bf16(True, CPU) is True
        assert precision.use_bf16(False, CPU) is False
    native(False)
    with pytest.warns(UserWarning, match="no native bfloat16.*float32"):
        assert precision.use_bf16(True, CPU) is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert precision.use_bf16(False, CPU) is False


def _autocast_during_forward(module) -> list[bool]:
    """Whether autocast was on, at each forward of `module`."""
    seen: list[bool] = []
    module.register_forward_hook(lambda *_: seen.append(torch.is_autocast_enabled("cpu")))
    return seen


@pytest.mark.parametrize("has_native", [True, False])
def test_training_autocasts_only_where_bf16_is_native(native, has_native, tmp_path):
    native(has_native)
    data = generate(tmp_path / "data", 2, seed=3, size=64)
    model = build("tiny", seed=0)
    seen = _autocast_during_forward(model)
    settings = TrainSettings(stage=0, policy="all", max_steps=2, batch_size=2, warmup_steps=0, eval_every=0,
                             save_every=0, seed=0, bf16=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(model, PristSource(data, stage=0, limit=2), settings, tmp_path / "run")
    assert seen == [has_native, has_native]
    assert any("float32" in str(w.message) for w in caught) is not has_native


@pytest.mark.parametrize("has_native", [True, False])
def test_tower_pretraining_autocasts_only_where_bf16_is_native(native, has_native, tmp_path):
    native(has_native)
    model = build("tiny", seed=0)
    seen = _autocast_during_forward(model.mm_projector)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        pretrain_towers(model, tmp_path, TowerSettings(steps=2, batch_size=2, size=64, eval_scenes=2, bf16=True))
    # The training steps come first; the held-out evaluation after them runs without autocast.
    assert seen[:2] == [has_native, has_native]

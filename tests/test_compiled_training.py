"""`TrainSettings.compile`: a compiled run trains as an eager one does and leaves the model eager."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch._dynamo.utils import counters

from miras.checkpoint import build
from miras.synth import generate
from miras.training.data import PristSource
from miras.training.loop import train
from miras.training.settings import TrainSettings


@pytest.fixture(scope="module")
def synth_data(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("synth") / "data", 4, seed=3, size=64)


def _compiled_graphs() -> int:
    return counters["stats"]["unique_graphs"]


def _run(data: Path, out: Path, stage: int, policy: str, compile: bool) -> dict[str, torch.Tensor]:
    settings = TrainSettings(stage=stage, policy=policy, max_steps=3, batch_size=2, lr=1e-2, warmup_steps=0,
                             eval_every=0, save_every=0, seed=0, compile=compile)
    train(build("tiny", seed=0), PristSource(data, stage=stage), settings, out)
    return load_file(out / "model.safetensors")


def _losses(out: Path) -> list[float]:
    records = [json.loads(line) for line in (out / "train-log.jsonl").read_text().splitlines()]
    return [r["loss"] for r in records if "loss" in r]


def _assert_same_weights(a: dict, b: dict) -> None:
    # Attention key biases have no true gradient (softmax ignores a shift), so their float noise
    # differs between kernels, and Adam scales noise up to the learning rate (1e-2 here): an
    # absolute tolerance well under one step of a real gradient.
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=2e-3, msg=key)


@pytest.mark.parametrize(("stage", "policy"), [(0, "all-but-towers"), (2, "paper")])
def test_a_compiled_run_ends_with_the_weights_of_an_eager_one(synth_data, tmp_path, stage, policy):
    eager = _run(synth_data, tmp_path / "eager", stage, policy, compile=False)
    graphs = _compiled_graphs()
    compiled = _run(synth_data, tmp_path / "compiled", stage, policy, compile=True)
    assert _compiled_graphs() > graphs, "nothing was compiled"
    _assert_same_weights(eager, compiled)
    assert _losses(tmp_path / "compiled") == pytest.approx(_losses(tmp_path / "eager"), rel=1e-4)


def test_after_a_compiled_run_the_model_runs_eagerly(synth_data, tmp_path):
    from miras.batch import collate, make_example

    model = build("tiny", seed=0)
    settings = TrainSettings(stage=2, policy="paper", max_steps=1, batch_size=2, warmup_steps=0, eval_every=0,
                             save_every=0, compile=True)
    source = PristSource(synth_data, stage=2)
    train(model, source, settings, tmp_path / "run")
    graphs = _compiled_graphs()
    item = source.item(0)
    with torch.no_grad():
        model(collate([make_example(model, item.image, item.turns, item.masks)]))
    assert _compiled_graphs() == graphs


def test_without_a_working_cpp_compiler_a_compiled_run_trains_eagerly(synth_data, tmp_path):
    from torch._inductor import config as inductor

    torch._dynamo.reset()
    with inductor.patch({"cpp.cxx": (None, "false"), "fx_graph_cache": False}):
        broken = _run(synth_data, tmp_path / "broken", 2, "paper", compile=True)
    torch._dynamo.reset()
    _assert_same_weights(_run(synth_data, tmp_path / "eager", 2, "paper", compile=False), broken)

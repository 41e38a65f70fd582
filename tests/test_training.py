"""Training on the tiny preset: loss falls, resume, the stage-2 feature cache, DDP."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import miras
from miras.checkpoint import build
from miras.errors import ConfigError
from miras.synth import generate
from miras.training.data import PristSource
from miras.training.feature_cache import CachedBatch, FeatureCache
from miras.training.loop import train
from miras.training.schedule import lr_factor
from miras.training.settings import TrainSettings
from miras.training.state import STATE_DIR, restore_state, save_state


@pytest.fixture(scope="module")
def synth_data(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("synth") / "data", 4, seed=3, size=64)


def _settings(**overrides) -> TrainSettings:
    base = dict(stage=2, policy="paper", max_steps=4, batch_size=4, lr=1e-2, warmup_steps=0,
                eval_every=0, save_every=2, seed=0)
    return TrainSettings(**(base | overrides))


def _log_losses(out: Path) -> list[float]:
    import json

    lines = (out / "train-log.jsonl").read_text().splitlines()
    return [json.loads(line)["loss"] for line in lines if '"loss"' in line]


def test_a_few_steps_reduce_the_loss(synth_data, tmp_path):
    model = build("tiny", seed=0)
    settings = _settings(stage=0, policy="all", max_steps=12, batch_size=2, save_every=0)
    train(model, PristSource(synth_data, stage=0, limit=2), settings, tmp_path / "run")
    losses = _log_losses(tmp_path / "run")
    assert len(losses) == 12
    assert sum(losses[-3:]) / 3 < 0.8 * sum(losses[:3]) / 3
    assert (tmp_path / "run" / "model.safetensors").exists()


def test_resume_continues_where_it_stopped(synth_data, tmp_path):
    source = PristSource(synth_data, stage=2)
    straight = build("tiny", seed=0)
    train(straight, source, _settings(feature_cache=False), tmp_path / "straight")

    interrupted = build("tiny", seed=0)
    steps = iter(range(100))
    train(interrupted, source, _settings(feature_cache=False), tmp_path / "resumed",
          should_stop=lambda: next(steps) >= 2)
    assert len(_log_losses(tmp_path / "resumed")) == 2
    resumed = build("tiny", seed=0)
    train(resumed, source, _settings(feature_cache=False), tmp_path / "resumed")
    assert len(_log_losses(tmp_path / "resumed")) == 4
    a = load_file(tmp_path / "straight" / "model.safetensors")
    b = load_file(tmp_path / "resumed" / "model.safetensors")
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)



def _saved_step(out: Path, step: int) -> None:
    model = torch.nn.Linear(2, 1)
    save_state(out, model, torch.optim.AdamW(model.parameters()), step, {}, None)


def _restored_step(out: Path) -> int:
    model = torch.nn.Linear(2, 1)
    return restore_state(out, model, torch.optim.AdamW(model.parameters()))[0]


def test_a_run_killed_before_removing_the_old_state_saves_and_resumes_the_newest(tmp_path):
    _saved_step(tmp_path, 2)
    shutil.copytree(tmp_path / STATE_DIR, tmp_path / "step2")
    _saved_step(tmp_path, 4)
    (tmp_path / "step2").rename(tmp_path / (STATE_DIR + ".old"))  # killed before its rmtree
    assert _restored_step(tmp_path) == 4
    _saved_step(tmp_path, 6)
    assert _restored_step(tmp_path) == 6
    assert not (tmp_path / (STATE_DIR + ".old")).exists()


def test_a_run_killed_between_the_two_renames_resumes_the_previous_state(tmp_path):
    _saved_step(tmp_path, 2)
    _saved_step(tmp_path, 4)
    (tmp_path / STATE_DIR).rename(tmp_path / (STATE_DIR + ".old"))
    shutil.copytree(tmp_path / (STATE_DIR + ".old"), tmp_path / (STATE_DIR + ".tmp"))
    (tmp_path / (STATE_DIR + ".tmp") / "state.json").unlink()  # the next one, half written
    assert _restored_step(tmp_path) == 4
    _saved_step(tmp_path, 6)
    assert _restored_step(tmp_path) == 6


def test_resuming_with_another_stage_or_policy_is_refused_but_more_steps_resume(synth_data, tmp_path):
    source = PristSource(synth_data, stage=0, limit=1)
    settings = _settings(stage=0, policy="all", max_steps=1, batch_size=1, save_every=0)
    train(build("tiny", seed=0), source, settings, tmp_path / "run")
    for changed in (dict(policy="sam"), dict(stage=1)):
        with pytest.raises(ConfigError, match=r"holds a run with .*(policy 'all'|stage 0).* resumed with "
                                              r".*(policy 'sam'|stage 1).*new --out.*original settings"):
            train(build("tiny", seed=0), source, dataclasses.replace(settings, **changed), tmp_path / "run")
    train(build("tiny", seed=0), source, dataclasses.replace(settings, max_steps=2), tmp_path / "run")
    assert len(_log_losses(tmp_path / "run")) == 2


def test_resuming_with_another_model_is_refused(synth_data, tmp_path):
    source = PristSource(synth_data, stage=0, limit=1)
    settings = _settings(stage=0, policy="all", max_steps=1, batch_size=1, save_every=0)
    train(build("tiny", seed=0), source, settings, tmp_path / "run")
    config = miras.preset("tiny")
    wider = dataclasses.replace(config, text={**config.text, "intermediate_size": 96})
    with pytest.raises(ConfigError, match="another model than this one.*original --init"):
        train(build(wider, seed=0), source, dataclasses.replace(settings, max_steps=2), tmp_path / "run")


def test_cached_features_give_the_full_forward_loss(synth_data, tmp_path):
    from miras.batch import collate, make_example
    from miras.trainable import apply_policy

    model = build("tiny", seed=0)
    apply_policy(model, "paper")
    source = PristSource(synth_data, stage=2)
    items = [source.item(i) for i in range(3)]
    full = model(collate([make_example(model, it.image, it.turns, it.masks) for it in items]))
    cache = FeatureCache(tmp_path / "cache", model, source.signature())
    cached = model(CachedBatch([cache.get(it) for it in items]))
    again = model(CachedBatch([cache.get(it) for it in items]))
    assert cache.misses == 3 and cache.hits == 3
    for name in ("bce", "dice", "iou"):
        torch.testing.assert_close(getattr(cached, name), getattr(full, name), rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(getattr(again, name), getattr(full, name), rtol=1e-4, atol=1e-5)
    expected = full.loss - model.config.loss.ce * full.ce
    torch.testing.assert_close(cached.loss, expected, rtol=1e-4, atol=1e-5)


def test_the_cache_invalidates_when_weights_or_data_change(synth_data, tmp_path):
    from miras.trainable import apply_policy

    model = build("tiny", seed=0)
    apply_policy(model, "paper")
    source = PristSource(synth_data, stage=2)
    data_signature = source.signature()
    folder = FeatureCache(tmp_path, model, data_signature).folder
    assert FeatureCache(tmp_path, model, source.signature()).folder == folder
    with torch.no_grad():
        model.llm.get_input_embeddings().weight[0, 0] += 1.0  # a frozen weight
    assert FeatureCache(tmp_path, model, source.signature()).folder != folder
    with torch.no_grad():
        model.sam.mask_decoder.iou_token.weight += 1.0  # a trained weight: cache still valid
    before = FeatureCache(tmp_path, model, source.signature()).folder
    assert FeatureCache(tmp_path, model, source.signature()).folder == before
    (synth_data / "prist.json").touch()
    os.utime(synth_data / "prist.json", ns=(1, 1))
    os.utime(next((synth_data / "images").iterdir()), ns=(1, 1))
    assert PristSource(synth_data, stage=2).signature() != data_signature


def test_stage2_trains_only_the_paper_parts_on_cached_features(synth_data, tmp_path):
    model = build("tiny", seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train(model, PristSource(synth_data, stage=2), _settings(max_steps=2), tmp_path / "run")
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(k.startswith(("sam.mask_decoder.", "seg_head.", "region_alignment.")) for k in changed)
    assert any((tmp_path / "run" / "feature-cache").rglob("*.safetensors"))


def test_all_but_towers_keeps_the_visual_towers_at_their_init(synth_data, tmp_path):
    model = build("tiny", seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train(model, PristSource(synth_data, stage=0), _settings(stage=0, policy="all-but-towers", max_steps=2),
          tmp_path / "run")
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    towers = ("vision_tower.", "vision_tower_aux.", "fusion.", "mm_projector.")
    assert not any(k.startswith(towers) for k in changed)
    assert any(k.startswith("llm.") for k in changed) and any(k.startswith("sam.image_encoder.") for k in changed)


def test_learning_rate_warms_up_then_decays():
    settings = TrainSettings(max_steps=100, warmup_steps=10, lr=1.0, min_lr_ratio=0.1)
    factors = [lr_factor(s, settings) for s in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[10:], factors[11:]))
    assert factors[-1] == pytest.approx(0.1, abs=0.01)


def _train_cli(args: list[str], nproc: int, env: dict) -> None:
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                f"--nproc_per_node={nproc}", "-m", "miras.cli"] if nproc > 1 else [sys.executable, "-m", "miras.cli"]
    result = subprocess.run(launcher + args, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.slow
def test_two_gloo_processes_match_one_at_the_same_global_batch(synth_data, tmp_path):
    init = tmp_path / "init"
    from miras.checkpoint import save_pretrained

    save_pretrained(build("tiny", seed=0), init)
    env = os.environ | {"OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    common = ["train", "--stage", "2", "--data", str(synth_data), "--init", str(init), "--max-steps", "3",
              "--batch-size", "4", "--lr", "1e-2", "--warmup-steps", "0", "--save-every", "0",
              "--eval-every", "0", "--device", "cpu"]
    _train_cli(common + ["--out", str(tmp_path / "one")], 1, env)
    _train_cli(common + ["--out", str(tmp_path / "two")], 2, env)
    one = load_file(tmp_path / "one" / "model.safetensors")
    two = load_file(tmp_path / "two" / "model.safetensors")
    moved = [k for k in one if not torch.equal(one[k], load_file(init / "model.safetensors")[k])]
    assert moved
    for key in one:
        if key.endswith("k_proj.bias"):
            # Softmax ignores a key bias: its gradient is rounding noise, which Adam scales up to
            # lr-sized steps in either run.
            continue
        # Adam's steps here move weights by ~2e-2; gradients summed over two half batches round
        # differently, and Adam turns that into up to ~2e-5 (torch 2.14.1's x86 kernels). Any real
        # DDP fault (unsynchronised or unscaled gradients) moves weights by a share of a step.
        torch.testing.assert_close(one[key], two[key], rtol=1e-4, atol=5e-5, msg=key)


def test_a_runs_loss_weights_do_not_leak_into_the_saved_config(synth_data, tmp_path):
    import json

    model = build("tiny", seed=0)
    settings = _settings(stage=0, policy="all", max_steps=1, batch_size=2, save_every=0, dice_weight=4.0)
    train(model, PristSource(synth_data, stage=0, limit=2), settings, tmp_path / "run")
    assert model.config.loss.dice == 0.5
    assert json.loads((tmp_path / "run" / "config.json").read_text())["loss"]["dice"] == 0.5


def test_a_log_file_gets_a_progress_line_per_30_seconds_not_per_step(synth_data, tmp_path, capsys, tqdm_clock):
    model = build("tiny", seed=0)
    train(model, PristSource(synth_data, stage=2), _settings(max_steps=40, save_every=0), tmp_path / "run")
    progress = capsys.readouterr().err  # not a terminal, as when the output goes to a log
    # 40 steps a second apart by tqdm's clock: a line after 30 s and the last, not one a step.
    assert 1 <= progress.replace("\r", "\n").count("stage 2:") <= 3, progress
    assert "40/40" in progress


def test_cached_steps_make_each_item_once_and_then_read_no_pixels(synth_data, tmp_path):
    class CountingSource(PristSource):
        made = 0

        def item(self, index):
            CountingSource.made += 1
            return super().item(index)

    source = CountingSource(synth_data, stage=2)
    steps = 3 * len(source)  # three epochs at batch 2: every item is met again and again
    train(build("tiny", seed=0), source, _settings(max_steps=steps, batch_size=2, save_every=0), tmp_path / "run")
    assert CountingSource.made == len(source)
    assert source.key(5) == source.item(5).key


def test_every_nth_item_of_a_mixed_source_comes_from_the_other():
    from miras.training.data import SynthSource, WithEveryNth

    dialogues, requests = SynthSource(3, stage=0, size=64), SynthSource(3, stage=1, size=64)
    mixed = WithEveryNth(dialogues, requests, every=4)
    for index in range(8):
        expected = requests if index % 4 == 3 else dialogues
        assert mixed.item(index).turns == expected.item(index).turns
    assert sum(len(mixed.item(i).turns) == 2 for i in range(8)) >= 2  # the stage-1 requests
    with pytest.raises(ValueError, match="at least 2"):
        WithEveryNth(dialogues, requests, every=1)


def test_batches_made_by_worker_processes_train_the_same_as_made_in_the_loop(tmp_path):
    from miras.training.data import SynthSource

    makers = tmp_path / "makers"

    class NoteTheMaker(SynthSource):
        def item(self, index):
            with open(makers, "a") as note:
                note.write(f"{os.getpid()}\n")
            return super().item(index)

    source = NoteTheMaker(3, stage=0, size=64)
    settings = _settings(stage=0, policy="all", max_steps=3, batch_size=2, save_every=0)
    train(build("tiny", seed=0), source, settings, tmp_path / "inline")
    assert set(makers.read_text().split()) == {str(os.getpid())}
    makers.unlink()
    train(build("tiny", seed=0), source, dataclasses.replace(settings, workers=2), tmp_path / "workers")
    assert _log_losses(tmp_path / "workers") == pytest.approx(_log_losses(tmp_path / "inline"), rel=1e-6)
    pids = makers.read_text().split()
    assert len(pids) >= 6 and str(os.getpid()) not in pids  # every item made in a worker


def test_a_bad_item_made_in_a_worker_stops_the_run_with_its_error(tmp_path):
    from miras.errors import DataError
    from miras.training.data import SynthSource

    class BrokenAtFive(SynthSource):
        def item(self, index):
            if index == 5:
                raise DataError("item 5 is broken")
            return super().item(index)

    settings = _settings(stage=0, policy="all", max_steps=4, batch_size=2, save_every=0, workers=1)
    with pytest.raises(DataError, match="item 5 is broken"):
        train(build("tiny", seed=0), BrokenAtFive(3, stage=0, size=64), settings, tmp_path / "run")
    assert len(_log_losses(tmp_path / "run")) == 2  # the steps before it trained and were logged

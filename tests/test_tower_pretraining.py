"""Tower pre-training: each visual token learns what its patch holds, and nothing else trains."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from miras.synth.scene import Scene, SceneObject
from miras.training.tower_pretraining import (
    CoverageSource,
    TowerSettings,
    attribute_maps,
    attribute_names,
    patch_coverage,
    pretrain_towers,
)

TOWER_PREFIXES = ("vision_tower.", "vision_tower_aux.", "fusion.", "mm_projector.")


def _scene_with_a_red_square() -> Scene:
    mask = np.zeros((32, 32), bool)
    mask[0:16, 8:16] = True  # the right half of patch (0, 0) of a 2x2 grid, in a 16-pixel patch
    square = SceneObject(1, "square", "red", "small", "striped", ("",), (mask,))
    handle, body = np.zeros((32, 32), bool), np.zeros((32, 32), bool)
    handle[16:32, 16:20], body[16:32, 20:32] = True, True
    mug = SceneObject(2, "mug", "blue", "large", "plain", ("handle", "body"), (handle, body))
    return Scene(image=np.zeros((32, 32, 3), np.uint8), objects=(square, mug), domain="base")


def test_each_patch_gets_the_share_of_it_each_attribute_covers():
    names = attribute_names()
    coverage = patch_coverage(attribute_maps(_scene_with_a_red_square(), names), grid=2)
    at = {name: coverage[:, i].tolist() for i, name in enumerate(names)}
    # Patches in raster order: top-left, top-right, bottom-left, bottom-right.
    assert at["colour:red"] == at["kind:square"] == at["texture:striped"] == [0.5, 0, 0, 0]
    assert at["colour:blue"] == at["kind:mug"] == [0, 0, 0, 1]
    assert at["part:handle"] == [0, 0, 0, 0.25] and at["part:body"] == [0, 0, 0, 0.75]
    assert at["colour:green"] == at["kind:ring"] == [0, 0, 0, 0]


def test_every_name_the_synthetic_data_uses_has_a_slot():
    names = set(attribute_names())
    assert {"colour:red", "kind:house", "texture:dotted", "part:roof", "part:handle"} <= names
    assert not any(name.endswith(":") for name in names)  # simple shapes have no "" part


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from miras.checkpoint import build

    model, folder = build("tiny", seed=0), tmp_path_factory.mktemp("pretraining") / "towers"
    settings = TowerSettings(steps=200, batch_size=8, lr=3e-3, warmup_steps=10, size=64, eval_scenes=16, bf16=False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    metrics = pretrain_towers(model, folder, settings)
    return model, before, metrics, settings, folder


def test_pretraining_lowers_the_held_out_loss_and_trains_only_the_towers(trained):
    model, before, metrics, settings, _ = trained
    held_out = CoverageSource(model, settings.seed + 1000, size=settings.size)
    # A probe that predicts nothing has loss log(2) per slot; the trained one must beat the
    # best constant (the mean coverage of each slot) on unseen scenes.
    _, _, target = held_out.batch(0, settings.eval_scenes)
    mean = target.mean((0, 1)).clamp(1e-4, 1 - 1e-4)
    constant = torch.nn.functional.binary_cross_entropy(mean.expand_as(target), target).item()
    assert metrics["bce"] < constant
    assert 0 <= metrics["f1"] <= 1

    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith(TOWER_PREFIXES) for k in changed)
    assert any(k.startswith("vision_tower.") for k in changed) and any(k.startswith("mm_projector.") for k in changed)


def test_a_finished_pretraining_is_loaded_back_instead_of_rerun(trained):
    from miras.checkpoint import build

    model, _, metrics, settings, folder = trained
    fresh = build("tiny", seed=1)
    again = pretrain_towers(fresh, folder, settings)
    assert again == metrics
    ours, theirs = model.state_dict(), fresh.state_dict()
    assert all(torch.equal(theirs[k], v) for k, v in ours.items() if k.startswith(TOWER_PREFIXES))
    assert not torch.equal(theirs["llm.lm_head.weight"], ours["llm.lm_head.weight"])  # only towers load


def test_a_stopped_pretraining_leaves_nothing_that_looks_finished(tmp_path):
    from miras.checkpoint import build

    settings = TowerSettings(steps=5, batch_size=2, size=64, eval_scenes=2, bf16=False)
    pretrain_towers(build("tiny", seed=0), tmp_path / "towers", settings, should_stop=lambda: True)
    assert not (tmp_path / "towers" / "towers.safetensors").exists()


def _towers(model) -> dict[str, torch.Tensor]:
    return {k: v for k, v in model.state_dict().items() if k.startswith(TOWER_PREFIXES)}


def test_a_killed_or_stopped_pretraining_goes_on_from_its_last_save(tmp_path):
    from miras.checkpoint import build

    settings = TowerSettings(steps=7, batch_size=2, size=64, eval_scenes=2, bf16=False, save_every=2)
    whole = build("tiny", seed=0)
    pretrain_towers(whole, tmp_path / "whole", settings)

    def killed_after_step_5(step, *_):
        if step == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pretrain_towers(build("tiny", seed=0), tmp_path / "parts", settings, on_progress=killed_after_step_5)
    steps = []
    stop_after_one = iter([False, True])
    # Other processes: other inits, so the towers and probe can only come from the saved state.
    pretrain_towers(build("tiny", seed=1), tmp_path / "parts", settings, should_stop=lambda: next(stop_after_one),
                    on_progress=lambda step, *_: steps.append(step))
    resumed = build("tiny", seed=2)
    pretrain_towers(resumed, tmp_path / "parts", settings, on_progress=lambda step, *_: steps.append(step))

    assert steps == [5, 6, 7]  # the save at step 4, then the stop's save at step 5
    assert (tmp_path / "parts" / "towers.safetensors").exists() and not (tmp_path / "parts" / "train-state").exists()
    ours, theirs = _towers(resumed), _towers(whole)
    assert all(torch.allclose(ours[k], theirs[k], atol=1e-6) for k in theirs)


def test_towers_of_another_size_are_refused_with_what_to_do(trained):
    from miras.checkpoint import build
    from miras.errors import CheckpointError

    *_, settings, folder = trained
    with pytest.raises(CheckpointError, match="delete its folder"):
        pretrain_towers(build("demo", seed=0), folder, settings)

"""`miras demo-train` end to end at toy sizes: every stage runs, the card is written, a rerun resumes."""

from __future__ import annotations

import json

from miras.evaluate import METRIC_KEYS
from miras.training.demo_recipe import (
    DemoRecipe,
    demo_train,
    with_image_lessons,
    with_pretrained_towers,
    with_towers_from_scratch,
)


def toy_recipe() -> DemoRecipe:
    return DemoRecipe(
        corpus_scenes=20, vocab_size=320, tower_steps=2, tower_batch=2, stage1_steps=2, stage1_batch=2,
        stage0_steps=2, stage0_batch=2, caption_steps=2, refresh_steps=2, history_steps=2, sam_steps=2, sam_request_every=2, lesson_batch=2, stage2_steps=2,
        stage2_batch=2, stage2_images=2, test_images=2, eval_samples=2,
        compile=False,  # compiling each stage would take minutes; tests/test_compiled_training.py covers it
    )


def test_demo_recipe_writes_a_loadable_model_with_its_card(tmp_path):
    import torch
    from safetensors.torch import load_file

    import miras

    out, work = tmp_path / "demo", tmp_path / "work"
    scores = demo_train(out, work, toy_recipe(), log=lambda _: None)

    assert set(scores) == set(METRIC_KEYS)
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(scores))
    card = (out / "README.md").read_text()
    assert "synthetic scenes only" in card and "`stage1_steps` = 2" in card and "`miras demo-train --seed 0" in card
    assert "wrong earlier answers" in card and "--history-steps 2" in card
    model = miras.load(out)
    assert model.chat(__import__("numpy").zeros((40, 60, 3), "uint8")).send("Show me the red ring.").text

    # The stages ran in order, and the pre-trained towers stayed as they were.
    finished = [(work / run / "train-log.jsonl").stat().st_mtime_ns
                for run in ("stage1", "stage0", "lesson-caption", "stage0-refresh", "stage0-history", "sam", "stage2")]
    assert finished == sorted(finished)
    # SAM alone trained SAM's image encoder and left the LLM (its naming) as it was.
    before, after = (load_file(str(work / run / "model.safetensors")) for run in ("stage0-history", "sam"))
    llm = [k for k in before if k.startswith("llm.")]
    assert llm and all(torch.equal(before[k], after[k]) for k in llm)
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("sam.image_encoder."))
    assert (work / "towers" / "towers.safetensors").stat().st_mtime_ns < finished[0]
    pretrained = load_file(str(work / "towers" / "towers.safetensors"))
    assert pretrained and all(torch.equal(model.state_dict()[k], v.half()) for k, v in pretrained.items())

    # Each stage left its finished state: a rerun trains nothing more and gives the same scores.
    logs = {stage: (work / stage / "train-log.jsonl").read_text() for stage in ("stage1", "stage0", "stage2")}
    assert all(len(text.splitlines()) >= 2 for text in logs.values())
    again = demo_train(out, work, toy_recipe(), log=lambda _: None)
    assert {stage: (work / stage / "train-log.jsonl").read_text() for stage in logs} == logs
    assert again["ciou"] == scores["ciou"]


def test_image_lessons_run_first_and_leave_the_towers_at_their_init(tmp_path):
    import torch

    import miras
    from miras.checkpoint import build

    recipe = with_image_lessons(toy_recipe())
    recipe.solid_steps = recipe.named_colour_steps = 2
    demo_train(tmp_path / "demo", tmp_path / "work", recipe, log=lambda _: None)
    assert (tmp_path / "work" / "lesson-named-colour" / "train-log.jsonl").exists()
    assert not (tmp_path / "work" / "towers").exists() and not (tmp_path / "work" / "lesson-caption").exists()
    trained = miras.load(tmp_path / "demo")
    fresh = build(trained.config, trained.tokenizer, seed=recipe.seed).half().state_dict()
    towers = ("vision_tower.", "vision_tower_aux.", "fusion.", "mm_projector.")
    kept = {k: v for k, v in trained.state_dict().items() if k.startswith(towers)}
    assert kept and all(torch.equal(v, fresh[k]) for k, v in kept.items())
    assert not torch.equal(trained.state_dict()["sam.mask_decoder.iou_token.weight"],
                           fresh["sam.mask_decoder.iou_token.weight"])


def test_the_cards_command_rebuilds_its_recipe():
    import argparse
    from dataclasses import replace

    from miras.commands.demo_train import add_arguments, recipe_from
    from miras.training.demo_recipe import recipe_flags, training_stages

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    base = DemoRecipe(seed=3)
    for recipe in (base, with_towers_from_scratch(base), with_pretrained_towers(base), with_image_lessons(base),
                   replace(base, tower_steps=2000, stage1_steps=50, refresh_steps=900, sam_steps=700,
                           sam_request_every=3, stage2_steps=7), replace(base, compile=False)):
        assert recipe_from(parser.parse_args(recipe_flags(recipe).split())) == recipe, recipe_flags(recipe)
    assert recipe_from(parser.parse_args([])) == DemoRecipe()
    assert recipe_from(parser.parse_args(["--pretrain-towers"])).towers_policy == "all"  # trained on

    stages = training_stages(base)
    assert stages.index("patch holds") < stages.index("stage 1") < stages.index("captions") < stages.index("SAM alone") < stages.index("stage 2")
    assert "then kept frozen" in stages
    assert "captions" not in training_stages(with_towers_from_scratch(base))
    assert "SAM alone" not in training_stages(with_towers_from_scratch(base))


def test_a_negative_worker_count_is_refused_before_any_stage_runs():
    import pytest

    from miras.errors import ConfigError

    with pytest.raises(ConfigError, match="--workers must be >= 0"):
        DemoRecipe(workers=-1)

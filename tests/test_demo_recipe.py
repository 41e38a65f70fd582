"""`miras demo-train` end to end at toy sizes: every stage runs, the card is written, a rerun resumes."""

from __future__ import annotations

import json

from miras.evaluate import METRIC_KEYS
from miras.training.demo_recipe import DemoRecipe, demo_train


def toy_recipe() -> DemoRecipe:
    return DemoRecipe(
        corpus_scenes=20, vocab_size=320, stage1_steps=2, stage1_batch=2, stage0_steps=2, stage0_batch=2,
        stage2_steps=2, stage2_batch=2, stage2_images=2, test_images=2, eval_samples=2,
    )


def test_demo_recipe_writes_a_loadable_model_with_its_card(tmp_path):
    import miras

    out, work = tmp_path / "demo", tmp_path / "work"
    scores = demo_train(out, work, toy_recipe(), log=lambda _: None)

    assert set(scores) == set(METRIC_KEYS)
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(scores))
    card = (out / "README.md").read_text()
    assert "synthetic scenes only" in card and "`stage1_steps` = 2" in card
    model = miras.load(out)
    assert model.chat(__import__("numpy").zeros((40, 60, 3), "uint8")).send("Show me the red ring.").text

    # Each stage left its finished state: a rerun trains nothing more and gives the same scores.
    logs = {stage: (work / stage / "train-log.jsonl").read_text() for stage in ("stage1", "stage0", "stage2")}
    assert all(len(text.splitlines()) >= 2 for text in logs.values())
    again = demo_train(out, work, toy_recipe(), log=lambda _: None)
    assert {stage: (work / stage / "train-log.jsonl").read_text() for stage in logs} == logs
    assert again["ciou"] == scores["ciou"]

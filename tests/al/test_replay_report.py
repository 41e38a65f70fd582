"""Replay plays stored dialogues through the chat; report tabulates effort and versions."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from active_learning.cli import main
from active_learning.registry import Registry
from active_learning.replay import replay_store

from .conftest import REQUEST, easy_image
from .test_scoring import _always_seg

DIALOGUE = REQUEST  # "Segment the red square." -> "Sure, [SEG]."


def test_replay_compares_the_chat_masks_with_the_corrections(store, tiny_model):
    _always_seg(tiny_model)
    image, _ = easy_image(0)
    last = tiny_model.chat(image, max_new_tokens=2).send(REQUEST[0]["value"])
    answer = last.masks[0] | last.masks[1]  # "[SEG][SEG]": two masks, united
    assert answer.any() and not answer.all()
    right = store.add_sample(image=image, dialogue=DIALOGUE, focus="red box", correction=answer,
                             status="curated")
    wrong = store.add_sample(image=image, dialogue=DIALOGUE, focus="red box",
                             correction=~answer, status="curated")

    same = replay_store(store, tiny_model, sample_ids=[right], max_new_tokens=2)
    assert (same["n"], same["ciou"]) == (1, 1.0)
    assert replay_store(store, tiny_model, sample_ids=[wrong], max_new_tokens=2)["ciou"] == 0.0
    both = replay_store(store, tiny_model, max_new_tokens=2)
    assert both["n"] == 2 and both["giou"] == pytest.approx(0.5)


def test_replay_command_prints_the_figures(store, tiny_checkpoint, capsys):
    image, mask = easy_image(0)
    store.add_sample(image=image, dialogue=DIALOGUE, focus="red box", correction=mask,
                     status="curated")
    assert main(["replay", "--store", store.where, "--model", str(tiny_checkpoint),
                 "--max-new-tokens", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 1 and result["model_version"] == "tiny"
    # A random model answers without [SEG]: no mask, nothing found.
    assert result["ciou"] == 0.0 and result["recall"] == 0.0


def test_report_prints_effort_and_versions_and_saves_a_plot(store, tmp_path, tiny_checkpoint,
                                                             capsys):
    image = np.zeros((40, 52, 3), np.uint8)
    mask = np.zeros((40, 52), bool)
    mask[8:24, 6:30] = True  # 384 pixels
    proposal = np.zeros_like(mask)
    proposal[8:24, 6:18] = True  # half of them
    for seconds in (10.0, 30.0):
        sid = store.add_sample(image=image, dialogue=DIALOGUE, focus="red box",
                               proposal=proposal, model_version="v0001")
        store.set_correction(sid, mask, seconds=seconds, turns=2)
    store.add_sample(image=image, dialogue=DIALOGUE, focus="red box", correction=mask,
                     status="curated")  # imported truth: no effort to count
    registry = Registry(tmp_path / "reg")
    registry.init(tiny_checkpoint)
    with registry.staging() as folder:
        shutil.copytree(tiny_checkpoint, folder, dirs_exist_ok=True)
        (folder / "metrics.json").write_text(json.dumps({"ciou": 0.61, "parent_ciou": 0.2}))
        (folder / "lineage.json").write_text(json.dumps({"parent": "v0001",
                                                         "samples": ["a", "b", "c"]}))
        registry.promote(registry.add(folder))

    plot = tmp_path / "report.png"
    argv = ["report", "--store", store.where, "--registry", str(registry.root),
            "--plot", str(plot)]
    assert main([*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    effort = result["effort"]["by_model_version"]["v0001"]
    assert effort["n"] == 2 and result["effort"]["all"]["n"] == 2
    assert effort["dice_mean"] == pytest.approx(2 * 192 / (192 + 384))
    assert effort["pixels_changed_total"] == 2 * 192 and effort["seconds_mean"] == 20.0
    assert [(v["version"], v["current"], v["trained_on"]) for v in result["versions"]] == [
        ("v0001", False, 0), ("v0002", True, 3)]
    with Image.open(plot) as png:
        assert png.format == "PNG" and png.size[0] > 300

    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "v0002" in table and "0.6100" in table and "current" in table

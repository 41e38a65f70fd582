"""The `miras` command line: chat in the terminal and evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import BOX_DIALOGUE, box_scene
from PIL import Image

from miras.cli import main
from miras.prist import PristSample, Turn, annotation_for, mask_to_shapes, write_prist


def test_chat_answers_and_saves_masks_beside_the_image(trained_tiny, tmp_path, capsys):
    image, mask = box_scene()
    Image.fromarray(image).save(tmp_path / "scene.png")
    questions = [text for role, text in BOX_DIALOGUE if role == "human"]
    argv = ["chat", "--model", str(trained_tiny), "--image", str(tmp_path / "scene.png")]
    assert main(argv + sum((["-m", q] for q in questions), [])) == 0
    out = capsys.readouterr().out
    assert "miras> A red box on grey." in out
    assert "miras> Sure, it is the red box." in out
    saved = np.asarray(Image.open(tmp_path / "scene.turn2.mask1.png")) > 0
    assert (saved & mask).sum() / (saved | mask).sum() > 0.9
    assert not (tmp_path / "scene.turn1.mask1.png").exists()


def test_chat_reports_a_bad_image_without_a_traceback(trained_tiny, tmp_path, capsys):
    assert main(["chat", "--model", str(trained_tiny), "--image", str(tmp_path / "nope.png"), "-m", "hi"]) == 2
    assert "is not a file" in capsys.readouterr().err


def _box_dataset(root, n_dialogues: int = 2):
    image, mask = box_scene()
    dialogue = tuple(Turn(role, text) for role, text in BOX_DIALOGUE)
    samples = [PristSample("0000000000000001.png", dialogue, "red box")] * n_dialogues
    shapes = mask_to_shapes(mask, "the red box")
    annotation = annotation_for(shapes, *mask.shape)
    write_prist(root, samples, {samples[0].img_id: image}, {samples[0].img_id: annotation})
    return root


def test_eval_prints_every_metric_as_json(trained_tiny, tmp_path, capsys):
    data = _box_dataset(tmp_path / "data")
    assert main(["eval", "--model", str(trained_tiny), "--data", str(data), "--json", "--no-text"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert list(scores) == ["ciou", "giou", "precision", "recall", "f1", "bleu4", "rouge_l",
                            "meteor", "dist1", "dist2", "n"]
    assert scores["n"] == 2
    assert scores["ciou"] > 0.9 and scores["giou"] > 0.9 and scores["f1"] > 0.9


@pytest.mark.slow
def test_eval_scores_the_reasoning_replies_with_the_caption_metrics(trained_tiny, tmp_path, capsys):
    data = _box_dataset(tmp_path / "data", n_dialogues=1)
    assert main(["eval", "--model", str(trained_tiny), "--data", str(data), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    # The model learned the one reasoning answer word for word.
    assert scores["bleu4"] > 0.9 and scores["rouge_l"] > 0.9 and scores["meteor"] > 0.9

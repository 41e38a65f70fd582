"""Scoring: figures from a model's replies, stored once per model version beside the store."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from torch import nn

from active_learning.scores import ScoreBook
from active_learning.scoring import (
    PARAPHRASES,
    Scorer,
    ScoreSettings,
    mean_entropy_bits,
    request_turns,
    score_store,
)

from .conftest import add_easy


@dataclass
class FakeReply:
    masks: list = field(default_factory=list)
    scores: list = field(default_factory=list)
    probabilities: list = field(default_factory=list)


class FakeChat:
    """Answers the last PARAPHRASES wording with a mask elsewhere; the rest with a box."""

    image_size = (10, 10)

    def __init__(self, log):
        self.log = log

    def reset(self):
        self.log.append("reset")

    def image_features(self):
        return np.ones(4, np.float32)

    def send(self, text):
        self.log.append(text)
        if "?" in text:  # reasoning turns carry no mask
            return FakeReply()
        mask = np.zeros((10, 10), bool)
        if text == PARAPHRASES[1]:
            mask[6:9, 6:9] = True
        else:
            mask[1:4, 1:4] = True
        return FakeReply([mask], [0.8], [np.full((10, 10), 0.5, np.float32)])


def test_a_probe_replays_the_request_and_its_rewordings():
    log: list = []
    dialogue = [{"from": "human", "value": "What is red?"}, {"from": "gpt", "value": "A box."},
                {"from": "human", "value": "Segment it."}, {"from": "gpt", "value": "[SEG]"},
                {"from": "human", "value": "Thanks?"}, {"from": "gpt", "value": "Welcome."}]
    probe = Scorer(None, "v7", ScoreSettings(paraphrases=2)).probe(
        FakeChat(log), dialogue, np.ones(4, np.float32))
    # The turn after the [SEG] answer is not part of the request; each wording starts over.
    assert log == ["reset", "What is red?", "Segment it.",
                   "reset", "What is red?", PARAPHRASES[0],
                   "reset", "What is red?", PARAPHRASES[1]]
    s = probe.scores
    assert (s.model_version, s.has_mask, s.predicted_iou) == ("v7", True, pytest.approx(0.8))
    assert s.entropy == pytest.approx(1.0)  # p = 0.5 everywhere: a coin toss
    assert s.disagreement == pytest.approx(1 - 1 / 3)  # IoUs 1, 0, 0 between the three masks
    assert probe.mask.sum() == 9


def test_request_turns_without_a_seg_answer_are_all_human_turns():
    dialogue = [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"},
                {"from": "human", "value": "c"}]
    assert request_turns(dialogue) == ["a", "c"]


def test_entropy_is_zero_for_sure_masks():
    assert mean_entropy_bits([np.array([[0.0, 1.0]])]) == pytest.approx(0.0, abs=1e-5)


def _always_seg(model) -> None:
    """Make the LM head answer [SEG] whatever it sees: every reply then carries masks."""
    head = nn.Linear(model.config.llm_hidden, len(model.tokenizer), bias=True)
    nn.init.zeros_(head.weight)
    with torch.no_grad():
        head.bias.zero_()
        head.bias[model.token_ids.seg] = 1.0
    model.llm.lm_head = head


def test_a_tiny_model_scores_a_store_once_per_version(store, tiny_model):
    _always_seg(tiny_model)
    proposed = add_easy(store, [1, 2], status="proposed")
    curated = add_easy(store, [3])
    settings = ScoreSettings(paraphrases=1, max_new_tokens=2)

    summary = score_store(store, tiny_model, "v0001", settings=settings)
    assert (summary["scored"], summary["features"], summary["up_to_date"]) == (2, 1, 0)
    book = ScoreBook.of(store)
    for sid in proposed:
        s = book.get(sid)
        assert s.kind == "full" and s.has_mask and s.model_version == "v0001"
        assert 0 <= s.predicted_iou <= 1 and 0 < s.entropy <= 1 and 0 <= s.disagreement <= 1
        assert s.features.shape == (tiny_model.config.llm_hidden,)
    assert book.get(curated[0]).kind == "features"
    # Each document is one whole JSON object naming its version.
    doc = json.loads((store_path(store) / "active-learning/scores" / f"{proposed[0]}.json")
                     .read_text())
    assert doc["model_version"] == "v0001"

    assert score_store(store, tiny_model, "v0001", settings=settings)["up_to_date"] == 3
    assert score_store(store, tiny_model, "v0002", settings=settings)["scored"] == 2


def store_path(store):
    from pathlib import Path

    return Path(store.where)

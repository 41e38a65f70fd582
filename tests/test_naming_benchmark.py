"""`benchmarks/naming.py`: does the model write the requested name (teacher-forced)?"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

_PATH = Path(__file__).parents[1] / "benchmarks" / "naming.py"
_spec = importlib.util.spec_from_file_location("naming", _PATH)
naming = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(naming)

OBJ, SEG = 100, 101


def test_only_the_whole_name_and_its_seg_count():
    ids = torch.tensor([5, OBJ, 7, 8, SEG, 9])
    right = torch.tensor([0, 7, 8, SEG, 9, 0])  # predicted[t] follows ids[: t + 1]
    assert naming.names_exactly(right, ids, OBJ, SEG)
    one_word_off = right.clone()
    one_word_off[2] = 3
    assert not naming.names_exactly(one_word_off, ids, OBJ, SEG)
    no_seg = right.clone()
    no_seg[3] = 9
    assert not naming.names_exactly(no_seg, ids, OBJ, SEG)


def test_the_last_obj_span_is_the_one_judged():
    ids = torch.tensor([OBJ, 4, SEG, 2, OBJ, 7, SEG])
    predicted = torch.tensor([0, 0, 0, 0, 7, SEG, 0])  # the first span wrong, the last right
    assert naming.names_exactly(predicted, ids, OBJ, SEG)


def test_a_model_is_judged_at_the_positions_it_saw(tiny_model, monkeypatch):
    """With the image tokens spliced in, the logits judged must be those after each name token:
    an LM head that predicts the true next token names the target, one that is off by one does not."""
    from miras.training.data import SynthSource

    item = SynthSource(3, stage=0, size=64, obj_answer_share=1.0).item(0)
    model = tiny_model.eval()
    seen = {}
    splice = model.splice

    def recording_splice(*args, **kwargs):
        spliced = splice(*args, **kwargs)
        seen["ids"] = spliced.ids[0]
        return spliced

    def head_predicting(shift):
        def head(hidden):
            ids = seen["ids"].clamp(min=0)
            wanted = torch.roll(ids, -shift)
            return torch.nn.functional.one_hot(wanted, int(ids.max()) + 1).float()

        return lambda: head

    monkeypatch.setattr(model, "splice", recording_splice)
    monkeypatch.setattr(model.llm, "get_output_embeddings", head_predicting(1))
    assert naming.named(model, item, item.image)
    monkeypatch.setattr(model.llm, "get_output_embeddings", head_predicting(2))
    assert not naming.named(model, item, item.image)


def test_a_reply_names_the_target_only_as_a_whole():
    assert naming.names_target("Sure, it is the red house.", "the red house")
    assert naming.names_target("It is The Red House", "the red house")
    assert not naming.names_target("Sure, it is the red house door.", "the red house")  # a part of it
    assert not naming.names_target("Sure, it is the blue house.", "the red house")


def test_turn_by_turn_counts_the_replies_that_name_the_target_and_their_mask_iou():
    from types import SimpleNamespace

    from miras.training.data import SynthSource

    source = SynthSource(3, stage=0, size=64, obj_answer_share=1.0)
    items = [source.item(0), source.item(1)]
    sent = []

    class Chat:
        def __init__(self, item):
            self.item = item
            self.image_size = item.image.shape[:2]

        def send(self, text):
            sent.append(text)
            target = self.item.masks[-1] > 0
            if self.item is items[0]:  # names its target and masks it exactly
                phrase = naming.OBJ_PHRASE.search(self.item.turns[-1][1]).group(1)
                return SimpleNamespace(text=f"It is {phrase}.", masks=[target])
            return SimpleNamespace(text="It is the nothing.", masks=[~target])

    model = SimpleNamespace(chat=lambda image: Chat(next(i for i in items if i.image is image)))
    figures = naming.turn_by_turn(model, items)
    assert figures["turn_by_turn_named"] == 1 and figures["turn_by_turn_total"] == 2
    assert figures["turn_by_turn_iou_named"] == 1.0 and figures["turn_by_turn_iou_not_named"] == 0.0
    assert sent == [text for item in items for role, text in item.turns if role == "human"]

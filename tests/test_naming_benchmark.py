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

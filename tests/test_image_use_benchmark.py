"""`benchmarks/image_use.py`: does the LLM's text depend on the image it is shown?"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

_PATH = Path(__file__).parents[1] / "benchmarks" / "image_use.py"
_spec = importlib.util.spec_from_file_location("image_use", _PATH)
image_use = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(image_use)
_spec = importlib.util.spec_from_file_location("heldout", _PATH.parent / "heldout.py")
heldout = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(heldout)


@pytest.fixture
def items():
    from miras.training.data import SynthSource

    source = SynthSource(3, stage=0, size=64, obj_answer_share=1.0)
    return [source.item(i) for i in range(3)]


def test_the_answer_loss_is_the_training_text_loss(tiny_model, items):
    from miras.batch import collate, make_example

    model = tiny_model.eval()
    item = items[0]
    with torch.no_grad():
        trained = model(collate([make_example(model, item.image, item.turns, item.masks)])).ce
    assert image_use.answer_loss(model, item, item.image) == pytest.approx(float(trained), rel=1e-5)


def test_another_image_changes_the_loss_only_when_the_image_reaches_the_llm(tiny_model, items):
    model = tiny_model.eval()
    own, other = items[0].image, items[1].image
    assert image_use.answer_loss(model, items[0], own) != image_use.answer_loss(model, items[0], other)
    with torch.no_grad():  # the projector now feeds the LLM one constant, whatever the image
        model.mm_projector[-1].weight.zero_()
    assert image_use.answer_loss(model, items[0], own) == image_use.answer_loss(model, items[0], other)


def test_a_constant_added_to_the_visual_tokens_shows_as_a_small_spread(tiny_model, items):
    model = tiny_model.eval()
    before = image_use.visual_token_figures(model, items)
    with torch.no_grad():
        model.mm_projector[-1].bias.add_(1000.0)
    after = image_use.visual_token_figures(model, items)
    assert before["visual_spread"] > 0.05
    assert after["visual_spread"] < before["visual_spread"] / 10
    assert after["visual_norm"] > 10 * before["visual_norm"]


def test_the_lessons_can_be_measured_instead_of_dialogues(tiny_model, tmp_path):
    from miras.checkpoint import save_pretrained

    save_pretrained(tiny_model, tmp_path / "model")
    args = heldout.parse("", ["--model", str(tmp_path / "model"), "--dialogues", "3", "--items", "solid"])
    _, solid = heldout.model_and_dialogues(args)
    assert len(solid) == 3 and all(item.turns[0][1] == "What colour is the picture?" for item in solid)
    args.items = "named-colour"
    _, named = heldout.model_and_dialogues(args)
    assert all(item.turns[0][1].startswith("Please segment the ") for item in named)


def test_the_own_image_mask_figure_is_the_training_loops_teacher_forced_ciou(tiny_model, items):
    from miras.training.loop import evaluate_masks

    model = tiny_model.eval()
    figures = image_use.seg_figures(model, items)
    assert figures["seg_ciou_own_image"] == pytest.approx(evaluate_masks(model, items)["ciou"], rel=1e-6)


def test_another_image_reaches_only_the_llm_never_sam(tiny_model, items):
    model = tiny_model.eval()
    with torch.no_grad():  # the LLM now sees one constant, whatever the image
        model.mm_projector[-1].weight.zero_()
    own, _ = image_use.seg_masks(model, items[0], items[0].image)
    other, _ = image_use.seg_masks(model, items[0], items[1].image)
    assert torch.equal(own, other)  # SAM segmented the item's own image both times
    from dataclasses import replace

    swapped = replace(items[0], image=items[1].image)  # what SAM sees does change the masks
    assert not torch.equal(image_use.seg_masks(model, swapped, swapped.image)[0], own)

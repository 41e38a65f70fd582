"""`benchmarks/al_diagnosis.py`: the per-item figures that explain a strategy result."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from .conftest import easy_prist

_PATH = Path(__file__).parents[2] / "benchmarks" / "al_diagnosis.py"
_spec = importlib.util.spec_from_file_location("al_diagnosis", _PATH)
al_diagnosis = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(al_diagnosis)


def test_iou_of_masks_and_of_two_empty_ones():
    a = np.zeros((4, 4), bool)
    b = a.copy()
    a[:2], b[1:3] = True, True
    assert al_diagnosis.iou(a, b) == pytest.approx(4 / 12)
    assert al_diagnosis.iou(np.zeros((2, 2), bool), np.zeros((2, 2), bool)) == 1.0


def test_pool_figures_give_the_teacher_forced_iou_of_each_item(tiny_model, tmp_path):
    from miras.prist import load_annotation, load_image, read_prist
    from miras.training.data import item_from
    from miras.training.feature_cache import compute_item

    data = easy_prist(tmp_path / "easy", [0, 1])
    pool = list(enumerate(read_prist(data)))
    rows = al_diagnosis.pool_figures(tiny_model, data, pool, max_new_tokens=4)

    assert len(rows) == 2
    for (_, sample), row in zip(pool, rows):
        assert set(row) == {"uncertainty", "predicted_iou", "probe_iou", "teacher_forced_iou"}
        assert 0 <= row["probe_iou"] <= 1 and 0 <= row["uncertainty"] <= 1
        image = load_image(data, sample.img_id)
        item = item_from(sample, image, load_annotation(data, sample.img_id), 2, "x")
        truth = item.masks[0]
        cached = compute_item(tiny_model, image, item.turns, [truth])
        with torch.no_grad():
            prompts = tiny_model.seg_prompts(cached.hidden, cached.ids)
            mask, _ = tiny_model.predict_masks(cached.sam_embedding[None], prompts, cached.input_size, truth.shape)
        assert row["teacher_forced_iou"] == pytest.approx(al_diagnosis.iou(mask[0].numpy(), truth))

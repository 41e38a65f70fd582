"""Mask and text metrics against values worked out by hand."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

import miras.metrics
from miras.errors import MirasError
from miras.metrics import MaskMeter, distinct_n, mask_metrics, text_metrics

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="needs a Java runtime")


def b(rows: list[list[int]]) -> np.ndarray:
    return np.array(rows, dtype=bool)


# pred vs gt, pixel by pixel
# sample 1: TP at (0,0),(1,1); FP at (0,1); FN at (1,0)  -> I=2, U=4
# sample 2: TP at (0,1),(0,2); FP at (0,0)               -> I=2, U=3
# sample 3: both empty                                   -> I=0, U=0, IoU counted as 1
PREDS = [b([[1, 1, 0], [0, 1, 0]]), b([[1, 1, 1]]), b([[0, 0], [0, 0]])]
GTS = [b([[1, 0, 0], [1, 1, 0]]), b([[0, 1, 1]]), b([[0, 0], [0, 0]])]


def test_mask_metrics_by_hand() -> None:
    m = mask_metrics(PREDS, GTS)
    tp, fp, fn = 2 + 2 + 0, 1 + 1 + 0, 1 + 0 + 0
    assert m["n"] == 3
    assert m["ciou"] == pytest.approx((2 + 2 + 0) / (4 + 3 + 0))  # 4/7, not the mean IoU
    assert m["giou"] == pytest.approx((2 / 4 + 2 / 3 + 1.0) / 3)
    assert m["precision"] == pytest.approx(tp / (tp + fp))  # 4/6
    assert m["recall"] == pytest.approx(tp / (tp + fn))  # 4/5
    assert m["f1"] == pytest.approx(2 * (4 / 6) * (4 / 5) / (4 / 6 + 4 / 5))  # 8/11


def test_meter_streams_the_same_numbers_and_returns_each_iou() -> None:
    meter = MaskMeter()
    ious = [meter.update(p, g) for p, g in zip(PREDS, GTS)]
    assert ious == pytest.approx([2 / 4, 2 / 3, 1.0])
    assert meter.compute() == mask_metrics(iter(PREDS), (g for g in GTS))


def test_empty_unions_count_as_perfect() -> None:
    empty = np.zeros((3, 3), bool)
    assert mask_metrics([empty, empty], [empty, empty]) == {
        "ciou": 1.0, "giou": 1.0, "precision": 1.0, "recall": 1.0, "f1": 1.0, "n": 2}


def test_missing_prediction_scores_zero() -> None:
    gt = b([[0, 1], [1, 1]])
    m = mask_metrics([np.zeros((2, 2), bool)], [gt])  # TP=0, FP=0, FN=3
    assert (m["ciou"], m["giou"], m["precision"], m["recall"], m["f1"]) == (0, 0, 0, 0, 0)


def test_empty_set_gives_nan() -> None:
    m = mask_metrics([], [])
    assert m["n"] == 0 and math.isnan(m["ciou"]) and math.isnan(m["f1"])


def test_mask_input_errors_name_the_problem() -> None:
    with pytest.raises(MirasError, match=r"sample 1: prediction shape \(2, 3\) differs from "
                                         r"ground-truth shape \(3, 2\)"):
        mask_metrics([PREDS[0], np.zeros((2, 3), bool)], [GTS[0], np.zeros((3, 2), bool)])
    with pytest.raises(MirasError, match="more predictions than the other after 3 pairs"):
        mask_metrics([*PREDS, PREDS[0]], GTS)
    with pytest.raises(MirasError, match="more ground truths"):
        mask_metrics(PREDS[:1], GTS)
    with pytest.raises(MirasError, match="dtype float32; pass a bool mask"):
        mask_metrics([np.zeros((2, 2), np.float32)], [np.zeros((2, 2), bool)])


# --- text -----------------------------------------------------------------------------------


def test_bleu4_of_identical_sentences_is_one() -> None:
    hyps = ["the cat sat on the mat", "a dog runs in the park today"]
    m = text_metrics(hyps, hyps, with_java=False)
    assert m["bleu4"] == pytest.approx(1.0, abs=1e-6)
    assert m["rouge_l"] == pytest.approx(1.0)
    assert math.isnan(m["meteor"]) and m["n"] == 2


def test_rouge_l_by_hand() -> None:
    # LCS("the quick fox jumps", "the brown fox runs fast") = "the fox" = 2 tokens
    p, r, beta2 = 2 / 4, 2 / 5, 1.2**2  # the toolkit's F-measure weighs recall with beta 1.2
    f_first = (1 + beta2) * p * r / (r + beta2 * p)  # 0.4357...
    m = text_metrics(["The quick fox jumps", "same words here"],
                     ["the brown fox runs fast", "same words here"], with_java=False)
    assert m["rouge_l"] == pytest.approx((f_first + 1.0) / 2)  # mean over sentences


def test_rouge_l_takes_the_best_of_several_references() -> None:
    one = text_metrics(["the quick fox jumps"], ["the brown fox runs fast"], with_java=False)
    two = text_metrics(["the quick fox jumps"], [["the brown fox runs fast", "the quick fox"]],
                       with_java=False)
    # second reference: LCS 3, P = 3/4, R = 3/3
    p, r, beta2 = 3 / 4, 1.0, 1.44
    assert two["rouge_l"] == pytest.approx((1 + beta2) * p * r / (r + beta2 * p))
    assert two["rouge_l"] > one["rouge_l"]


def test_distinct_n_by_hand() -> None:
    hyps = ["A cat sat", "a cat ran"]
    # unigrams a cat sat a cat ran: 4 distinct of 6; bigrams (a cat) (cat sat) (a cat) (cat ran)
    assert distinct_n(hyps, 1) == pytest.approx(4 / 6)
    assert distinct_n(hyps, 2) == pytest.approx(3 / 4)
    m = text_metrics(hyps, ["x", "y"], with_java=False)
    assert (m["dist1"], m["dist2"]) == (pytest.approx(4 / 6), pytest.approx(3 / 4))
    assert distinct_n(["one", "two"], 2) == 0.0  # no bigram at all
    assert distinct_n(["", "   "], 1) == 0.0


def test_text_input_errors() -> None:
    with pytest.raises(MirasError, match="2 hypotheses but 1 references"):
        text_metrics(["a", "b"], ["a"], with_java=False)
    with pytest.raises(MirasError, match="no hypotheses"):
        text_metrics([], [], with_java=False)
    with pytest.raises(MirasError, match="not a single string"):
        text_metrics("a reply", "a reference", with_java=False)
    with pytest.raises(MirasError, match="reference 0 must be a string or a non-empty list"):
        text_metrics(["a"], [[]], with_java=False)


def test_without_java(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(miras.metrics.shutil, "which", lambda name: None)
    with pytest.raises(MirasError, match="apt-get install default-jre-headless"):
        text_metrics(["a b c d"], ["a b c d"], with_java=True)
    with pytest.warns(UserWarning, match="no Java runtime"):
        m = text_metrics(["a b c d"], ["a b c d"])
    assert math.isnan(m["meteor"]) and m["bleu4"] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.slow
@needs_java
def test_with_java_identical_sentences_score_one() -> None:
    hyps = ["The cat sat on the mat.", "A dog\nruns in the park, today!"]
    refs = ["the cat sat on the mat", ["a dog runs in the park today", "something else"]]
    m = text_metrics(hyps, refs, with_java=True)
    # the PTB tokenizer lower-cases and drops punctuation; the newline does not split a sentence
    assert m["bleu4"] == pytest.approx(1.0, abs=1e-6)
    assert m["rouge_l"] == pytest.approx(1.0)
    assert m["meteor"] == pytest.approx(1.0, abs=0.01)
    plain = text_metrics(hyps, refs, with_java=False)  # punctuation kept: not identical
    assert plain["bleu4"] < 0.9


@pytest.mark.slow
@needs_java
def test_with_java_different_sentences_score_lower() -> None:
    m = text_metrics(["a man rides a red bicycle down the street"],
                     ["a woman walks a brown dog in the park"], with_java=True)
    assert 0.0 < m["meteor"] < 0.5 and m["bleu4"] < 0.1

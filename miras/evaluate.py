"""Evaluate a model on a PRIST-layout data set the way the task is played: turn by turn.

Each dialogue's human turns are sent in order, the model's own answers kept as history (as the
authors' eval_multiturn does). The masks of the last turn, united, are the prediction; a last turn
without [SEG] predicts nothing and counts as such (the authors skipped those dialogues).
Reasoning replies are scored against the reference answers with the COCO caption metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import groupby
from pathlib import Path

import numpy as np

from miras.metrics import MaskMeter, distinct_n, text_metrics
from miras.prist import PristSample, focus_mask, load_annotation, load_image, read_prist

METRIC_KEYS = ("ciou", "giou", "precision", "recall", "f1", "bleu4", "rouge_l", "meteor", "dist1", "dist2", "n")


def play_dialogue(chat, sample: PristSample) -> tuple[np.ndarray, list[str]]:
    """Send the sample's human turns; the union of the last reply's masks and every reply."""
    return play_turns(chat, [turn.text for turn in sample.dialogue if turn.role == "human"])


def play_turns(chat, texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """Send `texts` in order; the union of the last reply's masks and every reply."""
    replies = [chat.send(text) for text in texts]
    height, width = chat.image_size
    prediction = np.zeros((height, width), bool)
    for mask in replies[-1].masks:
        prediction |= mask
    return prediction, [reply.text for reply in replies]


def evaluate(
    model,
    data: str | Path,
    *,
    limit: int | None = None,
    text: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, float]:
    """Every metric of architecture.md over (the first `limit` dialogues of) a data set."""
    samples = read_prist(data)[:limit]
    meter = MaskMeter()
    hyps: list[str] = []
    refs: list[str] = []
    done = 0
    # Dialogues of one image are stored together: encode each image once, reset between dialogues.
    for img_id, group in groupby(samples, key=lambda s: s.img_id):
        chat = model.chat(load_image(data, img_id))
        annotation = load_annotation(data, img_id)
        for sample in group:
            chat.reset()
            prediction, replies = play_dialogue(chat, sample)
            meter.update(prediction, focus_mask(annotation, sample.focus))
            answers = [turn.text for turn in sample.dialogue if turn.role == "gpt"]
            # The last exchange is the segmentation request; its text is a template.
            hyps += replies[:-1]
            refs += answers[: len(replies) - 1]
            done += 1
            if on_progress is not None:
                on_progress(done, len(samples))
    scores = meter.compute()
    scores |= text_metrics(hyps, refs) if text and hyps else _no_text(hyps)
    scores["n"] = done
    return {key: scores[key] for key in METRIC_KEYS}


def _no_text(hyps: list[str]) -> dict[str, float]:
    nan = float("nan")
    scores = {"bleu4": nan, "rouge_l": nan, "meteor": nan, "dist1": nan, "dist2": nan}
    if hyps:  # Dist-1/2 only count the replies' n-grams: no caption toolkit, no Java
        scores |= {"dist1": distinct_n(hyps, 1), "dist2": distinct_n(hyps, 2)}
    return scores

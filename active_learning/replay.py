"""Replay: play stored dialogues against a model and compare its masks with the corrections.

Each dialogue's human turns are sent in order up to the segmentation request, the model's own
answers kept as history (as an annotator would meet it, and as miras.evaluate does); the union of
the last reply's masks is compared with the sample's correction. This is the regression check of a
retrain: it uses the chat path the plugin uses, not the teacher-forced one of training.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from active_learning.scoring import request_turns

Progress = Callable[[int, int], None]


def replay_records(model, records, *, limit: int | None = None,
                   max_new_tokens: int | None = None,
                   on_progress: Progress | None = None) -> dict[str, Any]:
    """cIoU, gIoU, precision, recall, F1 and n over the records (with corrections).

    max_new_tokens caps each reply (None: the model's own limit).
    """
    from miras.metrics import MaskMeter

    records = [r for r in records if r.has_correction and request_turns(r.dialogue)][:limit]
    meter = MaskMeter()
    done = 0
    # One chat per image: its features are computed once for all of its dialogues.
    for _, group in itertools.groupby(sorted(records, key=lambda r: r.image_id),
                                      key=lambda r: r.image_id):
        group = list(group)
        chat = model.chat(group[0].image, max_new_tokens=max_new_tokens)
        for record in group:
            meter.update(_play(chat, record.dialogue), record.correction > 0)
            done += 1
            if on_progress is not None:
                on_progress(done, len(records))
    return meter.compute()


def _play(chat, dialogue) -> np.ndarray:
    chat.reset()
    reply = None
    for text in request_turns(dialogue):
        reply = chat.send(text)
    prediction = np.zeros(chat.image_size, bool)
    for mask in reply.masks:
        prediction |= mask
    return prediction


def replay_store(store, model, *, statuses=("curated",), sample_ids=None,
                 limit: int | None = None, max_new_tokens: int | None = None,
                 on_progress: Progress | None = None) -> dict[str, Any]:
    records = list(store.samples(status=list(statuses)))
    if sample_ids is not None:
        wanted = set(sample_ids)
        records = [r for r in records if r.sample_id in wanted]
    return replay_records(model, records, limit=limit, max_new_tokens=max_new_tokens,
                          on_progress=on_progress)

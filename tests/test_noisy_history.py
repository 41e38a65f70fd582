"""Dialogues with wrong earlier answers: what is garbled, and that training batches do not learn it."""

from __future__ import annotations

import numpy as np
import pytest

from miras.conversation import IGNORE_INDEX, encode_dialogue
from miras.synth.domain import BASE_COLOURS
from miras.training.data import SynthSource
from miras.training.noisy_history import NoisyHistory, answer_garbler

DIALOGUE = [("human", "What is there?"), ("gpt", "A red ring and a blue star."),
            ("human", "Which is red?"), ("gpt", "The ring."),
            ("human", "Segment it."), ("gpt", "Sure, [OBJ]the red ring[SEG].")]


def _supervised_text(model, turns, unsupervised=()):
    encoded = encode_dialogue(model.tokenizer, model.token_ids, turns, system="sys", unsupervised=unsupervised)
    return model.tokenizer.decode([t for t, label in zip(encoded.input_ids, encoded.labels) if label != IGNORE_INDEX])


def test_an_unsupervised_reply_is_context_but_not_a_target(tiny_model):
    everything = _supervised_text(tiny_model, DIALOGUE)
    without_first = _supervised_text(tiny_model, DIALOGUE, unsupervised={1})
    assert "blue star" in everything and "blue star" not in without_first
    assert "The ring." in without_first and "[SEG]" in without_first
    full = encode_dialogue(tiny_model.tokenizer, tiny_model.token_ids, DIALOGUE, system="sys")
    masked = encode_dialogue(tiny_model.tokenizer, tiny_model.token_ids, DIALOGUE, system="sys", unsupervised={1})
    assert masked.input_ids == full.input_ids  # the model still reads the reply


def test_garbling_swaps_colour_and_kind_words_for_words_of_the_same_sort():
    garble = answer_garbler("base")
    rng = np.random.default_rng(0)
    outs = [garble("The red ring is left of the blue stars.", rng) for _ in range(50)]
    assert any(out != "The red ring is left of the blue stars." for out in outs)
    for out in outs:
        words = out.rstrip(".").split()
        assert words[0] == "The" and words[3:7] == ["is", "left", "of", "the"]
        assert words[1] in BASE_COLOURS and words[7] in BASE_COLOURS
    assert garble("It is medium-sized.", rng) == "It is medium-sized."


def test_noisy_dialogues_keep_their_last_two_answers_and_mark_the_garbled_ones():
    plain = SynthSource(3, stage=0, size=64, obj_answer_share=1.0)
    noisy = NoisyHistory(plain, 1.0)
    garbled_any = False
    for i in range(12):
        before, after = plain.item(i), noisy.item(i)
        assert after.turns[-4:] == before.turns[-4:] and np.array_equal(after.masks[0], before.masks[0])
        changed = {k for k, (a, b) in enumerate(zip(before.turns, after.turns)) if a != b}
        assert changed == set(after.unsupervised)
        assert all(after.turns[k][0] == "gpt" for k in changed)
        garbled_any |= bool(changed)
        assert noisy.item(i).turns == after.turns  # item i is always the same
    assert garbled_any
    untouched = NoisyHistory(plain, 0.0)
    assert all(untouched.item(i).turns == plain.item(i).turns and not untouched.item(i).unsupervised
               for i in range(6))
    assert noisy.signature() != untouched.signature() != plain.signature()
    with pytest.raises(ValueError, match="share"):
        NoisyHistory(plain, 1.5)


def test_training_batches_leave_the_garbled_replies_out_of_the_labels(tiny_model):
    from miras.training.batches import make_batch

    source = NoisyHistory(SynthSource(3, stage=0, size=64, obj_answer_share=1.0), 1.0)
    item = next(it for it in map(source.item, range(20)) if it.unsupervised)
    labels = [t for t in make_batch(tiny_model, [item]).labels[0] if t != IGNORE_INDEX]
    replies = [(k, text) for k, (role, text) in enumerate(item.turns) if role == "gpt"]
    assert labels.count(tiny_model.token_ids.eos) == len(replies) - len(item.unsupervised)
    learnt = tiny_model.tokenizer.decode(labels)
    for k, text in replies:
        assert (text in learnt) == (k not in item.unsupervised)

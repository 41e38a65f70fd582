"""The chat interface of architecture.md on the tiny preset."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import overfit
from torch import nn

from miras.batch import collate, make_example
from miras.chat import Cancelled, class_phrases, strip_markers
from miras.config import TokenNames


def _count_calls(module: nn.Module) -> list[int]:
    calls = [0]
    module.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


def _always_seg(model) -> None:
    """Make the LM head answer [SEG] whatever it sees: every reply then carries masks."""
    hidden, vocab = model.config.llm_hidden, len(model.tokenizer)
    head = nn.Linear(hidden, vocab, bias=True)
    nn.init.zeros_(head.weight)
    with torch.no_grad():
        head.bias.zero_()
        head.bias[model.token_ids.seg] = 1.0
    model.llm.lm_head = head


def _greedy_without_cache(model, image, token_ids: list[int], n: int) -> list[int]:
    """Reference decoder: re-run the whole sequence for every new token."""
    views = model.chat(image).views
    features = model.encode_images(views.clip[None], views.aux[None], views.sam[None])
    out: list[int] = []
    for _ in range(n):
        spliced = model.splice([token_ids + out], features.visual_tokens)
        hidden = model.hidden_states(spliced.embeds, spliced.attention_mask)
        token = int(model.llm.get_output_embeddings()(hidden[0, -1]).argmax())
        if token == model.token_ids.eos:
            break
        out.append(token)
    return out


def test_three_turns_keep_history_and_encode_the_image_once(tiny_model, rgb_image):
    counts = {
        name: _count_calls(module)
        for name, module in {
            "clip": tiny_model.vision_tower,
            "convnext": tiny_model.vision_tower_aux,
            "sam": tiny_model.sam.image_encoder,
        }.items()
    }
    chat = tiny_model.chat(rgb_image)
    questions = ["What is on the table?", "Which one is red?", "Segment the part you hold."]
    replies = [chat.send(q) for q in questions]
    assert [role for role, _ in chat.history] == ["human", "gpt"] * 3
    assert [text for role, text in chat.history if role == "human"] == questions
    assert [text for role, text in chat.history if role == "gpt"] == [r.raw for r in replies]
    assert {name: c[0] for name, c in counts.items()} == {"clip": 1, "convnext": 1, "sam": 1}

    chat.reset()
    assert chat.history == []
    chat.send("And now?")
    assert {name: c[0] for name, c in counts.items()} == {"clip": 1, "convnext": 1, "sam": 1}


def test_cached_turns_equal_decoding_from_scratch(tiny_model, rgb_image):
    from miras.conversation import user_ids

    tiny_model.eval()
    chat = tiny_model.chat(rgb_image, max_new_tokens=12)
    chat.send("What is on the table?")
    first_turn = chat.token_ids
    chat.send("Which one is red?")
    question = user_ids(tiny_model.tokenizer, tiny_model.token_ids, "Which one is red?", first=False, system="")
    prompt = first_turn + [tiny_model.token_ids.eos] + question
    assert chat.token_ids[: len(prompt)] == prompt
    with torch.no_grad():
        assert _greedy_without_cache(tiny_model, rgb_image, prompt, 12) == chat.token_ids[len(prompt) :]


@pytest.mark.parametrize(
    "image",
    [
        np.full((30, 41), 7, np.uint8),
        np.random.default_rng(1).integers(0, 256, (30, 41, 4), dtype=np.uint8),
        np.random.default_rng(2).integers(0, 4096, (30, 41), dtype=np.uint16),
        np.random.default_rng(3).random((30, 41, 3), dtype=np.float32),
        np.random.default_rng(4).normal(100, 50, (30, 41)),
        np.random.default_rng(5).random((30, 41, 1)) > 0.5,
    ],
    ids=["gray-uint8", "rgba", "uint16", "float01", "float-wide", "bool-1ch"],
)
def test_masks_come_back_at_the_input_size(tiny_model, image):
    _always_seg(tiny_model)
    reply = tiny_model.chat(image, max_new_tokens=2).send("Segment the cell.")
    assert reply.raw == "[SEG][SEG]"
    assert len(reply.masks) == len(reply.labels) == len(reply.scores) == 2
    for mask in reply.masks:
        assert mask.shape == (30, 41) and mask.dtype == bool
    assert all(0.0 <= s <= 1.0 for s in reply.scores)


@pytest.mark.parametrize("shape", [(2, 600), (600, 2)], ids=["wide-strip", "tall-strip"])
def test_long_strips_give_masks_at_their_size(tiny_model, shape):
    # the SAM view's short side would round to 0 pixels
    _always_seg(tiny_model)
    reply = tiny_model.chat(np.zeros(shape, np.uint8), max_new_tokens=1).send("Segment the cell.")
    assert [mask.shape for mask in reply.masks] == [shape]


def test_a_long_strip_is_not_upscaled_whole(monkeypatch):
    """A 2 x 8000 strip once grew to 128 x 512000 before its centre crop (gigabytes)."""
    from miras.preprocess import aux_and_clip_views

    largest = [0]

    def interpolate(x, *args, **kwargs):
        out = interpolate_now(x, *args, **kwargs)
        largest[0] = max(largest[0], out.numel())
        return out

    interpolate_now = torch.nn.functional.interpolate
    monkeypatch.setattr(torch.nn.functional, "interpolate", interpolate)
    aux, clip = aux_and_clip_views(np.zeros((2, 8000, 3), np.uint8), 128, 96)
    assert aux.shape == (3, 128, 128) and clip.shape == (3, 96, 96)
    assert largest[0] <= 3 * 128 * 128


def test_stop_leaves_the_conversation_unchanged(tiny_model, rgb_image):
    tiny_model.eval()
    reference = tiny_model.chat(rgb_image, max_new_tokens=8)
    reference.send("What is here?")
    expected = reference.send("And there?").raw

    chat = tiny_model.chat(rgb_image, max_new_tokens=8)
    chat.send("What is here?")
    history, ids = list(chat.history), chat.token_ids
    polls = iter([False, False, True])
    with pytest.raises(Cancelled):
        chat.send("And there?", should_stop=lambda: next(polls))
    assert chat.history == history and chat.token_ids == ids
    assert chat.send("And there?").raw == expected


def test_streaming_reports_the_reply_as_it_grows(tiny_model, rgb_image):
    seen: list[str] = []
    reply = tiny_model.chat(rgb_image, max_new_tokens=6).send("Hi?", on_text=seen.append)
    assert seen and reply.raw.startswith(seen[-1].strip())


def test_overfitted_model_answers_with_the_right_mask(tiny_model, rgb_image, box_mask):
    """End to end: after learning one dialogue, the chat gives its answer, label and mask."""
    turns = [("human", "Segment the handle."), ("gpt", "Sure, it is [OBJ]the handle[SEG].")]
    overfit(tiny_model, collate([make_example(tiny_model, rgb_image, turns, [box_mask])]), steps=80, lr=1e-2)
    reply = tiny_model.chat(rgb_image).send("Segment the handle.")
    assert reply.raw == "Sure, it is [OBJ]the handle[SEG]."
    assert reply.text == "Sure, it is the handle."
    assert reply.labels == ["the handle"]
    iou = (reply.masks[0] & box_mask).sum() / (reply.masks[0] | box_mask).sum()
    assert iou > 0.9
    assert reply.scores[0] > 0.8


def test_markers_are_removed_from_the_text():
    names = TokenNames()
    assert strip_markers("Sure, [SEG].", names) == "Sure."
    assert strip_markers("It is [OBJ]the red mug[SEG].", names) == "It is the red mug."
    assert strip_markers("[OBJ]a[SEG] and [OBJ]b[SEG].", names) == "a and b."


def test_class_phrases_pair_each_seg_with_its_obj(tiny_model):
    tok, ids = tiny_model.tokenizer, tiny_model.token_ids
    seq = tok("It is [OBJ]a mug[SEG], not [SEG] or [OBJ]the lid[SEG].", add_special_tokens=False)["input_ids"]
    assert class_phrases(tok, seq, ids) == ["a mug", "", "the lid"]


def test_decoding_never_uses_cudnn_attention(tiny_model, rgb_image):
    # cuDNN attention sets up a graph for every new length: on an H100 that was 94% of a turn.
    enabled: list[bool] = []
    decoder = tiny_model.llm.get_decoder()
    hook = decoder.register_forward_pre_hook(lambda *_: enabled.append(torch.backends.cuda.cudnn_sdp_enabled()))
    try:
        tiny_model.chat(rgb_image, max_new_tokens=3).send("What is here?")
    finally:
        hook.remove()
    assert len(enabled) >= 2 and not any(enabled)  # the prompt and every new token
    assert torch.backends.cuda.cudnn_sdp_enabled()  # restored for everything else

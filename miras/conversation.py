"""The llava_v1 conversation template, tokenised segment by segment.

Rendered, a dialogue reads
    "<s>{system} USER: <im_start><image><im_end>\\n{q1} ASSISTANT: {a1}</s>USER: {q2} ASSISTANT:"
Each piece is tokenised on its own and concatenated, so training labels and the chat's growing
KV cache see exactly the same ids (the authors re-tokenised whole strings and measured lengths,
which is off by one on some tokenizers).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from miras.errors import DataError
from miras.tokenizer import TokenIds

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

IGNORE_INDEX = -100
HUMAN, GPT = "human", "gpt"
_IMAGE_MARKERS = ("<im_start>", "<im_end>", "<image>")


@dataclass
class EncodedDialogue:
    input_ids: list[int]  # one <image> id where the visual tokens go
    labels: list[int]  # IGNORE_INDEX except on assistant replies and their </s>


def _text_ids(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _clean_user_text(text: str) -> str:
    # PRIST and LLaVA data may carry "<image>" in a message; the image always opens turn one here.
    for marker in _IMAGE_MARKERS:
        text = text.replace(marker, "")
    return text.strip()


def user_ids(
    tokenizer: PreTrainedTokenizerBase, ids: TokenIds, text: str, *, first: bool, system: str
) -> list[int]:
    """Tokens of one user turn up to and including "ASSISTANT:" (the generation prompt)."""
    text = _clean_user_text(text)
    if not first:
        return _text_ids(tokenizer, f"USER: {text} ASSISTANT:")
    head = [ids.bos] if ids.bos is not None else []
    return (
        head
        + _text_ids(tokenizer, f"{system} USER: ")
        + [ids.im_start, ids.image, ids.im_end]
        + _text_ids(tokenizer, f"\n{text} ASSISTANT:")
    )


def assistant_ids(tokenizer: PreTrainedTokenizerBase, ids: TokenIds, text: str) -> list[int]:
    """Tokens of one assistant reply, closed by </s> (what the model learns to generate)."""
    return _text_ids(tokenizer, " " + text.strip()) + [ids.eos]


def validate_turns(turns: Sequence[tuple[str, str]]) -> None:
    if not turns:
        raise DataError("the dialogue is empty; it needs at least one human turn")
    for i, (role, _) in enumerate(turns):
        expected = HUMAN if i % 2 == 0 else GPT
        if role != expected:
            raise DataError(
                f"turn {i} is from {role!r} but {expected!r} was expected: dialogues alternate "
                "human/gpt and start with a human turn"
            )


def encode_dialogue(
    tokenizer: PreTrainedTokenizerBase,
    ids: TokenIds,
    turns: Sequence[tuple[str, str]],
    *,
    system: str,
    unsupervised: Collection[int] = (),
) -> EncodedDialogue:
    """Input ids and labels of a whole dialogue; every assistant reply is supervised except
    the turns (indices into `turns`) in `unsupervised`, which are context only."""
    validate_turns(turns)
    input_ids: list[int] = []
    labels: list[int] = []
    for i, (role, text) in enumerate(turns):
        if role == HUMAN:
            piece = user_ids(tokenizer, ids, text, first=i == 0, system=system)
            labels += [IGNORE_INDEX] * len(piece)
        else:
            piece = assistant_ids(tokenizer, ids, text)
            labels += [IGNORE_INDEX] * len(piece) if i in unsupervised else piece
        input_ids += piece
    return EncodedDialogue(input_ids=input_ids, labels=labels)

"""Tokenizers saved beside checkpoints, and the rows of the token embeddings that follow them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from miras.config import TokenNames
from miras.errors import CheckpointError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from miras.modeling.miras import MirasModel

TOKENIZER_CONFIG = "tokenizer_config.json"
# Rows of these follow the vocabulary: MIRAS appends its tokens to a checkpoint's.
EMBEDDINGS = ("llm.model.embed_tokens.weight", "llm.lm_head.weight")


def has_tokenizer(folder: Path) -> bool:
    return (folder / TOKENIZER_CONFIG).is_file()


def read_tokenizer(folder: str | Path) -> PreTrainedTokenizerBase:
    """The tokenizer saved in `folder`, as it is."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, ImportError, TypeError) as err:
        raise CheckpointError(
            f"cannot read the tokenizer in {folder} ({err}); expected {TOKENIZER_CONFIG} with "
            "tokenizer.json or tokenizer.model beside the weights"
        ) from err


def load_tokenizer(folder: str | Path, names: TokenNames) -> PreTrainedTokenizerBase:
    """The tokenizer saved in `folder`, with MIRAS's tokens added (no-ops where present)."""
    from miras.tokenizer import add_miras_tokens

    tokenizer = read_tokenizer(folder)
    add_miras_tokens(tokenizer, names)
    return tokenizer


def resizable_rows(model: MirasModel, folder: Path) -> tuple[str, ...]:
    """The embedding keys whose row count may differ from the checkpoint's in `folder`.

    Only where the folder's tokenizer shows that every one of its tokens keeps its id in the
    model's tokenizer; otherwise row i of the checkpoint need not be token i of the model, so
    the rows must match exactly.
    """
    if not has_tokenizer(folder):
        return ()
    theirs = read_tokenizer(folder).get_vocab()
    ours = model.tokenizer.get_vocab()
    moved = [
        f"{token!r} is {i} there, {ours.get(token)} here"
        for token, i in theirs.items()
        if ours.get(token) != i
    ]
    if moved:
        raise CheckpointError(
            f"the model's tokenizer is not the one in {folder}: {len(moved)} tokens have other ids "
            f"(e.g. {'; '.join(sorted(moved)[:3])}). Build the model with that tokenizer: "
            "miras.loaders.from_components(config, llm=folder) (or authors=folder) does"
        )
    return EMBEDDINGS

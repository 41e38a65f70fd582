"""Tokenizers: MIRAS's added tokens, and a byte-level BPE for the small models we train here.

Token ids are always read from the tokenizer (they depend on its lineage), never hard-coded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from miras.config import TokenNames
from miras.errors import CheckpointError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

SPECIALS = {"unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>"}


@dataclass(frozen=True)
class TokenIds:
    seg: int
    obj: int
    im_start: int
    im_end: int
    image: int
    bos: int | None
    eos: int
    pad: int

    @classmethod
    def from_tokenizer(cls, tokenizer: PreTrainedTokenizerBase, names: TokenNames) -> TokenIds:
        ids = {}
        for field, token in vars(names).items():
            token_id = tokenizer.convert_tokens_to_ids(token)
            if token_id is None or token_id == tokenizer.unk_token_id:
                raise CheckpointError(
                    f"the tokenizer has no {token!r} token; call miras.tokenizer.add_miras_tokens "
                    "on it, or load a tokenizer saved with a MIRAS checkpoint"
                )
            ids[field] = token_id
        if tokenizer.eos_token_id is None:
            raise CheckpointError("the tokenizer has no end-of-sequence token; MIRAS needs one")
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        return cls(bos=tokenizer.bos_token_id, eos=tokenizer.eos_token_id, pad=pad, **ids)


def add_miras_tokens(tokenizer: PreTrainedTokenizerBase, names: TokenNames) -> int:
    """Add `[SEG]`, `[OBJ]`, `<im_start>`, `<im_end>`, `<image>` (no-ops if present).

    Returns how many tokens were new. A tokenizer without a pad token gets `unk` as pad, as the
    authors' LLaMA set-up does.
    """
    from tokenizers import AddedToken

    tokens = [AddedToken(t, special=True, normalized=False) for t in names.added()]
    added = tokenizer.add_tokens(tokens, special_tokens=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.unk_token or tokenizer.eos_token
    return added


def byte_level_tokenizer(
    names: TokenNames, corpus: Iterable[str] | None = None, vocab_size: int = 0
) -> PreTrainedTokenizerFast:  # noqa: F821 - imported lazily
    """A byte-level BPE: any text (quotes, unicode) round-trips exactly.

    Without a corpus it has no merges (256 byte tokens plus the specials): the tiny test models use
    that. With a corpus, BPE merges are trained up to `vocab_size` (seconds for our synthetic data).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = list(SPECIALS.values())
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    if corpus is None:
        vocab = {token: i for i, token in enumerate(specials + sorted(alphabet))}
        model = models.BPE(vocab=vocab, merges=[], unk_token="<unk>")
        tok = Tokenizer(model)
    else:
        tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    if corpus is not None:
        trainer = trainers.BpeTrainer(
            vocab_size=max(vocab_size, len(specials) + len(alphabet)),
            special_tokens=specials,
            initial_alphabet=alphabet,
            show_progress=False,
        )
        tok.train_from_iterator(corpus, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, clean_up_tokenization_spaces=False, **SPECIALS)
    add_miras_tokens(fast, names)
    return fast

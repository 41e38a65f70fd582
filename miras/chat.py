"""A multi-turn conversation about one image: `model.chat(image).send(text) -> Reply`.

Like segment-anything's `SamPredictor.set_image()`, the heavy work happens once per image: both
visual towers and SAM's image encoder run on the first turn and are reused by every later one.
The LLM's KV cache is kept across turns too, so a turn only processes its own new tokens.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from miras.batch import views_for
from miras.conversation import GPT, HUMAN, user_ids
from miras.errors import ContextLengthError, MirasError, OutOfMemoryError, TextError
from miras.modeling.attention import variable_length_attention


def _cache_argument() -> str:
    # transformers renamed `past_key_values` to `cache` in 5.x; speak whichever it knows.
    import inspect

    from transformers.models.llama.modeling_llama import LlamaModel

    return "cache" if "cache" in inspect.signature(LlamaModel.forward).parameters else "past_key_values"


_CACHE_ARG = _cache_argument()


class Cancelled(MirasError):
    """`should_stop()` asked to stop; the conversation is as it was before the turn."""


@dataclass
class Reply:
    text: str  # the answer with [OBJ]/[SEG] markers removed
    raw: str  # the answer as generated, markers kept
    masks: list[np.ndarray] = field(default_factory=list)  # bool (H, W), one per [SEG]
    labels: list[str] = field(default_factory=list)  # the [OBJ]{CLASS} phrase of each mask, or ""
    scores: list[float] = field(default_factory=list)  # predicted IoU of each mask
    probabilities: list[np.ndarray] = field(default_factory=list)  # float32 (H, W) per mask


@dataclass
class _Generated:
    ids: list[int]  # reply tokens, without </s>
    hidden: torch.Tensor  # (len(ids), D) last-layer state at each reply token
    ended: bool  # True if the model closed the reply with </s>


class Chat:
    """One image, several turns. Not thread-safe: use one chat from one thread at a time."""

    def __init__(self, model, image: np.ndarray, *, max_new_tokens: int | None = None) -> None:
        self.model = model
        self.views = views_for(model, image)  # validates the image now, not at the first turn
        self.max_new_tokens = max_new_tokens or model.config.max_new_tokens
        self._features = None
        self.reset()

    @property
    def image_size(self) -> tuple[int, int]:
        return self.views.original_size

    def reset(self) -> None:
        """Start over on the same image (its features are kept)."""
        self.history: list[tuple[str, str]] = []
        self._cache = None
        self._fed: list[int] = []  # every id the LLM has seen, in order (one <image> id)
        self._pending: list[int] = []  # ids owed to the cache before the next user turn

    @property
    def token_ids(self) -> list[int]:
        """The conversation as the LLM saw it, with one `<image>` id for the visual tokens."""
        return list(self._fed)

    # --- one turn ----------------------------------------------------------------------------
    @torch.inference_mode()
    def send(
        self,
        text: str,
        *,
        should_stop: Callable[[], bool] | None = None,
        on_text: Callable[[str], None] | None = None,
    ) -> Reply:
        """Ask one question; returns the reply with one mask per [SEG] it holds.

        `should_stop()` is polled between tokens (raise `Cancelled`, leaving the chat unchanged);
        `on_text(raw_so_far)` streams the reply as it is written.
        """
        if not isinstance(text, str) or not text.strip():
            raise TextError("the message is empty; type a question or a request")
        self.model.eval()
        first = not self.history
        ids = self._pending + user_ids(
            self.model.tokenizer, self.model.token_ids, text, first=first, system=self.model.config.system_prompt
        )
        budget = self._check_length(ids, first)
        start = self._cache.get_seq_length() if self._cache is not None else 0
        try:
            generated = self._generate(ids, first, budget, should_stop, on_text)
            reply = self._reply(generated)
        except BaseException:
            self._rollback(start)
            raise
        self._fed += ids + generated.ids
        self._pending = [self.model.token_ids.eos]
        self.history += [(HUMAN, text.strip()), (GPT, reply.raw)]
        return reply

    def _rollback(self, length: int) -> None:
        """Forget what a failed or cancelled turn put into the KV cache."""
        if self._cache is None:
            return
        if length == 0:
            self._cache = None
            return
        extra = self._cache.get_seq_length() - length
        if extra > 0:
            self._cache.crop(-extra)  # a negative count removes that many tokens (all versions)

    @torch.inference_mode()
    def image_features(self) -> np.ndarray:
        """A (D,) summary of the image as the model sees it (mean visual token), for diversity."""
        tokens = self._features_once().visual_tokens[0]
        return tokens.float().mean(0).cpu().numpy()

    def _check_length(self, ids: list[int], first: bool) -> int:
        """Refuse a turn whose prompt does not fit; return how many tokens the reply may use."""
        used = self._cache.get_seq_length() if self._cache is not None else 0
        image = self.model.config.num_image_tokens - 1 if first else 0
        need = used + len(ids) + image
        room = self.model.config.max_length - need
        if room < 1:
            raise ContextLengthError(
                f"this message makes the conversation {need} tokens long; the model's context "
                f"holds {self.model.config.max_length}. Shorten the message or start a new "
                "conversation (chat.reset())."
            )
        return min(self.max_new_tokens, room)

    def _features_once(self):
        if self._features is None:
            v = self.views
            device = self.model.device
            self._features = self.model.encode_images(
                v.clip[None].to(device), v.aux[None].to(device), v.sam[None].to(device)
            )
        return self._features

    def _generate(self, ids, first, budget, should_stop, on_text) -> _Generated:
        model, eos = self.model, self.model.token_ids.eos
        ids_t = torch.as_tensor(ids, device=model.device)
        if first:
            embeds = model.splice([ids], self._features_once().visual_tokens).embeds[0]
        else:
            embeds = model.embed_tokens(ids_t)
        out_ids: list[int] = []
        hidden: list[torch.Tensor] = []
        state = self._step(embeds)
        while True:
            if should_stop is not None and should_stop():
                raise Cancelled("stopped on request; the conversation is unchanged")
            token = int(model.llm.get_output_embeddings()(state[-1]).argmax())
            if token == eos:
                return _Generated(out_ids, _stack(hidden, state), ended=True)
            out_ids.append(token)
            if on_text is not None:
                on_text(model.tokenizer.decode(out_ids, skip_special_tokens=False))
            # Feeding the token gives its own hidden state (the one read at a [SEG]).
            state = self._step(model.embed_tokens(torch.as_tensor([token], device=model.device)))
            hidden.append(state[-1])
            if len(out_ids) >= budget:
                return _Generated(out_ids, _stack(hidden, state), ended=False)

    def _step(self, embeds: torch.Tensor) -> torch.Tensor:
        """Run new positions through the LLM with the KV cache; (T, D) last-layer states."""
        try:
            with variable_length_attention():
                out = self.model.llm.get_decoder()(
                    inputs_embeds=embeds[None], use_cache=True, **{_CACHE_ARG: self._cache}
                )
        except torch.OutOfMemoryError as err:
            raise OutOfMemoryError(
                "the device ran out of memory during generation; load the model with "
                "dtype=torch.bfloat16, use a smaller model, or free memory held by other programs"
            ) from err
        self._cache = getattr(out, _CACHE_ARG)
        return out.last_hidden_state[0]

    # --- from tokens to a reply --------------------------------------------------------------
    def _reply(self, generated: _Generated) -> Reply:
        model = self.model
        ids = torch.as_tensor(generated.ids, dtype=torch.long, device=model.device)
        raw = model.tokenizer.decode(generated.ids, skip_special_tokens=False).strip()
        reply = Reply(text=strip_markers(raw, model.config.tokens), raw=raw)
        if not (ids == model.token_ids.seg).any():
            return reply
        prompts = model.seg_prompts(generated.hidden, ids)
        v = self.views
        logits, scores = model.mask_logits(self._features_once().sam_embedding, prompts, v.input_size, v.original_size)
        reply.masks = [m.cpu().numpy() for m in logits > 0]
        reply.probabilities = [p.float().cpu().numpy() for p in logits.sigmoid()]
        reply.scores = [float(s) for s in scores]
        reply.labels = class_phrases(model.tokenizer, generated.ids, model.token_ids)
        return reply


def _stack(hidden: list[torch.Tensor], state: torch.Tensor) -> torch.Tensor:
    return torch.stack(hidden) if hidden else state.new_zeros(0, state.shape[-1])


def class_phrases(tokenizer, ids: list[int], token_ids) -> list[str]:
    """The `[OBJ]{CLASS}` phrase before each [SEG] of a reply, "" where there is none."""
    phrases, obj_at = [], None
    for i, token in enumerate(ids):
        if token == token_ids.obj:
            obj_at = i
        elif token == token_ids.seg:
            span = ids[obj_at + 1 : i] if obj_at is not None else []
            phrases.append(tokenizer.decode(span, skip_special_tokens=True).strip())
            obj_at = None
    return phrases


def strip_markers(raw: str, names) -> str:
    """"Sure, it is [OBJ]the red mug[SEG]." -> "Sure, it is the red mug."; "Sure, [SEG]." -> "Sure."."""
    obj, seg = re.escape(names.obj), re.escape(names.seg)
    text = re.sub(f"{obj}(.*?){seg}", r"\1", raw)
    text = text.replace(names.seg, "").replace(names.obj, "")
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    text = re.sub(r"[,;:]+([.!?])", r"\1", text)
    return re.sub(r"\s{2,}", " ", text).strip()

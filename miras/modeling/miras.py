"""MIRAS: two visual towers fused, a LLaVA-style LLM, and SAM prompted by [SEG] hidden states."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from miras.config import MirasConfig
from miras.conversation import IGNORE_INDEX
from miras.errors import ContextLengthError, DataError
from miras.modeling.attention import variable_length_attention
from miras.modeling.fusion import PatchInfoMining
from miras.modeling.heads import SemanticRegionAlignment, build_projector, build_seg_head
from miras.modeling.losses import MaskLoss, mask_losses
from miras.modeling.sam import build_sam, decode_masks, masks_at_original_size
from miras.modeling.vision import ClipTower, ConvNeXtTower
from miras.tokenizer import TokenIds

IMAGE_SLOT = -1  # stands for a visual token in expanded id sequences

# A training batch is padded to a multiple of this many positions, not just to its longest
# dialogue, so its length takes a few values instead of a new one nearly every step. With bf16
# autocast on a CPU, every new length left the process larger and its later steps slower: over 500
# demo dialogue steps a step went from 1.06 to 1.56 s and the peak RSS to 6.2 GB; padded, 1.02 to
# 1.08 s and 2.1 GB (`benchmarks/training_drift.py`; docs/speed-log.md, session 21).
TRAINING_LENGTH_MULTIPLE = 64


@dataclass
class ImageFeatures:
    visual_tokens: torch.Tensor  # (B, N, D_llm): fused, projected visual tokens
    sam_embedding: torch.Tensor  # (B, D_prompt, g, g): SAM image embedding


@dataclass
class Spliced:
    embeds: torch.Tensor  # (B, T, D_llm)
    attention_mask: torch.Tensor  # (B, T)
    ids: torch.Tensor  # (B, T) token ids with IMAGE_SLOT at visual tokens, pad id after the end
    labels: torch.Tensor | None  # (B, T)


@dataclass
class LossOutput:
    loss: torch.Tensor
    ce: torch.Tensor
    bce: torch.Tensor
    dice: torch.Tensor
    iou: torch.Tensor
    n_masks: int


class MirasModel(nn.Module):
    """The whole model. Module names follow the authors' checkpoint (see `miras.loaders`)."""

    def __init__(self, config: MirasConfig, tokenizer) -> None:
        super().__init__()
        from transformers import AutoConfig, AutoModelForCausalLM

        config = copy.deepcopy(config)  # the caller's config stays as it was
        config.text = dict(config.text, vocab_size=len(tokenizer))
        self.config = config
        self.tokenizer = tokenizer
        self.token_ids = TokenIds.from_tokenizer(tokenizer, config.tokens)
        self.vision_tower = ClipTower(config.clip, config.clip_select_layer)
        self.vision_tower_aux = ConvNeXtTower(config.convnext, grid=2 * config.clip_grid)
        self.fusion = PatchInfoMining(config.clip_hidden, config.convnext.out_channels)
        self.mm_projector = build_projector(config.projector_type, config.clip_hidden, config.llm_hidden)
        self.llm = AutoModelForCausalLM.from_config(AutoConfig.for_model(**config.text))
        self.sam = build_sam(config.sam)
        self.seg_head = build_seg_head(config.llm_hidden, config.sam.prompt_dim)
        self.region_alignment = SemanticRegionAlignment(config.sam.prompt_dim, config.alignment_heads)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def chat(self, image, **kwargs):
        """A conversation about `image` ((H, W), (H, W, 3) or (H, W, 4) array): `miras.chat.Chat`."""
        from miras.chat import Chat

        return Chat(self, image, **kwargs)

    # --- images ------------------------------------------------------------------------------
    def encode_images(self, clip: torch.Tensor, aux: torch.Tensor, sam: torch.Tensor) -> ImageFeatures:
        """Pixel views (B, 3, S, S) of each tower -> visual tokens and SAM embeddings."""
        visual = self.visual_tokens(clip, aux)
        embedding = _run_frozen_aware(self.sam.image_encoder, sam.to(self.device, self.dtype))
        return ImageFeatures(visual_tokens=visual, sam_embedding=embedding)

    def visual_tokens(self, clip: torch.Tensor, aux: torch.Tensor) -> torch.Tensor:
        """CLIP and ConvNeXt views (B, 3, S, S) -> the (B, N, D_llm) tokens the LLM reads."""
        clip_tokens = _run_frozen_aware(self.vision_tower, clip.to(self.device, self.dtype))
        aux_map = _run_frozen_aware(self.vision_tower_aux, aux.to(self.device, self.dtype))
        return self.mm_projector(self.fusion(clip_tokens, aux_map))

    # --- text --------------------------------------------------------------------------------
    def embed_tokens(self, ids: torch.Tensor) -> torch.Tensor:
        return self.llm.get_input_embeddings()(ids)

    def splice(
        self,
        input_ids: list[list[int]],
        visual_tokens: torch.Tensor,
        labels: list[list[int]] | None = None,
        multiple: int = 1,
    ) -> Spliced:
        """Put each sequence's visual tokens where its single `<image>` id is; pad right, to a
        multiple of `multiple` positions (no further than the model's context)."""
        pieces = [
            self._splice_one(ids, visual_tokens[b], labels[b] if labels is not None else None)
            for b, ids in enumerate(input_ids)
        ]
        length = max(len(seq) for _, seq, _ in pieces)
        if length > self.config.max_length:
            raise ContextLengthError(
                f"a sequence is {length} tokens long with its {visual_tokens.shape[1]} image tokens; "
                f"the model's context holds {self.config.max_length}. Shorten the dialogue."
            )
        length = min(-(-length // multiple) * multiple, self.config.max_length)
        batch = len(pieces)
        embeds = visual_tokens.new_zeros(batch, length, visual_tokens.shape[-1])
        mask = torch.zeros(batch, length, dtype=torch.long, device=self.device)
        ids = torch.full((batch, length), self.token_ids.pad, dtype=torch.long, device=self.device)
        out_labels = torch.full_like(ids, IGNORE_INDEX) if labels is not None else None
        for b, (emb, seq, lab) in enumerate(pieces):
            n = len(seq)
            embeds[b, :n], mask[b, :n], ids[b, :n] = emb, 1, seq
            if out_labels is not None:
                out_labels[b, :n] = lab
        return Spliced(embeds=embeds, attention_mask=mask, ids=ids, labels=out_labels)

    def _splice_one(
        self, ids: list[int], visual: torch.Tensor, labels: list[int] | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Embeddings, expanded ids and expanded labels of one sequence."""
        ids_t = torch.as_tensor(ids, dtype=torch.long, device=self.device)
        slots = (ids_t == self.token_ids.image).nonzero().flatten()
        if len(slots) != 1:
            raise DataError(
                f"image features and image tokens do not match: tokens {len(slots)}, features 1; "
                "the first user turn must open with <im_start><image><im_end>"
            )
        p = int(slots[0])
        emb = torch.cat([self.embed_tokens(ids_t[:p]), visual, self.embed_tokens(ids_t[p + 1 :])])
        image = ids_t.new_full((visual.shape[0],), IMAGE_SLOT)
        expanded = torch.cat([ids_t[:p], image, ids_t[p + 1 :]])
        if labels is None:
            return emb, expanded, None
        labels_t = torch.as_tensor(labels, dtype=torch.long, device=self.device)
        ignored = image.new_full((visual.shape[0],), IGNORE_INDEX)
        return emb, expanded, torch.cat([labels_t[:p], ignored, labels_t[p + 1 :]])

    def hidden_states(self, embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Last decoder layer after the final norm, (B, T, D) (what LISA/MIRAS read [SEG] from)."""
        with variable_length_attention():
            return self.llm.get_decoder()(inputs_embeds=embeds, attention_mask=attention_mask).last_hidden_state

    # --- [SEG] -> masks ----------------------------------------------------------------------
    def seg_prompts(self, hidden: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """SAM prompts (n, D_prompt) for every [SEG] in one sequence.

        hidden (T, D_llm) and ids (T,) are aligned: the hidden state *at* each [SEG] position is
        projected (the position as the LLM saw it, image tokens included). A [SEG] preceded by
        `[OBJ]{CLASS}` (after the previous [SEG]) gets semantic region alignment over the projected
        `[OBJ]`...name tokens.
        """
        return self.batch_seg_prompts([hidden], [ids])[0]

    def batch_seg_prompts(self, hiddens: list[torch.Tensor], ids: list[torch.Tensor]) -> list[torch.Tensor]:
        """`seg_prompts` of several sequences with one [SEG]-head and one alignment call for all
        (per-sequence calls were a large share of a stage-2 step on cached features)."""
        spans = [seg_spans(seq, self.token_ids) for seq in ids]
        projected = self.seg_head(torch.cat([hidden[span_rows(item)] for hidden, item in zip(hiddens, spans)]))
        seg_rows, phrases, offset = [], [], 0
        for start, seg in (span for item in spans for span in item):
            end = offset + seg - start
            seg_rows.append(end)
            phrases.append(projected[offset:end] if start < seg else None)
            offset = end + 1
        prompts = self.region_alignment(projected[seg_rows], phrases)
        return list(prompts.split([len(item) for item in spans]))

    def mask_logits(
        self,
        sam_embedding: torch.Tensor,
        prompts: torch.Tensor,
        input_size: tuple[int, int],
        original_size: tuple[int, int],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mask logits (n, H, W) at the user's image size and their predicted IoU (n,) in [0, 1]."""
        low_res, iou = decode_masks(self.sam, sam_embedding, prompts)
        return masks_at_original_size(self.sam, low_res, input_size, original_size), iou.clamp(0, 1)

    def predict_masks(
        self,
        sam_embedding: torch.Tensor,
        prompts: torch.Tensor,
        input_size: tuple[int, int],
        original_size: tuple[int, int],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Boolean masks (n, H, W) at the user's image size and their predicted IoU (n,)."""
        logits, iou = self.mask_logits(sam_embedding, prompts, input_size, original_size)
        return logits > 0, iou

    # --- training ----------------------------------------------------------------------------
    def forward(self, batch) -> LossOutput:
        """Loss of a `miras.batch.Batch`: 1.0*CE + 2.0*BCE + 0.5*Dice (+ the IoU head's error).

        A `CachedBatch` (stage-2 feature cache) gives the mask terms alone: with the LLM frozen
        the text loss is a constant without gradient.
        """
        if hasattr(batch, "items"):
            return self._forward_cached(batch)
        features = self.encode_images(batch.clip, batch.aux, batch.sam)
        spliced = self.splice(batch.input_ids, features.visual_tokens, batch.labels, TRAINING_LENGTH_MULTIPLE)
        hidden = self.hidden_states(spliced.embeds, spliced.attention_mask)
        weights = self.config.loss
        ce = self.text_loss(hidden, spliced.labels) if weights.ce else hidden.new_zeros(())
        prompts = self.batch_seg_prompts(list(hidden), list(spliced.ids))
        masks = self.mask_loss(features.sam_embedding, prompts, batch.masks, batch.input_sizes)
        loss = weights.ce * ce + weights.bce * masks.bce + weights.dice * masks.dice + weights.iou * masks.iou
        return LossOutput(
            loss=loss, ce=ce, bce=masks.bce, dice=masks.dice, iou=masks.iou, n_masks=masks.n_masks
        )

    def _forward_cached(self, batch) -> LossOutput:
        prompts = self.batch_seg_prompts([i.hidden for i in batch.items], [i.ids for i in batch.items])
        embeddings = torch.stack([item.sam_embedding for item in batch.items])
        masks = self.mask_loss(embeddings, prompts, [i.masks for i in batch.items], [i.input_size for i in batch.items])
        weights = self.config.loss
        loss = weights.bce * masks.bce + weights.dice * masks.dice + weights.iou * masks.iou
        zero = loss.new_zeros(())
        return LossOutput(loss=loss, ce=zero, bce=masks.bce, dice=masks.dice, iou=masks.iou, n_masks=masks.n_masks)

    def text_loss(self, hidden: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Shifted cross-entropy, mean over supervised tokens of the batch."""
        logits = self.llm.get_output_embeddings()(hidden[:, :-1]).float()
        return F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=IGNORE_INDEX
        )

    def mask_loss(
        self,
        sam_embeddings: torch.Tensor,
        prompts: list[torch.Tensor],
        targets: list[torch.Tensor],
        input_sizes: list[tuple[int, int]],
    ) -> MaskLoss:
        """BCE and Dice per mask, averaged over all masks of the batch, at each image's size."""
        for b, (p, target) in enumerate(zip(prompts, targets)):
            if len(p) != len(target):
                raise DataError(
                    f"sample {b} has {len(p)} [SEG] tokens but {len(target)} masks; each [SEG] "
                    "needs one mask (was the dialogue cut by the context length?)"
                )
        counts = [len(p) for p in prompts]
        if not sum(counts):
            return mask_losses([None] * len(prompts), targets, [None] * len(prompts))
        rows = torch.repeat_interleave(torch.arange(len(prompts), device=sam_embeddings.device),
                                       torch.tensor(counts, device=sam_embeddings.device))
        low_res, iou = decode_masks(self.sam, sam_embeddings[rows], torch.cat([p for p in prompts if len(p)]))
        low_res, iou = low_res.split(counts), iou.split(counts)
        # Samples of one size are upsampled and scored together: one call per size, not per
        # sample (a stage-2 step on cached features is mostly this and the decoder).
        by_size: dict[tuple, list[int]] = {}
        for b, n in enumerate(counts):
            if n:
                by_size.setdefault((tuple(input_sizes[b]), tuple(targets[b].shape[-2:])), []).append(b)
        logits, group_targets, ious = [], [], []
        for (input_size, size), members in by_size.items():
            low = torch.cat([low_res[b] for b in members])
            logits.append(masks_at_original_size(self.sam, low, input_size, size))
            group_targets.append(torch.cat([targets[b].to(low.device) for b in members]))
            ious.append(torch.cat([iou[b] for b in members]))
        return mask_losses(logits, group_targets, ious)


def seg_spans(ids: torch.Tensor, token_ids: TokenIds) -> list[tuple[int, int]]:
    """(start, [SEG] position) for each [SEG] of a sequence: start is the `[OBJ]` opening its class
    phrase (the last one after the previous [SEG]), or the [SEG] itself when it has none."""
    objs = (ids == token_ids.obj).nonzero().flatten().tolist()
    spans, previous = [], -1
    for seg in (ids == token_ids.seg).nonzero().flatten().tolist():
        opening = [o for o in objs if previous < o < seg]
        spans.append((opening[-1] if opening else seg, seg))
        previous = seg
    return spans


def span_rows(spans: list[tuple[int, int]]) -> list[int]:
    """The positions `seg_spans` covers: each phrase with its [SEG], in order."""
    return [row for start, seg in spans for row in range(start, seg + 1)]


def _run_frozen_aware(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Run a tower without building a graph when none of its weights train (saves memory)."""
    trainable = any(p.requires_grad for p in module.parameters())
    with torch.set_grad_enabled(trainable and torch.is_grad_enabled()):
        return module(x)

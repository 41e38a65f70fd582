"""Small trained heads: the visual projector, the [SEG] head and semantic region alignment."""

from __future__ import annotations

import torch
from torch import nn

from miras.errors import ConfigError


def build_projector(kind: str, in_dim: int, out_dim: int) -> nn.Module:
    """LLaVA's `mm_projector`: `linear` or `mlp2x_gelu` (Linear, GELU, Linear)."""
    if kind == "linear":
        return nn.Linear(in_dim, out_dim)
    if kind == "mlp2x_gelu":
        return nn.Sequential(nn.Linear(in_dim, out_dim), nn.GELU(), nn.Linear(out_dim, out_dim))
    raise ConfigError(f"unknown projector_type {kind!r}; use 'linear' or 'mlp2x_gelu'")


def build_seg_head(llm_dim: int, prompt_dim: int) -> nn.Sequential:
    """[SEG] hidden state -> SAM prompt: Linear, ReLU, Linear (authors' `text_hidden_fcs[0]`)."""
    return nn.Sequential(
        nn.Linear(llm_dim, llm_dim), nn.ReLU(inplace=True), nn.Linear(llm_dim, prompt_dim), nn.Dropout(0.0)
    )


class SemanticRegionAlignment(nn.Module):
    """The [SEG] prompt attends to the projected `[OBJ]{CLASS}` tokens before it; residual add.

    The authors built this attention afresh on every call, so it was never trained or saved
    (reference §8.3). Here it is a registered module, used in training and at inference whenever
    the model writes `[OBJ]{CLASS}[SEG]`.
    """

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, num_heads, batch_first=True)
        self.out = nn.Linear(dim, dim)

    def forward(self, seg: torch.Tensor, spans: list[torch.Tensor | None]) -> torch.Tensor:
        """seg (n, D); spans[i] (L_i, D) or None for a [SEG] without [OBJ] -> (n, D)."""
        rows = [i for i, span in enumerate(spans) if span is not None and len(span)]
        if not rows:
            return seg
        keys = nn.utils.rnn.pad_sequence([spans[i] for i in rows], batch_first=True)
        lengths = torch.tensor([len(spans[i]) for i in rows], device=seg.device)
        padding = torch.arange(keys.shape[1], device=seg.device)[None] >= lengths[:, None]
        query = seg[rows].unsqueeze(1)
        attended, _ = self.attention(query, keys, keys, key_padding_mask=padding, need_weights=False)
        update = torch.zeros_like(seg)
        update[rows] = self.out(attended.squeeze(1))
        return seg + update

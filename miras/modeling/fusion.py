"""Fusion of the two towers: MGM's "patch info mining", as MIRAS configures it (reference §1.3)."""

from __future__ import annotations

import math

import torch
from torch import nn


def _projector(in_dim: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.LayerNorm(in_dim), nn.Linear(in_dim, out_dim))


class PatchInfoMining(nn.Module):
    """Each CLIP token queries the aux features of its own window; the result is added to it.

    Single-head attention over the window's k*k aux vectors, no output projection, residual add.
    Key names match the authors' `vlm_uni_{query,aux,val}_projector`.
    """

    def __init__(self, clip_dim: int, aux_dim: int) -> None:
        super().__init__()
        self.query_projector = _projector(clip_dim, clip_dim)
        self.aux_projector = _projector(aux_dim, clip_dim)
        self.val_projector = _projector(aux_dim, clip_dim)

    def forward(self, clip_tokens: torch.Tensor, aux_map: torch.Tensor) -> torch.Tensor:
        """clip_tokens (B, g*g, C) in row-major order; aux_map (B, C_aux, k*g, k*g) -> (B, g*g, C)."""
        windows = self._windows(aux_map, int(math.isqrt(clip_tokens.shape[1])))
        query = self.query_projector(clip_tokens).unsqueeze(2)  # (B, N, 1, C)
        keys = self.aux_projector(windows)  # (B, N, k*k, C)
        values = self.val_projector(windows)
        logits = (query * keys).sum(-1) / math.sqrt(query.shape[-1])
        weights = torch.nan_to_num(logits).softmax(dim=-1).unsqueeze(-1)
        return clip_tokens + (weights * values).sum(2)

    @staticmethod
    def _windows(aux_map: torch.Tensor, grid: int) -> torch.Tensor:
        """(B, C, k*g, k*g) -> (B, g*g, k*k, C): the k x k window under each CLIP token."""
        b, c, h, w = aux_map.shape
        k = h // grid
        x = aux_map.view(b, c, grid, k, grid, k).permute(0, 2, 4, 3, 5, 1)
        return x.reshape(b, grid * grid, k * k, c)

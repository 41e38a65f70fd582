"""The two visual towers: CLIP (transformers) and a ConvNeXt trunk (timm)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from miras.config import ConvNeXtConfig


class ClipTower(nn.Module):
    """CLIP ViT; returns the patch tokens of layer `select_layer` (CLS dropped), as LLaVA does.

    Input (B, 3, S, S) CLIP-normalised; output (B, N, C) with N = (S / patch)^2.
    """

    def __init__(self, clip_config: dict, select_layer: int = -2) -> None:
        super().__init__()
        from transformers import CLIPVisionConfig, CLIPVisionModel

        self.model = CLIPVisionModel(CLIPVisionConfig(**clip_config))
        self.select_layer = select_layer

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        out = self.model(pixel_values=pixels, output_hidden_states=True)
        return out.hidden_states[self.select_layer][:, 1:]


class ConvNeXtTower(nn.Module):
    """timm ConvNeXt trunk; the four stage outputs resized to one grid and concatenated.

    Input (B, 3, S_aux, S_aux); output (B, sum(dims), G, G). MIRAS fixes G at twice the CLIP grid
    (48 for CLIP-336), so each CLIP token owns a 2 x 2 window (reference §1.3).
    """

    def __init__(self, config: ConvNeXtConfig, grid: int) -> None:
        super().__init__()
        from timm.models.convnext import ConvNeXt

        trunk = ConvNeXt(depths=config.depths, dims=config.dims, num_classes=0)
        # The pooled head is never used; dropping it keeps every parameter in the graph (DDP).
        trunk.norm_pre = nn.Identity()
        trunk.head = nn.Identity()
        self.trunk = trunk
        self.grid = grid

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = self.trunk.stem(pixels)
        maps = []
        for stage in self.trunk.stages:
            x = stage(x)
            maps.append(F.interpolate(x, size=(self.grid, self.grid), mode="bilinear", align_corners=False))
        return torch.cat(maps, dim=1)

"""Mask losses as the authors' stage-1 code computes them: per-mask BCE and Dice (reference §3)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

DICE_SCALE = 10000.0  # divides numerator and denominator: it only changes how eps acts
DICE_EPS = 1e-6


@dataclass
class MaskLoss:
    bce: torch.Tensor  # mean over masks of the per-pixel mean BCE
    dice: torch.Tensor  # mean over masks of 1 - Dice
    n_masks: int


def sigmoid_bce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(n, H, W) -> (n,): per-pixel BCE with logits, averaged over each mask's pixels."""
    return F.binary_cross_entropy_with_logits(logits, targets, reduction="none").flatten(1).mean(1)


def dice_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(n, H, W) -> (n,): 1 - (2 sum(p t) + eps) / (sum p + sum t + eps) on the sigmoid."""
    p = logits.sigmoid().flatten(1) / DICE_SCALE
    t = targets.flatten(1)
    return 1 - (2 * (p * t).sum(1) + DICE_EPS) / (p.sum(1) + t.sum(1) / DICE_SCALE + DICE_EPS)


def mask_losses(logits: list[torch.Tensor | None], targets: list[torch.Tensor]) -> MaskLoss:
    """Average BCE and Dice over every mask of a batch; zero (with a graph) when there is none."""
    bce_sum, dice_sum, count = None, None, 0
    for lg, target in zip(logits, targets):
        if lg is None or not len(lg):
            continue
        lg, target = lg.float(), target.to(lg.device).float()
        bce, dice = sigmoid_bce(lg, target).sum(), dice_loss(lg, target).sum()
        bce_sum = bce if bce_sum is None else bce_sum + bce
        dice_sum = dice if dice_sum is None else dice_sum + dice
        count += len(lg)
    if count == 0:
        zero = torch.zeros(())
        return MaskLoss(bce=zero, dice=zero, n_masks=0)
    return MaskLoss(bce=bce_sum / count, dice=dice_sum / count, n_masks=count)

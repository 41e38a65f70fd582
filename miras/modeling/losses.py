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
    iou: torch.Tensor  # mean over masks of (predicted IoU - actual IoU)^2
    n_masks: int


def sigmoid_bce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(n, H, W) -> (n,): per-pixel BCE with logits, averaged over each mask's pixels."""
    return F.binary_cross_entropy_with_logits(logits, targets, reduction="none").flatten(1).mean(1)


def dice_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(n, H, W) -> (n,): 1 - (2 sum(p t) + eps) / (sum p + sum t + eps) on the sigmoid."""
    p = logits.sigmoid().flatten(1) / DICE_SCALE
    t = targets.flatten(1)
    return 1 - (2 * (p * t).sum(1) + DICE_EPS) / (p.sum(1) + t.sum(1) / DICE_SCALE + DICE_EPS)


def iou_head_loss(logits: torch.Tensor, targets: torch.Tensor, predicted: torch.Tensor) -> torch.Tensor:
    """(n,): squared error of SAM's predicted IoU against the IoU its mask really has.

    Not in the paper's loss; SAM trains its IoU head this way. The target is detached, so only
    the IoU head learns from it, and `Reply.scores` become a usable confidence.
    """
    with torch.no_grad():
        pred, gt = logits.flatten(1) > 0, targets.flatten(1) > 0.5
        union = (pred | gt).sum(1)
        actual = torch.where(union > 0, (pred & gt).sum(1) / union.clamp(min=1), torch.ones_like(union, dtype=torch.float))
    return (predicted.float() - actual.float()) ** 2


def mask_losses(
    logits: list[torch.Tensor | None], targets: list[torch.Tensor], ious: list[torch.Tensor | None]
) -> MaskLoss:
    """Average BCE, Dice and IoU-head error over every mask of a batch; zeros if there is none."""
    sums = {"bce": [], "dice": [], "iou": []}
    count = 0
    for lg, target, iou in zip(logits, targets, ious):
        if lg is None or not len(lg):
            continue
        lg, target = lg.float(), target.to(lg.device).float()
        sums["bce"].append(sigmoid_bce(lg, target).sum())
        sums["dice"].append(dice_loss(lg, target).sum())
        sums["iou"].append(iou_head_loss(lg, target, iou).sum())
        count += len(lg)
    if count == 0:
        zero = torch.zeros(())
        return MaskLoss(bce=zero, dice=zero, iou=zero, n_masks=0)
    means = {key: torch.stack(values).sum() / count for key, values in sums.items()}
    return MaskLoss(**means, n_masks=count)

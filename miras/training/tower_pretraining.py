"""Dense pre-training of the visual towers: what pretrained CLIP and ConvNeXt give the real MIRAS.

The paper's towers come pretrained and frozen; nothing pretrained exists here. Trained only
through the LLM's losses, our towers collapse into one large constant token that the LLM ignores
(benchmarks/image_use.py). So before any dialogue, the towers, their fusion and `mm_projector`
learn on synthetic scenes to say what each patch holds: every visual token predicts, through a
linear probe, how much of its patch each colour, kind, texture and part covers (soft BCE). The
probe is dropped afterwards. The later stages keep them frozen (policy `all-but-towers`), as
LLaVA keeps CLIP (the bundled recipe), or train them on from there (`miras demo-train
--pretrain-towers`).

A killed run resumes from its last saved step (`train-state/`, as the training loop's); a finished
one is loaded back.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from miras.errors import CheckpointError
from miras.preprocess import aux_and_clip_views
from miras.progress import progress_bar
from miras.synth.domain import get_domain
from miras.synth.scene import Scene, make_scene
from miras.synth.shapes import KINDS
from miras.trainable import TOWERS
from miras.training.precision import use_bf16
from miras.training.schedule import warmup_decay
from miras.training.state import STATE_DIR, restore_state, save_state

WEIGHTS_FILE = "towers.safetensors"
METRICS_FILE = "metrics.json"
PRESENT = 0.25  # a patch "holds" an attribute when it covers at least this share of the patch


@dataclass
class TowerSettings:
    steps: int = 600
    batch_size: int = 32
    lr: float = 1e-3
    warmup_steps: int = 50
    seed: int = 0
    domain: str = "base"
    size: int = 128
    eval_scenes: int = 64
    bf16: bool = True
    save_every: int = 100


def attribute_names(domain: str = "base") -> tuple[str, ...]:
    """Every colour, kind, texture and part name of a synthetic domain, prefixed by its type."""
    d = get_domain(domain)
    parts = sorted({part for kind in d.kinds for part in KINDS[kind].parts if part})
    return tuple(
        [f"colour:{c}" for c in d.colours] + [f"kind:{k}" for k in d.kinds]
        + [f"texture:{t}" for t in d.textures] + [f"part:{p}" for p in parts]
    )


def attribute_maps(scene: Scene, names: tuple[str, ...]) -> np.ndarray:
    """(A, H, W) bool: where each attribute is visible."""
    index = {name: i for i, name in enumerate(names)}
    maps = np.zeros((len(names), *scene.image.shape[:2]), bool)
    for obj in scene.objects:
        for name in (f"colour:{obj.colour}", f"kind:{obj.kind}", f"texture:{obj.texture}"):
            maps[index[name]] |= obj.mask
        for part in obj.parts:
            if part:
                maps[index[f"part:{part}"]] |= obj.part_mask(part)
    return maps


def patch_coverage(maps: np.ndarray, grid: int) -> torch.Tensor:
    """(grid*grid, A): the share of each patch (raster order, as the visual tokens) each map covers."""
    pooled = F.adaptive_avg_pool2d(torch.from_numpy(maps).float()[None], grid)[0]
    return pooled.flatten(1).T


class CoverageSource:
    """Synthetic scenes as (clip view, aux view, patch coverage); scene i depends on (seed, i) only."""

    def __init__(self, model, seed: int, domain: str = "base", size: int = 128) -> None:
        self.seed, self.domain, self.size = seed, domain, size
        self.names = attribute_names(domain)
        self.aux_size = model.config.convnext.image_size
        self.clip_size = int(model.config.clip["image_size"])
        self.grid = model.config.clip_grid

    def batch(self, start: int, count: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        clips, auxes, targets = [], [], []
        for index in range(start, start + count):
            scene = make_scene(np.random.default_rng([self.seed, 55, index]), get_domain(self.domain), self.size)
            # Square scenes: the towers' centre crop is the whole picture, so patches line up.
            aux, clip = aux_and_clip_views(scene.image, self.aux_size, self.clip_size)
            clips.append(clip)
            auxes.append(aux)
            targets.append(patch_coverage(attribute_maps(scene, self.names), self.grid))
        return torch.stack(clips), torch.stack(auxes), torch.stack(targets)


def pretrain_towers(
    model,
    out: str | Path,
    settings: TowerSettings,
    *,
    on_progress: Callable[[int, int, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict:
    """Train the towers, fusion and mm_projector on patch coverage; writes `out/towers.safetensors`.

    If `out` already holds them, they are loaded into `model` and nothing trains. Returns the
    held-out figures (`bce`, and `f1` of "the patch holds it" at PRESENT). Every `save_every`
    steps, and when `should_stop` stops it, the towers, probe and optimiser are saved to
    `out/train-state/`: the next call goes on from there (batches depend on the step alone).
    """
    out = Path(out)
    if (out / WEIGHTS_FILE).exists():
        load_towers(model, out / WEIGHTS_FILE)
        return json.loads((out / METRICS_FILE).read_text())
    settings = replace(settings, bf16=use_bf16(settings.bf16, model.device))  # saved as it runs
    source = CoverageSource(model, settings.seed, settings.domain, settings.size)
    held_out = CoverageSource(model, settings.seed + 1000, settings.domain, settings.size)
    probe = nn.Linear(model.config.llm_hidden, len(source.names)).to(model.device)
    trained = nn.ModuleDict({name: getattr(model, name) for name in TOWERS} | {"probe": probe})
    trained.requires_grad_(True).train()
    optimizer = torch.optim.AdamW(trained.parameters(), lr=settings.lr, weight_decay=0.0)
    start, _ = restore_state(out, trained, optimizer)
    torch.manual_seed(settings.seed)
    bar = progress_bar(settings.steps, "towers", initial=start)
    stopped = False
    for step in range(start, settings.steps):
        if should_stop is not None and should_stop():
            save_state(out, trained, optimizer, step, asdict(settings), None)
            stopped = True
            break
        for group in optimizer.param_groups:
            group["lr"] = settings.lr * warmup_decay(step, settings.warmup_steps, settings.steps)
        clip, aux, target = source.batch(step * settings.batch_size, settings.batch_size)
        with torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=settings.bf16):
            logits = probe(model.visual_tokens(clip, aux))
        loss = F.binary_cross_entropy_with_logits(logits.float(), target.to(model.device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)  # shown at update's refresh
        bar.update(1)
        if on_progress is not None:
            on_progress(step + 1, settings.steps, loss.item())
        if (step + 1) % settings.save_every == 0 and step + 1 < settings.steps:
            save_state(out, trained, optimizer, step + 1, asdict(settings), None)
    bar.close()
    metrics = evaluate_probe(model, probe, held_out, settings.eval_scenes) | {"settings": asdict(settings)}
    if stopped:
        return metrics
    out.mkdir(parents=True, exist_ok=True)
    (out / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n")
    _save_towers(model, out / WEIGHTS_FILE)  # last: its presence means finished
    shutil.rmtree(out / STATE_DIR, ignore_errors=True)
    return metrics


@torch.no_grad()
def evaluate_probe(model, probe: nn.Module, source: CoverageSource, scenes: int) -> dict:
    """Held-out BCE, and the F1 of "this patch holds this attribute" (coverage >= PRESENT)."""
    clip, aux, target = source.batch(0, scenes)
    target = target.to(model.device)
    logits = probe(model.visual_tokens(clip, aux)).float()
    predicted, present = logits.sigmoid() >= PRESENT, target >= PRESENT
    hits = (predicted & present).sum().item()
    f1 = 2 * hits / max(1, predicted.sum().item() + present.sum().item())
    return {"bce": F.binary_cross_entropy_with_logits(logits, target).item(), "f1": f1}


def _tower_state(model) -> dict[str, torch.Tensor]:
    return {f"{name}.{key}": value for name in TOWERS for key, value in getattr(model, name).state_dict().items()}


def _save_towers(model, path: Path) -> None:
    from safetensors.torch import save_file

    tmp = path.with_suffix(".tmp")
    save_file({k: v.detach().contiguous().cpu() for k, v in _tower_state(model).items()}, str(tmp))
    tmp.rename(path)  # atomic: a kill never leaves a half-written file that looks finished


def load_towers(model, path: str | Path) -> None:
    """Put a pre-training's towers.safetensors into `model`; a clear error if they do not fit."""
    from safetensors.torch import load_file

    saved = load_file(str(path), device=str(model.device))
    shapes = {key: tuple(value.shape) for key, value in _tower_state(model).items()}
    differing = sorted(set(shapes.items()) ^ {(key, tuple(value.shape)) for key, value in saved.items()})
    if differing:
        raise CheckpointError(f"{path} holds other towers than this model's (e.g. {differing[0][0]}); "
                              "delete its folder to pre-train them again")
    model.load_state_dict(saved, strict=False)

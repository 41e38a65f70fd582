"""The training loop: short enough to read in one sitting (nanoGPT's lesson)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import torch

from miras.checkpoint import save_pretrained
from miras.metrics import MaskMeter
from miras.progress import progress_bar
from miras.trainable import apply_policy, merge_lora
from miras.training.batches import step_batches
from miras.training.compiled import compiled
from miras.training.data import item_key
from miras.training.distributed import Distributed
from miras.training.feature_cache import CachedBatch, FeatureCache, compute_item
from miras.training.precision import use_bf16
from miras.training.schedule import lr_factor
from miras.training.settings import TrainSettings
from miras.training.state import check_resumable, restore_state, save_state

LOG_FILE = "train-log.jsonl"
METRICS_FILE = "metrics.json"
Progress = Callable[[int, int, dict], None]


def uses_feature_cache(settings: TrainSettings) -> bool:
    """Only stage 2 with towers and LLM frozen can run on cached features."""
    return settings.stage == 2 and settings.policy == "paper" and settings.feature_cache


def train(
    model,
    source,
    settings: TrainSettings,
    out: str | Path,
    *,
    eval_source=None,
    cache_dir: str | Path | None = None,
    device: str | None = None,
    on_progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict:
    """Train `model` on `source` for `settings.max_steps` optimiser steps, resuming from `out`.

    Writes `out/train-state/` every `save_every` steps and, at the end, the model itself
    (config, tokenizer, weights) and `metrics.json` to `out`. Returns the last metrics.
    """
    out = Path(out)
    with _loss_weights(model, settings), compiled(model, settings.compile):
        metrics, dist = _train(model, source, settings, out, eval_source, cache_dir, device, on_progress, should_stop)
    if dist.is_main:  # after the run's loss weights are undone, so config.json keeps the model's
        merge_lora(model)
        save_pretrained(model.eval(), out)
        (out / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n")
    dist.barrier()
    dist.close()
    return metrics


def make_optimizer(params: list[torch.nn.Parameter], settings: TrainSettings) -> torch.optim.Optimizer:
    """AdamW, fused into one kernel per step where torch has one for these parameters' device
    (CPU and CUDA): a stage-2 step on cached features is small enough for the per-parameter
    update loop to show."""
    fused = all(p.device.type in ("cpu", "cuda") and p.dtype.is_floating_point for p in params)
    return torch.optim.AdamW(params, lr=settings.lr, betas=settings.betas, weight_decay=settings.weight_decay,
                             fused=fused or None)


def _train(model, source, settings, out, eval_source, cache_dir, device, on_progress, should_stop):
    """The loop itself; returns the last metrics and the process group (closed by `train`)."""
    out.mkdir(parents=True, exist_ok=True)
    check_resumable(out, settings.to_dict())
    dist = Distributed.from_env(device)
    # What runs is what the saved state records: float32 where bf16 would only be emulated.
    settings = dataclasses.replace(settings, bf16=use_bf16(settings.bf16, dist.device))
    torch.manual_seed(settings.seed)
    apply_policy(model, settings.policy)
    model.to(dist.device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_optimizer(params, settings)
    step, best = restore_state(out, model, optimizer)
    cache = None
    if uses_feature_cache(settings):
        cache = FeatureCache(cache_dir or out / "feature-cache", model, source.signature())
    net = dist.wrap(model)
    eval_items = _eval_items(eval_source, settings.eval_samples) if dist.is_main else []
    metrics: dict = {}
    bar = progress_bar(settings.max_steps, f"stage {settings.stage}", initial=step, disable=not dist.is_main)
    batches = _batches(model, source, settings, step, dist, cache)
    while step < settings.max_steps and not (should_stop and should_stop()):
        record = _step(net, optimizer, params, next(batches), settings, step, dist)
        step += 1
        if dist.is_main:
            _log(out, record)
            # Shown at the next update's refresh, which keeps to the bar's interval.
            bar.set_postfix(loss=f"{record['loss']:.3f}", lr=f"{record['lr']:.1e}", refresh=False)
            bar.update(1)
        if eval_items and settings.eval_every and step % settings.eval_every == 0:
            metrics = evaluate_masks(model, eval_items, cache) | {"step": step}
            _log(out, {"eval": metrics})
            model.train()
        if on_progress is not None and dist.is_main:
            on_progress(step, settings.max_steps, record | {"eval": metrics})
        if settings.save_every and step % settings.save_every == 0:
            if dist.is_main:
                save_state(out, model, optimizer, step, settings.to_dict(), best)
            dist.barrier()
    bar.close()
    if dist.is_main:
        save_state(out, model, optimizer, step, settings.to_dict(), best)
        if eval_items:
            metrics = evaluate_masks(model, eval_items, cache) | {"step": step}
    return metrics, dist


def _batches(model, source, settings, start, dist, cache):
    """This process's batch of each step from `start` on."""
    steps = (dist.shard(source.indices(s, settings.batch_size, settings.seed)) for s in range(start, settings.max_steps))
    if cache:
        return (_cached_batch(cache, source, indices, dist.device) for indices in steps)
    return step_batches(model, source, steps, settings.workers)


def _step(net, optimizer, params, batch, settings, step, dist) -> dict:
    lr = settings.lr * lr_factor(step, settings)
    for group in optimizer.param_groups:
        group["lr"] = lr
    with torch.autocast(dist.device.type, dtype=torch.bfloat16, enabled=settings.bf16):
        loss = net(batch)
    optimizer.zero_grad(set_to_none=True)
    loss.loss.backward()
    if settings.grad_clip:
        torch.nn.utils.clip_grad_norm_(params, settings.grad_clip)
    optimizer.step()
    values = {key: float(getattr(loss, key).detach()) for key in ("loss", "ce", "bce", "dice", "iou")}
    return {"step": step + 1, "lr": lr} | {key: dist.mean(v) for key, v in values.items()}


def _cached_batch(cache: FeatureCache, source, indices: list[int], device) -> CachedBatch:
    """The step's entries by key: items (pixels) are made only for entries not cached yet."""
    return CachedBatch([cache.lookup(item_key(source, i), lambda i=i: source.item(i)).to(device) for i in indices])


@contextlib.contextmanager
def _loss_weights(model, settings: TrainSettings):
    """The run's loss weights, for this run only: the saved config keeps the model's own."""
    original = dataclasses.replace(model.config.loss)
    for name in ("ce", "bce", "dice"):
        value = getattr(settings, f"{name}_weight")
        if value is not None:
            setattr(model.config.loss, name, value)
    try:
        yield
    finally:
        model.config.loss = original


def _eval_items(source, count: int) -> list:
    if source is None or count <= 0:
        return []
    n = min(count, len(source)) if hasattr(source, "__len__") else count
    return [source.item(i) for i in range(n)]


@torch.no_grad()
def evaluate_masks(model, items, cache: FeatureCache | None = None) -> dict:
    """Teacher-forced mask quality (the GT dialogue in, the [SEG] mask out): cIoU, gIoU, ..."""
    model.eval()
    # Eager even inside a compiled run: a few dozen forward passes would not repay compiling
    # their inference graphs.
    with torch.compiler.set_stance("force_eager"):
        return _evaluate_masks(model, items, cache)


def _evaluate_masks(model, items, cache: FeatureCache | None) -> dict:
    meter = MaskMeter()
    for item in items:
        c = cache.get(item) if cache else compute_item(model, item.image, item.turns, item.masks)
        c = c.to(model.device)
        prompts = model.seg_prompts(c.hidden, c.ids)
        size = tuple(c.masks.shape[-2:])
        masks, _ = model.predict_masks(c.sam_embedding[None], prompts, c.input_size, size)
        for predicted, target in zip(masks, c.masks):
            meter.update(predicted.cpu().numpy(), target.cpu().numpy() > 0.5)
    return meter.compute()


def _log(out: Path, record: dict) -> None:
    with open(out / LOG_FILE, "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")

"""Retrain: fine-tune the current version on curated corrections; promote it only if better.

    with the registry lock:
        parent = current version (or --base copied in as v0001)
        train on the store's curated samples (minus the held-out share) + a replay share,
            stage 2, towers and LLM frozen, on cached features
        judge parent and child on the same data (--eval DIR, else the held-out share less
            what the parent's line trained on)
        file the child as a new version (weights, config, metrics.json, lineage.json)
        promote it if cIoU(child) > cIoU(parent) + margin and the parent is still current;
            ties, regressions and a rollback made meanwhile keep `current`

Under torchrun, rank 0 does all of the above and the other ranks only join the training steps
(ranks.py). Training happens in a staging folder inside the registry that becomes a version by
one rename, and `current` changes by one os.replace: an exception, Ctrl-C or a kill at any point
leaves `current` and every existing version as they were (a killed run's staging folder is
removed by the next retrain).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from active_learning import ranks
from active_learning.errors import (
    LoopError,
    NoEvaluationDataError,
    NothingToTrainError,
    RetrainInterrupted,
)
from active_learning.evaluation import eval_items, eval_source, mask_figures, split
from active_learning.registry import LINEAGE, METRICS, Registry, now_iso
from active_learning.sources import ReplaySource, StoreSource, trainable
from miras.jsonsafe import jsonable

# Kept in a version: what `miras.load` needs, the metrics and lineage, and the training log.
_DROP_AFTER_TRAINING = ("train-state", "train-state.old", "feature-cache")


@dataclass
class RetrainSettings:
    steps: int = 200
    batch_size: int = 4
    lr: float = 3e-4
    warmup_steps: int = 10
    seed: int = 0
    margin: float = 0.005  # cIoU the child must gain over its parent to be promoted
    heldout_share: float = 0.2  # of curated samples, when there is no --eval folder
    replay_share: float = 0.25  # of each batch, when there is replay data
    eval_limit: int | None = 64  # evaluation items at most
    replay_limit: int = 16  # dialogues replayed turn by turn as the regression check (0: none)

    def __post_init__(self) -> None:
        if not self.margin >= 0:  # NaN too
            raise LoopError(f"--margin must be >= 0, got {self.margin}: a negative margin "
                            "promotes a child that judges worse than its parent")

    def train_settings(self):
        from miras.training.settings import TrainSettings

        return TrainSettings(
            stage=2, policy="paper", max_steps=self.steps, batch_size=self.batch_size,
            lr=self.lr, warmup_steps=min(self.warmup_steps, self.steps), eval_every=0,
            eval_samples=0, save_every=0, seed=self.seed, feature_cache=True,
        )


def retrain(
    store,
    registry: Registry,
    *,
    settings: RetrainSettings | None = None,
    eval_dir: str | Path | None = None,
    base: str | None = None,
    replay_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    on_progress: Callable[[int, int, dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Run one retrain (see the module docstring); a JSON-ready report."""
    settings = settings or RetrainSettings()
    if not ranks.is_leader():
        return _follow(store, registry, cache_dir)
    start = time.perf_counter()
    plan = _Plan()
    try:
        report = _lead(store, registry, settings, eval_dir, base, replay_dir, cache_dir,
                       on_progress, should_stop, plan)
    finally:
        plan.cancel()  # the others wait for a plan: tell them there is none
    report["seconds"] = round(time.perf_counter() - start, 2)
    return report


def _lead(store, registry, settings, eval_dir, base, replay_dir, cache_dir, on_progress,
          should_stop, plan) -> dict[str, Any]:
    if settings.batch_size % ranks.world_size():
        raise LoopError(f"--batch-size {settings.batch_size} does not split evenly over "
                        f"{ranks.world_size()} processes; make it a multiple")
    with registry.lock():
        registry.clean_staging()
        # Cheap checks first: a misconfigured registry, or a scheduled run on a store with
        # nothing to learn, ends here, before torch is imported.
        if registry.current is None and base is None:
            registry.current_path()  # raises: says to pass --base
        curated = [r for r in store.samples(status="curated") if trainable(r)]
        train_records, held = (curated, []) if eval_dir else split(curated, settings.heldout_share)
        if not train_records:
            raise NothingToTrainError(
                f"{store.where} has no curated sample to train on ({len(curated)} curated with a "
                "[SEG] answer, held-out ones excluded); curate corrections first"
            )
        if registry.current is None:
            registry.init(base)
        unseen = unseen_by_ancestry(registry, registry.current, held)
        if held and not unseen:
            raise NoEvaluationDataError(
                f"all {len(held)} held-out samples were trained on by {registry.current} or a "
                "version before it (a retrain with --eval trains on every curated sample); "
                "pass --eval DIR, or curate more samples"
            )
        held = unseen
        return _retrain_locked(store, registry, settings, train_records, held, eval_dir,
                               replay_dir, Path(cache_dir or registry.feature_cache),
                               on_progress, should_stop, plan)


def _retrain_locked(store, registry, settings, train_records, held, eval_dir, replay_dir,
                    cache_dir, on_progress, should_stop, plan) -> dict[str, Any]:
    from miras.checkpoint import from_pretrained

    parent = registry.current
    judge, judge_name = eval_source(eval_dir, store, held)
    items = eval_items(judge, settings.eval_limit)
    model = from_pretrained(registry.path(parent), device=ranks.device())
    before = mask_figures(model, items, cache_dir, judge.signature())
    checked = held or train_records  # replay on unseen samples when there are any
    replay_before = _replay(model, checked, settings.replay_limit)
    source = _training_source(store, train_records, replay_dir, settings.replay_share)
    with registry.staging() as folder:
        plan.send({"folder": str(folder), "parent": parent, "cache_dir": str(cache_dir),
                   "samples": [r.sample_id for r in train_records],
                   "replay_dir": None if replay_dir is None else str(replay_dir),
                   "settings": dataclasses.asdict(settings)})
        _train(model, source, settings, folder, cache_dir, on_progress, should_stop)
        after = mask_figures(model, items, cache_dir, judge.signature())
        promoted = _better(after, before, settings.margin)
        report = {
            "promoted": promoted, "parent": parent, "before": before, "after": after,
            "margin": settings.margin, "eval": {"source": judge_name, "n": len(items)},
            "trained_on": len(train_records), "heldout": len(held),
            "replay": None if replay_before is None else {
                "before": replay_before, "after": _replay(model, checked, settings.replay_limit),
                "n": replay_before["n"]},
            "replay_data": None if replay_dir is None else {"dir": str(replay_dir),
                                                            "share": settings.replay_share},
        }
        _write_version_files(folder, report, train_records, held, settings)
        report["version"] = registry.add(folder)
    if promoted and not registry.promote(report["version"], replacing=parent):
        # Someone rolled back (or promoted) while this run trained: their choice stands.
        report["promoted"] = False
        report["note"] = (f"current changed from {parent} to {registry.current} during the "
                          f"retrain; {report['version']} was filed, not promoted")
    report["current"] = registry.current
    return report


class _Plan:
    """What the leader tells the other ranks; sent once (or cancelled), only under torchrun."""

    def __init__(self) -> None:
        self.sent = ranks.world_size() == 1

    def send(self, plan: dict[str, Any] | None) -> None:
        if not self.sent:
            self.sent = True
            ranks.share(plan)

    def cancel(self) -> None:
        self.send(None)


def _follow(store, registry: Registry, cache_dir) -> dict[str, Any]:
    """A rank other than 0: train what the leader says, into the leader's staging folder."""
    from miras.checkpoint import from_pretrained
    from miras.training.loop import train

    plan = ranks.share()
    if plan is None:
        return {"follower": ranks.rank(), "trained": False}
    settings = RetrainSettings(**plan["settings"])
    records = [store.get(sample_id) for sample_id in plan["samples"]]
    model = from_pretrained(registry.path(plan["parent"]), device=ranks.device())
    source = _training_source(store, records, plan["replay_dir"], settings.replay_share)
    train(model, source, settings.train_settings(), Path(plan["folder"]),
          cache_dir=Path(plan["cache_dir"]))
    return {"follower": ranks.rank(), "trained": True}


def _training_source(store, records, replay_dir, share: float):
    source = StoreSource(store, records)
    if replay_dir is None or share <= 0:
        return source
    from miras.training.data import PristSource

    return ReplaySource(source, PristSource(replay_dir, stage=2), share)


def _train(model, source, settings, folder, cache_dir, on_progress, should_stop) -> None:
    from miras.training.loop import train

    stopped = []

    def stop() -> bool:
        if should_stop is not None and should_stop():
            stopped.append(True)
        return bool(stopped)

    train(model, source, settings.train_settings(), folder, cache_dir=cache_dir,
          on_progress=on_progress, should_stop=stop)
    if stopped:
        raise RetrainInterrupted("the retrain was asked to stop; current is unchanged")
    for name in _DROP_AFTER_TRAINING:
        shutil.rmtree(folder / name, ignore_errors=True)


def _replay(model, records, limit: int) -> dict[str, Any] | None:
    if limit <= 0:
        return None
    from active_learning.replay import replay_records

    return replay_records(model, records, limit=limit)


def _better(after: dict, before: dict, margin: float) -> bool:
    # NaN compares False: a child that cannot be judged is never promoted.
    return bool(after["ciou"] > before["ciou"] + margin)


def _write_version_files(folder: Path, report, train_records, held, settings) -> None:
    metrics = {**report["after"], "eval": report["eval"]["source"], "parent_ciou":
               report["before"]["ciou"], "replay": report["replay"]}
    lineage = {
        "parent": report["parent"], "created": now_iso(),
        "samples": sorted(r.sample_id for r in train_records),
        "heldout": sorted(r.sample_id for r in held),
        "eval": report["eval"], "replay_data": report["replay_data"],
        "settings": dataclasses.asdict(settings),
        "decision": {"promoted": report["promoted"], "before_ciou": report["before"]["ciou"],
                     "after_ciou": report["after"]["ciou"], "margin": settings.margin},
    }
    for name, value in ((METRICS, metrics), (LINEAGE, lineage)):
        (folder / name).write_text(json.dumps(jsonable(value), indent=2) + "\n", encoding="utf-8")


def trained_sample_ids(registry: Registry) -> set[str]:
    """Every sample some version trained on or was judged on."""
    seen: set[str] = set()
    for version in registry.versions():
        lineage = registry.read_json(version, LINEAGE)
        seen.update(lineage.get("samples", []), lineage.get("heldout", []))
    return seen


def ancestry_samples(registry: Registry, version: str | None) -> set[str]:
    """The samples `version` and every version it descends from trained on."""
    trained: set[str] = set()
    while version is not None:
        lineage = registry.read_json(version, LINEAGE)
        trained.update(lineage.get("samples", []))
        version = lineage.get("parent")
    return trained


def unseen_by_ancestry(registry: Registry, version: str | None, records) -> list:
    """`records` less those `version` or its ancestors trained on: a parent judged on its own
    training data would look better than it is (an earlier run with --eval trains on them all)."""
    trained = ancestry_samples(registry, version)
    return [r for r in records if r.sample_id not in trained]


def new_curated(store, registry: Registry) -> int:
    """Trainable curated samples no version has seen yet (what `schedule` counts): one that
    cannot train (no [SEG] answer) would never be seen, and retrain again every interval."""
    seen = trained_sample_ids(registry)
    return sum(1 for r in store.samples(status="curated")
               if r.sample_id not in seen and trainable(r))

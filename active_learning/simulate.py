"""Simulate: an active-learning run with the ground truth as the annotator; the learning curve.

    split DIR by image: a fixed held-out set (by a hash of img_id: the same for every strategy
    and seed) and an unlabeled pool (the rest, shuffled by the seed, at most `pool` dialogues)
    put the pool in a scratch store as `proposed` samples, proposals by the starting model
    point 0: the starting model on the held-out set
    each round:
        score the pool with the latest model (as much as the strategy needs)
        take `per_round` items from the queue (strategy, leases: the real path)
        "correct" them with the ground-truth mask, curate them
        train stage 2 from the *starting* model on everything labeled so far
        point: that model on the held-out set

Every round starts training from the same model, so the curve compares data, not training time.
The curve has rounds + 1 points. Figures are teacher-forced mask figures (cIoU, gIoU, ...).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from active_learning.errors import SimulationError
from active_learning.strategies import get_strategy

ANNOTATOR = "simulated-annotator"


@dataclass
class SimulationSettings:
    rounds: int = 3
    per_round: int = 4
    seed: int = 0
    # Defaults sized for the demo model on a laptop CPU: a few minutes (see the report).
    pool: int = 16  # unlabeled dialogues at most
    heldout: int = 8  # held-out dialogues (at least; whole images)
    steps: int = 30  # training steps per round
    batch_size: int = 4
    lr: float = 3e-4
    paraphrases: int = 1  # per item, when the strategy ranks by uncertainty
    max_new_tokens: int | None = None  # per reply while probing; None: the model's limit

    def check(self) -> None:
        if self.rounds < 1 or self.per_round < 1 or self.heldout < 1 or self.pool < 1:
            raise SimulationError("--rounds, --per-round, --heldout and --pool must be >= 1")
        if self.rounds * self.per_round > self.pool:
            raise SimulationError(
                f"{self.rounds} rounds of {self.per_round} need {self.rounds * self.per_round} "
                f"pool items, but --pool is {self.pool}"
            )


@dataclass
class _Split:
    pool: list  # (index, PristSample)
    heldout: list


def split_data(samples: list, heldout: int, pool: int, seed: int) -> _Split:
    """Held-out: whole images in the order of a hash of their img_id, until `heldout`
    dialogues; pool: the other dialogues, shuffled by `seed`, at most `pool`."""
    images = sorted({s.img_id for s in samples},
                    key=lambda i: hashlib.sha256(i.encode("utf-8")).hexdigest())
    held_images: set[str] = set()
    count = 0
    for img_id in images:
        if count >= heldout:
            break
        held_images.add(img_id)
        count += sum(1 for s in samples if s.img_id == img_id)
    indexed = list(enumerate(samples))
    held = [(i, s) for i, s in indexed if s.img_id in held_images]
    rest = [(i, s) for i, s in indexed if s.img_id not in held_images]
    order = np.random.default_rng(seed).permutation(len(rest))
    return _Split(pool=[rest[k] for k in order[:pool]], heldout=held)


def simulate(
    data: str | Path,
    model: str | Path,
    strategy: str,
    settings: SimulationSettings | None = None,
    *,
    work: str | Path | None = None,
    on_point: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run the simulation (module docstring); {"curve": [...], ...}, JSON-ready."""
    settings = settings or SimulationSettings()
    settings.check()
    chooser = get_strategy(strategy)
    if work is None:
        with tempfile.TemporaryDirectory(prefix="miras-al-simulate-") as scratch:
            return _run(Path(data), model, chooser, settings, Path(scratch), on_point)
    if (Path(work) / "pool.zarr").exists():
        # Its samples and scores would mix with this run's (the old truth is not kept).
        raise SimulationError(f"{work} holds an earlier simulation (pool.zarr); give --work a "
                              "new folder, or delete that one")
    return _run(Path(data), model, chooser, settings, Path(work), on_point)


def _run(data, model_spec, chooser, settings, work, on_point) -> dict[str, Any]:
    from miras.prist import read_prist
    from miras.training.data import SEG

    samples = [s for s in read_prist(data) if sum(t.text.count(SEG) for t in s.dialogue) == 1]
    split = split_data(samples, settings.heldout, settings.pool, settings.seed)
    if len(split.pool) < settings.rounds * settings.per_round:
        raise SimulationError(
            f"{data} leaves {len(split.pool)} pool dialogues after the held-out set; the rounds "
            f"need {settings.rounds * settings.per_round}: lower --rounds or --per-round"
        )
    start = _starting_checkpoint(model_spec, work)
    world = _World(data, split, start, work, settings, chooser.needs)
    curve = [world.point(0, world.model)]
    if on_point:
        on_point(curve[-1])
    for round_ in range(1, settings.rounds + 1):
        world.score(chooser.needs, version=f"round-{round_ - 1}")
        world.label(chooser.name, settings.per_round, seed=settings.seed + round_)
        curve.append(world.point(round_, world.train(round_)))
        if on_point:
            on_point(curve[-1])
    return {"strategy": chooser.name, "data": str(data), "model": str(model_spec),
            "pool": len(split.pool), "heldout": len(split.heldout),
            "settings": asdict(settings), "curve": curve}


def _starting_checkpoint(model_spec, work: Path) -> Path:
    """A checkpoint folder to restart every round from ("tiny" is saved once into `work`)."""
    from miras.checkpoint import build, resolve, save_pretrained

    if str(model_spec) == "tiny":
        return save_pretrained(build("tiny", seed=0), work / "start")
    return resolve(model_spec)


class _World:
    """The scratch store, the ground truth and the models of one simulation."""

    def __init__(self, data: Path, split: _Split, start: Path, work: Path, settings,
                 needs: str) -> None:
        from active_learning.store import open_store

        self.data, self.split, self.start, self.work = data, split, start, work
        self.settings = settings
        self.cache = work / "feature-cache"
        self.store = open_store(work / "pool.zarr")
        self.truth: dict[str, np.ndarray] = {}
        self.model = self.start_model()
        self.heldout_items = [self._item(s) for _, s in split.heldout]
        self._fill_pool(needs)

    def start_model(self):
        from active_learning.ranks import device
        from miras.checkpoint import from_pretrained

        return from_pretrained(self.start, device=device())

    def _item(self, sample):
        from miras.prist import load_annotation, load_image
        from miras.training.data import item_from

        annotation = load_annotation(self.data, sample.img_id)
        image = load_image(self.data, sample.img_id)
        key = "sim-" + hashlib.sha256(repr(sample.to_json()).encode()).hexdigest()[:24]
        return item_from(sample, image, annotation, 2, key)  # its mask: the focus mask

    def _fill_pool(self, needs: str) -> None:
        """Every pool dialogue as a proposed sample. When the strategy ranks by scores, the
        proposal is the starting model's mask and its scores are stored on the way; otherwise
        the model is asked only what the strategy needs (features, or nothing) and the proposal
        is empty: proposals only feed the effort figures, never the curve."""
        from active_learning.scores import ItemScores, ScoreBook
        from active_learning.scoring import Scorer, ScoreSettings

        scorer = Scorer(self.model, "round-0", ScoreSettings(self.settings.paraphrases,
                                                              self.settings.max_new_tokens))
        book = ScoreBook.of(self.store)
        for _, sample in self.split.pool:
            item = self._item(sample)
            dialogue = sample.to_json()["dialogue"]
            proposal, scores = np.zeros(item.masks[0].shape, bool), None
            if needs == "scores":
                chat = scorer.chat(item.image)
                probe = scorer.probe(chat, dialogue, chat.image_features())
                proposal = probe.mask if probe.mask is not None else proposal
                scores = probe.scores
            elif needs == "features":
                scores = ItemScores("round-0", kind="features",
                                    features=scorer.chat(item.image).image_features())
            sid = self.store.add_sample(
                image=item.image, dialogue=dialogue, focus=sample.focus, proposal=proposal,
                model_version="round-0" if needs == "scores" else None,
                score=None if scores is None else scores.predicted_iou)
            if scores is not None:
                book.put(sid, scores)
            self.truth[sid] = item.masks[0]

    def score(self, needs: str, version: str) -> None:
        from active_learning.scoring import ScoreSettings, score_store

        if needs == "nothing" or version == "round-0":  # round 0 was scored with the proposals
            return
        score_store(self.store, self.model, version, features_only=needs == "features",
                    settings=ScoreSettings(self.settings.paraphrases, self.settings.max_new_tokens))

    def label(self, strategy: str, k: int, seed: int) -> None:
        from active_learning.queue import next_items

        for item in next_items(self.store, strategy, k, ANNOTATOR, seed=seed):
            self.store.set_correction(item.sample_id, self.truth[item.sample_id],
                                      annotator=ANNOTATOR)
            self.store.set_status(item.sample_id, "curated")

    def train(self, round_: int):
        from active_learning.sources import StoreSource
        from miras.training.loop import train
        from miras.training.settings import TrainSettings

        model = self.start_model()
        s = self.settings
        settings = TrainSettings(stage=2, policy="paper", max_steps=s.steps,
                                 batch_size=s.batch_size, lr=s.lr,
                                 warmup_steps=min(10, s.steps // 4), eval_every=0,
                                 eval_samples=0, save_every=0, seed=s.seed)
        source = StoreSource(self.store, self.store.samples(status="curated"))
        train(model, source, settings, self.work / f"round-{round_}", cache_dir=self.cache)
        self.model = model
        return model

    def point(self, round_: int, model) -> dict[str, Any]:
        from active_learning.evaluation import mask_figures

        figures = mask_figures(model, self.heldout_items, self.cache, "simulate-heldout")
        return {"round": round_, "labeled": self.store.counts()["curated"], **figures}

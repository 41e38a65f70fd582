"""Run settings of one training job, saved beside its checkpoints."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from miras.errors import ConfigError

STAGES = (0, 1, 2)


@dataclass
class TrainSettings:
    """What a training run does. Stage 0 trains everything from scratch (our demo recipe);
    stage 1 is mask-text alignment on single requests; stage 2 is instruction tuning on dialogues."""

    stage: int = 2
    policy: str = "paper"  # see miras.trainable
    max_steps: int = 1000
    batch_size: int = 8  # global: split across processes under torchrun
    lr: float = 3e-4
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.95)
    warmup_steps: int = 100
    schedule: str = "cosine"  # or "linear" (the authors' WarmupDecayLR)
    min_lr_ratio: float = 0.05
    grad_clip: float = 1.0
    eval_every: int = 200
    eval_samples: int = 64
    save_every: int = 200
    seed: int = 0
    bf16: bool = False  # autocast (miras.training.precision: float32 where bf16 is emulated)
    compile: bool = False  # torch.compile the parts for the run: faster steps after minutes (miras.training.compiled)
    feature_cache: bool = True  # stage 2 with the `paper` policy runs on cached features
    workers: int = 0  # DataLoader processes making the coming steps' batches (0: made at each step)
    ce_weight: float | None = None  # overrides the config's loss weights when set
    bce_weight: float | None = None
    dice_weight: float | None = None

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ConfigError(f"stage must be one of {STAGES}, got {self.stage}")
        if self.schedule not in ("cosine", "linear"):
            raise ConfigError(f"schedule must be 'cosine' or 'linear', got {self.schedule!r}")
        if self.batch_size < 1 or self.max_steps < 0:
            raise ConfigError("batch_size must be >= 1 and max_steps >= 0")
        if self.workers < 0:
            raise ConfigError(f"workers must be >= 0 (0 makes each batch in the training process), got {self.workers}")
        self.betas = tuple(self.betas)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

"""Synthetic PRIST: scenes and dialogues in memory, or written to disk in the PRIST layout.

Image k of a data set is drawn from its own child seed (seed, domain, size, k), so the first 10
images of `--n 20` are the 10 images of `--n 10`, and one seed always gives the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from miras.errors import ConfigError
from miras.prist import PristSample, annotation_for, write_prist
from miras.synth.dialogue import Dialogue, make_dialogues
from miras.synth.domain import DOMAIN_NAMES, get_domain
from miras.synth.polygons import scene_shapes
from miras.synth.scene import Scene, make_scene

DIALOGUES_PER_IMAGE, DIALOGUE_COUNT_WEIGHTS = (1, 2, 3), (0.1, 0.2, 0.7)  # PRIST has 3
SHORT_SHARE = 0.2  # single-request dialogues, for learning grounding
MIN_SIZE = 48  # below this the thin parts (poles, handles) vanish
WRITE_CHUNK = 256  # images held in memory before they are written

Progress = Callable[[int, int], None]


def generate_scene(
    rng: np.random.Generator,
    domain: str = "base",
    size: int = 128,
    img_id: str = "synthetic.png",
    obj_answer_share: float = 0.5,
) -> tuple[Scene, list[Dialogue]]:
    """One scene and 1-3 dialogues about it, with how each dialogue was made."""
    _check(domain, size, obj_answer_share)
    scene = make_scene(rng, get_domain(domain), size)
    count = int(rng.choice(DIALOGUES_PER_IMAGE, p=DIALOGUE_COUNT_WEIGHTS))
    dialogues = make_dialogues(rng, scene, img_id, count, obj_answer_share, SHORT_SHARE)
    return scene, dialogues


def generate_sample(
    rng: np.random.Generator,
    domain: str = "base",
    size: int = 128,
    img_id: str = "synthetic.png",
    obj_answer_share: float = 0.5,
) -> tuple[np.ndarray, dict[str, Any], list[PristSample]]:
    """(image uint8 (H, W, 3), labelme annotation, PRIST samples) of one new scene."""
    scene, dialogues = generate_scene(rng, domain, size, img_id, obj_answer_share)
    return scene.image, annotation_of(scene, img_id), [d.sample for d in dialogues]


def annotation_of(scene: Scene, img_id: str) -> dict[str, Any]:
    """The labelme dict of a scene: one polygon (or a few) per visible part."""
    return annotation_for(
        scene_shapes(scene), scene.size, scene.size, image_path=f"../images/{img_id}"
    )


def image_rng(seed: int, domain: str, size: int, index: int) -> np.random.Generator:
    """The generator of image `index`: independent of how many images are made."""
    domain_code = DOMAIN_NAMES.index(domain)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(domain_code, size, index)))


def image_id(seed: int, domain: str, size: int, index: int) -> str:
    """16 hex characters (as PRIST's ids) that name image `index` of this data set, plus .png."""
    digest = hashlib.blake2b(f"miras-synth:{seed}:{domain}:{size}:{index}".encode(), digest_size=8)
    return f"{digest.hexdigest()}.png"


def generate(
    out: Path,
    n: int,
    seed: int,
    domain: str = "base",
    size: int = 128,
    obj_answer_share: float = 0.5,
    on_progress: Progress | None = None,
) -> Path:
    """Write `n` images with 1-3 dialogues each to `out` in the PRIST layout; return `out`.

    prist.json is written last, once every image and mask it names is on disk.
    """
    if n < 1:
        raise ConfigError(f"--n must be at least 1, got {n}")
    _check(domain, size, obj_answer_share)
    out = Path(out)
    samples: list[PristSample] = []
    images: dict[str, np.ndarray] = {}
    annotations: dict[str, dict[str, Any]] = {}
    for index in range(n):
        img_id = image_id(seed, domain, size, index)
        rng = image_rng(seed, domain, size, index)
        scene, dialogues = generate_scene(rng, domain, size, img_id, obj_answer_share)
        images[img_id], annotations[img_id] = scene.image, annotation_of(scene, img_id)
        samples.extend(d.sample for d in dialogues)
        if len(images) == WRITE_CHUNK or index == n - 1:
            # Only images and masks here (an empty prist.json until the end): memory stays flat.
            write_prist(out, (), images, annotations)
            images.clear()
            annotations.clear()
        if on_progress is not None:
            on_progress(index + 1, n)
    write_prist(out, samples)
    return out


def _check(domain: str, size: int, obj_answer_share: float) -> None:
    get_domain(domain)
    if size < MIN_SIZE:
        raise ConfigError(f"--size must be at least {MIN_SIZE} pixels, got {size}")
    if not 0.0 <= obj_answer_share <= 1.0:
        raise ConfigError(f"obj_answer_share must be in [0, 1], got {obj_answer_share}")

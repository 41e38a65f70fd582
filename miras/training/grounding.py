"""Image-first lessons for an LLM trained from scratch: questions only the pixels can answer.

Trained straight on dialogues, the demo LLM learns the text's priors and never reads the image
(the answers' loss with the own image equals that with another, benchmarks/image_use.py). Two
lessons first make it look:
  1. `SolidColourSource`: a picture of one colour, "What colour is the picture?";
  2. `NamedColourSource`: "Please segment the {kind}." for a kind that occurs once in a synthetic
     scene, answered with its colour, which only the image holds.
A third, `CaptionSource`, asks for every object of a scene ("Which things are visible here?"), as
LLaVA's captions align a projector: with pre-trained towers kept frozen, it is the first lesson
measured to carry into the dialogues (docs/demo-model-log.md, session 7).
All three are endless train-loop sources (`item`, `indices`, `signature`), deterministic per
(seed, index). The bundled recipe (`miras demo-train`) runs the captions; `--image-lessons` runs
the first two instead (DemoRecipe says why).
"""

from __future__ import annotations

import numpy as np

from miras.synth.domain import get_domain
from miras.synth.scene import Scene, make_scene
from miras.synth.wording import overview
from miras.training.data import EndlessSource, Item

MIN_AREA_128 = 60  # pixels at 128 px: smaller objects are a few blurred dots


class SolidColourSource(EndlessSource):
    """Noisy one-colour pictures; the answer names the colour and masks the whole picture."""

    def __init__(self, seed: int = 0, domain: str = "base", size: int = 128, noise: float = 10.0) -> None:
        self.seed, self.domain, self.size, self.noise = seed, domain, size, noise
        self.colours = dict(get_domain(domain).colours)

    def item(self, index: int) -> Item:
        rng = np.random.default_rng([self.seed, 99, index])
        name = list(self.colours)[int(rng.integers(len(self.colours)))]
        shape = (self.size, self.size, 3)
        pixels = np.asarray(self.colours[name], float) + rng.normal(0, self.noise, shape)
        image = np.clip(pixels, 0, 255).astype(np.uint8)
        turns = [("human", "What colour is the picture?"), ("gpt", f"It is [OBJ]the {name} picture[SEG].")]
        mask = np.ones((self.size, self.size), np.float32)
        return Item(key=f"solid-{self.seed}-{index}", image=image, turns=turns, masks=[mask])

    def signature(self) -> str:
        return f"solid-{self.seed}-{self.domain}-{self.size}-{self.noise}"


class NamedColourSource(EndlessSource):
    """A kind that occurs once in the scene is asked for; the answer adds its colour."""

    def __init__(self, seed: int = 0, domain: str = "base", size: int = 128) -> None:
        self.seed, self.domain, self.size = seed, domain, size

    def item(self, index: int) -> Item:
        rng = np.random.default_rng([self.seed, 77, index])
        scene, target = self._scene_with_a_unique_kind(rng)
        turns = [
            ("human", f"Please segment the {target.kind}."),
            ("gpt", f"Sure, it is [OBJ]the {target.colour} {target.kind}[SEG]."),
        ]
        return Item(key=f"named-colour-{self.seed}-{index}", image=scene.image, turns=turns,
                    masks=[target.mask.astype(np.float32)])

    def _scene_with_a_unique_kind(self, rng: np.random.Generator):
        domain = get_domain(self.domain)
        min_area = MIN_AREA_128 * (self.size / 128) ** 2
        while True:  # nearly every scene has one; a few draws at most
            scene = make_scene(rng, domain, self.size)
            kinds = [o.kind for o in scene.objects]
            unique = [o for o in scene.objects if kinds.count(o.kind) == 1 and o.area > min_area]
            if unique:
                return scene, unique[int(rng.integers(len(unique)))]

    def signature(self) -> str:
        return f"named-colour-{self.seed}-{self.domain}-{self.size}"


class CaptionSource(EndlessSource):
    """A synthetic scene and the dialogues' overview question, answered with every object in it
    (kind, colour, texture, maybe size); no mask is asked for."""

    def __init__(self, seed: int = 0, domain: str = "base", size: int = 128) -> None:
        self.seed, self.domain, self.size = seed, domain, size

    def item(self, index: int) -> Item:
        scene, (question, answer) = self.draw(index)
        return Item(key=f"caption-{self.seed}-{index}", image=scene.image,
                    turns=[("human", question), ("gpt", answer)], masks=[])

    def draw(self, index: int) -> tuple[Scene, tuple[str, str]]:
        """Item `index` as its scene, with the objects a caption should list, and (question, answer)."""
        rng = np.random.default_rng([self.seed, 55, index])
        scene = make_scene(rng, get_domain(self.domain), self.size)
        return scene, overview(rng, scene.objects)

    def signature(self) -> str:
        return f"caption-{self.seed}-{self.domain}-{self.size}"

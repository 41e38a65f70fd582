"""Where training items come from: a PRIST-layout folder, or synthetic scenes made on the fly.

An item is one (image, dialogue, one mask per [SEG]). Which items form step s is a pure function
of (seed, s), so a resumed run, or one split across processes, sees the same data. A source whose
items are costly to make may also offer key(i) == item(i).key: a stage-2 step on cached features
then reads no pixels.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from miras.errors import DataError
from miras.prist import PristSample, focus_mask, load_annotation, load_image, read_prist

SEG = "[SEG]"
OBJ_PHRASE = re.compile(r"\[OBJ\](.*?)\[SEG\]")  # the name an answer gives its [SEG]
_SYNTHETIC_ID = re.compile(r"^obj\d+\s+")  # synthetic labels start with an object id


@dataclass
class Item:
    key: str  # stable name of the item (cache key)
    image: np.ndarray
    turns: list[tuple[str, str]]
    masks: list[np.ndarray]
    unsupervised: tuple[int, ...] = ()  # turn indices of replies given as context, not learned


def alignment_turns(sample: PristSample) -> list[tuple[str, str]]:
    """Stage 1 (mask-text alignment): one request naming the target, answered `[OBJ]{it}[SEG]`."""
    last = sample.dialogue[-1].text
    found = OBJ_PHRASE.search(last)
    phrase = found.group(1) if found else _SYNTHETIC_ID.sub("", sample.focus)
    return [("human", f"Please segment {phrase}."), ("gpt", f"Sure, it is [OBJ]{phrase}[SEG].")]


def item_from(sample: PristSample, image: np.ndarray, annotation: dict, stage: int, key: str) -> Item | None:
    """None for a dialogue whose [SEG] count is not one (PRIST always has exactly one)."""
    turns = alignment_turns(sample) if stage == 1 else [(t.role, t.text) for t in sample.dialogue]
    if sum(text.count(SEG) for _, text in turns) != 1:
        return None
    return Item(key=key, image=image, turns=turns, masks=[focus_mask(annotation, sample.focus)])


@functools.lru_cache(maxsize=4)
def _permutation(n: int, seed: int, epoch: int) -> np.ndarray:
    """The order of one epoch (cached: every step of the epoch reads it)."""
    return np.random.default_rng([seed, epoch]).permutation(n)


class PristSource:
    """The dialogues of a PRIST-layout folder, in a seeded order per epoch."""

    def __init__(self, root: str | Path, stage: int = 2, limit: int | None = None) -> None:
        self.root = Path(root)
        self.stage = stage
        samples = read_prist(self.root)
        self.samples = [s for s in samples if sum(t.text.count(SEG) for t in s.dialogue) == 1][:limit]
        if not self.samples:
            raise DataError(
                f"{self.root / 'prist.json'}: none of its {len(samples)} dialogues can be trained on; "
                f"add dialogues whose gpt turns hold exactly one {SEG} (the target's mask)"
            )

    def __len__(self) -> int:
        return len(self.samples)

    def key(self, index: int) -> str:
        """item(index).key without reading the image (the feature cache asks for it each step)."""
        sample = self.samples[index % len(self.samples)]
        return f"{Path(sample.img_id).stem}-{index % len(self.samples)}-s{self.stage}"

    def item(self, index: int) -> Item:
        sample = self.samples[index % len(self.samples)]
        image = load_image(self.root, sample.img_id)
        return item_from(sample, image, load_annotation(self.root, sample.img_id), self.stage, self.key(index))

    def indices(self, step: int, batch_size: int, seed: int) -> list[int]:
        """The global indices of step `step`: walks seeded permutations, epoch after epoch."""
        n = len(self.samples)
        start = step * batch_size
        out = []
        for position in range(start, start + batch_size):
            epoch, offset = divmod(position, n)
            out.append(int(_permutation(n, seed, epoch)[offset]))
        return out

    def signature(self) -> str:
        """Changes whenever the data set's files change (feature caches key on it)."""
        digest = hashlib.sha256((self.root / "prist.json").read_bytes())
        for folder in ("images", "masks"):
            for path in sorted((self.root / folder).glob("*")):
                stat = path.stat()
                digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        digest.update(f"stage{self.stage}".encode())
        return digest.hexdigest()[:16]


def item_key(source, index: int) -> str:
    """The cache key of a source's item `index`, without making the item where the source can."""
    return source.key(index) if hasattr(source, "key") else source.item(index).key


class EndlessSource:
    """A source whose item i is made from (seed, i) on demand: step s reads items
    s*batch ... (s+1)*batch - 1, never repeating."""

    def indices(self, step: int, batch_size: int, seed: int) -> list[int]:
        return list(range(step * batch_size, (step + 1) * batch_size))


class WithEveryNth(EndlessSource):
    """Endless items of `main`, but every `every`-th (i % every == every - 1) from `other`: a
    second kind of item kept in the mix of a stage, at the same item indices on every run."""

    def __init__(self, main: EndlessSource, other: EndlessSource, every: int) -> None:
        if every < 2:
            raise ValueError(f"every must be at least 2 (one item in `every` from `other`), not {every}")
        self.main, self.other, self.every = main, other, every

    def item(self, index: int) -> Item:
        return (self.other if index % self.every == self.every - 1 else self.main).item(index)

    def signature(self) -> str:
        return f"{self.main.signature()}+1/{self.every}:{self.other.signature()}"


class SynthSource(EndlessSource):
    """Endless synthetic scenes (miras.synth); item i is always the same scene and dialogue."""

    def __init__(
        self, seed: int = 0, stage: int = 2, domain: str = "base", size: int = 128, obj_answer_share: float = 0.5
    ) -> None:
        self.seed, self.stage, self.domain, self.size = seed, stage, domain, size
        self.obj_answer_share = obj_answer_share

    def key(self, index: int) -> str:
        return f"synth-{self.seed}-{index}"

    def item(self, index: int) -> Item:
        rng, (image, annotation, samples) = self._generate(index)
        sample = samples[int(rng.integers(len(samples)))]
        item = item_from(sample, image, annotation, self.stage, self.key(index))
        if item is None:  # synthetic dialogues always end in one [SEG]
            raise DataError(f"synthetic item {index} has no single [SEG]; miras.synth is broken")
        return item

    def signature(self) -> str:
        return f"synth-{self.seed}-{self.domain}-{self.size}-{self.obj_answer_share}-s{self.stage}"

    def annotation(self, index: int) -> dict:
        """The labelme annotation of item `index`'s scene: every object and part, not only its target."""
        return self._generate(index)[1][1]

    def _generate(self, index: int):
        from miras.synth import generate_sample

        rng = np.random.default_rng([self.seed, index])
        return rng, generate_sample(rng, self.domain, self.size, obj_answer_share=self.obj_answer_share)

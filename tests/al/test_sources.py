"""Training sources over a store: which dialogues train, replay shares, the held-out split."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from active_learning.cli import main
from active_learning.evaluation import is_heldout, split
from active_learning.registry import Registry
from active_learning.sources import ReplaySource, StoreSource, training_turns

from .conftest import add_easy, easy_prist


def turns(*texts):
    roles = ["human", "gpt"] * len(texts)
    return [{"from": r, "value": t} for r, t in zip(roles, texts)]


def test_training_turns_end_at_the_one_seg_answer():
    assert training_turns(turns("q", "a", "seg it", "[SEG]", "thanks", "welcome")) == [
        ("human", "q"), ("gpt", "a"), ("human", "seg it"), ("gpt", "[SEG]")]
    assert training_turns(turns("q", "no mask here")) is None
    assert training_turns(turns("q", "[SEG] and [SEG]")) is None  # one correction, two masks


def test_store_items_are_keyed_by_content(store):
    first, second = add_easy(store, [1, 1])  # the same image, dialogue and mask twice
    (other,) = add_easy(store, [2])
    source = StoreSource(store, store.samples(status="curated"))
    keys = {store.get(sid).sample_id: source.item(i).key
            for i, sid in enumerate(source.sample_ids)}
    assert keys[first] == keys[second] != keys[other]
    item = source.item(source.sample_ids.index(other))
    assert item.masks[0].dtype == bool and item.turns[-1] == ("gpt", "Sure, [SEG].")


def test_keys_are_known_without_reading_the_image(store, tmp_path):
    from miras.synth import generate
    from miras.training.data import PristSource

    add_easy(store, [1, 2, 3])
    source = ReplaySource(StoreSource(store, store.samples(status="curated")),
                          PristSource(generate(tmp_path / "replay", 2, seed=1, size=48)), share=0.5)
    for i in range(len(source)):
        assert source.key(i) == source.item(i).key
    store.image = lambda image_id: pytest.fail("key() read an image")
    assert len({source.key(i) for i in range(len(source))}) == len(source)


class Counting:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


def test_replay_takes_its_share_of_every_run_and_is_repeatable():
    source = ReplaySource(Counting(10), Counting(5), share=0.25)
    batches = [source.indices(step, 8, seed=3) for step in range(1000)]
    replayed = sum(i >= 10 for batch in batches for i in batch) / (1000 * 8)
    assert replayed == pytest.approx(0.25, abs=0.02)  # 4 standard errors
    assert batches[17] == source.indices(17, 8, seed=3)
    assert {i for batch in batches for i in batch} == set(range(15))


def test_the_held_out_share_depends_on_the_image_id_alone():
    ids = [f"s{i}" for i in range(2000)]
    share = np.mean([is_heldout(i, 0.2) for i in ids])
    assert share == pytest.approx(0.2, abs=0.03)
    assert [is_heldout(i, 0.2) for i in ids] == [is_heldout(i, 0.2) for i in ids]


def test_the_dialogues_of_one_image_are_held_out_together():
    # A model trained on one dialogue of an image has seen the image its sibling is judged on.
    records = [SimpleNamespace(sample_id=f"d{i}", image_id=f"image{i // 3}") for i in range(300)]
    train, held = split(records, 0.2)
    assert train and held
    assert not {r.image_id for r in held} & {r.image_id for r in train}


def test_retrain_without_eval_judges_on_the_held_out_share_and_mixes_replay(
        store, registry, tmp_path, feature_cache, capsys):
    ids = add_easy(store, range(10), named=True)
    held = sorted(i for i in ids if is_heldout(store.get(i).image_id, 0.2))
    assert held  # the images are fixed, so this is too
    replay = easy_prist(tmp_path / "replay", range(200, 204))
    argv = ["retrain", "--store", store.where, "--registry", str(registry.root), "--replay",
            str(replay), "--replay-share", "0.5", "--steps", "3", "--eval-limit", "2",
            "--replay-limit", "0", "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["eval"] == {"source": "store held-out share", "n": min(2, len(held))}
    assert report["heldout"] == len(held) and report["trained_on"] == 10 - len(held)
    lineage = Registry(registry.root).read_json(report["version"], "lineage.json")
    assert lineage["heldout"] == held and not set(held) & set(lineage["samples"])
    assert lineage["replay_data"] == {"dir": str(replay), "share": 0.5}

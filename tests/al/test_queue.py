"""The queue serves proposed items; leases keep concurrent annotators apart and expire."""

from __future__ import annotations

import json

import numpy as np
import pytest

from active_learning.cli import main
from active_learning.errors import LeaseError
from active_learning.leases import Lease, LeaseBook
from active_learning.queue import next_items, release
from active_learning.scores import ItemScores, ScoreBook
from active_learning.sidefiles import LocalSideFiles, side_files

from .conftest import add_easy


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def scored_pool(store, n=6):
    ids = add_easy(store, range(n), status="proposed")
    book = ScoreBook.of(store)
    for i, sid in enumerate(ids):  # the higher i, the less sure the model
        book.put(sid, ItemScores("v1", predicted_iou=1 - i / n, entropy=0.5, has_mask=True,
                                 features=np.asarray([1.0, i], np.float32)))
    return ids


def test_two_annotators_get_different_items_and_leases_expire(store):
    ids = scored_pool(store)
    clock = FakeClock()
    ada = next_items(store, "uncertainty", 2, "ada", lease_seconds=60, clock=clock)
    bob = next_items(store, "uncertainty", 2, "bob", lease_seconds=600, clock=clock)
    assert [i.sample_id for i in ada] == [ids[5], ids[4]]  # least sure first
    assert [i.sample_id for i in bob] == [ids[3], ids[2]]
    assert ada[0].score > ada[1].score > bob[0].score and ada[0].lease_expires == clock.now + 60

    clock.now += 61  # ada's leases run out: bob may now be served her items
    again = next_items(store, "uncertainty", 2, "bob", lease_seconds=600, clock=clock)
    assert [i.sample_id for i in again] == [ids[5], ids[4]]
    assert [i.sample_id for i in next_items(store, "uncertainty", 5, "ada", clock=clock)] == [
        ids[1], ids[0]]  # all that is left


def test_each_call_serves_new_items_unless_you_resume(store):
    scored_pool(store)
    clock = FakeClock()
    first = next_items(store, "random", 2, "ada", seed=1, clock=clock)
    second = next_items(store, "random", 2, "ada", seed=1, clock=clock)
    assert not {i.sample_id for i in first} & {i.sample_id for i in second}
    clock.now += 100
    resumed = next_items(store, "random", 5, "ada", include_held=True, clock=clock)
    held = sorted(i.sample_id for i in first + second)
    assert [i.sample_id for i in resumed[:4]] == held  # renewed, then one new item
    assert resumed[0].lease_expires == clock.now + 900 and len(resumed) == 5


def test_release_hands_an_item_to_the_next_annotator(store):
    scored_pool(store, n=2)
    clock = FakeClock()
    (item,) = next_items(store, "uncertainty", 1, "ada", clock=clock)
    assert not release(store, item.sample_id, "bob", clock=clock)  # not his to give back
    assert release(store, item.sample_id, "ada", clock=clock)
    assert [i.sample_id for i in next_items(store, "uncertainty", 2, "bob", clock=clock)][0] \
        == item.sample_id


def test_only_proposed_items_are_served(store):
    ids = scored_pool(store, n=3)
    store.set_correction(ids[2], np.zeros((64, 64), bool))
    served = {i.sample_id for i in next_items(store, "uncertainty", 5, "ada")}
    assert served == set(ids[:2])


def test_a_race_for_one_lease_has_one_winner(tmp_path):
    clock = FakeClock()
    one, two = (LeaseBook(LocalSideFiles(tmp_path), clock) for _ in range(2))
    assert one.acquire("s1", "ada", 10) is not None
    clock.now += 11
    # bob and cy both saw ada's lease (generation 1) lapse; both try to write generation 2.
    assert one._create(Lease("s1", "bob", clock.now + 10, 2))
    assert not two._create(Lease("s1", "cy", clock.now + 10, 2))
    assert two.acquire("s1", "cy", 10) is None  # bob holds it
    assert one.acquire("s1", "bob", 10).generation == 3  # renewing writes a new generation
    with pytest.raises(LeaseError):
        two.acquire("s1", "", 10)


def test_side_files_on_an_fsspec_store_create_exclusively(tmp_path):
    from active_learning.store import open_store

    remote = side_files(open_store("memory://al-queue-test.zarr"))
    assert remote.create_json("leases/x/1.json", {"a": 1})
    assert not remote.create_json("leases/x/1.json", {"a": 2})
    remote.write_json("scores/x.json", {"b": 1})
    assert remote.read_json("leases/x/1.json") == {"a": 1}
    assert remote.list("leases") == ["leases/x/1.json"]


def test_next_prints_json_and_refuses_an_unknown_strategy(store, capsys):
    scored_pool(store, n=2)
    assert main(["next", "--store", store.where, "--strategy", "uncertainty", "--k", "1",
                 "--annotator", "ada", "--json"]) == 0
    (item,) = json.loads(capsys.readouterr().out)["items"]
    assert item["annotator"] == "ada" and item["model_version"] == "v1"
    with pytest.raises(SystemExit):
        main(["next", "--store", store.where, "--strategy", "psychic"])


def test_hybrid_on_a_pool_scored_by_two_model_versions(store, capsys):
    ids = add_easy(store, range(4), status="proposed")
    book = ScoreBook.of(store)
    for i, sid in enumerate(ids):  # half rescored: the new model's features are longer
        version, length = ("old", 4) if i < 2 else ("new", 8)
        book.put(sid, ItemScores(version, predicted_iou=0.1 * i, entropy=0.2, has_mask=True,
                                 features=np.full(length, i + 1.0, np.float32)))
    assert main(["next", "--store", store.where, "--strategy", "hybrid", "--k", "3",
                 "--annotator", "ada", "--json"]) == 0
    served = [item["sample_id"] for item in json.loads(capsys.readouterr().out)["items"]]
    assert len(set(served)) == 3 and set(served) <= set(ids)


def test_diversity_measures_from_labeled_samples_of_the_candidates_model_version(store):
    x, y, z, stale = add_easy(store, range(4), status="proposed")
    labeled = add_easy(store, range(4, 6))
    book = ScoreBook.of(store)
    for sid, version, features in [(x, "new", (1.0, 0.0)), (y, "new", (0.0, 1.0)),
                                   (z, "new", (1.0, 0.25)), (stale, "old", (1.0, 0.0)),
                                   (labeled[0], "new", (0.0, 1.0)),
                                   (labeled[1], "old", (1.0, 0.0))]:
        book.put(sid, ItemScores(version, kind="full" if sid not in labeled else "features",
                                 features=np.asarray(features, np.float32)))
    # Only the new labeled sample counts, so the first pick is the item farthest from it: x.
    # Measured from the old one too, x (and the stale item) would look labeled already.
    (item,) = next_items(store, "diversity", 1, "ada")
    assert item.sample_id == x


def test_concurrent_annotators_never_share_an_item(store):
    from concurrent.futures import ThreadPoolExecutor

    scored_pool(store, n=8)
    names = [f"annotator{i}" for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        served = list(pool.map(lambda name: next_items(store, "uncertainty", 1, name), names))
    taken = [items[0].sample_id for items in served if items]
    assert len(taken) == 8 and len(set(taken)) == 8


def test_leases_hold_on_an_s3_store(s3_options):
    from active_learning.store import open_store

    bucket, options = s3_options
    store = open_store(f"s3://{bucket}/queue.zarr", storage_options=options)
    ids = scored_pool(store, n=3)
    clock = FakeClock()
    ada = next_items(store, "uncertainty", 2, "ada", clock=clock)
    bob = next_items(store, "uncertainty", 2, "bob", clock=clock)
    assert [i.sample_id for i in ada] == [ids[2], ids[1]] and [i.sample_id for i in bob] == [ids[0]]
    # S3 answers a second exclusive create of one lease generation with "exists".
    side = side_files(store)
    assert not side.create_json(f"leases/{ids[0]}/000000000001.json", {"annotator": "cy"})

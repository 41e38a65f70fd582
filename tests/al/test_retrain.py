"""Retrain promotes only a better model, keeps `current` through failures, takes a lock."""

from __future__ import annotations

import json

import pytest

import miras
from active_learning.cli import main
from active_learning.errors import (
    LoopError,
    NoEvaluationDataError,
    NothingToTrainError,
    RegistryError,
    RegistryLockedError,
)
from active_learning.evaluation import is_heldout
from active_learning.registry import Registry
from active_learning.retrain import RetrainSettings, new_curated, retrain

from .conftest import REQUEST, add_easy, easy_image, quick_settings


def promote_a_copy(registry, checkpoint) -> str:
    import shutil

    with registry.staging() as folder:
        shutil.copytree(checkpoint, folder, dirs_exist_ok=True)
        version = registry.add(folder)
    registry.promote(version)
    return version


def test_retrain_promotes_a_model_that_learned_the_easy_task(store, registry, easy_eval_dir,
                                                            feature_cache):
    trained = add_easy(store, range(8))
    report = retrain(store, registry, eval_dir=easy_eval_dir, cache_dir=feature_cache,
                     settings=quick_settings(replay_limit=1))
    assert report["promoted"] and report["version"] == "v0002" == registry.current
    assert report["after"]["ciou"] > report["before"]["ciou"] + 0.1
    assert set(report["replay"]) == {"before", "after", "n"} and report["replay"]["n"] == 1

    folder = registry.path("v0002")
    assert {"config.json", "model.safetensors", "tokenizer_config.json", "metrics.json",
            "lineage.json", "train-log.jsonl"} <= {p.name for p in folder.iterdir()}
    assert not (folder / "train-state").exists()
    lineage = json.loads((folder / "lineage.json").read_text())
    assert lineage["parent"] == "v0001" and lineage["samples"] == sorted(trained)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["ciou"] == pytest.approx(report["after"]["ciou"])
    assert miras.checkpoint.resolve(registry.root) == folder  # what miras.load(REG) opens
    assert new_curated(store, registry) == 0


def test_retrain_keeps_current_when_trained_on_inverted_masks(store, registry, easy_eval_dir,
                                                             feature_cache):
    add_easy(store, range(8), invert=True)
    report = retrain(store, registry, eval_dir=easy_eval_dir, cache_dir=feature_cache,
                     settings=quick_settings())
    assert not report["promoted"] and report["after"]["ciou"] < report["before"]["ciou"]
    # The child is filed for the record, but `current` stays with its parent.
    assert registry.current == "v0001" and registry.versions() == ["v0001", "v0002"]
    decision = registry.read_json("v0002", "lineage.json")["decision"]
    assert decision["promoted"] is False


def test_a_failed_retrain_keeps_current_and_leaves_no_half_version(
        store, registry, easy_eval_dir, feature_cache, monkeypatch):
    import miras.training.loop

    add_easy(store, range(2))
    (registry.root / ".staging-killed").mkdir()  # what a killed retrain leaves
    staged = []

    def crash(model, source, settings, out, **kwargs):
        staged.append(out)
        (out / "model.safetensors").write_bytes(b"half a file")
        raise RuntimeError("disk full")

    monkeypatch.setattr(miras.training.loop, "train", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        retrain(store, registry, eval_dir=easy_eval_dir, cache_dir=feature_cache,
                settings=quick_settings(eval_limit=1))
    assert staged and not staged[0].exists()
    assert registry.current == "v0001" and registry.versions() == ["v0001"]
    assert [p.name for p in registry.root.iterdir() if p.name.startswith(".staging")] == []
    with registry.lock():  # and the lock was let go
        pass


def test_the_lock_refuses_a_second_retrain(store, registry, capsys):
    add_easy(store, range(2))
    with registry.lock():
        with pytest.raises(RegistryLockedError), Registry(registry.root).lock():
            pass
        code = main(["retrain", "--store", store.where, "--registry", str(registry.root)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("miras-al retrain: error: another retrain holds the registry lock")


def test_retrain_of_a_store_without_curated_samples_is_refused(store, registry):
    add_easy(store, range(2), status="proposed")
    with pytest.raises(NothingToTrainError, match="no curated sample"):
        retrain(store, registry, settings=quick_settings())


def test_an_empty_registry_needs_a_base(store, tmp_path):
    add_easy(store, range(2))
    with pytest.raises(RegistryError, match="--base"):
        retrain(store, Registry(tmp_path / "empty"), settings=quick_settings())


def test_rollback_moves_current_back_along_the_promotions(registry, tiny_checkpoint, capsys):
    for _ in range(2):  # two more versions, promoted in turn
        promote_a_copy(registry, tiny_checkpoint)
    assert registry.current == "v0003"
    assert main(["rollback", "--registry", str(registry.root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "registry": str(registry.root), "from": "v0003", "current": "v0002"}
    assert registry.rollback() == "v0001"
    assert main(["rollback", "--registry", str(registry.root)]) == 2
    assert "no earlier promoted version" in capsys.readouterr().err
    assert registry.current == "v0001"


def test_a_rollback_made_during_a_retrain_stands(store, registry, easy_eval_dir,
                                                feature_cache, tiny_checkpoint):
    assert promote_a_copy(registry, tiny_checkpoint) == "v0002"  # the version found bad
    add_easy(store, range(8))
    rolled_back = []

    def roll_back_once(done, total, record):
        if not rolled_back:  # as `miras-al rollback` from another shell, mid-training
            rolled_back.append(Registry(registry.root).rollback())

    report = retrain(store, registry, eval_dir=easy_eval_dir, cache_dir=feature_cache,
                     settings=quick_settings(), on_progress=roll_back_once)
    assert rolled_back == ["v0001"] and report["parent"] == "v0002"
    assert report["after"]["ciou"] > report["before"]["ciou"] + 0.1  # better than its parent
    assert not report["promoted"] and "from v0002 to v0001" in report["note"]
    assert registry.current == report["current"] == "v0001"
    assert report["version"] == "v0003" in registry.versions()


def test_a_negative_margin_is_refused(store, registry, capsys):
    with pytest.raises(LoopError, match="--margin must be >= 0"):
        RetrainSettings(margin=-1)
    assert main(["retrain", "--store", store.where, "--registry", str(registry.root),
                 "--margin", "-0.1"]) == 2
    assert "--margin must be >= 0" in capsys.readouterr().err


def test_held_out_samples_the_parent_trained_on_are_not_judged_on(store, registry,
                                                                  easy_eval_dir, feature_cache):
    first = add_easy(store, range(10))
    held_first = [i for i in first if is_heldout(store.get(i).image_id, 0.2)]
    assert held_first  # fixed images, so a fixed split
    # With --eval every curated sample trains, the ones of held-out images too.
    report = retrain(store, registry, eval_dir=easy_eval_dir, cache_dir=feature_cache,
                     settings=quick_settings())
    assert report["promoted"] and report["trained_on"] == 10
    with pytest.raises(NoEvaluationDataError, match="trained on by v0002"):
        retrain(store, registry, cache_dir=feature_cache, settings=quick_settings())

    later = add_easy(store, range(10, 30))
    report = retrain(store, registry, cache_dir=feature_cache,
                     settings=quick_settings(eval_limit=None))
    held = registry.read_json(report["version"], "lineage.json")["heldout"]
    assert held and set(held) <= set(later)
    assert report["eval"]["n"] == len(held)


def test_a_curated_sample_that_cannot_train_is_not_counted_as_new(store, registry):
    image, mask = easy_image(0)
    no_seg = [REQUEST[0], {"from": "gpt", "value": "There is a red square."}]
    store.add_sample(image=image, dialogue=no_seg, focus="red square", status="curated",
                     correction=mask)
    # No retrain would ever train on it, so counting it would retrain at every interval.
    assert new_curated(store, registry) == 0
    add_easy(store, range(1))
    assert new_curated(store, registry) == 1


def test_a_registry_is_a_local_folder_or_a_file_url(tmp_path):
    assert Registry(f"file://{tmp_path}/registry").root == tmp_path / "registry"
    with pytest.raises(RegistryError, match="Mount the bucket"):
        Registry("s3://bucket/registry")


@pytest.mark.slow  # two interpreters and a gloo process group: ~13 s on an idle 2-core CPU
def test_two_processes_under_torchrun_train_one_version(store, registry, easy_eval_dir,
                                                       feature_cache):
    import subprocess
    import sys

    add_easy(store, range(8))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", "-m", "active_learning.cli", "retrain", "--store",
               store.where, "--registry", str(registry.root), "--eval", str(easy_eval_dir),
               "--steps", "20", "--batch-size", "4", "--lr", "1e-2", "--eval-limit", "4",
               "--replay-limit", "0", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("{")]  # rank 0 alone reports
    report = json.loads(line)
    assert report["promoted"] and registry.current == "v0002" == report["version"]
    assert registry.versions() == ["v0001", "v0002"]
    assert [p.name for p in registry.root.iterdir() if p.name.startswith(".staging")] == []

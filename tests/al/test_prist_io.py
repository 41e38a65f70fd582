"""PRIST folders in and out of a store: the text round-trips exactly, masks redraw."""

from __future__ import annotations

import json

import numpy as np

from active_learning.cli import main
from active_learning.store import open_store
from miras.prist import focus_mask, load_annotation, read_prist

from .conftest import made_up_prist


def test_real_prist_text_round_trips_through_a_store(tmp_path, prist_sample_text, capsys):
    entries = json.loads(prist_sample_text)
    source = made_up_prist(tmp_path / "in", entries)
    store_path = tmp_path / "s.zarr"

    assert main(["import", "--prist", str(source), "--store", str(store_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["imported"] == len(entries) and summary["empty_masks"] == []
    assert open_store(store_path).counts()["curated"] == len(entries)

    assert main(["export", "--store", str(store_path), "--out", str(tmp_path / "out"),
                 "--json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["exported"] == len(entries) and exported["mismatched"] == []
    # Every string, every key and the order are the authors' (and the file is byte-identical
    # to the one write_prist made of them).
    out_text = (tmp_path / "out" / "prist.json").read_text(encoding="utf-8")
    assert json.loads(out_text) == entries
    assert out_text == (source / "prist.json").read_text(encoding="utf-8")
    # The labelme polygons redraw each focus mask pixel for pixel, through the authors' rule.
    for sample in read_prist(tmp_path / "out"):
        expected = focus_mask(load_annotation(source, sample.img_id), sample.focus)
        got = focus_mask(load_annotation(tmp_path / "out", sample.img_id), sample.focus)
        assert expected.any() and np.array_equal(got, expected)


def test_import_twice_adds_nothing(tmp_path, prist_sample_text, capsys):
    source = made_up_prist(tmp_path / "in", json.loads(prist_sample_text)[:3])
    argv = ["import", "--prist", str(source), "--store", str(tmp_path / "s.zarr"), "--json"]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["imported"], summary["already_there"]) == (0, 3)


def test_export_skips_samples_that_are_not_curated(tmp_path, store, capsys):
    image = np.zeros((20, 30, 3), np.uint8)
    mask = np.zeros((20, 30), bool)
    mask[4:10, 5:15] = True
    dialogue = [{"from": "human", "value": "Segment the box."},
                {"from": "gpt", "value": "Sure, [SEG]."}]
    kept = store.add_sample(image=image, dialogue=dialogue, focus="box", correction=mask,
                            status="curated")
    store.add_sample(image=image, dialogue=dialogue, focus="box", proposal=mask)
    assert main(["export", "--store", store.where, "--out", str(tmp_path / "out"), "--json"]) == 0
    (entry,) = json.loads((tmp_path / "out" / "prist.json").read_text())
    assert entry["img_id"] == f"{store.get(kept).image_id[:16]}.png"
    drawn = focus_mask(load_annotation(tmp_path / "out", entry["img_id"]), "box")
    assert np.array_equal(drawn, mask)


def test_a_focus_inside_another_is_reported_not_hidden(tmp_path, store, capsys):
    image = np.zeros((20, 30, 3), np.uint8)
    small, big = np.zeros((20, 30), bool), np.zeros((20, 30), bool)
    small[2:6, 2:6] = True
    big[10:18, 10:25] = True
    for focus, mask in (("cup", small), ("cup handle", big)):
        store.add_sample(image=image, focus=focus, correction=mask, status="curated",
                         dialogue=[{"from": "human", "value": f"Segment the {focus}."},
                                   {"from": "gpt", "value": "[SEG]"}])
    assert main(["export", "--store", store.where, "--out", str(tmp_path / "out"), "--json"]) == 0
    captured = capsys.readouterr()
    (wrong,) = json.loads(captured.out)["mismatched"]
    assert wrong["pixels"] == int(big.sum())  # "cup" also picks up the handle's polygon
    assert "do not redraw exactly" in captured.err


def test_import_of_a_missing_folder_is_one_error_line(tmp_path, capsys):
    code = main(["import", "--prist", str(tmp_path / "nope"), "--store", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("miras-al import: error: ") and len(err.strip().splitlines()) == 1


def test_unlabeled_import_fills_the_queue_with_scored_proposals(tmp_path, tiny_checkpoint,
                                                               capsys):
    from active_learning.queue import next_items
    from active_learning.scores import ScoreBook

    from .conftest import easy_prist

    source = easy_prist(tmp_path / "pool", range(3))
    store_path = tmp_path / "s.zarr"
    argv = ["import", "--prist", str(source), "--store", str(store_path), "--unlabeled",
            "--model", str(tiny_checkpoint), "--paraphrases", "1", "--max-new-tokens", "2",
            "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["imported"], summary["model_version"]) == (3, "tiny")
    store = open_store(store_path)
    records = list(store.samples(status="proposed"))
    assert len(records) == 3 and all(r.model_version == "tiny" for r in records)
    scores = ScoreBook.of(store).get(records[0].sample_id)
    assert scores.kind == "full" and scores.model_version == "tiny"
    assert not scores.has_mask and scores.entropy == 1.0  # a random model never says [SEG]
    assert len(next_items(store, "diversity", 3, "ada")) == 3

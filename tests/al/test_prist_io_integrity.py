"""PRIST import and export never leave half a job behind, nor mix up two data sets' images."""

from __future__ import annotations

import json

import numpy as np
import pytest

import miras.prist as mp
from active_learning.cli import main
from active_learning.errors import DuplicateSampleError
from active_learning.prist_io import export_prist, import_prist
from active_learning.store import open_store
from miras.errors import DataError
from miras.prist import focus_mask, load_annotation, load_image, read_prist

from .conftest import made_up_prist


def _entries(img_ids, foci, tag: str) -> list[dict]:
    return [{"img_id": img_id, "focus": focus,
             "dialogue": [{"from": "human", "value": f"Segment the {focus} ({tag})."},
                          {"from": "gpt", "value": "Sure, [SEG]."}]}
            for img_id in img_ids for focus in foci]


def _inverted_copy(root, entries):
    """A PRIST folder of `entries` whose images are the negatives of made_up_prist's."""
    made_up_prist(root, entries)
    for path in (root / "images").iterdir():
        mp._write_atomic(path, mp._encode_image(255 - load_image(root, path.name), path.name))
    return root


def test_two_sets_sharing_an_img_id_keep_their_own_pixels_and_masks(tmp_path, store):
    set_a = made_up_prist(tmp_path / "a", _entries(["1.png", "2.png"], ["cup"], "a"))
    set_b = _inverted_copy(tmp_path / "b", _entries(["1.png"], ["fork", "knife"], "b"))
    import_prist(store, set_a)
    import_prist(store, set_b)

    summary = export_prist(store, tmp_path / "out")
    assert summary["mismatched"] == [] and summary["exported"] == 4

    exported = read_prist(tmp_path / "out")
    assert len({s.img_id for s in exported}) == 3  # 1.png of a, 1.png of b, 2.png
    for sample in exported:
        source = set_b if "(b)" in sample.dialogue[0].text else set_a
        original_id = sample.img_id if source is set_a and sample.img_id == "2.png" else "1.png"
        assert np.array_equal(load_image(tmp_path / "out", sample.img_id),
                              load_image(source, original_id))
        got = focus_mask(load_annotation(tmp_path / "out", sample.img_id), sample.focus)
        want = focus_mask(load_annotation(source, original_id), sample.focus)
        assert np.array_equal(got, want)


def _interrupt_second_image(monkeypatch):
    encode, calls = mp._encode_image, []

    def interrupted(pixels, img_id):
        calls.append(img_id)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C while the second image is encoded
        return encode(pixels, img_id)

    monkeypatch.setattr(mp, "_encode_image", interrupted)


def test_an_interrupted_export_leaves_no_folder_that_looks_complete(tmp_path, store,
                                                                    monkeypatch):
    import_prist(store, made_up_prist(tmp_path / "in", _entries(["1.png", "2.png"], ["cup"], "")))
    _interrupt_second_image(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        export_prist(store, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrections.zarr", "in"]


def test_an_interrupted_export_over_an_old_one_leaves_the_old_one_whole(tmp_path, store,
                                                                       monkeypatch):
    source = made_up_prist(tmp_path / "in", _entries(["1.png", "2.png"], ["cup"], ""))
    import_prist(store, source)
    export_prist(store, tmp_path / "out")
    before = {p.relative_to(tmp_path / "out"): p.read_bytes()
              for p in (tmp_path / "out").rglob("*") if p.is_file()}

    import_prist(store, _inverted_copy(tmp_path / "b", _entries(["1.png"], ["fork"], "b")))
    _interrupt_second_image(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        export_prist(store, tmp_path / "out")
    after = {p.relative_to(tmp_path / "out"): p.read_bytes()
             for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert after == before


def test_export_over_an_existing_folder_still_updates_it(tmp_path, store):
    import_prist(store, made_up_prist(tmp_path / "in", _entries(["1.png"], ["cup"], "")))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "README").write_text("mine")
    export_prist(store, tmp_path / "out")
    assert (tmp_path / "out" / "README").read_text() == "mine"
    assert [s.focus for s in read_prist(tmp_path / "out")] == ["cup"]
    load_image(tmp_path / "out", "1.png")


def _import_fails(tmp_path, source, capsys) -> str:
    store_path = tmp_path / "s.zarr"
    assert main(["import", "--prist", str(source), "--store", str(store_path)]) == 2
    assert sum(open_store(store_path).counts().values()) == 0  # nothing applied
    return capsys.readouterr().err


def test_import_with_a_missing_image_writes_nothing(tmp_path, capsys):
    source = made_up_prist(tmp_path / "in", _entries(["1.png", "2.png", "3.png"], ["cup"], ""))
    (source / "images" / "3.png").unlink()
    err = _import_fails(tmp_path, source, capsys)
    assert "3.png" in err and "entry 2" in err


def test_import_with_a_mask_of_the_wrong_size_names_the_file_and_writes_nothing(tmp_path,
                                                                               capsys):
    source = made_up_prist(tmp_path / "in", _entries(["1.png", "2.png", "3.png"], ["cup"], ""))
    mask_file = source / "masks" / "3.json"
    annotation = json.loads(mask_file.read_text())
    annotation["imageHeight"] += 1
    mask_file.write_text(json.dumps(annotation))
    err = _import_fails(tmp_path, source, capsys)
    assert str(mask_file) in err and "entry 2" in err and "imageHeight" in err


def test_import_counts_a_sample_another_import_just_wrote_as_already_there(tmp_path, store,
                                                                         monkeypatch):
    source = made_up_prist(tmp_path / "in", _entries(["1.png", "2.png"], ["cup"], ""))
    add_sample = store.add_sample

    def other_import_wins(**fields):
        add_sample(**fields)  # the other import writes this sample first ...
        return add_sample(**fields)  # ... so ours finds it taken

    monkeypatch.setattr(store, "add_sample", other_import_wins)
    summary = import_prist(store, source)
    assert (summary["imported"], summary["already_there"]) == (0, 2)
    assert store.counts()["curated"] == 2


def test_import_meeting_a_sample_still_being_written_does_not_advise_repair(tmp_path, store,
                                                                          monkeypatch):
    import active_learning.prist_io as prist_io

    source = made_up_prist(tmp_path / "in", _entries(["1.png"], ["cup"], ""))

    def killed(group, attrs):
        raise RuntimeError("the other writer has not committed yet")

    with monkeypatch.context() as patch:
        patch.setattr(store, "_commit", killed)
        with pytest.raises(RuntimeError):
            import_prist(store, source)
    monkeypatch.setattr(prist_io, "BUSY_WAIT_S", 0.0, raising=False)
    with pytest.raises(DuplicateSampleError, match="another") as raised:
        import_prist(store, source)
    message = str(raised.value)  # repair would delete the other writer's sample: not first
    assert message.index("run the import again") < message.index("--repair")


def test_import_with_an_unreadable_image_writes_nothing(tmp_path, store):
    source = made_up_prist(tmp_path / "in", _entries(["1.png", "2.png"], ["cup"], ""))
    (source / "images" / "2.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="2.png"):
        import_prist(store, source)
    assert sum(store.counts().values()) == 0

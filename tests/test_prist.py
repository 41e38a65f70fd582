"""PRIST data I/O: the authors' test set, our writer, labelme masks and every refusal."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from miras.errors import DataError
from miras.prist import (
    PristSample,
    Turn,
    annotation_for,
    focus_mask,
    load_annotation,
    load_image,
    mask_to_shapes,
    read_prist,
    write_prist,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(
    not (DATA / "prist-test.json").is_file(),
    reason=f"PRIST test set not found at {DATA} (the shared/ folder beside the clone)",
)


def rect(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def box_mask(h: int, w: int, rows: slice, cols: slice) -> np.ndarray:
    m = np.zeros((h, w), dtype=bool)
    m[rows, cols] = True
    return m


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return np.count_nonzero(a & b) / np.count_nonzero(a | b)


def sample(**overrides: object) -> dict:
    entry = {
        "img_id": "0123456789abcdef.jpg",
        "dialogue": [{"from": "human", "value": "What is it?"}, {"from": "gpt", "value": "[SEG]."}],
        "focus": "the sign",
    }
    entry.update(overrides)
    return entry


def write_entries(root: Path, entries: object) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "prist.json").write_text(json.dumps(entries), encoding="utf-8")
    return root


# --- the authors' test set ------------------------------------------------------------------


@needs_data
def test_full_test_set_has_the_published_counts() -> None:
    samples = read_prist(DATA / "prist-test.json")
    assert len(samples) == 508
    assert len({s.img_id for s in samples}) == 169
    assert Counter(len(s.dialogue) for s in samples) == {8: 439, 6: 65, 10: 4}
    assert all(s.dialogue[-1].role == "gpt" and "[SEG]" in s.dialogue[-1].text for s in samples)


@needs_data
def test_writing_the_test_set_reproduces_the_authors_file_byte_for_byte(tmp_path: Path) -> None:
    write_prist(tmp_path, read_prist(DATA / "prist-test.json"))
    assert (tmp_path / "prist.json").read_bytes() == (DATA / "prist-test.json").read_bytes()


@needs_data
def test_sample_round_trip_with_images_and_masks(tmp_path: Path) -> None:
    original = json.loads((DATA / "prist-test-sample.json").read_text(encoding="utf-8"))
    samples = read_prist(DATA / "prist-test-sample.json")
    rng = np.random.default_rng(0)
    images, annotations = {}, {}
    for s in samples:
        images[s.img_id] = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
        shape = {"label": f"{s.focus} (whole)", "points": rect(2, 3, 20, 15)}
        annotations[s.img_id] = annotation_for([shape], 24, 32)

    write_prist(tmp_path, samples, images, annotations, indent=1)

    # the sample file was written with indent 1: the same bytes come back
    assert (tmp_path / "prist.json").read_bytes() == (DATA / "prist-test-sample.json").read_bytes()
    again = read_prist(tmp_path)
    assert [s.to_json() for s in again] == original
    for s in again:
        assert load_image(tmp_path, s.img_id).shape == (24, 32, 3)
        mask = focus_mask(load_annotation(tmp_path, s.img_id), s.focus)
        assert mask.sum() == (15 - 3 + 1) * (20 - 2 + 1)


@needs_data
def test_unicode_of_the_test_set_survives(tmp_path: Path) -> None:
    samples = read_prist(DATA / "prist-test-sample.json")
    texts = [t.text for s in samples for t in s.dialogue]
    assert any("°" in t for t in texts)  # "5°C" in the sample
    write_prist(tmp_path, samples)
    assert "°" in (tmp_path / "prist.json").read_text(encoding="utf-8")  # not \u00b0


def test_quotes_unicode_and_escapes_survive_a_round_trip(tmp_path: Path) -> None:
    text = 'The "Sky Cola" label says \u201cCaf\u00e9\u201d \\ 5\u00b0C\n\t\u65e5\u672c \U0001f600'
    entry = sample(dialogue=[{"from": "human", "value": text}, {"from": "gpt", "value": "ok"}],
                   focus="The 'Sky Cola' label")
    write_prist(tmp_path, [PristSample.from_json(entry)])
    (back,) = read_prist(tmp_path)
    assert back.to_json() == entry
    assert back.dialogue[0] == Turn("human", text)


def test_to_json_keeps_the_key_order_of_the_file() -> None:
    assert list(PristSample.from_json(sample()).to_json()) == ["img_id", "dialogue", "focus"]


# --- images and labelme files ---------------------------------------------------------------


def test_png_is_lossless_and_jpeg_close(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    smooth = np.repeat(np.linspace(0, 255, 40, dtype=np.uint8)[None, :, None], 30, 0)
    pixels = np.concatenate([smooth, smooth[:, ::-1], smooth // 2], axis=2)
    noise = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    write_prist(tmp_path, [], {"a.png": noise, "b.jpg": pixels})
    assert np.array_equal(load_image(tmp_path, "a.png"), noise)
    jpeg = load_image(tmp_path, "b.jpg").astype(int)
    assert np.abs(jpeg - pixels).mean() < 2.0  # quality 95 on a smooth image


def test_grey_and_rgba_images_load_as_rgb(tmp_path: Path) -> None:
    grey = np.arange(20, dtype=np.uint8).reshape(4, 5)
    rgba = np.dstack([np.full((4, 5), v, np.uint8) for v in (10, 20, 30, 0)])
    write_prist(tmp_path, [], {"g.png": grey, "c.png": rgba})
    assert np.array_equal(load_image(tmp_path, "g.png"), np.dstack([grey] * 3))
    assert np.array_equal(load_image(tmp_path, "c.png"), rgba[..., :3])  # alpha dropped


def test_annotation_keeps_labelme_keys_and_opens_in_labelme(tmp_path: Path) -> None:
    given = {"version": "4.5.6", "flags": {"checked": True}, "imagePath": "x.jpg",
             "shapes": [{"label": "a", "points": rect(0, 0, 3, 3), "shape_type": "polygon",
                         "group_id": 2, "other": [1]}],
             "imageHeight": 5, "imageWidth": 6, "lineColor": [0, 255, 0, 128]}
    minimal = {"shapes": [{"label": "b", "points": rect(1, 1, 2, 2)}],
               "imageHeight": 5, "imageWidth": 6}
    write_prist(tmp_path, [], annotations={"x.jpg": given, "y.png": minimal})

    # what labelme writes itself is added where missing; everything given is kept
    added_to_shape = {"description": "", "flags": {}}
    assert load_annotation(tmp_path, "x.jpg") == {
        **given, "imageData": None, "shapes": [{**given["shapes"][0], **added_to_shape}]}
    back = load_annotation(tmp_path, "y.png")
    # labelme reads imagePath and imageData unconditionally, relative to the json file
    assert back["imagePath"] == "../images/y.png" and back["imageData"] is None
    assert back["shapes"][0]["shape_type"] == "polygon" and back["version"]
    assert (tmp_path / "masks" / "y.json").is_file()


def test_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    write_prist(tmp_path, [PristSample.from_json(sample())], {"0123456789abcdef.jpg":
                np.zeros((4, 4, 3), np.uint8)}, {"0123456789abcdef.jpg": annotation_for([], 4, 4)})
    names = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert names == ["images/0123456789abcdef.jpg", "masks/0123456789abcdef.json", "prist.json"]


# --- focus masks ----------------------------------------------------------------------------


def test_focus_fills_polygon_with_its_outline() -> None:
    ann = annotation_for([{"label": "Sign", "points": rect(1, 1, 4, 3)}], 6, 7)
    assert np.array_equal(focus_mask(ann, "sign"), box_mask(6, 7, slice(1, 4), slice(1, 5)))


def test_focus_is_a_case_insensitive_substring_and_takes_the_union() -> None:
    ann = annotation_for([
        {"label": "Red sign", "points": rect(0, 0, 1, 1)},
        {"label": "the RED car", "points": rect(5, 5, 6, 6)},
        {"label": "Blue car", "points": rect(0, 5, 1, 6)},
    ], 8, 8)
    expected = box_mask(8, 8, slice(0, 2), slice(0, 2)) | box_mask(8, 8, slice(5, 7), slice(5, 7))
    assert np.array_equal(focus_mask(ann, "rEd"), expected)
    assert focus_mask(ann, "car").sum() == 8  # two 2x2 squares
    assert not focus_mask(ann, "green").any()
    assert focus_mask(ann, "green").shape == (8, 8)


def test_focus_truncates_points_like_int32() -> None:
    ann = annotation_for([{"label": "a", "points": rect(1.9, 1.9, 3.99, 3.5)}], 6, 6)
    assert np.array_equal(focus_mask(ann, "a"), box_mask(6, 6, slice(1, 4), slice(1, 4)))


def test_focus_clips_a_polygon_partly_outside_the_canvas() -> None:
    ann = annotation_for([{"label": "a", "points": rect(-3, -4, 2, 9)}], 5, 6)
    assert np.array_equal(focus_mask(ann, "a"), box_mask(5, 6, slice(0, 5), slice(0, 3)))


def test_focus_draws_lines_and_points_as_the_authors_polylines_do() -> None:
    ann = annotation_for([{"label": "a", "points": [[2, 1], [6, 1]]},
                          {"label": "a", "points": [[4.7, 3.2]]},
                          {"label": "a", "points": [[-9, 4]]}], 5, 8)  # outside: nothing
    expected = box_mask(5, 8, slice(1, 2), slice(2, 7)) | box_mask(5, 8, slice(3, 4), slice(4, 5))
    assert np.array_equal(focus_mask(ann, "a"), expected)


def test_focus_refuses_malformed_points() -> None:
    ann = annotation_for([{"label": "a", "points": [[1, 2, 3]]}], 5, 5)
    with pytest.raises(DataError, match="points of shape 'a' must be a list of"):
        focus_mask(ann, "a")


# --- masks to polygons ----------------------------------------------------------------------


def blob(h: int = 64, w: int = 80, seed: int = 0) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    noise = gaussian_filter(np.random.default_rng(seed).normal(size=(h, w)), sigma=6)
    return noise > np.quantile(noise, 0.7)


def discs() -> np.ndarray:
    rows, cols = np.mgrid[:60, :90]
    return ((rows - 20) ** 2 + (cols - 20) ** 2 <= 12**2) | ((rows - 38) ** 2 + (cols - 65) ** 2
                                                               <= 15**2)


@pytest.mark.parametrize(
    "mask",
    [blob(seed=0), blob(seed=1), box_mask(40, 50, slice(5, 30), slice(10, 45)),
     box_mask(10, 12, slice(0, 10), slice(0, 12)), discs()],
    ids=["blob0", "blob1", "rectangle", "whole-canvas", "two-discs"],
)
def test_mask_to_shapes_is_redrawn_by_focus_mask(mask: np.ndarray) -> None:
    shapes = mask_to_shapes(mask, "thing")
    redrawn = focus_mask(annotation_for(shapes, *mask.shape), "thing")
    assert iou(redrawn, mask) >= 0.95


@pytest.mark.parametrize("density", [0.3, 0.5, 0.7])
def test_unsimplified_shapes_redraw_every_pixel_of_noise(density: float) -> None:
    from scipy.ndimage import binary_fill_holes
    from skimage.measure import label

    mask = np.random.default_rng(7).random((30, 40)) < density
    components = label(mask, connectivity=2)
    filled = np.zeros_like(mask)
    for k in range(1, components.max() + 1):
        filled |= binary_fill_holes(components == k)
    shapes = mask_to_shapes(mask, "n", tolerance=0)
    assert np.array_equal(focus_mask(annotation_for(shapes, 30, 40), "n"), filled)


def test_mask_to_shapes_gives_one_polygon_per_component() -> None:
    shapes = mask_to_shapes(discs(), "disc")
    assert len(shapes) == 2
    assert all(s["label"] == "disc" and s["shape_type"] == "polygon" for s in shapes)
    rect_shape = mask_to_shapes(box_mask(40, 50, slice(5, 30), slice(10, 45)), "r")
    assert len(rect_shape[0]["points"]) == 4  # a rectangle simplifies to its corners


def test_mask_to_shapes_fills_holes_and_skips_empty_masks() -> None:
    square = box_mask(32, 32, slice(1, 31), slice(1, 31))
    comb = box_mask(32, 32, slice(4, 5), slice(4, 27))  # a hole whose outline is longer
    comb[4:28, 4:27:2] = True  # than the square's: 12 teeth of 24 pixels
    shapes = mask_to_shapes(square & ~comb, "r")
    assert len(shapes) == 1
    assert np.array_equal(focus_mask(annotation_for(shapes, 32, 32), "r"), square)
    assert mask_to_shapes(np.zeros((5, 5), bool), "r") == []


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"dialogue": sample()["dialogue"], "focus": "x"}, "missing key 'img_id'"),
        ({k: v for k, v in sample().items() if k != "focus"}, "missing key 'focus'"),
        ({k: v for k, v in sample().items() if k != "dialogue"}, "missing key 'dialogue'"),
        (sample(dialogue=[]), "'dialogue' is empty"),
        (sample(dialogue=[{"from": "user", "value": "hi"}]), "role 'user'"),
        (sample(dialogue=[{"from": "gpt", "value": "hi"}]), "roles must alternate"),
        (sample(dialogue=[{"from": "human", "value": "a"}, {"from": "human", "value": "b"}]),
         "message 1 is 'human': roles must alternate"),
        (sample(dialogue=[{"from": "human"}]), "keys 'from' and 'value'"),
        (sample(dialogue=[{"from": "human", "value": 3}]), "'value' must be a string"),
        (sample(img_id="../etc/passwd.jpg"), "plain file name"),
        (sample(img_id="a/b.jpg"), "plain file name"),
        (sample(img_id="a\\b.jpg"), "plain file name"),
        (sample(img_id=".."), "plain file name"),
        (sample(img_id=""), "plain file name"),
        (sample(img_id=7), "'img_id' must be a str"),
        (sample(focus=""), "'focus' is empty"),
        (sample(extra=1), "unknown keys ['extra']"),
        (["not", "an", "object"], "must be an object"),
    ],
)
def test_bad_entries_are_named_with_their_index(tmp_path: Path, entry: object,
                                                message: str) -> None:
    root = write_entries(tmp_path, [sample(), entry])
    with pytest.raises(DataError, match="entry 1: ") as info:
        read_prist(root)
    assert message in str(info.value)


def test_bad_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="prist.json not found"):
        read_prist(tmp_path)
    (tmp_path / "prist.json").write_text("[{", encoding="utf-8")
    with pytest.raises(DataError, match="not valid UTF-8 JSON"):
        read_prist(tmp_path)
    write_entries(tmp_path, {"img_id": "a.jpg"})
    with pytest.raises(DataError, match="expected a list"):
        read_prist(tmp_path)


def test_missing_image_and_mask_say_where_they_belong(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="DIR/images/"):
        load_image(tmp_path, "a.jpg")
    with pytest.raises(DataError, match=r"a\.json not found: it should hold the labelme"):
        load_annotation(tmp_path, "a.jpg")
    with pytest.raises(DataError, match="plain file name"):
        load_image(tmp_path, "../a.jpg")


def test_bad_annotations_and_images_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"lacks \['imageHeight'\]"):
        focus_mask({"shapes": [], "imageWidth": 3}, "a")
    (tmp_path / "masks").mkdir()
    (tmp_path / "masks" / "a.json").write_text('{"shapes": []}', encoding="utf-8")
    with pytest.raises(DataError, match="lacks"):
        load_annotation(tmp_path, "a.jpg")
    with pytest.raises(DataError, match="uint8"):
        write_prist(tmp_path, [], {"f.png": np.zeros((3, 3), np.float32)})
    with pytest.raises(DataError, match="image format"):
        write_prist(tmp_path, [], {"f.xyz": np.zeros((3, 3), np.uint8)})
    with pytest.raises(DataError, match="plain file name"):
        write_prist(tmp_path, [], {"../f.png": np.zeros((3, 3), np.uint8)})
    with pytest.raises(DataError, match=r"must be \(H, W\)"):
        mask_to_shapes(np.zeros((2, 3, 4), bool), "a")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"imageHeight": "abc"}, "'imageHeight' must be a positive number of pixels, got 'abc'"),
        ({"imageWidth": 0}, "'imageWidth' must be a positive number"),
        ({"shapes": None}, "'shapes' must be a list, got NoneType"),
        ({"shapes": ["x"]}, "shape 0 must be an object with 'label' and 'points', got str"),
        ({"shapes": [{"label": "a", "points": [[1, 2, 3]]}]},
         "points of shape 'a' must be a list of"),
    ],
)
def test_malformed_annotations_name_their_file(tmp_path: Path, change: dict, message: str) -> None:
    annotation = {**annotation_for([{"label": "a", "points": rect(0, 0, 2, 2)}], 4, 4), **change}
    (tmp_path / "masks").mkdir()
    (tmp_path / "masks" / "a.json").write_text(json.dumps(annotation), encoding="utf-8")
    with pytest.raises(DataError, match=r"masks/a\.json: ") as info:
        load_annotation(tmp_path, "a.jpg")
    assert message in str(info.value)
    with pytest.raises(DataError, match=message.split(",")[0]):
        focus_mask(annotation, "a")


def test_an_unreadable_image_names_its_file(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(b"notapng")
    with pytest.raises(DataError, match=r"images/a\.png cannot be read .*replace it"):
        load_image(tmp_path, "a.png")


def _data_set(root: Path, focuses: list[str]) -> Path:
    entries = [PristSample.from_json(sample(img_id=f"{k:016x}.png", focus=f)) for k, f in enumerate(focuses)]
    shapes = [{"label": "the sign", "points": rect(0, 0, 2, 2)}]
    write_prist(root, entries, {e.img_id: np.zeros((4, 4), np.uint8) for e in entries},
                {e.img_id: annotation_for(shapes, 4, 4) for e in entries})
    return root


def test_a_focus_matching_no_polygon_is_warned_once_per_data_set(tmp_path: Path) -> None:
    # an empty target can be meant (the object is not in the image), so it is not refused
    from miras.training.data import PristSource

    root = _data_set(tmp_path, ["sign", "zebra", "giraffe"])
    for read in (read_prist, PristSource):  # what evaluation and training read
        with pytest.warns(UserWarning) as warned:
            read(root)
        assert len(warned) == 1
        assert "focus of 2 of 3 dialogues matches no polygon" in str(warned[0].message)
        assert "'0000000000000001.png', focus 'zebra'" in str(warned[0].message)


def test_matching_focuses_give_no_warning(tmp_path: Path) -> None:
    import warnings

    root = _data_set(tmp_path, ["sign", "SIGN"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(read_prist(root)) == 2


@pytest.mark.parametrize("entries", [[], [sample(dialogue=[{"from": "human", "value": "Hi"}])]],
                         ids=["empty", "no-seg"])
def test_a_data_set_with_nothing_to_train_on_is_refused(tmp_path: Path, entries: list) -> None:
    from miras.training.data import PristSource

    with pytest.raises(DataError, match=r"prist\.json: none of its \d dialogues can be trained on"):
        PristSource(write_entries(tmp_path, entries), stage=2)

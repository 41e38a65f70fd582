"""PRIST data on disk: dialogues, images and labelme masks (the authors' public layout).

    DIR/prist.json                  [{"img_id": "x.jpg", "dialogue": [{"from", "value"}...], "focus"}]
    DIR/images/<img_id>
    DIR/masks/<img_id stem>.json    labelme: {"shapes": [{"label", "points"}...], "imageHeight", ...}

The mask of a dialogue is the union of the polygons whose label contains its focus
(case-insensitive), drawn as the authors' loader draws it.
"""

from __future__ import annotations

import io
import json
import os
import uuid
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from miras.errors import DataError

ROLES = ("human", "gpt")
LABELME_VERSION = "5.5.0"
JPEG_QUALITY = 95
# what PIL raises for a file that is not an image it can decode (UnidentifiedImageError is an OSError)
UNREADABLE_IMAGE = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


@dataclass(frozen=True)
class Turn:
    """One message: `role` is "human" or "gpt"; `text` is kept exactly as stored."""

    role: str
    text: str

    def to_json(self) -> dict[str, str]:
        return {"from": self.role, "value": self.text}


@dataclass(frozen=True)
class PristSample:
    """One dialogue about one image, ending (in PRIST) with a gpt turn that holds [SEG]."""

    img_id: str
    dialogue: tuple[Turn, ...]
    focus: str

    def to_json(self) -> dict[str, Any]:
        """The entry as stored in prist.json (same keys, same key order)."""
        dialogue = [turn.to_json() for turn in self.dialogue]
        return {"img_id": self.img_id, "dialogue": dialogue, "focus": self.focus}

    @classmethod
    def from_json(cls, d: Any) -> PristSample:
        """Validate one prist.json entry; DataError says what is wrong."""
        if not isinstance(d, dict):
            raise DataError(f"an entry must be an object, got {type(d).__name__}")
        unknown = sorted(set(d) - {"img_id", "dialogue", "focus"})
        if unknown:
            raise DataError(f"unknown keys {unknown}; only img_id, dialogue, focus are kept")
        for key, kind in (("img_id", str), ("dialogue", list), ("focus", str)):
            if key not in d:
                raise DataError(f"missing key {key!r}")
            if not isinstance(d[key], kind):
                raise DataError(f"{key!r} must be a {kind.__name__}, got {type(d[key]).__name__}")
        check_img_id(d["img_id"])
        if not d["focus"]:
            raise DataError("'focus' is empty; it would select every polygon of the image")
        return cls(d["img_id"], _parse_dialogue(d["dialogue"]), d["focus"])


def _parse_dialogue(messages: list[Any]) -> tuple[Turn, ...]:
    if not messages:
        raise DataError("'dialogue' is empty; it needs at least one human message")
    turns = []
    for k, m in enumerate(messages):
        if not isinstance(m, dict) or not {"from", "value"} <= set(m):
            raise DataError(f"message {k} must be an object with keys 'from' and 'value'")
        if m["from"] not in ROLES:
            raise DataError(f"message {k} has role {m['from']!r}; expected 'human' or 'gpt'")
        if not isinstance(m["value"], str):
            raise DataError(f"message {k} 'value' must be a string")
        # the chat template pairs each human turn with the gpt reply that follows it
        if m["from"] != ROLES[k % 2]:
            raise DataError(f"message {k} is {m['from']!r}: roles must alternate, human first")
        turns.append(Turn(m["from"], m["value"]))
    return tuple(turns)


def check_img_id(img_id: str) -> None:
    """Refuse ids that could name a file outside DIR/images (separators, "..")."""
    if not img_id or "/" in img_id or "\\" in img_id or ".." in img_id or "\0" in img_id:
        raise DataError(f"img_id {img_id!r} must be a plain file name (no '/', '\\' or '..')")


def read_prist(root: str | os.PathLike[str]) -> list[PristSample]:
    """Read `root/prist.json` (or `root` itself when it is a .json file), validated."""
    path = Path(root)
    if path.is_dir():
        path = path / "prist.json"
    entries = _read_json(path, "the dialogues (DIR/prist.json)")
    if not isinstance(entries, list):
        raise DataError(f"{path}: expected a list of dialogues, got {type(entries).__name__}")
    samples = []
    for i, entry in enumerate(entries):
        try:
            samples.append(PristSample.from_json(entry))
        except DataError as e:
            raise DataError(f"{path}: entry {i}: {e}") from None
    if path.parent.joinpath("masks").is_dir():
        _warn_unmatched_focus(path.parent, samples)
    return samples


def _warn_unmatched_focus(root: Path, samples: list[PristSample]) -> None:
    """One warning for the dialogues whose focus selects no polygon: their target is an empty
    mask. Not refused, as that can be meant (an object the image does not show)."""
    unmatched = []
    # the dialogues of an image are stored together: each annotation is read once
    for img_id, group in groupby(samples, key=lambda s: s.img_id):
        try:
            shapes = load_annotation(root, img_id)["shapes"]
        except DataError:
            continue  # refused with its reason when the image is used
        unmatched += [s for s in group if not any(_selects(shape, s.focus) for shape in shapes)]
    if unmatched:
        example = unmatched[0]
        warnings.warn(
            f"{root}: the focus of {len(unmatched)} of {len(samples)} dialogues matches no polygon "
            f"label, so their target mask is empty (e.g. img_id {example.img_id!r}, focus "
            f"{example.focus!r}); if that is not meant, fix the focus or the labels in masks/",
            stacklevel=3,
        )


def write_prist(
    root: str | os.PathLike[str],
    samples: Iterable[PristSample],
    images: Mapping[str, np.ndarray] | None = None,
    annotations: Mapping[str, dict[str, Any]] | None = None,
    *,
    indent: int = 4,
) -> None:
    """Write prist.json, images/<img_id> and masks/<stem>.json; every file atomically.

    prist.json is written as the authors' test.json is (UTF-8, indent 4, no trailing newline),
    so reading and writing it reproduces the file byte for byte. `images` maps img_id to an
    (H, W, 3) or (H, W) uint8 array, saved in the format its extension names; .jpg/.jpeg is
    lossy (quality 95), so use .png where pixels must survive exactly. `annotations` maps img_id
    to a labelme dict; the keys labelme needs to open it are added where missing.
    """
    root = Path(root)
    text = json.dumps([s.to_json() for s in samples], ensure_ascii=False, indent=indent)
    _write_atomic(root / "prist.json", text.encode("utf-8"))
    for img_id, pixels in (images or {}).items():
        check_img_id(img_id)
        _write_atomic(root / "images" / img_id, _encode_image(pixels, img_id))
    for img_id, annotation in (annotations or {}).items():
        check_img_id(img_id)
        body = json.dumps(_labelme_ready(annotation, img_id), ensure_ascii=False, indent=2)
        _write_atomic(_mask_path(root, img_id), body.encode("utf-8"))


def load_image(root: str | os.PathLike[str], img_id: str) -> np.ndarray:
    """The image as (H, W, 3) uint8 RGB; grey is repeated, alpha dropped, EXIF rotation applied
    (as OpenCV's imread and labelme do, so the masks line up)."""
    check_img_id(img_id)
    path = Path(root) / "images" / img_id
    if not path.is_file():
        raise DataError(f"image {path} not found; put the image of {img_id!r} in DIR/images/")
    try:
        return np.asarray(open_upright(path).convert("RGB"), dtype=np.uint8)
    except UNREADABLE_IMAGE as e:
        raise DataError(f"image {path} cannot be read ({e}); replace it with a PNG or JPEG file") from None


def open_upright(path: str | os.PathLike[str]) -> Image.Image:
    """An image file, loaded and turned by its EXIF orientation as OpenCV's imread and labelme
    turn it, so that polygons drawn on it line up. Raises one of UNREADABLE_IMAGE."""
    with Image.open(path) as im:
        return ImageOps.exif_transpose(im)


def load_annotation(root: str | os.PathLike[str], img_id: str) -> dict[str, Any]:
    """The labelme dict of an image, from DIR/masks/<img_id stem>.json."""
    check_img_id(img_id)
    path = _mask_path(Path(root), img_id)
    annotation = _read_json(path, f"the labelme polygons of {img_id!r}")
    try:
        _check_annotation(annotation)
    except DataError as e:
        raise DataError(f"{path}: {e}") from None
    return annotation


def focus_mask(annotation: Mapping[str, Any], focus: str) -> np.ndarray:
    """(H, W) bool: the union of the polygons whose label contains `focus`, case-insensitive.

    As the authors' loader: points truncated to int32, each polygon filled together with its
    1-px outline, whatever its shape_type; the parts outside the canvas are dropped.
    """
    from skimage.draw import polygon

    shape = _check_annotation(annotation)
    mask = np.zeros(shape, dtype=bool)
    for s in annotation["shapes"]:
        if not _selects(s, focus):
            continue
        xy = _points(s["points"], str(s.get("label", "")))
        mask[polygon(xy[:, 1], xy[:, 0], shape=shape)] = True
        rows, cols = _outline(xy)
        inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
        mask[rows[inside], cols[inside]] = True
    return mask


def _selects(shape: Mapping[str, Any], focus: str) -> bool:
    return focus.lower() in str(shape.get("label", "")).lower() and bool(shape.get("points"))


def _outline(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the closed polyline through (N, 2) integer x, y points, as
    cv2.polylines draws it. (skimage's polygon_perimeter fails on lines and single points.)"""
    from skimage.draw import line

    ends = np.vstack([xy, xy[:1]])
    edges = [line(r0, c0, r1, c1) for (c0, r0), (c1, r1) in zip(ends[:-1], ends[1:])]
    return np.concatenate([e[0] for e in edges]), np.concatenate([e[1] for e in edges])


def mask_to_shapes(mask: np.ndarray, label: str, tolerance: float = 0.5) -> list[dict[str, Any]]:
    """labelme polygon shapes of an (H, W) bool mask, one per 8-connected component.

    Vertices sit on the centres of boundary pixels, so `focus_mask` redraws the component.
    Holes are filled: a ring comes back as a disc. `tolerance` (pixels) is how far the
    simplified outline may leave the traced one.
    """
    from scipy.ndimage import binary_fill_holes, find_objects
    from skimage.measure import approximate_polygon, find_contours
    from skimage.measure import label as components

    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise DataError(f"mask must be (H, W), got shape {mask.shape}")
    labelled = components(mask, connectivity=2)
    shapes = []
    for k, (rows, cols) in enumerate(find_objects(labelled), start=1):
        top, left = rows.start - 1, cols.start - 1
        # one pixel of margin all round closes every contour
        part = binary_fill_holes(np.pad(labelled[rows, cols] == k, 1))
        # with holes filled, the one contour is the outer one; max() only guards against more
        outline = max(find_contours(part.astype(np.float32), 0.5, fully_connected="high"), key=len)
        outline = approximate_polygon(_snap_inside(outline, part), tolerance)
        if len(outline) > 1 and np.array_equal(outline[0], outline[-1]):
            outline = outline[:-1]
        points = [[float(c + left), float(r + top)] for r, c in outline]
        shapes.append({"label": label, "points": points, "group_id": None, "description": "",
                       "shape_type": "polygon", "flags": {}})
    return shapes


def annotation_for(
    shapes: list[dict[str, Any]], height: int, width: int, image_path: str = ""
) -> dict[str, Any]:
    """A labelme dict (the keys in labelme's order) for an image of `height` x `width`."""
    return {"version": LABELME_VERSION, "flags": {}, "shapes": list(shapes),
            "imagePath": image_path, "imageData": None,
            "imageHeight": int(height), "imageWidth": int(width)}


def _snap_inside(contour: np.ndarray, part: np.ndarray) -> np.ndarray:
    """Move each contour vertex (half-way between a pixel inside and one outside) onto the
    inside pixel, so that int truncation cannot push the outline one pixel out."""
    low, high = np.floor(contour).astype(int), np.ceil(contour).astype(int)
    high_inside = part[high[:, 0], high[:, 1]]
    snapped = np.where(high_inside[:, None], high, low)
    keep = np.ones(len(snapped), dtype=bool)
    keep[1:] = np.any(snapped[1:] != snapped[:-1], axis=1)
    return snapped[keep].astype(np.float64)


def _points(points: Any, label: str) -> np.ndarray:
    """(N, 2) int32 x, y: truncated, as the authors' np.array(points, dtype=np.int32)."""
    try:
        xy = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        xy = np.empty(0)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise DataError(f"points of shape {label!r} must be a list of [x, y] pairs")
    return xy.astype(np.int32)


def _labelme_ready(annotation: Mapping[str, Any], img_id: str) -> dict[str, Any]:
    _check_annotation(annotation)
    base = annotation_for([], annotation["imageHeight"], annotation["imageWidth"],
                          image_path=f"../images/{img_id}")
    shape_keys = {"group_id": None, "description": "", "shape_type": "polygon", "flags": {}}
    out = {**base, **annotation}
    out["imagePath"] = out["imagePath"] or base["imagePath"]
    out["shapes"] = [{**shape_keys, **s} for s in annotation["shapes"]]
    return out


def _check_annotation(annotation: Any) -> tuple[int, int]:
    """The (height, width) of a labelme annotation; DataError says what is malformed."""
    if not isinstance(annotation, Mapping):
        raise DataError(f"a labelme annotation must be an object, got {type(annotation).__name__}")
    missing = [k for k in ("shapes", "imageHeight", "imageWidth") if k not in annotation]
    if missing:
        raise DataError(f"labelme annotation lacks {missing}; see miras.prist.annotation_for")
    shapes = annotation["shapes"]
    if not isinstance(shapes, list):
        raise DataError(f"'shapes' must be a list, got {type(shapes).__name__}; "
                        "write [] for an image without polygons")
    for k, s in enumerate(shapes):
        if not isinstance(s, Mapping):
            raise DataError(f"shape {k} must be an object with 'label' and 'points', "
                            f"got {type(s).__name__}")
        if s.get("points"):
            _points(s["points"], str(s.get("label", "")))  # here, where the file is known
    return _side(annotation, "imageHeight"), _side(annotation, "imageWidth")


def _side(annotation: Mapping[str, Any], key: str) -> int:
    try:
        pixels = int(annotation[key])
    except (TypeError, ValueError):
        pixels = 0
    if pixels <= 0:
        raise DataError(f"{key!r} must be a positive number of pixels, got {annotation[key]!r}; "
                        "set it to the image's size")
    return pixels


def _mask_path(root: Path, img_id: str) -> Path:
    return root / "masks" / f"{Path(img_id).stem}.json"


def _read_json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise DataError(f"{path} not found: it should hold {what}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"{path} is not valid UTF-8 JSON: {e}") from None


def _encode_image(pixels: np.ndarray, img_id: str) -> bytes:
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or not (pixels.ndim == 2 or pixels.shape[2:] in ((3,), (4,))):
        raise DataError(f"image {img_id!r} must be (H, W), (H, W, 3) or (H, W, 4) uint8, "
                        f"got {pixels.dtype} {pixels.shape}")
    fmt = Image.registered_extensions().get(Path(img_id).suffix.lower())
    if fmt is None:
        raise DataError(f"cannot tell the image format of {img_id!r}; use .png or .jpg")
    im, buffer = Image.fromarray(pixels), io.BytesIO()
    if fmt == "JPEG":  # JPEG has no alpha, and its default quality (75) blurs text
        im.convert("RGB").save(buffer, format=fmt, quality=JPEG_QUALITY)
    else:
        im.save(buffer, format=fmt)
    return buffer.getvalue()


def _write_atomic(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")  # open() keeps the umask
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

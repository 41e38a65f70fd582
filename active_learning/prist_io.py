"""PRIST folders in and out of a correction store.

Import: each dialogue of DIR/prist.json becomes one `curated` sample (it is ground truth) whose
correction is the dialogue's focus mask, drawn as the authors' loader draws it. The entry's text is
stored as is, and its img_id and position in meta["prist"], so that export writes the same
prist.json back. Sample ids are derived from the entry, so importing a folder twice adds nothing.
Every image and mask file is checked before the first sample is written: bad data adds nothing.

Unlabeled import (`--unlabeled --model M`): each dialogue becomes a `proposed` sample (what the
queue serves) whose proposal is the model's mask for it; its acquisition scores are stored at the
same time (scoring.py), as the probe that makes the proposal computes them anyway. No masks are
read: the folder may lack masks/.

Export: curated samples become DIR/prist.json (entries in their original order, then the rest in
id order), DIR/images/<img_id> and DIR/masks/<stem>.json with one labelme polygon per connected
part of each correction, labelled with the sample's focus. Two caveats of the format, checked
and reported rather than hidden: a mask's holes are filled, and on an image with several samples a
focus that is contained in another sample's focus also selects that sample's polygons. Where data
sets imported from different folders share an img_id for different pixels, each image is exported
as <stem>-<first 8 of its store image id><ext>. The folder is written beside `out` and moved into
place, so a killed export leaves no prist.json that names missing files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

Progress = Callable[[int, int], None]


def prist_sample_id(index: int, entry: dict[str, Any], prefix: str = "prist") -> str:
    """A stable id for entry `index` of a prist.json: same file, same ids."""
    text = json.dumps([index, entry], sort_keys=True, ensure_ascii=False)
    return f"{prefix}-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


BUSY_WAIT_S = 2.0  # how long a sample another writer is writing gets to become whole


def _add(store, sample_id: str, **fields) -> bool:
    """Add the sample; False if another writer (a second import of the folder) got there first."""
    from active_learning.errors import DuplicateSampleError

    try:
        store.add_sample(sample_id=sample_id, **fields)
    except DuplicateSampleError as err:
        if _becomes_whole(store, sample_id):
            return False
        # Repair would delete a sample another writer is still writing: re-running comes first.
        raise DuplicateSampleError(
            f"sample {sample_id} is unfinished: another writer (a second import of this folder?) "
            "may be writing it. When it is done, run the import again; only if no other writer "
            "uses the store was an import killed: then run `miras-al fsck --store STORE "
            "--repair` and import again"
        ) from err
    return True


def _becomes_whole(store, sample_id: str) -> bool:
    # a writer that created the sample commits it moments later: give it that time
    deadline = time.monotonic() + BUSY_WAIT_S
    while sample_id not in store:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def import_prist(
    store,
    root: str | Path,
    *,
    limit: int | None = None,
    on_progress: Progress | None = None,
) -> dict[str, Any]:
    """Add every dialogue of the PRIST folder `root` as a curated sample; a JSON-ready summary."""
    from miras.prist import focus_mask, load_annotation, load_image, read_prist

    root = Path(root)
    samples = read_prist(root)[:limit]
    ids = [prist_sample_id(index, sample.to_json()) for index, sample in enumerate(samples)]
    new = {index for index, sample_id in enumerate(ids) if sample_id not in store}
    _check_entries(root, samples, new, masks=True)
    added, existing, empty = [], [], []
    images: dict[str, np.ndarray] = {}  # PRIST keeps an image's dialogues together: few reloads
    for index, (sample, sample_id) in enumerate(zip(samples, ids)):
        if index in new:
            if sample.img_id not in images:
                images = {sample.img_id: load_image(root, sample.img_id)}
            mask = focus_mask(load_annotation(root, sample.img_id), sample.focus)
            if not mask.any():
                empty.append(sample_id)
            fresh = _add(store, sample_id, image=images[sample.img_id],
                         dialogue=sample.to_json()["dialogue"], focus=sample.focus,
                         correction=mask, status="curated", meta=_meta(sample, index, root))
            (added if fresh else existing).append(sample_id)
        else:
            existing.append(sample_id)
        if on_progress is not None:
            on_progress(index + 1, len(samples))
    return {"store": store.where, "prist": str(root), "imported": len(added),
            "already_there": len(existing), "empty_masks": empty}


def _check_entries(root: Path, samples: list, indices: set[int], *, masks: bool) -> None:
    """Check every image (and mask) the import will read before it writes anything: a bad entry
    found half-way would leave the ones before it imported."""
    from miras.errors import DataError

    checked: set[str] = set()
    for index in sorted(indices):
        img_id = samples[index].img_id
        if img_id in checked:
            continue
        try:
            size = _image_size(root, img_id)
            if masks:
                _check_mask_file(root, img_id, size)
        except DataError as err:
            raise DataError(f"{root / 'prist.json'}: entry {index} (img_id {img_id!r}): {err}; "
                            "nothing was imported") from None
        checked.add(img_id)


def _image_size(root: Path, img_id: str) -> tuple[int, int]:
    """(H, W) of the image as load_image will return it; DataError if it is missing or broken."""
    from PIL import Image, UnidentifiedImageError

    from miras.errors import DataError
    from miras.prist import check_img_id

    check_img_id(img_id)
    path = root / "images" / img_id
    if not path.is_file():
        raise DataError(f"image {path} not found; put the image in DIR/images/")
    try:
        with Image.open(path) as im:
            im.load()  # a truncated file has a good header: only decoding finds it
            width, height = im.size
            turned = im.getexif().get(0x0112) in (5, 6, 7, 8)  # EXIF orientation: rotated 90°
    except (OSError, UnidentifiedImageError, SyntaxError) as err:
        raise DataError(f"image {path} cannot be read ({err}); replace it") from None
    return (width, height) if turned else (height, width)


def _check_mask_file(root: Path, img_id: str, size: tuple[int, int]) -> None:
    from miras.errors import DataError
    from miras.prist import focus_mask, load_annotation

    annotation = load_annotation(root, img_id)  # its errors name the file
    path = root / "masks" / f"{Path(img_id).stem}.json"
    try:
        drawn = focus_mask(annotation, "").shape  # "" selects every polygon: all points checked
    except (TypeError, ValueError) as err:
        raise DataError(f"{path}: {err}") from None
    if drawn != size:
        raise DataError(
            f"{path} has imageHeight x imageWidth {drawn[0]} x {drawn[1]} but image "
            f"{root / 'images' / img_id} is {size[0]} x {size[1]}; fix imageHeight and "
            "imageWidth (or the image) so they match"
        )


def import_unlabeled(
    store,
    root: str | Path,
    model,
    model_version: str,
    *,
    settings=None,
    limit: int | None = None,
    on_progress: Progress | None = None,
) -> dict[str, Any]:
    """Add every dialogue of `root` as a proposed sample, its proposal `model`'s mask."""
    from active_learning.scores import ScoreBook
    from active_learning.scoring import Scorer
    from miras.prist import load_image, read_prist

    samples = read_prist(root)[:limit]
    ids = [prist_sample_id(index, s.to_json(), prefix="pool") for index, s in enumerate(samples)]
    new = {index for index, sample_id in enumerate(ids) if sample_id not in store}
    _check_entries(Path(root), samples, new, masks=False)
    scorer, book = Scorer(model, model_version, settings), ScoreBook.of(store)
    added = existing = 0
    chat = chat_img = image = features = None
    for index, (sample, sample_id) in enumerate(zip(samples, ids)):
        if index not in new:
            existing += 1
        else:
            if chat_img != sample.img_id:  # one chat (one feature pass) per image
                image, chat_img = load_image(root, sample.img_id), sample.img_id
                chat = scorer.chat(image)
                features = chat.image_features()
            probe = scorer.probe(chat, sample.to_json()["dialogue"], features)
            proposal = probe.mask if probe.mask is not None else np.zeros(chat.image_size, bool)
            if _add(store, sample_id, image=image,
                    dialogue=sample.to_json()["dialogue"], focus=sample.focus, proposal=proposal,
                    status="proposed", model_version=model_version,
                    score=probe.scores.predicted_iou, meta=_meta(sample, index, Path(root))):
                book.put(sample_id, probe.scores)
                added += 1
            else:  # another import wrote it, and stores its scores
                existing += 1
        if on_progress is not None:
            on_progress(index + 1, len(samples))
    return {"store": store.where, "prist": str(root), "imported": added,
            "already_there": existing, "status": "proposed", "model_version": model_version}


def _meta(sample, index: int, root: Path) -> dict[str, Any]:
    return {"prist": {"img_id": sample.img_id, "index": index, "source": root.name}}


def export_prist(store, out: str | Path, *, statuses: tuple[str, ...] = ("curated",)) -> dict:
    """Write the samples of `statuses` to the PRIST folder `out`; a JSON-ready summary."""
    from miras.prist import PristSample, annotation_for, mask_to_shapes

    records = sorted(store.samples(status=list(statuses)), key=_export_order)
    names = _export_names(records)
    entries, images, shapes, masks = [], {}, {}, {}
    for record in records:
        img_id = names[record.sample_id]
        if img_id not in images:
            images[img_id] = _to_uint8(record.image)
            shapes[img_id] = []
        mask = record.correction > 0
        shapes[img_id] += mask_to_shapes(mask, record.focus)
        entries.append(PristSample.from_json(
            {"img_id": img_id, "dialogue": record.dialogue, "focus": record.focus}))
        masks[record.sample_id] = (img_id, mask)
    annotations = {
        img_id: annotation_for(shapes[img_id], *images[img_id].shape[:2],
                               image_path=f"../images/{img_id}")
        for img_id in images
    }
    _write_whole(Path(out), entries, images, annotations)
    return {"store": store.where, "out": str(out), "exported": len(entries),
            "images": len(images), "mismatched": _check_masks(annotations, records, masks)}


def _export_names(records: list) -> dict[str, str]:
    """sample_id -> the img_id it is exported under: its imported one, unless data sets imported
    from different folders used that name for different pixels; then each image gets its own
    name, `<stem>-<first 8 of its store image id><ext>`, so no dialogue points at another's."""
    images_of: dict[str, set[str]] = {}
    for record in records:
        images_of.setdefault(_img_id(record), set()).add(record.image_id)
    names = {}
    for record in records:
        img_id = _img_id(record)
        if len(images_of[img_id]) > 1:
            path = Path(img_id)
            img_id = f"{path.stem}-{record.image_id[:8]}{path.suffix}"
        names[record.sample_id] = img_id
    return names


def _write_whole(out: Path, entries: list, images: dict, annotations: dict) -> None:
    """write_prist into a sibling folder, then move it into place, so that a killed export leaves
    `out` as it was, never a prist.json whose images are not all there."""
    from miras.prist import write_prist

    staging = out.resolve()
    staging = staging.with_name(f".{staging.name}.export-{uuid.uuid4().hex[:12]}.tmp")
    try:
        write_prist(staging, entries, images, annotations)
        if out.exists():
            _move_files_into(staging, out)
        else:
            os.rename(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _move_files_into(staging: Path, out: Path) -> None:
    """Export over an existing folder as before (files replaced one by one, other files kept),
    but with no prist.json until every image and mask is in place."""
    (out / "prist.json").unlink(missing_ok=True)
    for folder in ("images", "masks"):
        if (staging / folder).is_dir():
            (out / folder).mkdir(exist_ok=True)
            for path in (staging / folder).iterdir():
                os.replace(path, out / folder / path.name)
    os.replace(staging / "prist.json", out / "prist.json")


def _export_order(record) -> tuple:
    prist = record.meta.get("prist") or {}
    index = prist.get("index")
    return (0, index, record.sample_id) if isinstance(index, int) else (1, 0, record.sample_id)


def _img_id(record) -> str:
    """The PRIST img_id it was imported with, else one derived from the image's content hash."""
    prist = record.meta.get("prist") or {}
    img_id = prist.get("img_id")
    return img_id if isinstance(img_id, str) and img_id else f"{record.image_id[:16]}.png"


def _to_uint8(image: np.ndarray) -> np.ndarray:
    from miras.preprocess import to_rgb_uint8

    # uint8 pixels are written as they are (grey stays grey); wider types are stretched to 8 bits
    # the way the model sees them.
    if image.dtype == np.uint8 and (image.ndim == 2 or image.shape[2] in (3, 4)):
        return image
    return to_rgb_uint8(image)


def _check_masks(annotations: dict, records: list, masks: dict) -> list[dict[str, Any]]:
    """Samples whose exported polygons do not redraw their correction exactly (see module doc)."""
    from miras.prist import focus_mask

    wrong = []
    for record in records:
        img_id, mask = masks[record.sample_id]
        drawn = focus_mask(annotations[img_id], record.focus)
        differ = int(np.count_nonzero(drawn != mask))
        if differ:
            wrong.append({"sample_id": record.sample_id, "img_id": img_id, "pixels": differ})
    return wrong

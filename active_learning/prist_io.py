"""PRIST folders in and out of a correction store.

Import: each dialogue of DIR/prist.json becomes one `curated` sample (it is ground truth) whose
correction is the dialogue's focus mask, drawn as the authors' loader draws it. The entry's text is
stored as is, and its img_id and position in meta["prist"], so that export writes the same
prist.json back. Sample ids are derived from the entry, so importing a folder twice adds nothing.

Unlabeled import (`--unlabeled --model M`): each dialogue becomes a `proposed` sample (what the
queue serves) whose proposal is the model's mask for it; its acquisition scores are stored at the
same time (scoring.py), as the probe that makes the proposal computes them anyway. No masks are
read: the folder may lack masks/.

Export: curated samples become DIR/prist.json (entries in their original order, then the rest in
id order), DIR/images/<img_id> and DIR/masks/<stem>.json with one labelme polygon per connected
part of each correction, labelled with the sample's focus. Two caveats of the format, checked
and reported rather than hidden: a mask's holes are filled, and on an image with several samples a
focus that is contained in another sample's focus also selects that sample's polygons.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

Progress = Callable[[int, int], None]


def prist_sample_id(index: int, entry: dict[str, Any], prefix: str = "prist") -> str:
    """A stable id for entry `index` of a prist.json: same file, same ids."""
    text = json.dumps([index, entry], sort_keys=True, ensure_ascii=False)
    return f"{prefix}-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def _add(store, sample_id: str, **fields) -> None:
    from active_learning.errors import DuplicateSampleError

    try:
        store.add_sample(sample_id=sample_id, **fields)
    except DuplicateSampleError as err:
        raise DuplicateSampleError(
            f"sample {sample_id} exists but is unfinished (an import was killed); run "
            "`miras-al fsck --store STORE --repair`, then import again"
        ) from err


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
    added, existing, empty = [], [], []
    images: dict[str, np.ndarray] = {}  # PRIST keeps an image's dialogues together: few reloads
    for index, sample in enumerate(samples):
        sample_id = prist_sample_id(index, sample.to_json())
        if sample_id in store:
            existing.append(sample_id)
        else:
            if sample.img_id not in images:
                images = {sample.img_id: load_image(root, sample.img_id)}
            mask = focus_mask(load_annotation(root, sample.img_id), sample.focus)
            if not mask.any():
                empty.append(sample_id)
            _add(store, sample_id, image=images[sample.img_id],
                 dialogue=sample.to_json()["dialogue"], focus=sample.focus, correction=mask,
                 status="curated", meta=_meta(sample, index, root))
            added.append(sample_id)
        if on_progress is not None:
            on_progress(index + 1, len(samples))
    return {"store": store.where, "prist": str(root), "imported": len(added),
            "already_there": len(existing), "empty_masks": empty}


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
    scorer, book = Scorer(model, model_version, settings), ScoreBook.of(store)
    added = existing = 0
    chat = chat_img = image = features = None
    for index, sample in enumerate(samples):
        sample_id = prist_sample_id(index, sample.to_json(), prefix="pool")
        if sample_id in store:
            existing += 1
        else:
            if chat_img != sample.img_id:  # one chat (one feature pass) per image
                image, chat_img = load_image(root, sample.img_id), sample.img_id
                chat = scorer.chat(image)
                features = chat.image_features()
            probe = scorer.probe(chat, sample.to_json()["dialogue"], features)
            proposal = probe.mask if probe.mask is not None else np.zeros(chat.image_size, bool)
            _add(store, sample_id, image=image,
                 dialogue=sample.to_json()["dialogue"], focus=sample.focus, proposal=proposal,
                 status="proposed", model_version=model_version,
                 score=probe.scores.predicted_iou, meta=_meta(sample, index, Path(root)))
            book.put(sample_id, probe.scores)
            added += 1
        if on_progress is not None:
            on_progress(index + 1, len(samples))
    return {"store": store.where, "prist": str(root), "imported": added,
            "already_there": existing, "status": "proposed", "model_version": model_version}


def _meta(sample, index: int, root: Path) -> dict[str, Any]:
    return {"prist": {"img_id": sample.img_id, "index": index, "source": root.name}}


def export_prist(store, out: str | Path, *, statuses: tuple[str, ...] = ("curated",)) -> dict:
    """Write the samples of `statuses` to the PRIST folder `out`; a JSON-ready summary."""
    from miras.prist import PristSample, annotation_for, mask_to_shapes, write_prist

    records = sorted(store.samples(status=list(statuses)), key=_export_order)
    entries, images, shapes, masks = [], {}, {}, {}
    for record in records:
        img_id = _img_id(record)
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
    write_prist(out, entries, images, annotations)
    return {"store": store.where, "out": str(out), "exported": len(entries),
            "images": len(images), "mismatched": _check_masks(annotations, records, masks)}


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

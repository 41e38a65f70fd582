"""Open a correction store (`*.zarr`) in napari: its images and their corrections.

Each image is one Image layer; each corrected or curated sample is a Labels layer over it that
carries its dialogue, so the chat dock shows it and Accept updates that very sample. Only the first
image and its corrections are visible, so the layers do not pile up on screen.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from napari_miras._sample_layers import LayerData, image_layer_data, labels_layer_data

MAX_IMAGES = 50  # a big store is browsed with the queue, not opened whole
CORRECTED = ("corrected", "curated")


def get_reader(path: str | list[str]):
    """The reader if `path` is a MIRAS correction store, else None (napari tries others)."""
    if isinstance(path, list):
        return None
    path = os.fspath(path).rstrip("/\\")
    if not path.endswith(".zarr") or not os.path.isdir(path):
        return None
    return read_store if _open(path) is not None else None


def _open(path: str):
    import active_learning
    from miras import MirasError

    try:
        return active_learning.open_store(path, mode="r")
    except MirasError:  # not our format (e.g. OME-Zarr), or unreadable: not for this reader
        return None


def read_store(path: str | list[str]) -> list[LayerData]:
    store = _open(os.fspath(path if isinstance(path, str) else path[0]).rstrip("/\\"))
    if store is None:
        return []
    layers: list[LayerData] = []
    images: dict[str, Any] = {}
    for record in store.samples(status=CORRECTED):
        if record.image_id not in images:
            if len(images) == MAX_IMAGES:
                warnings.warn(
                    f"{path} holds more than {MAX_IMAGES} corrected images; opened the first "
                    f"{MAX_IMAGES}. Use the MIRAS active learning dock to go through the rest.",
                    stacklevel=2,
                )
                break
            images[record.image_id] = record.image
            layers.append(image_layer_data(record, record.image, visible=len(images) == 1))
        visible = record.image_id == next(iter(images))
        layers.append(labels_layer_data(store, record, images[record.image_id], visible=visible))
    return layers

"""CorrectionStore: the model's proposals and the annotators' corrections, in one zarr v3 store.

Layout (architecture.md, "Correction store"; the attrs are listed in attrs.py):

    STORE/                     attrs {"format": "napari-miras-store", "version": 1}, written once
      images/<image_id>        pixels, 512x512 chunks (channels unchunked); id = content hash
      samples/<sample_id>/     attrs: the sample's metadata, "complete" written last
          proposal             bool (H, W)
          correction           uint8 (H, W)

Crash safety: a sample's group is created with "complete": false, its arrays are written, and only
then are its attrs rewritten with "complete": true (one atomic object write: LocalStore writes to a
temporary file and renames it, S3 PUTs are atomic). Readers skip samples that are not complete, so a
writer killed at any point leaves at most its one sample unfinished, plus perhaps an image no sample
points to; `fsck` reports both.

Concurrency: each writer creates only its own, freshly and randomly named sample; image writes are
idempotent (same content, same name, same bytes); the root is written only at creation. Two
processes must not change the *same* sample at once (the last attrs write wins).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import zarr
from zarr.abc.store import Store
from zarr.core.sync import sync
from zarr.errors import ContainsArrayError, ContainsGroupError

from active_learning.errors import (
    DuplicateSampleError,
    ImageNotFoundError,
    IncompleteImageError,
    IncompleteSampleError,
    ReadOnlyStoreError,
    SampleNotFoundError,
    StoreError,
)
from active_learning.store import backend, validate
from active_learning.store.attrs import (
    can_roll_back,
    check_masks,
    is_complete,
    new_sample_attrs,
    now,
    parse_time,
    rolled_back,
)
from active_learning.store.effort import effort
from active_learning.store.ids import (
    image_id_of,
    is_valid_id,
    new_sample_id,
    sample_id_millis,
    validate_id,
)
from active_learning.store.records import SampleRecord
from active_learning.store.status import (
    STATUSES,
    check_initial,
    check_set_correction,
    check_set_status,
    check_status,
)

log = logging.getLogger(__name__)

CHUNK = 512


def open_store(
    location: backend.Location,
    *,
    mode: str = "a",
    storage_options: dict[str, Any] | None = None,
) -> CorrectionStore:
    """Open the correction store at a path or fsspec URL ("s3://bucket/x.zarr"), or a zarr Store.

    mode "a" (default) creates the store if missing; mode "r" opens an existing one read-only.
    storage_options go to fsspec (e.g. {"endpoint_url": ..., "key": ..., "secret": ...}).
    """
    return CorrectionStore(location, mode=mode, storage_options=storage_options)


def _chunks(shape: tuple[int, ...]) -> tuple[int, ...]:
    # Tiles of the (H, W) plane; channels stay whole so that one tile read gives all of them.
    return (min(CHUNK, shape[0]), min(CHUNK, shape[1]), *shape[2:])


class CorrectionStore:
    """See the module docstring; construct with open_store()."""

    def __init__(
        self,
        location: backend.Location,
        *,
        mode: str = "a",
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        if mode not in ("a", "r"):
            raise StoreError(f"mode must be 'a' (read/write, create if missing) or 'r', not {mode!r}")
        self.read_only = mode == "r"
        self.where = repr(location) if isinstance(location, Store) else os.fspath(location)
        self._zstore = backend.make_zarr_store(location, storage_options, self.read_only)
        backend.open_root(self._zstore, self.where, create=not self.read_only)

    def __repr__(self) -> str:
        mode = "r" if self.read_only else "a"
        return f"CorrectionStore({self.where!r}, mode={mode!r})"

    @property
    def zarr_store(self) -> Store:
        """The zarr Store underneath, for files the loop keeps beside the samples."""
        return self._zstore

    # -- writing -----------------------------------------------------------------------------

    def add_sample(
        self,
        *,
        image: np.ndarray,
        dialogue: list[dict[str, str]],
        focus: str,
        proposal: np.ndarray | None = None,
        correction: np.ndarray | None = None,
        status: str = "proposed",
        model_version: str | None = None,
        score: float | None = None,
        annotator: str | None = None,
        seconds: float | None = None,
        turns: int | None = None,
        meta: dict[str, Any] | None = None,
        sample_id: str | None = None,
    ) -> str:
        """Store one sample and return its id (new and unique unless `sample_id` is given).

        status "proposed" needs a proposal; "corrected" and "curated" (imports) need a correction.
        With a correction, the effort figures are stored: dice and pixels_changed computed from
        the masks, seconds and turns as given.
        """
        self._check_writable()
        status = check_initial(status)
        image = validate.check_image(image)
        shape = image.shape[:2]
        masks = check_masks(status, proposal, correction, shape)
        attrs = new_sample_attrs(
            status=status, shape=shape, masks=masks, dialogue=dialogue, focus=focus,
            model_version=model_version, score=score, annotator=annotator, meta=meta,
        )
        seconds = validate.check_seconds(seconds)
        turns = validate.check_count(turns, "turns")
        if masks["correction"] is not None:
            attrs.update(effort(masks["proposal"], masks["correction"],
                                seconds=seconds, turns=turns))
        sample_id = self._claim_id(sample_id)
        # Everything is validated: only now does anything get written.
        attrs["image_id"] = self._put_image(image)
        self._write_sample(sample_id, attrs, masks)
        return sample_id

    def _claim_id(self, sample_id: str | None) -> str:
        if sample_id is None:
            return new_sample_id()
        validate_id(sample_id)
        if self._exists(sample_id):
            raise DuplicateSampleError(f"sample {sample_id} already exists; choose another id")
        return sample_id

    def _put_image(self, image: np.ndarray) -> str:
        """Write the pixels once per content; return the image id."""
        image_id = image_id_of(image)
        path = f"{backend.IMAGES}/{image_id}"
        try:
            array = zarr.create_array(
                self._zstore, name=path, shape=image.shape, dtype=image.dtype,
                chunks=_chunks(image.shape), attributes={"complete": False}, zarr_format=3,
            )
        except ContainsArrayError:
            array = zarr.open_array(self._zstore, path=path, mode="r+", zarr_format=3)
            if array.attrs.get("complete"):
                return image_id
            # A writer crashed mid-image, or is writing it now: the bytes are the same either
            # way, so writing them again is safe.
        array[...] = image
        array.update_attributes({"complete": True})
        return image_id

    def _write_sample(self, sample_id: str, attrs: dict, arrays: dict) -> None:
        try:
            group = zarr.create_group(
                self._zstore, path=self._path(sample_id),
                attributes={**attrs, "complete": False}, zarr_format=3,
            )
        except ContainsGroupError as err:
            raise DuplicateSampleError(
                f"sample {sample_id} already exists; choose another id"
            ) from err
        for name, mask in arrays.items():
            if mask is not None:
                self._write_array(f"{self._path(sample_id)}/{name}", mask)
        self._commit(group, {**attrs, "complete": True})

    def _commit(self, group: zarr.Group, attrs: dict) -> None:
        # The one write that makes a sample whole; kept separate so tests can crash just before.
        group.attrs.put(attrs)

    def _write_array(self, path: str, data: np.ndarray, *, overwrite: bool = False) -> None:
        array = zarr.create_array(
            self._zstore, name=path, shape=data.shape, dtype=data.dtype,
            chunks=_chunks(data.shape), zarr_format=3, overwrite=overwrite,
        )
        array[...] = data

    def set_status(self, sample_id: str, status: str) -> SampleRecord:
        """Move a sample to `status` (see status.py for the legal moves); return the new record."""
        self._check_writable()
        status = check_status(status)
        group, attrs = self._open_whole(sample_id, writable=True)
        check_set_status(sample_id, attrs["status"], status)
        if status != attrs["status"]:
            attrs = {**attrs, "status": status, "updated": now()}
            group.attrs.put(attrs)
        return SampleRecord.from_attrs(sample_id, attrs, self)

    def set_correction(
        self,
        sample_id: str,
        correction: np.ndarray,
        *,
        seconds: float | None = None,
        turns: int | None = None,
        annotator: str | None = None,
    ) -> SampleRecord:
        """Store the annotator's mask and effort figures; the sample becomes `corrected`.

        `turns` (turns until the mask was accepted) and `seconds` (time spent) are the caller's
        measurements; dice and pixels_changed are computed against the proposal.
        """
        self._check_writable()
        group, attrs = self._open_whole(sample_id, writable=True)
        check_set_correction(sample_id, attrs["status"])
        mask = validate.check_correction(correction, tuple(attrs["shape"]))
        figures = effort(
            self.load_array(sample_id, "proposal") if attrs["has_proposal"] else None, mask,
            seconds=validate.check_seconds(seconds), turns=validate.check_count(turns, "turns"),
        )
        if attrs["has_correction"]:
            # The old mask is about to be overwritten in place: mark the sample unfinished
            # first, so a crash leaves it skipped (and fsck rolls it back to its proposal)
            # instead of a mask that disagrees with its figures.
            group.attrs.put({**attrs, "complete": False, "pending": "correction",
                             "updated": now()})
        # overwrite: the old mask, or one a crashed first correction left (has_correction false)
        self._write_array(f"{self._path(sample_id)}/correction", mask, overwrite=True)
        attrs = {**attrs, **figures, "status": "corrected", "has_correction": True,
                 "updated": now(), "complete": True}
        if annotator is not None:
            attrs["annotator"] = validate.check_text(annotator, "annotator")
        self._commit(group, attrs)
        return SampleRecord.from_attrs(sample_id, attrs, self)

    # -- reading -----------------------------------------------------------------------------

    def get(self, sample_id: str) -> SampleRecord:
        """The record of a complete sample; arrays are read on first access."""
        _, attrs = self._open_whole(sample_id, writable=False)
        return SampleRecord.from_attrs(sample_id, attrs, self)

    def samples(self, status: str | Iterable[str] | None = None) -> Iterator[SampleRecord]:
        """Complete samples in id order (creation order for generated ids), lazily.

        Each step reads one sample's metadata (one small JSON object); no pixels are read until
        a record's proposal, correction or image is asked for.

        Incomplete samples (a writer crashed, or is still writing) are skipped and logged.
        """
        if status is None:
            wanted = None
        elif isinstance(status, str):
            wanted = {check_status(status)}
        else:
            wanted = {check_status(s) for s in status}
        return self._iter_samples(wanted)

    def _iter_samples(self, wanted: set[str] | None) -> Iterator[SampleRecord]:
        skipped = 0
        for sample_id, attrs in self.sample_attrs():
            if not is_complete(attrs):
                skipped += 1
            elif wanted is None or attrs["status"] in wanted:
                yield SampleRecord.from_attrs(sample_id, attrs, self)
        if skipped:
            log.warning("%s: skipped %d incomplete sample(s); run `miras-al fsck` to see them",
                        self.where, skipped)

    def __iter__(self) -> Iterator[SampleRecord]:
        return self.samples()

    def __len__(self) -> int:
        """Complete samples; reads every sample's metadata (one request each on S3)."""
        return sum(self.counts().values())

    def __contains__(self, sample_id: object) -> bool:
        if not is_valid_id(sample_id):
            return False
        attrs = self._read_attrs(sample_id)  # type: ignore[arg-type]
        return is_complete(attrs)

    def counts(self) -> dict[str, int]:
        """Complete samples per status, every status present (0 if none)."""
        counts = dict.fromkeys(STATUSES, 0)
        for _, attrs in self.sample_attrs():
            if is_complete(attrs):
                counts[attrs["status"]] = counts.get(attrs["status"], 0) + 1
        return counts

    def load_array(self, sample_id: str, name: str) -> np.ndarray:
        """One mask of a sample ("proposal" or "correction"), read whole."""
        validate_id(sample_id)
        if name not in ("proposal", "correction"):
            raise StoreError(f"a sample has arrays 'proposal' and 'correction', not {name!r}")
        try:
            array = zarr.open_array(self._zstore, path=f"{self._path(sample_id)}/{name}",
                                    mode="r", zarr_format=3)
        except FileNotFoundError as err:
            raise SampleNotFoundError(f"sample {sample_id} has no {name} array") from err
        return array[...]

    def load_masks(self, sample_id: str) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(proposal, correction) of a complete sample; None where it has none."""
        record = self.get(sample_id)
        return record.proposal, record.correction

    def image(self, image_id: str) -> np.ndarray:
        """The pixels of an image, read whole."""
        return self.image_array(image_id)[...]

    def image_array(self, image_id: str) -> zarr.Array:
        """The image as a read-only zarr array, for reading tiles of a large image."""
        validate_id(image_id, "image")
        try:
            array = zarr.open_array(self._zstore, path=f"{backend.IMAGES}/{image_id}", mode="r",
                                    zarr_format=3)
        except FileNotFoundError as err:
            raise ImageNotFoundError(f"no image {image_id} in {self.where}") from err
        if array.attrs.get("complete") is not True:
            raise IncompleteImageError(
                f"image {image_id} in {self.where} was never finished; run `miras-al fsck`"
            )
        return array

    # -- maintenance (fsck) ------------------------------------------------------------------

    def sample_attrs(self) -> Iterator[tuple[str, dict[str, Any] | None]]:
        """(sample_id, attrs) of every sample folder, complete or not; attrs None if unreadable."""
        for sample_id in backend.list_names(self._zstore, backend.SAMPLES):
            if is_valid_id(sample_id):
                yield sample_id, self._read_attrs(sample_id)

    def incomplete(self) -> list[str]:
        """Ids of the samples readers skip: a writer crashed, or is writing them right now."""
        return [sid for sid, attrs in self.sample_attrs()
                if not is_complete(attrs)]

    def remove_incomplete(self, *, min_age_s: float = 0.0) -> list[str]:
        """Remove the incomplete samples, returning their ids.

        An interrupted re-correction is rolled back to its proposal instead (status "proposed",
        correction dropped) and is not in the list. While annotators are writing, pass a
        `min_age_s` (e.g. 600) so that samples being written right now are left alone.
        """
        return self.repair_incomplete(min_age_s=min_age_s)["removed"]

    def repair_incomplete(self, *, min_age_s: float = 0.0) -> dict[str, list[str]]:
        """{"removed": [...], "rolled_back": [...]}: see remove_incomplete()."""
        self._check_writable()
        done: dict[str, list[str]] = {"removed": [], "rolled_back": []}
        for sample_id, attrs in list(self.sample_attrs()):
            if is_complete(attrs):
                continue
            if self._age_s(sample_id, attrs) < min_age_s:
                continue
            if can_roll_back(attrs):
                self._roll_back_correction(sample_id, attrs)
                done["rolled_back"].append(sample_id)
            else:
                backend.delete_node(self._zstore, self._path(sample_id))
                done["removed"].append(sample_id)
        return done

    def _roll_back_correction(self, sample_id: str, attrs: dict[str, Any]) -> None:
        backend.delete_node(self._zstore, f"{self._path(sample_id)}/correction")
        group = zarr.open_group(self._zstore, path=self._path(sample_id), mode="r+",
                                zarr_format=3)
        group.attrs.put(rolled_back(attrs))

    def image_ids(self) -> list[str]:
        """Ids of every image folder, complete or not."""
        return [i for i in backend.list_names(self._zstore, backend.IMAGES) if is_valid_id(i)]

    def image_state(self, image_id: str) -> str:
        """"complete", "incomplete" or "missing"."""
        try:
            self.image_array(image_id)
        except IncompleteImageError:
            return "incomplete"
        except ImageNotFoundError:
            return "missing"
        return "complete"

    def complete_image(self, image_id: str) -> bool:
        """Mark an unfinished image complete if its pixels hash to its id; True if they do."""
        self._check_writable()
        array = zarr.open_array(self._zstore, path=f"{backend.IMAGES}/{image_id}", mode="r+",
                                zarr_format=3)
        if image_id_of(array[...]) != image_id:
            return False
        array.update_attributes({"complete": True})
        return True

    def remove_image(self, image_id: str) -> None:
        self._check_writable()
        validate_id(image_id, "image")
        backend.delete_node(self._zstore, f"{backend.IMAGES}/{image_id}")

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _path(sample_id: str) -> str:
        return f"{backend.SAMPLES}/{sample_id}"

    def _check_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyStoreError(
                f"{self.where} was opened read-only; open it with open_store(..., mode='a')"
            )

    def _exists(self, sample_id: str) -> bool:
        return sync(self._zstore.exists(f"{self._path(sample_id)}/zarr.json"))

    def _read_attrs(self, sample_id: str) -> dict[str, Any] | None:
        """A sample's attrs, or None if its metadata is missing or unreadable (crashed writer)."""
        try:
            group = zarr.open_group(self._zstore, path=self._path(sample_id), mode="r",
                                    zarr_format=3)
        except (FileNotFoundError, ValueError):  # zarr's not-found and bad-metadata errors
            return None
        return group.attrs.asdict()

    def _open_whole(self, sample_id: str, *, writable: bool) -> tuple[zarr.Group, dict]:
        """The group and attrs of a complete sample, else SampleNotFound/IncompleteSampleError."""
        validate_id(sample_id)
        try:
            group = zarr.open_group(self._zstore, path=self._path(sample_id),
                                    mode="r+" if writable else "r", zarr_format=3)
        except FileNotFoundError as err:
            raise SampleNotFoundError(f"no sample {sample_id} in {self.where}") from err
        except ValueError:  # unreadable metadata: treat as unfinished, below
            group = None
        attrs = {} if group is None else group.attrs.asdict()
        if not is_complete(attrs):
            raise IncompleteSampleError(
                f"sample {sample_id} in {self.where} is incomplete (its writer crashed or is "
                "still writing); run `miras-al fsck --repair` once no one is writing"
            )
        return group, attrs

    @staticmethod
    def _age_s(sample_id: str, attrs: dict[str, Any] | None) -> float:
        """Seconds since the sample was last touched; infinite if that cannot be told."""
        touched = parse_time(attrs.get("updated")) if attrs else None
        if touched is None:
            millis = sample_id_millis(sample_id)  # ids from new_sample_id() carry their time
            touched = None if millis is None else millis / 1000
        return float("inf") if touched is None else time.time() - touched

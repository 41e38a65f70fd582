"""Where a store lives (a local path, an fsspec URL or a zarr Store) and its root group.

Also the two store-level operations that zarr's Group API lacks: listing child names without
reading every child's metadata (samples() must stay lazy), and deleting a node whose metadata may be
broken (a crashed writer's leftovers).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import zarr
from zarr.abc.store import Store
from zarr.core.sync import sync
from zarr.errors import ContainsGroupError
from zarr.storage import FsspecStore, LocalStore

from active_learning.errors import StoreError, StoreFormatError, StoreNotFoundError

FORMAT = "napari-miras-store"
VERSION = 1
ROOT_ATTRS = {"format": FORMAT, "version": VERSION}
IMAGES = "images"
SAMPLES = "samples"
# Entries zarr writes beside the children of a group; never sample or image ids.
_NOT_CHILDREN = ("zarr.json",)

Location = str | os.PathLike | Store


def make_zarr_store(
    location: Location, storage_options: dict[str, Any] | None, read_only: bool
) -> Store:
    """A zarr Store for a path, a file:// URL, any other fsspec URL, or a Store as given."""
    if isinstance(location, Store):
        if storage_options:
            raise StoreError("storage_options apply to URLs only, not to a zarr Store object")
        return location
    text = os.fspath(location)
    if "://" not in text or text.startswith("file://"):
        if storage_options:
            raise StoreError(
                f"storage_options apply to remote URLs only, not to the local path {text!r}"
            )
        return LocalStore(text.removeprefix("file://"), read_only=read_only)
    # Listing caches would hide samples that other annotators' processes add meanwhile.
    options = {"use_listings_cache": False, **(storage_options or {})}
    return FsspecStore.from_url(text, storage_options=options, read_only=read_only)


def open_root(zstore: Store, where: str, *, create: bool) -> zarr.Group:
    """The store's root group, created with its attrs if missing and `create` is set.

    The root attrs are written only here, once: writers never rewrite them, so concurrent
    annotators cannot clobber each other's view of the format.
    """
    try:
        root = _try_open_group(zstore, "")
    except ValueError as err:  # zarr's metadata errors: an array, or unreadable JSON
        raise StoreFormatError(
            f"{where} holds zarr metadata that is not a napari-miras store ({err}); "
            "choose a new path"
        ) from err
    if root is None:
        if not create:
            raise StoreNotFoundError(f"no napari-miras store at {where}; check the path or URL")
        root = _create_root(zstore, where)
    check_root_attrs(root.attrs.asdict(), where)
    return root


def _create_root(zstore: Store, where: str) -> zarr.Group:
    # Our own groups may already be there: another process is creating the store right now.
    if set(list_names(zstore, "")) - {IMAGES, SAMPLES}:
        raise StoreFormatError(
            f"{where} exists and is not empty, but holds no zarr v3 store; choose a new path "
            "for the correction store"
        )
    # ContainsGroupError: another process created it first; theirs is the same, use it.
    with contextlib.suppress(ContainsGroupError):
        zarr.create_group(zstore, attributes=dict(ROOT_ATTRS), zarr_format=3)
    for name in (IMAGES, SAMPLES):
        with contextlib.suppress(ContainsGroupError):
            zarr.create_group(zstore, path=name, zarr_format=3)
    root = _try_open_group(zstore, "")
    if root is None:  # pragma: no cover - only if someone deletes it right now
        raise StoreError(f"the store at {where} vanished while it was being created")
    return root


def check_root_attrs(attrs: dict[str, Any], where: str) -> None:
    if attrs.get("format") != FORMAT:
        raise StoreFormatError(
            f"{where} is a zarr group but not a napari-miras store (format="
            f"{attrs.get('format')!r}); open the store folder itself, or choose a new path"
        )
    version = attrs.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise StoreFormatError(
            f"{where} has store version {version!r}, newer than this napari-miras reads "
            f"({VERSION}); upgrade napari-miras"
        )


def _try_open_group(zstore: Store, path: str) -> zarr.Group | None:
    try:
        return zarr.open_group(zstore, path=path, mode="r", zarr_format=3)
    except FileNotFoundError:
        return None


def list_names(zstore: Store, prefix: str) -> list[str]:
    """Names directly under `prefix`, sorted, without reading any metadata."""
    names = sync(_collect(zstore.list_dir(prefix)))
    return sorted(n for n in names if n not in _NOT_CHILDREN and not n.endswith(".partial"))


async def _collect(names: AsyncIterator[str]) -> list[str]:
    return [name async for name in names]


def delete_node(zstore: Store, path: str) -> None:
    """Delete a group or array and everything under it, readable metadata or not."""
    sync(zstore.delete_dir(path))

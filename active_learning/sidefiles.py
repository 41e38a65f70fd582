"""Small JSON files the loop keeps beside a correction store: scores and leases.

They live under `STORE/active-learning/` (zarr ignores keys it did not write), so they travel with
the store, on a local disk or behind any fsspec URL, with the store's own credentials.

Two guarantees, on every backend:
- `write_json` replaces a file whole: a reader sees the old or the new document, never half
  (local: temporary file + os.replace; object stores: one PUT is atomic).
- `create_json` creates a file only if it does not exist, and says whether it did; of two writers
  racing for one name exactly one wins (local: temporary file + os.link, which refuses an existing
  name; S3: a PUT with If-None-Match). On other fsspec file systems fsspec falls back to
  check-then-write, which is not race-free; use a local path or S3 when several annotators share.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from active_learning.errors import SideFileError

FOLDER = "active-learning"


class SideFiles:
    """JSON documents under one folder, addressed by '/'-separated keys ("scores/abc.json")."""

    def read_json(self, key: str) -> dict[str, Any] | None:
        """The document at `key`, or None if there is none (or it is not readable JSON)."""
        data = self._read(key)
        if data is None:
            return None
        try:
            value = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None  # only a foreign file can be torn: our writes are whole
        return value if isinstance(value, dict) else None

    def write_json(self, key: str, value: dict[str, Any]) -> None:
        self._write(key, _encode(value), exclusive=False)

    def create_json(self, key: str, value: dict[str, Any]) -> bool:
        """Write `value` at `key` unless a file is there; True if this call created it."""
        return self._write(key, _encode(value), exclusive=True)

    def _read(self, key: str) -> bytes | None:
        raise NotImplementedError

    def _write(self, key: str, data: bytes, *, exclusive: bool) -> bool:
        raise NotImplementedError

    def list(self, folder: str) -> list[str]:
        """Keys of the files under `folder`, at any depth, relative to the root; sorted."""
        raise NotImplementedError


def _encode(value: dict[str, Any]) -> bytes:
    return json.dumps(value, allow_nan=False, separators=(",", ":")).encode("utf-8")


class LocalSideFiles(SideFiles):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalSideFiles({str(self.root)!r})"

    def _read(self, key: str) -> bytes | None:
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:
            raise SideFileError(f"cannot read {self.root / key}: {err}") from err

    def _write(self, key: str, data: bytes, *, exclusive: bool) -> bool:
        path = self.root / key
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            if not exclusive:
                os.replace(tmp, path)
                return True
            try:
                os.link(tmp, path)  # atomic, and refuses an existing name (rename would not)
            except FileExistsError:
                return False
            return True
        except OSError as err:
            raise SideFileError(f"cannot write {path}: {err}") from err
        finally:
            tmp.unlink(missing_ok=True)

    def list(self, folder: str) -> list[str]:
        base = self.root / folder
        if not base.is_dir():
            return []
        return sorted(
            str(p.relative_to(self.root)).replace(os.sep, "/")
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )


class FsspecSideFiles(SideFiles):
    """Over an async fsspec file system (what zarr's FsspecStore holds), driven synchronously."""

    def __init__(self, fs, root: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/")

    def __repr__(self) -> str:
        return f"FsspecSideFiles({self.root!r})"

    def _run(self, coroutine):
        from zarr.core.sync import sync

        return sync(coroutine)

    def _read(self, key: str) -> bytes | None:
        try:
            return self._run(self.fs._cat_file(f"{self.root}/{key}"))
        except FileNotFoundError:
            return None

    def _write(self, key: str, data: bytes, *, exclusive: bool) -> bool:
        mode = "create" if exclusive else "overwrite"
        try:
            self._run(self.fs._pipe_file(f"{self.root}/{key}", data, mode=mode))
        except FileExistsError:
            return False
        except OSError as err:
            if exclusive and "PreconditionFailed" in str(err):  # S3's answer to If-None-Match
                return False
            raise SideFileError(f"cannot write {self.root}/{key}: {err}") from err
        return True

    def list(self, folder: str) -> list[str]:
        base = f"{self.root}/{folder}"
        try:
            found = self._run(self.fs._find(base))
        except FileNotFoundError:
            return []
        prefix = self.root.lstrip("/") + "/"
        return sorted(p.lstrip("/").removeprefix(prefix) for p in found)


def side_files(store) -> SideFiles:
    """The side-file folder of a CorrectionStore (`STORE/active-learning/`)."""
    from zarr.storage import FsspecStore, LocalStore

    # The store keeps its zarr Store private; this is the one place that reaches in (see the
    # report: a public `CorrectionStore.zarr_store` property would remove the need).
    zstore = store.zarr_store
    if isinstance(zstore, LocalStore):
        return LocalSideFiles(Path(zstore.root) / FOLDER)
    if isinstance(zstore, FsspecStore):
        return FsspecSideFiles(zstore.fs, f"{zstore.path.rstrip('/')}/{FOLDER}")
    raise SideFileError(
        f"{store.where}: scores and leases need a store on a local path or an fsspec URL, "
        f"not a {type(zstore).__name__}"
    )

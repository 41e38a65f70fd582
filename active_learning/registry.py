"""The model registry: numbered versions, a `current` pointer, a lock for writers.

    REG/current            the promoted version's name ("v0003"), replaced atomically
    REG/history.json       {"promoted": ["v0001", "v0003"]}: promotions in order, for rollback
    REG/v0001/ ...         one folder per version: config.json, tokenizer, model.safetensors,
                           metrics.json (held-out figures), lineage.json (parent, samples)
    REG/.lock              flock'ed by a retrain, so two never write one registry at once
    REG/.current.lock      flock'ed for a moment by promote() and rollback(), so neither is lost
    REG/.staging-*/        a version being made; renamed to vNNNN only when complete
    REG/feature-cache/     stage-2 features shared by retrains (keyed by frozen weights + data)
    REG/logs/              the scheduler's logs

A version folder appears whole or not at all (rename of a finished staging folder), and `current`
changes with one os.replace, so readers (`miras.load(REG)`, the plugin) never see a half state and a
killed retrain leaves `current` as it was. Versions are never changed after they appear.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from active_learning.errors import RegistryError, RegistryLockedError

CURRENT = "current"
HISTORY = "history.json"
LOCK = ".lock"
CURRENT_LOCK = ".current.lock"
LINEAGE = "lineage.json"
METRICS = "metrics.json"
STAGING_PREFIX = ".staging-"
_VERSION = re.compile(r"v\d{4,}")
# What a checkpoint folder holds that a version keeps (train-state/ and caches stay behind).
_SKIP = {"train-state", "train-state.old", "train-state.tmp", "feature-cache"}


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class Registry:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.root = local_path(path)

    def __repr__(self) -> str:
        return f"Registry({str(self.root)!r})"

    # -- reading ---------------------------------------------------------------------------

    @property
    def current(self) -> str | None:
        """The promoted version, or None for a registry with none yet."""
        try:
            name = (self.root / CURRENT).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name or None

    def versions(self) -> list[str]:
        """Every complete version, oldest first."""
        if not self.root.is_dir():
            return []
        names = [p.name for p in self.root.iterdir() if p.is_dir() and _VERSION.fullmatch(p.name)]
        return sorted(names, key=lambda name: int(name[1:]))

    def path(self, version: str) -> Path:
        if not isinstance(version, str) or not _VERSION.fullmatch(version):
            raise RegistryError(f"{version!r} is not a version name (v0001, v0002, ...)")
        folder = self.root / version
        if not folder.is_dir():
            known = ", ".join(self.versions()) or "none"
            raise RegistryError(f"{self.root} has no version {version} (versions: {known})")
        return folder

    def current_path(self) -> Path:
        version = self.current
        if version is None:
            raise RegistryError(
                f"{self.root} has no current version; start it with --base MODEL (retrain) "
                "or Registry.init(MODEL)"
            )
        return self.path(version)

    def history(self) -> list[str]:
        """The promotions in order; the last one is `current`.

        `current` is the authority: promote() and rollback() write two files, and a crash between
        them leaves a history one step ahead or behind, which is cut back or extended here.
        """
        current = self.current
        try:
            data = json.loads((self.root / HISTORY).read_text(encoding="utf-8"))
            promoted = [str(v) for v in data.get("promoted", [])]
        except FileNotFoundError:
            promoted = []
        if current is None:
            return promoted
        if current in promoted:
            return promoted[: promoted.index(current) + 1]
        return [*promoted, current]

    def read_json(self, version: str, name: str) -> dict[str, Any]:
        try:
            return json.loads((self.path(version) / name).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    # -- writing ---------------------------------------------------------------------------

    def init(self, base: str | os.PathLike[str]) -> str:
        """Copy a base model ("tiny", "demo", a checkpoint folder or another registry) in as
        v0001 and make it current. Only for a registry without versions."""
        if self.versions():
            raise RegistryError(f"{self.root} already has versions {self.versions()}; "
                                "init only starts an empty registry")
        with self.staging() as folder:
            _copy_model(base, folder)
            _write_json(folder / METRICS, {})
            _write_json(folder / LINEAGE, {"parent": None, "base": str(base),
                                           "created": now_iso(), "samples": []})
            version = self.add(folder)
        self.promote(version)
        return version

    def promote(self, version: str, *, replacing: str | None = None) -> bool:
        """Make `version` current (and remember the one before, for rollback).

        With `replacing`, only if that version is still current: a retrain judged its child
        against it, and a rollback made meanwhile must stand. Returns whether it was promoted.
        """
        self.path(version)
        with self._current_lock():
            if replacing is not None and self.current != replacing:
                return False
            history = [v for v in self.history() if v != version] + [version]
            _write_text(self.root / CURRENT, version + "\n")
            _write_json(self.root / HISTORY, {"promoted": history})
        return True

    def rollback(self) -> str:
        """Make the version promoted before the current one current again; return its name."""
        with self._current_lock():
            history = self.history()
            if len(history) < 2:
                raise RegistryError(
                    f"{self.root} has no earlier promoted version to roll back to "
                    f"(promotions: {history or 'none'})"
                )
            previous = history[-2]
            self.path(previous)
            _write_text(self.root / CURRENT, previous + "\n")
            _write_json(self.root / HISTORY, {"promoted": history[:-1]})
        return previous

    @contextlib.contextmanager
    def _current_lock(self) -> Iterator[None]:
        # Blocking, unlike lock(): it is only held while two small files are written.
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / CURRENT_LOCK, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        """A fresh folder inside the registry; removed on any failure, including Ctrl-C."""
        self.root.mkdir(parents=True, exist_ok=True)
        folder = self.root / f"{STAGING_PREFIX}{uuid.uuid4().hex[:12]}"
        folder.mkdir()
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def add(self, staged: Path) -> str:
        """Rename a finished staging folder to the next version name; return that name."""
        while True:
            version = f"v{self._next_number():04d}"
            try:
                # rename refuses a non-empty target: a racing writer cannot be overwritten
                staged.rename(self.root / version)
            except OSError:
                if (self.root / version).exists():
                    continue
                raise
            return version

    def _next_number(self) -> int:
        versions = self.versions()
        return int(versions[-1][1:]) + 1 if versions else 1

    def clean_staging(self) -> list[str]:
        """Remove staging folders that killed retrains left; call only under lock()."""
        stale = [p for p in self.root.glob(f"{STAGING_PREFIX}*") if p.is_dir()]
        for folder in stale:
            shutil.rmtree(folder, ignore_errors=True)
        return [p.name for p in stale]

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold REG/.lock (non-blocking): RegistryLockedError if another process has it.

        flock locks die with their process, so a killed retrain never leaves the registry locked.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        handle = open(self.root / LOCK, "a+")  # noqa: SIM115 - held for the whole block
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RegistryLockedError(
                    f"another retrain holds the registry lock ({self.root / LOCK}); wait for it "
                    "to finish, or check `fuser` on that file"
                ) from None
            yield
        finally:
            handle.close()

    @property
    def feature_cache(self) -> Path:
        return self.root / "feature-cache"

    @property
    def logs(self) -> Path:
        return self.root / "logs"


def local_path(location: str | os.PathLike[str]) -> Path:
    """The folder of a registry given as a path or a file:// URL.

    Writers hold flock locks on files inside it, which object stores (s3://, gs://, ...) do not
    have, so any other URL is refused rather than taken for a local folder named "s3:".
    """
    text = os.fspath(location)
    scheme = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]+)://", text)
    if scheme is None:
        return Path(text).expanduser()
    if scheme.group(1).lower() == "file":
        return Path(text[len(scheme.group(0)):] or "/")
    raise RegistryError(
        f"a registry must be a folder on this machine (a path or file:// URL), not {text!r}: "
        "retrains lock files inside it. Mount the bucket (s3fs, gcsfuse, NFS) and pass the "
        "mounted path; correction stores do take fsspec URLs"
    )


def _copy_model(base: str | os.PathLike[str], folder: Path) -> None:
    from miras.checkpoint import build, resolve, save_pretrained

    if str(base) == "tiny":
        save_pretrained(build("tiny", seed=0), folder)
        return
    source = resolve(base)
    if not (source / "config.json").is_file():
        raise RegistryError(f"{source} is not a checkpoint folder (no config.json)")
    for item in source.iterdir():
        if item.name in _SKIP or item.name.startswith("."):
            continue
        if item.is_dir():
            shutil.copytree(item, folder / item.name)
        else:
            shutil.copy2(item, folder / item.name)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_json(path: Path, value: dict[str, Any]) -> None:
    _write_text(path, json.dumps(value, indent=2) + "\n")

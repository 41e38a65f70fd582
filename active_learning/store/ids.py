"""Sample and image ids: validation, generation without coordination, content hashes."""

from __future__ import annotations

import hashlib
import re
import secrets
import time

import numpy as np

from active_learning.errors import InvalidIdError

# Ids become zarr node names and hence file or object-key names: keep them to a portable set
# so that no id can escape its folder or hide as a dot-file.
_ID_RE = re.compile(r"[A-Za-z0-9_.-]+")
MAX_ID_LENGTH = 128
# Names zarr itself writes beside the nodes: an id equal to one would be mistaken for metadata.
_RESERVED = ("zarr.json", ".zgroup", ".zattrs", ".zarray", ".zmetadata")


def validate_id(value: object, kind: str = "sample") -> str:
    """Return `value` if it is a safe id, else raise InvalidIdError saying why."""
    if not isinstance(value, str):
        raise InvalidIdError(f"{kind} id must be a str, got {type(value).__name__}: {value!r}")
    problem = _id_problem(value)
    if problem:
        raise InvalidIdError(
            f"invalid {kind} id {value!r}: {problem}. Use only letters, digits, '_', '-' and '.', "
            f"not starting with '.', at most {MAX_ID_LENGTH} characters "
            "(ids from store.add_sample() always qualify)."
        )
    return value


def _id_problem(value: str) -> str:
    if not value:
        return "it is empty"
    if len(value) > MAX_ID_LENGTH:
        return f"it is {len(value)} characters long"
    if "/" in value or "\\" in value:
        return "it contains a path separator"
    if ".." in value:
        return "it contains '..'"
    if value.startswith("."):
        return "it starts with '.'"
    if not _ID_RE.fullmatch(value):
        return "it contains characters outside [A-Za-z0-9_.-]"
    if value in _RESERVED or value.endswith(".partial"):
        return "it is a name zarr uses for its own files"
    return ""


def is_valid_id(value: object) -> bool:
    return isinstance(value, str) and not _id_problem(value)


def new_sample_id() -> str:
    """A 32-hex-digit id, unique without coordination and sortable by creation time.

    Like UUIDv7: 48 bits of Unix milliseconds, then 80 random bits. Sorting ids lists samples in
    the order they were created; two writers colliding would need the same millisecond and the same
    80 random bits.
    """
    millis = time.time_ns() // 1_000_000
    return f"{millis:012x}{secrets.token_hex(10)}"


def sample_id_millis(sample_id: str) -> int | None:
    """Creation time (Unix ms) encoded in an id from new_sample_id(), None for other ids."""
    if len(sample_id) != 32:
        return None
    try:
        return int(sample_id[:12], 16)
    except ValueError:
        return None


def image_id_of(image: np.ndarray) -> str:
    """Content hash of an image: equal pixels, dtype and shape give the same id.

    Shape and dtype are hashed too, so that the same bytes read as another shape do not collide.
    """
    digest = hashlib.sha256(f"{image.dtype.str}|{image.shape}|".encode())
    digest.update(memoryview(np.ascontiguousarray(image)).cast("B"))
    return digest.hexdigest()

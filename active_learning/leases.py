"""Leases: an item served to one annotator is held for them until it expires or is released.

Stored beside the store, one file per lease event: `leases/<sample_id>/<generation>.json` with the
annotator, the expiry time and whether it was released. The newest generation says who holds the
item. Taking an item means creating generation n+1 after seeing n, with an exclusive create
(sidefiles.py): of two annotators who saw the same n, exactly one creates n+1, the other moves on.
Files are never deleted, which is what makes that argument hold for a process that stalls (it can
only ever try a generation that already exists); they are a few hundred bytes per event.

Time comes from an injectable clock, so tests can expire leases without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from active_learning.errors import LeaseError
from active_learning.sidefiles import SideFiles, side_files

LEASES = "leases"
Clock = Callable[[], float]


@dataclass(frozen=True)
class Lease:
    sample_id: str
    annotator: str
    expires: float  # Unix seconds
    generation: int
    released: bool = False

    def active(self, now: float) -> bool:
        return not self.released and self.expires > now


def check_annotator(annotator: object) -> str:
    if not isinstance(annotator, str) or not annotator.strip() or len(annotator) > 200:
        raise LeaseError(
            f"annotator must be a non-empty name of at most 200 characters, got {annotator!r}; "
            "pass --annotator NAME"
        )
    return annotator.strip()


class LeaseBook:
    """The leases of one store."""

    def __init__(self, side: SideFiles, clock: Clock = time.time) -> None:
        self.side = side
        self.clock = clock

    @classmethod
    def of(cls, store, clock: Clock = time.time) -> LeaseBook:
        return cls(side_files(store), clock)

    def latest(self) -> dict[str, Lease]:
        """The newest lease event of every item that ever had one."""
        newest: dict[str, int] = {}
        for key in self.side.list(LEASES):
            parts = key.split("/")
            if len(parts) == 3 and parts[2].endswith(".json") and parts[2][:-5].isdigit():
                sample_id, generation = parts[1], int(parts[2][:-5])
                newest[sample_id] = max(generation, newest.get(sample_id, 0))
        found = {sid: self._read(sid, gen) for sid, gen in newest.items()}
        return {sid: lease for sid, lease in found.items() if lease is not None}

    def active(self) -> dict[str, Lease]:
        now = self.clock()
        return {sid: lease for sid, lease in self.latest().items() if lease.active(now)}

    def acquire(self, sample_id: str, annotator: str, seconds: float) -> Lease | None:
        """Hold `sample_id` for `annotator` for `seconds` (renewing their own lease); None if
        someone else holds it or took it a moment ago."""
        annotator = check_annotator(annotator)
        if not seconds > 0:
            raise LeaseError(f"a lease must last more than 0 seconds, got {seconds}")
        current = self._newest(sample_id)
        now = self.clock()
        if current is not None and current.active(now) and current.annotator != annotator:
            return None
        lease = Lease(sample_id, annotator, now + seconds, _next(current))
        return lease if self._create(lease) else None

    def release(self, sample_id: str, annotator: str) -> bool:
        """Give an item back before its lease expires; False if `annotator` does not hold it."""
        annotator = check_annotator(annotator)
        current = self._newest(sample_id)
        if current is None or not current.active(self.clock()) or current.annotator != annotator:
            return False
        return self._create(Lease(sample_id, annotator, self.clock(), _next(current),
                                  released=True))

    def _newest(self, sample_id: str) -> Lease | None:
        generations = [int(key.rsplit("/", 1)[1][:-5])
                       for key in self.side.list(f"{LEASES}/{sample_id}")
                       if key.endswith(".json") and key.rsplit("/", 1)[1][:-5].isdigit()]
        return self._read(sample_id, max(generations)) if generations else None

    def _read(self, sample_id: str, generation: int) -> Lease | None:
        doc = self.side.read_json(_key(sample_id, generation))
        if doc is None:
            return None
        return Lease(sample_id, str(doc.get("annotator")), float(doc.get("expires", 0.0)),
                     generation, bool(doc.get("released")))

    def _create(self, lease: Lease) -> bool:
        return self.side.create_json(
            _key(lease.sample_id, lease.generation),
            {"annotator": lease.annotator, "expires": lease.expires, "released": lease.released,
             "at": self.clock()},
        )


def _next(current: Lease | None) -> int:
    return 1 if current is None else current.generation + 1


def _key(sample_id: str, generation: int) -> str:
    return f"{LEASES}/{sample_id}/{generation:012d}.json"

"""Sample statuses and the moves between them.

    from         set_status(sid, ...)     set_correction(sid, mask)
    proposed     rejected                 -> corrected
    corrected    curated, rejected        -> corrected (the mask is replaced)
    curated      rejected                 -> corrected (to be curated again)
    rejected     (final)                  (refused)

- A sample becomes `corrected` only through set_correction(), which also stores the mask and the
  effort figures; set_status(sid, "corrected") is refused, so a corrected sample always has one.
- `curated` (the only status that trains) is reached from `corrected` with set_status(), or set
  directly by add_sample(status="curated", correction=...) when importing ground truth. A proposal
  that needs no change is accepted with set_correction(sid, proposal): dice 1, 0 pixels changed.
- add_sample() starts a sample as proposed (needs a proposal), corrected or curated (need a
  correction); never as rejected.
- `rejected` is final: a rejected sample is kept for the record but never trains.
- Asking for the status a sample already has is a no-op, so retried calls do not fail.
"""

from __future__ import annotations

from active_learning.errors import InvalidStatusError, TransitionError

STATUSES: tuple[str, ...] = ("proposed", "corrected", "curated", "rejected")

# Statuses add_sample() may start a sample in, and the mask each one needs.
INITIAL: dict[str, str] = {"proposed": "proposal", "corrected": "correction", "curated": "correction"}

# Moves set_status() makes; "corrected" is reached by set_correction() only (see above).
_BY_SET_STATUS: dict[str, frozenset[str]] = {
    "proposed": frozenset({"rejected"}),
    "corrected": frozenset({"curated", "rejected"}),
    "curated": frozenset({"rejected"}),
    "rejected": frozenset(),
}
_BY_SET_CORRECTION: frozenset[str] = frozenset({"proposed", "corrected", "curated"})


def check_status(status: object) -> str:
    """Return `status` if it is one of STATUSES, else raise InvalidStatusError."""
    if status not in STATUSES:
        raise InvalidStatusError(
            f"unknown status {status!r}; use one of {', '.join(STATUSES)}"
        )
    return status  # type: ignore[return-value]


def check_initial(status: object) -> str:
    """The status a new sample may be added with."""
    status = check_status(status)
    if status not in INITIAL:
        raise TransitionError(
            f"a new sample cannot start as {status!r}; add it as one of {', '.join(INITIAL)}, "
            "then call store.set_status(sid, 'rejected')"
        )
    return status


def check_set_status(sample_id: str, old: str, new: str) -> None:
    """Raise TransitionError unless set_status() may move a sample from `old` to `new`."""
    if new == old or new in _BY_SET_STATUS.get(old, frozenset()):
        return
    if new == "corrected":
        hint = "call store.set_correction(sid, mask) to give the correction"
    elif old == "rejected":
        hint = "a rejected sample is final; add it again with store.add_sample() if needed"
    elif new == "curated":
        hint = (
            "correct it first with store.set_correction(sid, mask) (pass the proposal if it "
            "needs no change), then curate it"
        )
    else:
        hint = f"from {old!r} a sample may move to {sorted(_BY_SET_STATUS[old]) or 'nothing'}"
    raise TransitionError(f"sample {sample_id}: cannot move from {old!r} to {new!r}; {hint}")


def check_set_correction(sample_id: str, old: str) -> None:
    """Raise TransitionError unless a correction may be given to a sample in status `old`."""
    if old not in _BY_SET_CORRECTION:
        raise TransitionError(
            f"sample {sample_id} is {old!r} and cannot take a correction; a rejected sample is "
            "final, add it again with store.add_sample() if needed"
        )

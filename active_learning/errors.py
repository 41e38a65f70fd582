"""Errors of the active-learning layer. Every message says what was wrong and what to do.

They derive from `miras.MirasError`, so a caller (the plugin, the CLI) can catch one base class for
everything the user can act on. Each also derives from the matching built-in (ValueError,
LookupError, ...) so generic handlers keep working.
"""

from __future__ import annotations

from miras.errors import MirasError


class StoreError(MirasError):
    """Base class of every error raised by the correction store."""


class StoreFormatError(StoreError, ValueError):
    """The location is not a napari-miras store, or one written by a newer version."""


class StoreNotFoundError(StoreError, FileNotFoundError):
    """No store exists at the location, and it was opened read-only."""


class ReadOnlyStoreError(StoreError, PermissionError):
    """A write was asked of a store opened with mode="r"."""


class InvalidIdError(StoreError, ValueError):
    """A sample or image id is not a safe name (path separators, '..', odd characters)."""


class InvalidStatusError(StoreError, ValueError):
    """A status name is not one of STATUSES."""


class TransitionError(StoreError, ValueError):
    """The sample's status cannot move to the one asked for (e.g. rejected -> curated)."""


class SampleDataError(StoreError, ValueError):
    """An image, mask, dialogue or figure given to the store has the wrong type, dtype or shape."""


class ShapeMismatchError(SampleDataError):
    """A mask does not have the (H, W) of its image."""


class SampleNotFoundError(StoreError, LookupError):
    """No sample with this id exists in the store."""


class DuplicateSampleError(StoreError, ValueError):
    """A sample with this id already exists (only when the caller chooses the id)."""


class IncompleteSampleError(SampleNotFoundError):
    """The sample exists but was never finished (a writer crashed); readers skip it."""


class ImageNotFoundError(StoreError, LookupError):
    """No complete image with this id exists in the store."""


class IncompleteImageError(ImageNotFoundError):
    """The image exists but was never finished (a writer crashed); fsck can complete it."""


# -- the loop around the store: scores, queue, registry, retraining, scheduling -------------------


class LoopError(MirasError):
    """Base class of the errors of the active-learning loop (everything but the store)."""


class SideFileError(LoopError, OSError):
    """A file the loop keeps beside the store (scores, leases) cannot be read or written."""


class UnknownStrategyError(LoopError, ValueError):
    """No strategy of that name is in STRATEGIES."""


class LeaseError(LoopError, ValueError):
    """A lease cannot be taken or released as asked (bad annotator name, not the holder)."""


class RegistryError(LoopError, ValueError):
    """The model registry is missing, empty, or has no version of that name."""


class RegistryLockedError(RegistryError):
    """Another process (a retrain) holds the registry's lock."""


class NothingToTrainError(LoopError, ValueError):
    """The store holds no curated sample that can train (or none left after the held-out share)."""


class NoEvaluationDataError(LoopError, ValueError):
    """There is nothing to evaluate on: no --eval folder and no held-out curated sample."""


class RetrainInterrupted(LoopError):
    """should_stop() asked a retrain to stop: the half-trained model was discarded."""


class ScheduleError(LoopError, ValueError):
    """A schedule option (--every, --after) is malformed."""


class SimulationError(LoopError, ValueError):
    """The simulation cannot run with these data and sizes."""

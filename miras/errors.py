"""Errors a user can act on. Every message says what was wrong and what to do."""

from __future__ import annotations


class MirasError(Exception):
    """Base class of every error raised on bad input to the MIRAS library."""


class ImageError(MirasError, ValueError):
    """The image cannot be given to the model (shape, dtype, NaN, empty)."""


class TextError(MirasError, ValueError):
    """The message cannot be given to the model (empty, too long)."""


class ContextLengthError(TextError):
    """The conversation no longer fits into the model's context."""


class CheckpointError(MirasError, OSError):
    """A checkpoint is missing, incomplete or of an unknown format."""


class ConfigError(MirasError, ValueError):
    """A configuration or preset name is invalid."""


class DataError(MirasError, ValueError):
    """A data set (PRIST layout) is malformed."""


class OutOfMemoryError(MirasError, MemoryError):
    """The device ran out of memory."""

"""`miras synth OUT --n N --seed S [--domain base|shifted]`: a synthetic PRIST-style data set."""

from __future__ import annotations

from miras.synth.cli import add_arguments, run

HELP = "write a synthetic PRIST-style data set (scenes with parts, dialogues, labelme masks)"

__all__ = ["HELP", "add_arguments", "run"]

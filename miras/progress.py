"""Progress bars on stderr: live on a terminal; in a log file, a line every 30 s once a job has
run that long (a line per update buried the log: a training run's grew to 400 KB), and nothing
from a shorter job (nor an empty bar before its error message)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from tqdm import tqdm

LOG_INTERVAL_S = 30


def progress_bar(
    total: int | None = None, desc: str = "", unit: str = "it", *, initial: int = 0, disable: bool = False
) -> tqdm:
    live = sys.stderr.isatty()
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, file=sys.stderr, disable=disable,
                dynamic_ncols=True, mininterval=0.5 if live else LOG_INTERVAL_S,
                delay=0 if live else LOG_INTERVAL_S)


def advancer(bar: tqdm) -> Callable[[int, int], None]:
    """An `on_progress(done, total)` callback that drives `bar`."""

    def advance(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return advance

"""Measure how long the Qt event loop stalls: a timer asks for a tick every 10 ms.

Two figures per measurement:
- `worst_ms`: the longest extra wall-clock wait between two ticks (what a user feels);
- `worst_busy_ms`: the same gap, counted only as far as this process used the CPU meanwhile
  (min of the wall and CPU time). A stall our code causes (work on the GUI thread, a worker
  holding the GIL) burns CPU; a process the OS does not schedule (the machine is shared with a
  training run at a higher priority) does not. The second figure is what a test can assert on.
"""

from __future__ import annotations

import time


class StallMeter:
    def __init__(self, interval_ms: int = 10) -> None:
        from qtpy.QtCore import QTimer

        self.interval = interval_ms / 1000
        self.worst = 0.0
        self.worst_busy = 0.0
        self.ticks = 0
        self._last = (time.perf_counter(), time.process_time())
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = (time.perf_counter(), time.process_time())
        wall = now[0] - self._last[0] - self.interval
        cpu = now[1] - self._last[1]
        self.worst = max(self.worst, wall)
        self.worst_busy = max(self.worst_busy, min(wall, cpu))
        self._last = now
        self.ticks += 1

    def __enter__(self) -> StallMeter:
        self._last = (time.perf_counter(), time.process_time())
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._tick()  # a stall at the very end counts too
        self._timer.stop()

    @property
    def worst_ms(self) -> float:
        return round(1000 * self.worst, 1)

    @property
    def worst_busy_ms(self) -> float:
        return round(1000 * self.worst_busy, 1)

    def __str__(self) -> str:
        return f"{self.worst_ms} ms wall ({self.worst_busy_ms} ms with the process busy)"

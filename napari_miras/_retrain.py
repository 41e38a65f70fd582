""""Retrain now": `miras-al retrain --store S --registry R --json` in a child process.

A child process, not a thread: training is long and heavy, and napari must stay responsive and
able to close while it runs. QProcess reports its output through the event loop, so nothing
blocks; progress is read from the `done/total` or `NN%` figures the command writes to stderr.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from qtpy.QtCore import QObject, QProcess, Signal

from napari_miras._al_api import FeatureMissing

_FRACTION = re.compile(r"(\d+)\s*/\s*(\d+)")
_PERCENT = re.compile(r"(\d{1,3})%")


def command(store: str, registry: str, base: str | None = None) -> list[str]:
    """The argv of the retrain job; the `miras-al` beside this Python comes first.

    `base` starts an empty registry (the model the annotators have been chatting with)."""
    beside = Path(sys.executable).with_name("miras-al.exe" if sys.platform == "win32" else "miras-al")
    exe = str(beside) if beside.exists() else shutil.which("miras-al")
    if exe is None:
        raise FeatureMissing(
            "the miras-al command is not installed beside this napari; reinstall napari-miras"
        )
    argv = [exe, "retrain", "--store", store, "--registry", registry, "--json"]
    return argv + ["--base", base] if base else argv


def parse_progress(line: str) -> tuple[int, int] | None:
    """(done, total) from a progress line ("12/40", "30%"), or None."""
    found = _FRACTION.findall(line)
    if found:
        done, total = map(int, found[-1])
        return (done, total) if total > 0 and done <= total else None
    percent = _PERCENT.findall(line)
    return (int(percent[-1]), 100) if percent and int(percent[-1]) <= 100 else None


def parse_result(stdout: str) -> dict[str, Any]:
    """The JSON object the command printed last (`--json`)."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            result = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(result, dict):
            return result
    raise ValueError(f"retrain printed no JSON result; its output ended with: {stdout[-300:]!r}")


def describe(result: dict[str, Any]) -> str:
    """One line for the dock: what was trained and whether it was promoted."""
    before, after = _score(result.get("before")), _score(result.get("after"))
    version = result.get("version") or "?"
    if result.get("promoted"):
        return f"promoted {version}: {before} -> {after}"
    current = result.get("current") or "the current model"
    return f"not promoted ({version}: {after} vs {before}); {current} stays"


def _score(value: Any) -> str:
    if isinstance(value, dict):  # a metrics object: its headline figure decides promotion
        value = value.get("ciou", value)
    return f"{value:.3f}" if isinstance(value, (int, float)) else str(value)


class RetrainJob(QObject):
    """Runs one retrain command; emits progress(done, total), then done(result), failed(text)
    or, after `cancel()`, stopped()."""

    progress = Signal(int, int)
    done = Signal(dict)
    failed = Signal(str)
    stopped = Signal()

    def __init__(self, argv: list[str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._argv = argv
        self._stdout: list[str] = []
        self._stderr: list[str] = []
        self.cancelled = False
        self.process = QProcess(self)
        self.process.readyReadStandardOutput.connect(self._read_stdout)
        self.process.readyReadStandardError.connect(self._read_stderr)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._error)

    def start(self) -> None:
        self.process.start(self._argv[0], self._argv[1:])

    def cancel(self) -> None:
        self.cancelled = True
        self.process.kill()

    def running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def _read_stdout(self) -> None:
        self._stdout.append(bytes(self.process.readAllStandardOutput()).decode(errors="replace"))

    def _read_stderr(self) -> None:
        text = bytes(self.process.readAllStandardError()).decode(errors="replace")
        self._stderr.append(text)
        for line in re.split(r"[\r\n]", text):
            figures = parse_progress(line)
            if figures is not None:
                self.progress.emit(*figures)

    def _finished(self, code: int, _status=None) -> None:
        self._read_stdout()
        if self.cancelled:  # killed on request: its exit code and output say nothing
            self.stopped.emit()
            return
        if code != 0:
            tail = "".join(self._stderr).strip()[-500:]
            self.failed.emit(f"retrain exited with code {code}: {tail}")
            return
        try:
            self.done.emit(parse_result("".join(self._stdout)))
        except ValueError as err:
            self.failed.emit(str(err))

    def _error(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.failed.emit(f"could not start {self._argv[0]}: {self.process.errorString()}")

"""Line-based progress for long commands: one line per finished task, readable in a log or CI.

A progress *bar* redraws one terminal line and shows nothing useful when stdout/stderr go to a file;
these lines are plain text on stderr, so ``nox -s bench > log 2>&1`` shows where the job is:

    [  3/12] ok       runtime agdn-s x4            4.2 s | elapsed 0:00:09, eta 0:00:27
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def _hms(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class ProgressLines:
    """Prints ``[i/N] status label  time | elapsed, eta`` for each finished task, and notes.

    ``total`` is the number of tasks; ``stream`` defaults to ``sys.stderr`` (looked up at each write, so
    pytest's capture sees it); ``enabled=False`` silences everything. The ETA is the mean wall time of
    the tasks finished so far times the tasks left (reused records count, which keeps it honest on a
    resumed run). ``clock`` is injectable for tests (seconds, monotonic).
    """

    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.done = 0
        self.enabled = enabled
        self._stream = stream
        self._clock = clock
        self._start = clock()

    def _write(self, line: str) -> None:
        if self.enabled:
            stream = self._stream or sys.stderr
            print(line, file=stream, flush=True)

    def note(self, message: str) -> None:
        """A message outside the task count (up-front problems, what the run will still do)."""
        self._write(f"esr-bench: {message}")

    def task_done(self, label: str, status: str, seconds: float | None = None) -> None:
        """Record one finished task (``status``: ok, reused, failed, no_checkpoint, ...)."""
        self.done += 1
        elapsed = self._clock() - self._start
        left = self.total - self.done
        eta = elapsed / self.done * left if self.done else 0.0
        width = len(str(self.total))
        took = f"{seconds:6.1f} s" if seconds is not None else " " * 8
        self._write(f"[{self.done:{width}d}/{self.total}] {status:<13} {label:<40} {took} | "
                    f"elapsed {_hms(elapsed)}, eta {_hms(eta)}")

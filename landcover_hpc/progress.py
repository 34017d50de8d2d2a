"""Progress lines for long jobs, printed by rank 0 only, suited to Slurm log files.

A ``Progress`` prints at most one line every ``interval`` seconds (plus the last one), with the fraction
done, the throughput in the job's unit and the estimated time left. Lines, not carriage returns: batch
logs stay readable.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress", "format_duration"]


def format_duration(seconds: float) -> str:
    seconds = int(round(max(seconds, 0.0)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours:d}:{rest // 60:02d}:{rest % 60:02d}"


class Progress:
    """Reports ``done / total`` of a job in ``unit`` (e.g. ``px``), rate-limited to one line per interval.

    The first line comes after ``interval`` seconds (a job done sooner prints nothing); the last line when
    the job completes.
    """

    def __init__(self, label: str, total: float, unit: str = "", *, enabled: bool = True,
                 interval: float = 5.0, stream: TextIO | None = None) -> None:
        self.label, self.total, self.unit = label, float(total), unit
        self.enabled, self.interval = enabled, interval
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0.0
        self._start = time.perf_counter()
        self._last = -float("inf")

    def update(self, amount: float = 1.0) -> None:
        self.done += amount
        now = time.perf_counter()
        due = now - max(self._last, self._start) >= self.interval  # nothing for jobs shorter than interval
        finished = self.done >= self.total and self._last > -float("inf")
        if self.enabled and (due or finished):
            self._last = now
            self.stream.write(self.line(now) + "\n")
            self.stream.flush()

    def line(self, now: float | None = None) -> str:
        elapsed = (now if now is not None else time.perf_counter()) - self._start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        frac = self.done / self.total if self.total else 1.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        return (f"{self.label}: {100 * frac:5.1f}% ({_si(self.done)}/{_si(self.total)} {self.unit}) "
                f"{_si(rate)} {self.unit}/s, elapsed {format_duration(elapsed)}, ETA {format_duration(eta)}")


def _si(value: float) -> str:
    for factor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.1f}{suffix}"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"

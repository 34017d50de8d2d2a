"""Progress lines for long jobs, logged by rank 0 only, suited to Slurm log files.

A ``Progress`` logs at most one line every ``interval`` seconds (plus the last one), with the fraction
done, the throughput in the job's unit and the estimated time left, as an INFO record of its caller's
logger: a command shows it with a timestamp and the rank (:mod:`landcover_hpc.logs`), ``--log-level
WARNING`` leaves it out. Lines, not carriage returns: batch logs stay readable.
"""

from __future__ import annotations

import logging
import time

__all__ = ["Progress", "format_duration"]


def format_duration(seconds: float) -> str:
    seconds = int(round(max(seconds, 0.0)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours:d}:{rest // 60:02d}:{rest % 60:02d}"


class Progress:
    """Reports ``done / total`` of a job in ``unit`` (e.g. ``px``), rate-limited to one line per interval.

    The first line comes after ``interval`` seconds (a job done sooner logs nothing); the last line when
    the job completes. Lines are INFO records of ``logger`` (the caller's module logger; default this
    module's); ``enabled`` False: none (the callers' ``show_progress``, off on ranks other than 0).
    """

    def __init__(self, label: str, total: float, unit: str = "", *, enabled: bool = True,
                 interval: float = 5.0, logger: logging.Logger | None = None) -> None:
        self.label, self.total, self.unit = label, float(total), unit
        self.enabled, self.interval = enabled, interval
        self.logger = logger if logger is not None else logging.getLogger(__name__)
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
            self.logger.info(self.line(now))

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

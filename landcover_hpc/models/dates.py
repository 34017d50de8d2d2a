"""Which dates a model of ``names.SELECTED_DATE_COUNTS`` takes from the store's regular date grid.

Some models of the literature see a few dates, not the whole series: Res_ensemble one image per season (Qiu et
al. 2020), the ConvLSTM U-Nets of Wenger et al. (2022) four monthly dates. The rule, when the config names no
dates (``model.dates``): cut the span of the series, first to last date, into ``count`` periods of equal length
and take, in each, the grid date closest to the period's middle (for 4 counts over one year: one date in the
middle of each quarter). The model then gathers these dates from the full stack itself, so sampling and prediction
do not change, and the indices are saved with the model. Sentinel-1 dates are paired with the chosen S2 dates by
proximity (SEED-MODELS.md: "the S1 date closest to each S2 date").
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Sequence

from ..errors import ConfigError
from .names import S1_MODELS, SELECTED_DATE_COUNTS

__all__ = ["select_dates", "closest_dates", "date_options", "builder_date_indices"]


def _day(value: str) -> date:
    text = str(value)
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def select_dates(dates: Sequence[str], count: int) -> tuple[int, ...]:
    """Indices of ``count`` dates spread over the series: in each of ``count`` equal periods, the date nearest its middle.

    Raises:
        ConfigError: fewer dates than ``count``.
    """
    if count > len(dates):
        raise ConfigError(f"the model takes {count} dates, the store has only {len(dates)}")
    days = [_day(d).toordinal() for d in dates]
    first, span = days[0], days[-1] - days[0]
    chosen: list[int] = []
    for period in range(count):
        middle = first + span * (period + 0.5) / count
        free = [i for i in range(len(days)) if i not in chosen]
        chosen.append(min(free, key=lambda i: (abs(days[i] - middle), i)))
    return tuple(sorted(chosen))


def closest_dates(targets: Sequence[str], dates: Sequence[str]) -> tuple[int, ...]:
    """For each target date, the index of the closest of ``dates`` (ties: the earlier)."""
    days = [_day(d).toordinal() for d in dates]
    return tuple(min(range(len(days)), key=lambda i: (abs(days[i] - _day(t).toordinal()), i)) for t in targets)


def date_options(name: str, dates: Sequence[str], s1_dates: Sequence[str] = (),
                 chosen: Sequence[int] | None = None) -> dict[str, list[int]]:
    """Builder options ``date_indices`` (and ``s1_date_indices``) of model ``name``; ``{}`` for a whole-series model.

    Args:
        name: the model name.
        dates: the store's S2 dates (``YYYYMMDD``).
        s1_dates: the store's S1 dates (models of ``S1_MODELS``).
        chosen: S2 date indices from the config (``model.dates``); default :func:`select_dates`.

    Raises:
        ConfigError: a chosen index out of range, or a count other than the model's.
    """
    count = SELECTED_DATE_COUNTS.get(name)
    if count is None:
        return {}
    if chosen is None:
        indices = select_dates(dates, count)
    else:
        indices = tuple(int(i) for i in chosen)
        if len(indices) != count or any(not 0 <= i < len(dates) for i in indices):
            raise ConfigError(f"model.dates={list(indices)}: model {name} takes {count} date indices in "
                              f"0..{len(dates) - 1}")
    options = {"date_indices": list(indices)}
    if name in S1_MODELS:
        options["s1_date_indices"] = list(closest_dates([dates[i] for i in indices], s1_dates))
    return options


def builder_date_indices(name: str, n_dates: int, indices: Sequence[int] | None = None,
                         key: str = "date_indices") -> list[int]:
    """The date indices a builder of ``SELECTED_DATE_COUNTS`` uses: ``indices`` checked, or, when the model is
    built without dates (a summary, a FLOP count), :func:`select_dates` on a regular grid of ``n_dates`` days.

    Raises:
        ConfigError: not the model's count of indices, an index out of ``0..n_dates-1``, or too few dates.
    """
    count = SELECTED_DATE_COUNTS[name]
    if indices is None:
        grid = [(date(2000, 1, 1) + timedelta(days=i)).strftime("%Y%m%d") for i in range(n_dates)]
        return list(select_dates(grid, count))
    chosen = [int(i) for i in indices]
    if len(chosen) != count or any(not 0 <= i < n_dates for i in chosen):
        raise ConfigError(f"{key}={chosen}: model {name} takes {count} date indices in 0..{n_dates - 1} (model.dates)")
    return chosen

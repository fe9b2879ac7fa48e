"""The settings of a forecast and their checks: dates, sampler sizes, seed, model, language.

A new forecast (:func:`~iamg_forecast.forecast.forecast`) and a loaded one
(:mod:`~iamg_forecast.saved_forecast`) are held to the same rules, so a saved file cannot carry
a setting that a new forecast would refuse.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np

from iamg_forecast.errors import ForecastError, short
from iamg_forecast.evidence.items import Evidence
from iamg_forecast.language import LANGUAGES
from iamg_forecast.model import ScenarioModel
from iamg_forecast.spec import Spec, month_end, parse_date

__all__ = ["date_setting", "forecast_dates", "check_sizes", "check_seed", "check_model_args"]


def date_setting(value: Any, name: str) -> dt.date | None:
    """A date setting (``as_of``, ``horizon``): None, a date or exactly ``YYYY-MM-DD``.

    The one date parser (:func:`~iamg_forecast.spec.parse_date`), its error a ForecastError.

    Examples
    --------
    >>> date_setting("2026-01-31", "as_of"), date_setting(None, "as_of")
    (datetime.date(2026, 1, 31), None)
    >>> date_setting("20260131", "as_of")
    Traceback (most recent call last):
    ...
    iamg_forecast.errors.ForecastError: as_of must be an ISO date YYYY-MM-DD, got '20260131'
    """
    if value is None:
        return None
    try:
        return parse_date(value, name)
    except ValueError:
        raise ForecastError(f"{name} must be an ISO date YYYY-MM-DD, got {value!r}") from None


def forecast_dates(spec: Spec, items: Sequence[Evidence], as_of: Any, horizon: Any
                   ) -> tuple[dt.date, dt.date]:
    """``(as_of, horizon)`` of a forecast, defaulted and checked against the spec and today.

    ``as_of`` defaults to the newest evidence date (the day before the scenario starts
    without evidence), ``horizon`` to the spec's default horizon.

    Raises
    ------
    ForecastError
        For a date before the scenario, an ``as_of`` in the future, a horizon after the
        model's last month or not after ``as_of``.

    Examples
    --------
    >>> from iamg_forecast.spec import load_spec
    >>> forecast_dates(load_spec(), [], "2026-01-31", None)
    (datetime.date(2026, 1, 31), datetime.date(2026, 12, 31))
    """
    start = dt.date.fromisoformat(spec.scenario.start_month + "-01") - dt.timedelta(days=1)
    as_of_d = date_setting(as_of, "as_of")
    if as_of_d is None:
        as_of_d = max((it.date for it in items), default=None) or start
    if as_of_d < start:
        raise ForecastError(f"as_of {as_of_d} is before the scenario starts "
                            f"({spec.scenario.start_month}); use {start} or later")
    if as_of_d > dt.date.today():
        raise ForecastError(f"as_of {as_of_d} is in the future (today is {dt.date.today()}): "
                            "the forecast would take months that have not happened as observed")
    hz = date_setting(horizon, "horizon") or dt.date.fromisoformat(
        spec.scenario.default_horizon)
    last = month_end(spec.scenario.end_month)
    if hz > last:
        raise ForecastError(f"horizon {hz} is after the model's last month "
                            f"{spec.scenario.end_month}; extend scenario.end_month in the spec")
    if hz <= as_of_d:
        raise ForecastError(f"horizon {hz} must be after as_of {as_of_d}")
    if spec.month_index(hz) < 0:
        raise ForecastError(f"horizon {hz} is before the scenario start")
    return as_of_d, hz


def check_sizes(**values: Any) -> dict[str, int]:
    """The given (not None) sampling sizes, each checked to be a positive integer.

    Examples
    --------
    >>> check_sizes(draws=300, tune=None)
    {'draws': 300}
    """
    out = {}
    for name, v in values.items():
        if v is None:
            continue
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ForecastError(f"{name} must be a positive integer, got {v!r}")
        out[name] = int(v)
    return out


def check_seed(seed: Any) -> int:
    """A sampler seed: an integer from 0 to 2**63 - 1.

    Examples
    --------
    >>> check_seed(7)
    7
    """
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) \
            or not 0 <= seed < 2**63:
        raise ForecastError(f"seed must be an integer from 0 to 2**63 - 1, got {seed!r}")
    return int(seed)


def check_model_args(model: Any, language: Any) -> None:
    """Refuse a wrong model or language before any work is done.

    Examples
    --------
    >>> check_model_args("model", "icd203")
    Traceback (most recent call last):
    ...
    iamg_forecast.errors.ForecastError: model must be a ScenarioModel from \
iamg_forecast.load_model(), got str
    """
    if not isinstance(model, ScenarioModel):
        raise ForecastError("model must be a ScenarioModel from iamg_forecast.load_model(), "
                            f"got {type(model).__name__}")
    if not isinstance(language, str) or language not in LANGUAGES:
        raise ForecastError(f"language must be one of {sorted(LANGUAGES)}, got "
                            f"{short(language)}")

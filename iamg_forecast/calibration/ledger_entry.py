"""What the ledger records of a forecast: one typed entry, and the rows it becomes.

:class:`ForecastEntry` is the one shape :meth:`~iamg_forecast.calibration.ledger.Ledger.record`
accepts besides a :class:`~iamg_forecast.forecast.Forecast` (which it turns into an entry with
:meth:`ForecastEntry.of`): the forecast's table, its provenance, its prior probabilities and
whether it passed its diagnostic gates. :meth:`ForecastEntry.payloads` checks the entry and
gives one row payload per outcome.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from iamg_forecast.calibration.ledger_chain import canonical_json, jsonable
from iamg_forecast.errors import LedgerError, short
from iamg_forecast.forecast import Forecast
from iamg_forecast.spec import parse_date

__all__ = ["ForecastEntry", "PROVENANCE_KEYS", "TABLE_COLUMNS", "stored_reliability",
           "stored_problems", "iso_date"]

#: Provenance fields every recorded forecast carries.
PROVENANCE_KEYS = ("spec_hash", "evidence_hash", "as_of", "horizon", "seed", "draws", "chains",
                   "versions", "created")
#: Columns of the forecast table the ledger stores.
TABLE_COLUMNS = ("outcome", "question", "p", "lo80", "hi80", "lo95", "hi95", "term")


def iso_date(value: Any, what: str) -> str:
    """``value`` as ``YYYY-MM-DD`` (:func:`~iamg_forecast.spec.parse_date`), else a LedgerError.

    Raises
    ------
    LedgerError
        Naming ``what`` and the value for anything else (``"2026-05-01garbage"``,
        ``"May 2026"``, ``"2026-02-30"``, numbers).

    Examples
    --------
    >>> import datetime as dt
    >>> iso_date(dt.date(2026, 5, 1), "date"), iso_date("2026-05-01", "date")
    ('2026-05-01', '2026-05-01')
    >>> iso_date("2026-05-01x", "date")
    Traceback (most recent call last):
    ...
    iamg_forecast.errors.LedgerError: date must be an ISO date YYYY-MM-DD, got '2026-05-01x'
    """
    try:
        return parse_date(value, what).isoformat()
    except ValueError:
        raise LedgerError(f"{what} must be an ISO date YYYY-MM-DD, got {short(value)}"
                          ) from None


@dataclass(frozen=True)
class ForecastEntry:
    """A forecast as the ledger records it.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per outcome with the columns :data:`TABLE_COLUMNS` (other columns are
        ignored).
    provenance : mapping
        At least :data:`PROVENANCE_KEYS`; its canonical JSON's SHA-256 names the forecast.
    prior_p : mapping, optional
        Outcome -> probability at the same horizon under the prior alone.
    ok : bool, optional
        Whether the forecast passed its diagnostic gates; None when it does not say (its rows
        then count as of unknown reliability, like rows recorded before the ledger stored it).
    problems : tuple of str
        The gates it failed.

    Examples
    --------
    >>> table = pd.DataFrame([{"outcome": "other_pm", "question": "?", "p": 0.3,
    ...     "lo80": 0.2, "hi80": 0.4, "lo95": 0.1, "hi95": 0.5, "term": "unlikely"}])
    >>> prov = {"spec_hash": "s", "evidence_hash": "e", "as_of": "2026-01-15",
    ...     "horizon": "2026-12-31", "seed": 1, "draws": 10, "chains": 2, "versions": {},
    ...     "created": "2026-01-15T10:00:00+00:00"}
    >>> fid, rows = ForecastEntry(table, prov, ok=True).payloads()
    >>> len(fid), rows[0]["outcome"], rows[0]["diagnostics"]
    (16, 'other_pm', {'ok': True, 'problems': []})
    """

    table: pd.DataFrame
    provenance: Mapping[str, Any]
    prior_p: Mapping[str, float] | None = None
    ok: bool | None = None
    problems: tuple[str, ...] = ()

    @classmethod
    def of(cls, fc: Forecast) -> ForecastEntry:
        """The entry of a forecast: its table, provenance, prior and diagnostic gates."""
        return cls(table=fc.table(), provenance=fc.provenance, prior_p=fc.prior_p,
                   ok=bool(fc.diagnostics.ok), problems=tuple(fc.diagnostics.problems))

    def _check_types(self) -> None:
        if not isinstance(self.table, pd.DataFrame):
            raise TypeError(f"entry.table must be a pandas DataFrame, got "
                            f"{type(self.table).__name__}")
        if not isinstance(self.provenance, Mapping):
            raise TypeError(f"entry.provenance must be a mapping, got "
                            f"{type(self.provenance).__name__}")
        if self.prior_p is not None and not isinstance(self.prior_p, Mapping):
            raise TypeError(f"entry.prior_p must be a mapping of outcome to probability or "
                            f"None, got {type(self.prior_p).__name__}")

    def _diagnostics(self) -> dict[str, Any] | None:
        """``{"ok": bool, "problems": [str, ...]}``, or None when the entry does not say."""
        ok = bool(self.ok) if isinstance(self.ok, np.bool_) else self.ok
        if ok is None:
            return None
        if not isinstance(ok, bool):
            raise LedgerError(f"forecast diagnostics: ok must be True or False, got {ok!r}")
        if isinstance(self.problems, str) or not isinstance(self.problems, list | tuple):
            raise LedgerError(f"forecast diagnostics: problems must be a list of strings, got "
                              f"{self.problems!r}")
        return {"ok": ok, "problems": [str(p) for p in self.problems]}

    def payloads(self) -> tuple[str, list[dict[str, Any]]]:
        """The forecast id and one row payload per outcome, after checking the entry.

        The id is the first 16 hex digits of the SHA-256 of the provenance's canonical JSON.

        Raises
        ------
        TypeError
            For a table that is not a DataFrame, a provenance or prior that is not a mapping.
        LedgerError
            If the table or provenance lacks a field, a date is not ISO ``YYYY-MM-DD``, a
            probability is not in [0, 1], the diagnostics are malformed or the table is empty.
        """
        self._check_types()
        missing = [c for c in TABLE_COLUMNS if c not in self.table.columns]
        if missing:
            raise LedgerError(f"forecast table lacks columns {missing}; expected "
                              f"{list(TABLE_COLUMNS)}")
        diagnostics = self._diagnostics()
        prov = jsonable(dict(self.provenance))
        missing = [k for k in PROVENANCE_KEYS if k not in prov]
        if missing:
            raise LedgerError(f"forecast provenance lacks {missing}")
        as_of = iso_date(prov["as_of"], "provenance.as_of")
        horizon = iso_date(prov["horizon"], "provenance.horizon")
        fid = hashlib.sha256(canonical_json(prov).encode("utf-8")).hexdigest()[:16]
        prior = self.prior_p or {}
        rows = [_payload(r, prior.get(r["outcome"]), fid, as_of, horizon, prov, diagnostics)
                for r in self.table.to_dict("records")]
        if not rows:
            raise LedgerError("the forecast table has no rows")
        return fid, rows


def _payload(r: dict[str, Any], prior: Any, fid: str, as_of: str, horizon: str,
             prov: dict[str, Any], diagnostics: dict[str, Any] | None) -> dict[str, Any]:
    """The payload of one table row."""
    try:
        p = float(r["p"])
    except (TypeError, ValueError):
        p = float("nan")
    if not (math.isfinite(p) and 0 <= p <= 1):
        raise LedgerError(f"forecast of {r['outcome']!r}: p must be in [0, 1], got {p}")
    return {"forecast_id": fid, "outcome": str(r["outcome"]), "question": r["question"],
            "p": p, "intervals": {k: float(r[k]) for k in ("lo80", "hi80", "lo95", "hi95")},
            "term": r["term"], "as_of": as_of, "horizon": horizon,
            "prior_p": None if prior is None else float(prior), "provenance": prov,
            **({} if diagnostics is None else {"diagnostics": diagnostics})}


def stored_reliability(payload: Mapping[str, Any]) -> bool | None:
    """Whether a forecast row passed its diagnostics; None when not recorded (older rows).

    Examples
    --------
    >>> stored_reliability({"diagnostics": {"ok": False, "problems": []}}), stored_reliability({})
    (False, None)
    """
    diag = payload.get("diagnostics")
    ok = diag.get("ok") if isinstance(diag, Mapping) else None
    return ok if isinstance(ok, bool) else None


def stored_problems(payload: Mapping[str, Any]) -> list[str] | None:
    """The failed diagnostic gates of a forecast row; None when not recorded (older rows).

    Examples
    --------
    >>> stored_problems({"diagnostics": {"ok": False, "problems": ["3 divergent transitions"]}})
    ['3 divergent transitions']
    """
    diag = payload.get("diagnostics")
    probs = diag.get("problems") if isinstance(diag, Mapping) else None
    return [str(p) for p in probs] if isinstance(probs, list) else None

"""What resolutions say: the status of each outcome, and which forecasts it settles.

A forecast of outcome X at horizon H asks "will X have happened by H?" (for a competing group's
none-outcome, e.g. ``deadlock_persists``: "will none of the choices have happened by H?").
Resolutions are dated statements about the *first* occurrence of X since the scenario start:

- ``happened=True, date=D``: X first happened on D. The forecast resolves 1 if D <= H and 0 if
  D > H (it had not happened by H).
- ``happened=False, date=D``: X had not happened by D. The forecast resolves 0 if D >= H;
  if D < H it stays unresolved.
- A competitor of a choice that happened is recorded as not happened for good (``final``):
  it resolves 0 at every horizon.
- For a none-outcome the meaning is mirrored: ``happened=True, date=D`` says no choice had
  happened by D (forecasts with H <= D resolve 1); ``happened=False, date=D`` says a choice
  happened on D (forecasts with H >= D resolve 0, those with H < D resolve 1).

A forecast is scored only if both its evidence cut-off (``as_of``) and the day it was recorded
in the ledger (``recorded_at``, UTC) fall strictly before the day its question was settled,
``min(D, H)``. Anything else is a hindcast, which could have read the answer.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from iamg_forecast.calibration.ledger_entry import iso_date, stored_reliability
from iamg_forecast.calibration.scores import ALL, score_table
from iamg_forecast.defaults import MAX_SOURCE_CHARS
from iamg_forecast.errors import LedgerError, short
from iamg_forecast.priorcheck import climatology
from iamg_forecast.spec import Spec

__all__ = ["Ref", "Status", "implied_resolutions", "statuses", "resolved_frame",
           "RESOLVED_COLUMNS", "check_resolution", "score_resolved"]

#: Columns of :func:`resolved_frame` (and :meth:`Ledger.resolved`).
RESOLVED_COLUMNS = ["seq", "forecast_id", "outcome", "as_of", "horizon", "created",
                    "recorded_at", "p", "prior_p", "y", "settled_on", "resolution_seq",
                    "source", "hindcast", "reliable"]

#: A ledger row as read back: ``(seq, kind, payload, recorded_at)``.
Row = tuple[int, str, dict[str, Any], str]


@dataclass(frozen=True)
class Ref:
    """The resolution row behind a piece of status: its seq, source and what it said."""

    seq: int
    source: str
    said: str

    @classmethod
    def of(cls, seq: int, payload: Mapping[str, Any]) -> Ref:
        """The reference to resolution row ``seq``.

        Examples
        --------
        >>> str(Ref.of(3, {"outcome": "other_pm", "happened": False, "date": "2026-03-01",
        ...                "source": "parliament"}))
        'seq 3: other_pm not happened on 2026-03-01'
        """
        said = (f"{payload['outcome']} {'happened' if payload['happened'] else 'not happened'}"
                f"{' for good' if payload.get('final') else ''} on {payload['date']}")
        if payload.get("implied_by"):
            said += f" (implied by {payload['implied_by']})"
        return cls(seq, str(payload.get("source")), said)

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.said}"


@dataclass
class Status:
    """What the resolutions of one outcome say about its underlying event (first occurrence).

    For a none-outcome the underlying event is "one of the group's choices happened".
    """

    first: str | None = None  # the event first happened on this date
    first_ref: Ref | None = None
    not_by: str | None = None  # the event had not happened by this date (latest such)
    not_by_ref: Ref | None = None
    never: str | None = None  # the event can no longer happen, known since this date
    never_ref: Ref | None = None

    @staticmethod
    def assertion(payload: Mapping[str, Any]) -> tuple[str, str]:
        """``(kind, date)`` about the underlying event; a none-outcome mirrors its event."""
        happened, date = bool(payload["happened"]), payload["date"]
        if payload.get("type") == "none":
            return ("not_by" if happened else "first"), date
        if happened:
            return "first", date
        return ("never" if payload.get("final") else "not_by"), date

    def add(self, kind: str, date: str, ref: Ref) -> None:
        """Take in one assertion."""
        if kind == "first":
            self.first, self.first_ref = date, ref
        elif kind == "never":
            if self.never is None or date < self.never:
                self.never, self.never_ref = date, ref
        elif self.not_by is None or date > self.not_by:
            self.not_by, self.not_by_ref = date, ref

    def conflict(self, kind: str, date: str) -> Ref | None:
        """The recorded resolution that ``(kind, date)`` contradicts, or None."""
        if kind == "first":
            if self.first is not None and self.first != date:
                return self.first_ref
            if self.not_by is not None and self.not_by >= date:
                return self.not_by_ref
            if self.never is not None:
                return self.never_ref
        elif self.first is not None and (kind == "never" or self.first <= date):
            return self.first_ref
        return None

    def redundant(self, kind: str, date: str) -> bool:
        """Whether ``(kind, date)`` adds nothing to what is known."""
        if kind == "first":
            return self.first == date
        if kind == "never":
            return self.never is not None
        return self.never is not None or (self.not_by is not None and self.not_by >= date)

    def resolve(self, horizon: str) -> tuple[int, str, Ref] | None:
        """``(y_event, settled_on, ref)`` at ``horizon``, or None if unresolved."""
        if self.first is not None and self.first_ref is not None:
            return int(self.first <= horizon), min(self.first, horizon), self.first_ref
        if self.never is not None and self.never_ref is not None:
            return 0, min(self.never, horizon), self.never_ref
        if self.not_by is not None and self.not_by_ref is not None and self.not_by >= horizon:
            return 0, horizon, self.not_by_ref
        return None


def statuses(resolutions: Iterable[tuple[int, Mapping[str, Any]]]) -> dict[str, Status]:
    """The status of every outcome from its resolution rows ``(seq, payload)``, oldest first."""
    status: dict[str, Status] = {}
    for seq, pl in resolutions:
        kind, d = Status.assertion(pl)
        status.setdefault(pl["outcome"], Status()).add(kind, d, Ref.of(seq, pl))
    return status


def implied_resolutions(spec: Spec, outcome: str, happened: bool, date: str, source: str
                        ) -> list[dict[str, Any]]:
    """The resolution payloads one statement stands for: itself and what it implies.

    For a choice of a competing group, ``happened=True`` also says every other member did not
    happen (the other choices for good, the none-outcome as ended on ``date``); for the
    group's none-outcome, ``happened=True`` ("still none at ``date``") says no choice had
    happened by ``date``. Implied payloads carry ``implied_by``.

    Examples
    --------
    >>> from iamg_forecast.spec import load_spec
    >>> rows = implied_resolutions(load_spec(), "other_pm", True, "2026-05-01", "parliament")
    >>> [(r["outcome"], r["happened"], r["final"]) for r in rows]  # doctest: +NORMALIZE_WHITESPACE
    [('other_pm', True, False), ('maliki_confirmed', False, True),
     ('sudani_return', False, True), ('deadlock_persists', False, False)]
    """
    o = spec.outcome(outcome)
    base = {"date": date, "source": source, "group": o.group}
    wanted = [{**base, "outcome": outcome, "type": o.type, "happened": happened,
               "final": False, "implied_by": None}]
    if o.group is None or not happened or o.type not in ("choice", "none"):
        return wanted
    members = spec.group_members(o.group)
    none_name = members[-1]
    for m in members:
        if m == outcome:
            continue
        # a choice happened: other choices never will, the none-outcome ended on date;
        # still none at date: no choice had happened by date
        final = o.type == "choice" and m != none_name
        wanted.append({**base, "outcome": m, "type": spec.outcome(m).type, "happened": False,
                       "final": final, "implied_by": outcome})
    return wanted


def _resolved_row(seq: int, pl: dict[str, Any], at: str, got: tuple[int, str, Ref],
                  mirrored: bool) -> dict[str, Any]:
    y, settled, ref = got
    return {"seq": seq, "forecast_id": pl["forecast_id"], "outcome": pl["outcome"],
            "as_of": pl["as_of"], "horizon": pl["horizon"],
            "created": pl["provenance"].get("created"), "recorded_at": at, "p": pl["p"],
            "prior_p": np.nan if pl.get("prior_p") is None else pl["prior_p"],
            "y": 1 - y if mirrored else y, "settled_on": settled,
            "resolution_seq": ref.seq, "source": ref.source,
            "hindcast": pl["as_of"] >= settled or at[:10] >= settled,
            "reliable": stored_reliability(pl)}


def resolved_frame(rows: list[Row], *, include_hindcasts: bool = False,
                   reliable_only: bool = False) -> pd.DataFrame:
    """The forecast rows of ``rows`` joined with what their resolutions settle.

    See :meth:`~iamg_forecast.calibration.ledger.Ledger.resolved`.
    """
    status = statuses((seq, pl) for seq, kind, pl, _ in rows if kind == "resolution")
    mirrored = {pl["outcome"] for _, kind, pl, _ in rows
                if kind == "resolution" and pl.get("type") == "none"}
    out = []
    for seq, kind, pl, at in rows:
        st = status.get(pl["outcome"])
        got = None if kind != "forecast" or st is None else st.resolve(pl["horizon"])
        if got is None:
            continue
        row = _resolved_row(seq, pl, at, got, pl["outcome"] in mirrored)
        if (row["hindcast"] and not include_hindcasts) or (
                reliable_only and row["reliable"] is not True):
            continue
        out.append(row)
    df = pd.DataFrame(out, columns=RESOLVED_COLUMNS)
    df["reliable"] = df["reliable"].astype(object)
    return df


def check_resolution(spec: Spec, outcome: Any, happened: Any, date: Any, source: Any,
                     today: dt.date | None = None) -> tuple[bool, str, str]:
    """Check a resolution's arguments without a ledger; return ``(happened, date, source)``.

    ``today`` (default: the local date) is the latest date a resolution may carry.

    Raises
    ------
    LedgerError
        For an unknown outcome (with a suggestion), a ``happened`` that is not a boolean, a
        date that is not ``YYYY-MM-DD``, after today or before the scenario starts, or a
        blank or over-long ``source``.

    Examples
    --------
    >>> from iamg_forecast.spec import load_spec
    >>> check_resolution(load_spec(), "other_pm", False, "2026-03-01", " parliament ")
    (False, '2026-03-01', 'parliament')
    """
    if not isinstance(outcome, str) or outcome not in spec.outcome_names:
        hint = (difflib.get_close_matches(outcome, spec.outcome_names, n=1)
                if isinstance(outcome, str) else [])
        raise LedgerError(f"unknown outcome {short(outcome)}" + (
            f"; did you mean {hint[0]!r}?" if hint else
            f"; expected one of {spec.outcome_names}"))
    if not isinstance(happened, bool | np.bool_):
        raise LedgerError(f"happened must be True or False, got {short(happened)}")
    date = iso_date(date, "date")
    today = dt.date.today() if today is None else today
    if date > today.isoformat():
        raise LedgerError(f"date must not be after today ({today.isoformat()}), got "
                          f"{date!r}: a resolution records what has already happened")
    start = f"{spec.scenario.start_month}-01"
    if date < start:
        raise LedgerError(f"date must not be before the scenario starts ({start}), got "
                          f"{date!r}: the forecasts are about what happens from then on")
    if not isinstance(source, str) or not source.strip():
        raise LedgerError("source must name where the resolution comes from")
    if len(source) > MAX_SOURCE_CHARS:
        raise LedgerError(f"source must be at most {MAX_SOURCE_CHARS:,} characters, got "
                          f"{len(source):,}")
    return bool(happened), date, source.strip()


def score_resolved(df: pd.DataFrame, spec: Spec, *, n_boot: int, seed: int | None,
                   reliable_only: bool) -> pd.DataFrame:
    """Scores of resolved forecasts (:func:`resolved_frame` rows) per outcome and overall.

    See :meth:`~iamg_forecast.calibration.ledger.Ledger.score`: climatology from ``spec``
    (:func:`~iamg_forecast.priorcheck.climatology`), and the counts of forecasts that failed
    their diagnostics or were recorded without them.
    """
    reliable = df["reliable"]
    bad, unknown = reliable.map(lambda v: v is False), reliable.map(lambda v: v is None)
    excluded = {"excluded_unreliable": 0, "excluded_unknown_reliability": 0}
    if reliable_only:
        excluded = {"excluded_unreliable": int(bad.sum()),
                    "excluded_unknown_reliability": int(unknown.sum())}
        keep = ~(bad | unknown)
        df, bad, unknown = df[keep].reset_index(drop=True), bad[keep], unknown[keep]
    if len(df):
        df["base_rate"] = [climatology(spec, o, a, h)
                           for o, a, h in zip(df["outcome"], df["as_of"], df["horizon"],
                                              strict=True)]
    table = score_table(df, n_boot=n_boot, seed=seed)
    outcomes = df["outcome"].to_numpy()
    at = list(table.columns).index("n") + 1
    for name, flags in (("n_unreliable", bad), ("n_unknown_reliability", unknown)):
        per = pd.Series(flags.to_numpy(bool), dtype=int).groupby(outcomes).sum()
        counts = [int(per.sum()) if o == ALL else int(per.get(o, 0))
                  for o in table["outcome"]]
        table.insert(at, name, pd.Series(counts, index=table.index, dtype=int))
        at += 1
    table.attrs.update(excluded)
    return table

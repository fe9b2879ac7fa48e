"""The forecast ledger: an append-only, hash-chained record of forecasts and resolutions.

Every forecast (one row per outcome) and every resolution is a row of one chain in the SQLite
table ``ledger_rows``. Each row stores ``seq``, ``kind`` (``'forecast'`` or ``'resolution'``), a
canonical JSON ``payload`` (sorted keys, compact separators), ``recorded_at`` (UTC), the
previous row's hash and its own hash

    hash = sha256(prev_hash + canonical_json([seq, kind, payload, recorded_at]))

with ``prev_hash`` of the first row 64 zeros. :meth:`Ledger.verify` recomputes the chain, so any
altered, deleted, reordered or inserted row is found and named by its ``seq``. A second
append-only table, ``ledger_anchors`` (``seq``, ``hash``), is written in the same transaction
as each row; it is what reveals a deleted *last* row, which a chain alone cannot. Someone who
rewrites both tables consistently defeats any check inside the file: publish
:meth:`Ledger.head` (e.g. in reports) and pass it to ``verify(head=...)`` to catch that too.

The database may be shared with the evidence log: the ledger uses only tables prefixed
``ledger_`` and its row ``('ledger', version)`` of the shared ``schema_version`` table. Triggers
reject UPDATE and DELETE on the ledger's tables; every operation is one transaction.

Resolution semantics
--------------------
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
``min(D, H)``. Anything else is a hindcast, which could have read the answer; the ledger's
timestamps are what make this check possible. ``resolved(include_hindcasts=True)`` keeps them
(flagged) for back-testing.

Examples
--------
>>> from iamg_forecast.calibration.ledger import Ledger
>>> with Ledger.memory() as ledger:
...     rows = ledger.resolve("maliki_confirmed", happened=True, date="2026-05-01",
...                           source="Reuters")
...     print([(r["outcome"], r["happened"]) for r in rows])
...     print(ledger.verify().ok)
[('maliki_confirmed', True), ('sudani_return', False), ('other_pm', False), \
('deadlock_persists', False)]
True
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import hashlib
import html
import json
import math
import re
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from iamg_forecast.calibration.scores import ALL, corp, plot_reliability, score_table
from iamg_forecast.defaults import MAX_SOURCE_CHARS
from iamg_forecast.errors import FileRefusedError, LedgerError, short
from iamg_forecast.files import check_writable_target, is_sqlite_or_absent
from iamg_forecast.spec import Spec, load_spec, parse_date

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Ledger", "VerifyResult", "GENESIS", "LEDGER_SCHEMA_VERSION", "canonical_json",
           "row_hash"]

#: Version of the ledger's tables, stored as ``('ledger', version)`` in ``schema_version``.
LEDGER_SCHEMA_VERSION = 1
#: ``prev_hash`` of the first row.
GENESIS = "0" * 64
KINDS = ("forecast", "resolution")
PROVENANCE_KEYS = ("spec_hash", "evidence_hash", "as_of", "horizon", "seed", "draws", "chains",
                   "versions", "created")
TABLE_COLUMNS = ("outcome", "question", "p", "lo80", "hi80", "lo95", "hi95", "term")
BUSY_TIMEOUT_MS = 10_000

_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "component TEXT PRIMARY KEY, version INTEGER)",
    "CREATE TABLE IF NOT EXISTS ledger_rows ("
    "seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL, "
    "recorded_at TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger_anchors (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL)",
    *(f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
      f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
      for table in ("ledger_rows", "ledger_anchors") for op in ("UPDATE", "DELETE")),
)


def _normal_sql(sql: str) -> str:
    """SQL text with ``IF NOT EXISTS`` dropped and whitespace collapsed, for comparison."""
    return " ".join(re.sub(r"(?i)\bIF NOT EXISTS\b", "", sql).split())


@functools.cache
def _expected_schema() -> dict[tuple[str, str], str]:
    """(type, name) -> normalised SQL of every table and trigger of the ledger's tables."""
    conn = sqlite3.connect(":memory:")
    try:
        for stmt in _DDL:
            conn.execute(stmt)
        return {(t, n): _normal_sql(sql) for t, n, sql in conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN "
            "('ledger_rows', 'ledger_anchors')") if sql is not None}
    finally:
        conn.close()


# ---- canonical JSON and hashing --------------------------------------------------------------
def _jsonable(obj: Any) -> Any:
    """Plain JSON types for hashing: numpy scalars unwrapped, dates ISO, non-finite floats None."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        items = [_jsonable(v) for v in obj]
        return sorted(items, key=canonical_json) if isinstance(obj, set | frozenset) else items
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, bool) or obj is None or isinstance(obj, int | str):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dt.date | dt.datetime):
        return obj.isoformat()
    return str(obj)


def canonical_json(obj: Any) -> str:
    """Canonical JSON text: sorted keys, compact separators, ASCII, no NaN.

    Examples
    --------
    >>> canonical_json({"b": 1, "a": [1.5, None]})
    '{"a":[1.5,null],"b":1}'
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def row_hash(prev_hash: str, seq: int, kind: str, payload: Any, recorded_at: str) -> str:
    """Hash of a ledger row: ``sha256(prev_hash + canonical_json([seq, kind, payload, at]))``.

    Examples
    --------
    >>> len(row_hash(GENESIS, 1, "forecast", {"p": 0.5}, "2026-01-01T00:00:00+00:00"))
    64
    """
    text = prev_hash + canonical_json([seq, kind, payload, recorded_at])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()




def _iso_date(value: Any, what: str) -> str:
    """``value`` as ``YYYY-MM-DD``: a date (a datetime gives its date) or exactly such a string.

    Raises
    ------
    LedgerError
        Naming ``what`` and the value for anything else (``"2026-05-01garbage"``,
        ``"May 2026"``, ``"2026-02-30"``, numbers).

    Examples
    --------
    >>> _iso_date(dt.date(2026, 5, 1), "date"), _iso_date("2026-05-01", "date")
    ('2026-05-01', '2026-05-01')
    >>> _iso_date("2026-05-01x", "date")
    Traceback (most recent call last):
    ...
    iamg_forecast.errors.LedgerError: date must be an ISO date YYYY-MM-DD, got '2026-05-01x'
    """
    try:
        return parse_date(value, what).isoformat()
    except ValueError:
        raise LedgerError(f"{what} must be an ISO date YYYY-MM-DD, got {short(value)}"
                          ) from None


def check_resolution(spec: Spec, outcome: Any, happened: Any, date: Any, source: Any
                     ) -> tuple[bool, str, str]:
    """Check a resolution's arguments without a ledger; return ``(happened, date, source)``.

    Raises
    ------
    LedgerError
        For an unknown outcome (with a suggestion), a ``happened`` that is not a boolean, a
        date that is not ``YYYY-MM-DD``, after today or before the scenario starts, or a
        blank or over-long ``source``.

    Examples
    --------
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
    date = _iso_date(date, "date")
    today = _today()
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


def _utcnow() -> dt.datetime:
    """The time stamped on new rows (one place, so tests can pin the clock)."""
    return dt.datetime.now(dt.UTC)


def _today() -> dt.date:
    """Today's local date, the latest date a resolution may carry (tests can pin it)."""
    return dt.date.today()


def _reliability(payload: Mapping[str, Any]) -> bool | None:
    """Whether a forecast row passed its diagnostics; None when not recorded (older rows)."""
    diag = payload.get("diagnostics")
    ok = diag.get("ok") if isinstance(diag, Mapping) else None
    return ok if isinstance(ok, bool) else None


def _problems(payload: Mapping[str, Any]) -> list[str] | None:
    """The failed diagnostic gates of a forecast row; None when not recorded (older rows)."""
    diag = payload.get("diagnostics")
    probs = diag.get("problems") if isinstance(diag, Mapping) else None
    return [str(p) for p in probs] if isinstance(probs, list) else None


def _diagnostics_of(fc: Any, table: pd.DataFrame) -> dict[str, Any] | None:
    """``{"ok": bool, "problems": [str, ...]}`` of a forecast, or None when it does not say.

    Read from ``fc.diagnostics`` (``ok`` and ``problems``), else ``fc.ok``, else the table's
    ``attrs`` (``diagnostics_ok``, ``problems``), else its ``reliable`` column.
    """
    diag = getattr(fc, "diagnostics", None)
    ok: Any = getattr(diag, "ok", None) if diag is not None else getattr(fc, "ok", None)
    problems: Any = getattr(diag, "problems", None) if diag is not None else None
    if ok is None:
        ok = table.attrs.get("diagnostics_ok")
        problems = table.attrs.get("problems") if problems is None else problems
    if ok is None and "reliable" in table.columns:
        values = {v.item() if isinstance(v, np.generic) else v for v in table["reliable"]}
        if len(values) > 1:
            raise LedgerError(f"forecast table: column 'reliable' must be the same on every "
                              f"row, got {sorted(values, key=str)}")
        ok = values.pop() if values else None
    if ok is None:
        return None
    if isinstance(ok, np.bool_):
        ok = bool(ok)
    if not isinstance(ok, bool):
        raise LedgerError(f"forecast diagnostics: ok must be True or False, got {ok!r}")
    if problems is None:
        problems = []
    if isinstance(problems, str) or not isinstance(problems, list | tuple):
        raise LedgerError(f"forecast diagnostics: problems must be a list of strings, got "
                          f"{problems!r}")
    return {"ok": ok, "problems": [str(p) for p in problems]}


def _as_datetime(value: Any) -> dt.datetime:
    d = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return d if d.tzinfo is not None else d.replace(tzinfo=dt.UTC)


# ---- verification result ---------------------------------------------------------------------
@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :meth:`Ledger.verify`.

    Attributes
    ----------
    ok : bool
        True when the chain, the sequence numbers and the anchors all agree.
    problems : list of str
        One message per problem, each starting ``"seq N: "`` (or ``"seq A-B: "``).
    n_rows : int
        Rows found in ``ledger_rows``.
    head : str
        Hash of the last row (:data:`GENESIS` when empty).
    """

    ok: bool
    problems: list[str] = field(default_factory=list)
    n_rows: int = 0
    head: str = GENESIS

    def __bool__(self) -> bool:
        return self.ok

    def _repr_html_(self) -> str:
        if self.ok:
            return (f"<p>Ledger intact: {self.n_rows} rows, head "
                    f"<code>{self.head[:16]}</code></p>")
        items = "".join(f"<li>{html.escape(p)}</li>" for p in self.problems)
        return (f"<p style='color:#a00;font-weight:bold'>Ledger NOT intact "
                f"({len(self.problems)} problems)</p><ul>{items}</ul>")


# ---- resolution status -----------------------------------------------------------------------
@dataclass(frozen=True)
class _Ref:
    """The resolution row behind a piece of status: its seq, source and what it said."""

    seq: int
    source: str
    said: str

    @classmethod
    def of(cls, seq: int, payload: Mapping[str, Any]) -> _Ref:
        said = (f"{payload['outcome']} {'happened' if payload['happened'] else 'not happened'}"
                f"{' for good' if payload.get('final') else ''} on {payload['date']}")
        if payload.get("implied_by"):
            said += f" (implied by {payload['implied_by']})"
        return cls(seq, str(payload.get("source")), said)

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.said}"


@dataclass
class _Status:
    """What the resolutions of one outcome say about its underlying event (first occurrence).

    For a none-outcome the underlying event is "one of the group's choices happened".
    """

    first: str | None = None  # the event first happened on this date
    first_ref: _Ref | None = None
    not_by: str | None = None  # the event had not happened by this date (latest such)
    not_by_ref: _Ref | None = None
    never: str | None = None  # the event can no longer happen, known since this date
    never_ref: _Ref | None = None

    @staticmethod
    def assertion(payload: Mapping[str, Any]) -> tuple[str, str]:
        """``(kind, date)`` about the underlying event; a none-outcome mirrors its event."""
        happened, date = bool(payload["happened"]), payload["date"]
        if payload.get("type") == "none":
            return ("not_by" if happened else "first"), date
        if happened:
            return "first", date
        return ("never" if payload.get("final") else "not_by"), date

    def add(self, kind: str, date: str, ref: _Ref) -> None:
        if kind == "first":
            self.first, self.first_ref = date, ref
        elif kind == "never":
            if self.never is None or date < self.never:
                self.never, self.never_ref = date, ref
        elif self.not_by is None or date > self.not_by:
            self.not_by, self.not_by_ref = date, ref

    def conflict(self, kind: str, date: str) -> _Ref | None:
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

    def resolve(self, horizon: str) -> tuple[int, str, _Ref] | None:
        """``(y_event, settled_on, ref)`` at ``horizon``, or None if unresolved."""
        if self.first is not None and self.first_ref is not None:
            return int(self.first <= horizon), min(self.first, horizon), self.first_ref
        if self.never is not None and self.never_ref is not None:
            return 0, min(self.never, horizon), self.never_ref
        if self.not_by is not None and self.not_by_ref is not None and self.not_by >= horizon:
            return 0, horizon, self.not_by_ref
        return None


# ---- the ledger ------------------------------------------------------------------------------
class Ledger:
    """Append-only, hash-chained SQLite ledger of forecasts and their resolutions.

    Open with :meth:`open` (a file, possibly shared with the evidence log) or :meth:`memory`;
    use as a context manager or call :meth:`close`. ``Ledger(conn)`` wraps an already open
    ``sqlite3`` connection (it is switched to explicit transactions and closed with the ledger).

    Examples
    --------
    >>> with Ledger.memory() as ledger:
    ...     len(ledger), ledger.verify().ok
    (0, True)
    """

    def __init__(self, conn: sqlite3.Connection, where: str = "<memory>"):
        conn.isolation_level = None  # transactions are explicit (see _tx)
        self._conn = conn
        self.where = where
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._conn.execute("PRAGMA journal_mode = WAL")
        with self._tx() as c:
            for stmt in _DDL:
                c.execute(stmt)
            c.execute("INSERT OR IGNORE INTO schema_version (component, version) VALUES (?, ?)",
                      ("ledger", LEDGER_SCHEMA_VERSION))
            (version,) = c.execute(
                "SELECT version FROM schema_version WHERE component = 'ledger'").fetchone()
        if version != LEDGER_SCHEMA_VERSION:
            self._conn.close()
            raise LedgerError(f"{where}: the ledger has schema version {version}; this library "
                              f"reads version {LEDGER_SCHEMA_VERSION}")

    # ---- construction and lifetime -------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, *, create: bool = True) -> Ledger:
        """Open (creating if needed) the ledger in the SQLite file ``path``.

        Parameters
        ----------
        path : str or Path
            The SQLite file (shared with the evidence store).
        create : bool, default True
            Create the file when it does not exist. With ``False`` a missing file is an
            error and nothing is created (commands that only read).

        Raises
        ------
        LedgerError
            If ``path`` is a directory, a FIFO or device, an existing file that is not a
            SQLite database (an empty file included), missing (with ``create=False``), cannot
            be created, or holds a ledger of another schema version.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as d:
        ...     with Ledger.open(pathlib.Path(d) / "iamg.sqlite") as ledger:
        ...         print(len(ledger))
        0
        """
        path = Path(path)
        if path.is_dir():
            raise LedgerError(f"{path}: cannot open the ledger: it is a directory; expected a "
                              f"SQLite file such as {path / 'iamg.sqlite'}")
        try:
            check_writable_target(path, None, "ledger")
        except FileRefusedError as err:
            raise LedgerError(f"{err.path}: cannot open the ledger: {err.reason}") from None
        if not (path.exists() or create):
            raise LedgerError(f"{path}: no such ledger (nothing recorded or resolved there "
                              "yet); check --db")
        if not is_sqlite_or_absent(path):
            raise LedgerError(f"{path}: cannot open the ledger: not a database (the file is "
                              "empty or holds something else); expected a SQLite database "
                              "file") from None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        except (OSError, sqlite3.Error) as err:
            raise LedgerError(f"{path}: cannot open the ledger: {err}") from None
        try:
            return cls(conn, where=str(path))
        except sqlite3.DatabaseError as err:
            conn.close()
            raise LedgerError(f"{path}: cannot open the ledger (expected a SQLite database "
                              f"file): {err}") from None

    @classmethod
    def memory(cls) -> Ledger:
        """A ledger in memory (for tests and notebooks).

        Examples
        --------
        >>> with Ledger.memory() as ledger:
        ...     ledger.verify().ok
        True
        """
        return cls(sqlite3.connect(":memory:", isolation_level=None))

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM ledger_rows").fetchone()[0])

    def __repr__(self) -> str:
        return f"Ledger({self.where!r}, {len(self)} rows)"

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; IMMEDIATE so that two writers cannot fork the chain."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # ---- low-level rows ------------------------------------------------------------------
    def _append(self, conn: sqlite3.Connection, kind: str, payloads: list[dict[str, Any]]
                ) -> list[int]:
        last = conn.execute("SELECT seq, hash FROM ledger_rows ORDER BY seq DESC LIMIT 1"
                            ).fetchone()
        seq, prev = (last[0], last[1]) if last else (0, GENESIS)
        at = _utcnow().isoformat(timespec="microseconds")
        seqs = []
        for payload in payloads:
            seq += 1
            body = _jsonable(payload)
            h = row_hash(prev, seq, kind, body, at)
            conn.execute("INSERT INTO ledger_rows (seq, kind, payload, recorded_at, prev_hash, "
                         "hash) VALUES (?, ?, ?, ?, ?, ?)",
                         (seq, kind, canonical_json(body), at, prev, h))
            conn.execute("INSERT INTO ledger_anchors (seq, hash) VALUES (?, ?)", (seq, h))
            prev = h
            seqs.append(seq)
        return seqs

    def _rows(self, kind: str | None = None) -> list[tuple[int, str, dict[str, Any], str]]:
        sql = "SELECT seq, kind, payload, recorded_at FROM ledger_rows"
        args: tuple[str, ...] = ()
        if kind is not None:
            sql, args = sql + " WHERE kind = ?", (kind,)
        cur = self._conn.execute(sql + " ORDER BY seq", args)
        return [(s, k, json.loads(p), at) for s, k, p, at in cur]

    def head(self) -> tuple[int, str]:
        """``(seq, hash)`` of the last row; publish it to make later tampering evident.

        Examples
        --------
        >>> with Ledger.memory() as ledger:
        ...     ledger.head() == (0, GENESIS)
        True
        """
        last = self._conn.execute("SELECT seq, hash FROM ledger_rows ORDER BY seq DESC LIMIT 1"
                                  ).fetchone()
        return (int(last[0]), str(last[1])) if last else (0, GENESIS)

    # ---- recording -----------------------------------------------------------------------
    def record(self, fc: Any) -> str:
        """Record a forecast: one ``'forecast'`` row per outcome, in one transaction.

        Uses only ``fc.table()`` (columns ``outcome, question, p, lo80, hi80, lo95, hi95,
        term``), ``fc.provenance`` (with at least ``spec_hash, evidence_hash, as_of, horizon,
        seed, draws, chains, versions, created``), ``fc.prior_p`` (outcome → prior
        probability at the same horizon, or None) and the diagnostic gate: ``fc.diagnostics``
        (``ok`` and ``problems``), else ``fc.ok``, else the table's ``attrs``
        (``diagnostics_ok``, ``problems``) or ``reliable`` column. Each row's payload stores
        it as ``diagnostics: {"ok": bool, "problems": [str, ...]}``; a forecast that says
        nothing about it is stored without the key and counts as of unknown reliability, like
        rows written before the ledger stored it. Recording the same forecast twice writes
        nothing the second time.

        Parameters
        ----------
        fc : Forecast
            The forecast to record.

        Returns
        -------
        str
            The forecast id: the first 16 hex digits of the SHA-256 of the canonical JSON of
            the provenance.

        Raises
        ------
        TypeError
            If ``fc`` is not a forecast (no ``table()`` returning a DataFrame, or no
            ``provenance`` mapping), or ``fc.prior_p`` is neither a mapping nor None.
        LedgerError
            If the table or provenance lacks a field, a date is not ISO ``YYYY-MM-DD``, a
            probability is not in [0, 1] or the diagnostics are malformed.

        Examples
        --------
        >>> import pandas as pd
        >>> from types import SimpleNamespace
        >>> table = pd.DataFrame([{"outcome": "other_pm", "question": "?", "p": 0.3,
        ...     "lo80": 0.2, "hi80": 0.4, "lo95": 0.1, "hi95": 0.5, "term": "unlikely"}])
        >>> prov = {"spec_hash": "s", "evidence_hash": "e", "as_of": "2026-01-15",
        ...     "horizon": "2026-12-31", "seed": 1, "draws": 10, "chains": 2, "versions": {},
        ...     "created": "2026-01-15T10:00:00+00:00"}
        >>> fc = SimpleNamespace(table=lambda: table, provenance=prov, prior_p=None)
        >>> with Ledger.memory() as ledger:
        ...     fid = ledger.record(fc)
        ...     len(fid), len(ledger)
        (16, 1)
        """
        table_of = getattr(fc, "table", None)
        if not callable(table_of) or not hasattr(fc, "provenance"):
            raise TypeError(f"record expects a Forecast (an object with table() and "
                            f"provenance), got {type(fc).__name__}")
        table = table_of()
        if not isinstance(table, pd.DataFrame):
            raise TypeError(f"record expects fc.table() to return a pandas DataFrame, got "
                            f"{type(table).__name__}")
        if fc.provenance is not None and not isinstance(fc.provenance, Mapping):
            raise TypeError(f"record expects fc.provenance to be a mapping, got "
                            f"{type(fc.provenance).__name__}")
        prior = getattr(fc, "prior_p", None) or {}
        if not isinstance(prior, Mapping):
            raise TypeError(f"record expects fc.prior_p to be a mapping of outcome to "
                            f"probability or None, got {type(prior).__name__}")
        missing = [c for c in TABLE_COLUMNS if c not in table.columns]
        if missing:
            raise LedgerError(f"forecast table lacks columns {missing}; expected "
                              f"{list(TABLE_COLUMNS)}")
        diagnostics = _diagnostics_of(fc, table)
        prov = _jsonable(dict(fc.provenance or {}))
        missing = [k for k in PROVENANCE_KEYS if k not in prov]
        if missing:
            raise LedgerError(f"forecast provenance lacks {missing}")
        as_of = _iso_date(prov["as_of"], "provenance.as_of")
        horizon = _iso_date(prov["horizon"], "provenance.horizon")
        fid = hashlib.sha256(canonical_json(prov).encode("utf-8")).hexdigest()[:16]
        payloads = []
        for r in table.to_dict("records"):
            try:
                p = float(r["p"])
            except (TypeError, ValueError):
                p = float("nan")
            if not (math.isfinite(p) and 0 <= p <= 1):
                raise LedgerError(f"forecast of {r['outcome']!r}: p must be in [0, 1], got {p}")
            pr = prior.get(r["outcome"])
            payloads.append({
                "forecast_id": fid, "outcome": str(r["outcome"]), "question": r["question"],
                "p": p, "intervals": {k: float(r[k]) for k in ("lo80", "hi80", "lo95", "hi95")},
                "term": r["term"], "as_of": as_of, "horizon": horizon,
                "prior_p": None if pr is None else float(pr), "provenance": prov,
                **({} if diagnostics is None else {"diagnostics": diagnostics}),
            })
        if not payloads:
            raise LedgerError("the forecast table has no rows")
        with self._tx() as c:
            seen = c.execute("SELECT 1 FROM ledger_rows WHERE kind = 'forecast' AND "
                             "json_extract(payload, '$.forecast_id') = ? LIMIT 1", (fid,)
                             ).fetchone()
            if seen is None:
                self._append(c, "forecast", payloads)
        return fid

    def resolve(self, outcome: str, happened: bool, date: Any, source: str,
                spec: Spec | None = None) -> list[dict[str, Any]]:
        """Record how a forecast question resolved (and what that implies for its competitors).

        See the module docstring for what ``happened`` and ``date`` mean. For a choice of a
        competing group, ``happened=True`` also records every other member as not happened
        (the other choices for good, the none-outcome as ended on ``date``); for the group's
        none-outcome, ``happened=True`` ("still none at ``date``") records every choice as not
        happened by ``date``. Implied rows carry ``implied_by``. A statement that adds nothing
        to what is already recorded is skipped, so repeating a resolution is harmless.

        Parameters
        ----------
        outcome : str
            Outcome name from the spec.
        happened : bool
            Whether it happened (for a none-outcome: whether still none of the choices had).
        date : str or date
            When it first happened, or by when it had not: a date or exactly ``YYYY-MM-DD``,
            not after today.
        source : str
            Where the resolution comes from.
        spec : Spec, optional
            The scenario (default :func:`~iamg_forecast.spec.load_spec`).

        Returns
        -------
        list of dict
            The payloads written (with their ``seq``), possibly empty.

        Raises
        ------
        LedgerError
            For an unknown outcome (with a suggestion), a malformed ``happened``, ``date`` or
            ``source``, a ``date`` after today, or a resolution contradicting one already
            recorded; nothing is written then.

        Examples
        --------
        >>> with Ledger.memory() as ledger:
        ...     _ = ledger.resolve("militia_fragmentation", False, "2026-06-30", "monitoring")
        ...     ledger.resolve("militia_fragmentation", False, "2026-03-31", "monitoring")
        []
        """
        spec = load_spec() if spec is None else spec
        happened, date, source = check_resolution(spec, outcome, happened, date, source)
        o = spec.outcome(outcome)
        base = {"date": date, "source": source, "group": o.group}
        wanted = [{**base, "outcome": outcome, "type": o.type, "happened": happened,
                   "final": False, "implied_by": None}]
        if o.group is not None:
            members = spec.group_members(o.group)
            none_name = members[-1]
            for m in members:
                if m == outcome:
                    continue
                mtype = spec.outcome(m).type
                if o.type == "choice" and happened:
                    # a choice happened: other choices never will; the none-outcome ended on date
                    wanted.append({**base, "outcome": m, "type": mtype, "happened": False,
                                   "final": m != none_name, "implied_by": outcome})
                elif o.type == "none" and happened:
                    # still none at date: no choice had happened by date
                    wanted.append({**base, "outcome": m, "type": mtype, "happened": False,
                                   "final": False, "implied_by": outcome})
        with self._tx() as c:
            status = self._status(c)
            todo = []
            for w in wanted:
                st = status.setdefault(w["outcome"], _Status())
                kind, d = _Status.assertion(w)
                clash = st.conflict(kind, d)
                if clash is not None:
                    raise LedgerError(f"cannot record {_Ref.of(0, w).said}: it contradicts the "
                                      f"resolution already recorded at {clash} (source: "
                                      f"{clash.source})")
                if not st.redundant(kind, d):
                    todo.append(w)
            seqs = self._append(c, "resolution", todo) if todo else []
        return [{**w, "seq": s} for w, s in zip(todo, seqs, strict=True)]

    def _status(self, conn: sqlite3.Connection) -> dict[str, _Status]:
        status: dict[str, _Status] = {}
        cur = conn.execute("SELECT seq, payload FROM ledger_rows WHERE kind = 'resolution' "
                           "ORDER BY seq")
        for seq, text in cur:
            pl = json.loads(text)
            kind, d = _Status.assertion(pl)
            status.setdefault(pl["outcome"], _Status()).add(kind, d, _Ref.of(seq, pl))
        return status

    # ---- integrity -----------------------------------------------------------------------
    def verify(self, head: tuple[int, str] | str | None = None) -> VerifyResult:
        """Recompute the chain and report every altered, missing, reordered or inserted row.

        Parameters
        ----------
        head : (int, str) or str, optional
            A head published earlier (:meth:`head`, or just its hash); if given, the chain must
            still pass through it (catches a wholesale, self-consistent rewrite).

        Returns
        -------
        VerifyResult
            ``ok`` and the ``problems``, each naming the ``seq``.

        Examples
        --------
        >>> with Ledger.memory() as ledger:
        ...     _ = ledger.resolve("other_pm", False, "2026-03-01", "parliament")
        ...     ledger.verify().ok
        True
        """
        problems: list[str] = self._schema_problems()
        rows = self._conn.execute("SELECT seq, kind, payload, recorded_at, prev_hash, hash "
                                  "FROM ledger_rows ORDER BY seq").fetchall()
        anchors = dict(self._conn.execute("SELECT seq, hash FROM ledger_anchors").fetchall())
        expected, prev = 1, GENESIS
        hashes: list[str] = []
        for seq, kind, text, at, prev_hash, stored in rows:
            if seq > expected:
                span = f"{expected}" if seq == expected + 1 else f"{expected}-{seq - 1}"
                problems.append(f"seq {span}: missing (deleted?); seq {seq} follows seq "
                                f"{expected - 1}")
            elif seq < expected:
                problems.append(f"seq {seq}: out of sequence (expected {expected})")
            if kind not in KINDS:
                problems.append(f"seq {seq}: unknown kind {kind!r}")
            try:
                payload = json.loads(text)
                if canonical_json(payload) != text:
                    problems.append(f"seq {seq}: payload is not canonical JSON (edited?)")
            except (TypeError, ValueError):
                problems.append(f"seq {seq}: payload is not valid JSON")
                payload = text
            if prev_hash != prev:
                problems.append(f"seq {seq}: prev_hash does not match the hash of the row "
                                f"before it (rows deleted, inserted or reordered)")
            try:
                again = row_hash(str(prev_hash), int(seq), str(kind), payload, str(at))
            except (TypeError, ValueError):
                again = ""
            if again != stored:
                problems.append(f"seq {seq}: hash does not match the row's content (altered)")
            if seq not in anchors:
                problems.append(f"seq {seq}: no anchor (row inserted outside the ledger?)")
            elif anchors[seq] != stored:
                problems.append(f"seq {seq}: hash differs from its anchor (row replaced?)")
            prev, expected = stored, max(expected, seq + 1)
            hashes.append(stored)
        present = {r[0] for r in rows}
        for seq in sorted(set(anchors) - present):
            problems.append(f"seq {seq}: row missing but its anchor exists (deleted?)")
        if isinstance(head, tuple):
            h_seq, h_hash = int(head[0]), str(head[1])
            found = next((r[5] for r in rows if r[0] == h_seq), GENESIS if h_seq == 0 else None)
            if found != h_hash:
                problems.append(f"seq {h_seq}: does not match the published head "
                                f"{h_hash[:16]}… (ledger rewritten?)")
        elif head is not None and head != GENESIS and head not in hashes:
            problems.append(f"seq ?: published head {head[:16]}… is not in the chain "
                            "(ledger rewritten?)")
        return VerifyResult(ok=not problems, problems=problems, n_rows=len(rows),
                            head=hashes[-1] if hashes else GENESIS)

    def _schema_problems(self) -> list[str]:
        """Differences between the ledger's tables and triggers and the ones it was created
        with: a dropped or replaced append-only trigger, an extra trigger on its tables, a
        changed table, or a changed schema version.
        """
        tables = ("ledger_rows", "ledger_anchors")
        found = {(t, n): _normal_sql(sql) for t, n, sql in self._conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN (?, ?)", tables)
            if sql is not None}
        problems = []
        for key, sql in _expected_schema().items():
            kind, name = key
            if key not in found:
                problems.append(f"schema: {kind} {name} is missing (dropped?); without it the "
                                "ledger is not append-only")
            elif found[key] != sql:
                problems.append(f"schema: {kind} {name} differs from the one the ledger "
                                "creates (replaced?)")
        for kind, name in sorted(set(found) - set(_expected_schema())):
            problems.append(f"schema: unexpected {kind} {name} on the ledger's tables")
        row = self._conn.execute("SELECT version FROM schema_version WHERE component = "
                                 "'ledger'").fetchone()
        if row is None or row[0] != LEDGER_SCHEMA_VERSION:
            problems.append(f"schema: schema_version of the ledger is "
                            f"{None if row is None else row[0]!r}, expected "
                            f"{LEDGER_SCHEMA_VERSION}")
        return problems

    # ---- views ---------------------------------------------------------------------------
    def history(self, outcome: str | None = None) -> pd.DataFrame:
        """Every recorded forecast row, oldest first (optionally of one outcome).

        Columns ``seq, recorded_at, forecast_id, outcome, p, lo80, hi80, lo95, hi95, term,
        as_of, horizon, created, prior_p, spec_hash, evidence_hash, reliable, problems``;
        ``reliable`` (whether the forecast passed its diagnostics) and ``problems`` (its failed
        gates) are None for rows recorded without them.

        Examples
        --------
        >>> with Ledger.memory() as ledger:
        ...     list(ledger.history().columns[:4])
        ['seq', 'recorded_at', 'forecast_id', 'outcome']
        """
        cols = ["seq", "recorded_at", "forecast_id", "outcome", "p", "lo80", "hi80", "lo95",
                "hi95", "term", "as_of", "horizon", "created", "prior_p", "spec_hash",
                "evidence_hash", "reliable", "problems"]
        out = []
        for seq, _, pl, at in self._rows("forecast"):
            if outcome is not None and pl["outcome"] != outcome:
                continue
            prov = pl.get("provenance", {})
            out.append({"seq": seq, "recorded_at": at, "forecast_id": pl["forecast_id"],
                        "outcome": pl["outcome"], "p": pl["p"], **pl["intervals"],
                        "term": pl.get("term"), "as_of": pl["as_of"], "horizon": pl["horizon"],
                        "created": prov.get("created"),
                        "prior_p": np.nan if pl.get("prior_p") is None else pl["prior_p"],
                        "spec_hash": prov.get("spec_hash"),
                        "evidence_hash": prov.get("evidence_hash"),
                        "reliable": _reliability(pl), "problems": _problems(pl)})
        return pd.DataFrame(out, columns=cols)

    def previous(self, outcome: str, before_created: Any, *, horizon: Any = None
                 ) -> float | None:
        """The latest ``p`` of ``outcome`` from a forecast created before ``before_created``.

        Parameters
        ----------
        outcome : str
            Outcome name.
        before_created : str or datetime
            Typically ``fc.provenance["created"]`` of the forecast being reported.
        horizon : str or date, optional
            Only forecasts for this horizon (the same question); any horizon when omitted.

        Returns
        -------
        float or None
            None when there is no earlier forecast.

        Examples
        --------
        >>> with Ledger.memory() as ledger:
        ...     ledger.previous("other_pm", "2026-02-01T00:00:00+00:00") is None
        True
        """
        cutoff = _as_datetime(before_created)
        hz = None if horizon is None else _iso_date(horizon, "horizon")
        best: tuple[dt.datetime, int, float] | None = None
        for seq, _, pl, _ in self._rows("forecast"):
            if pl["outcome"] != outcome or (hz is not None and pl["horizon"] != hz):
                continue
            created = _as_datetime(pl["provenance"]["created"])
            if created < cutoff and (best is None or (created, seq) > best[:2]):
                best = (created, seq, float(pl["p"]))
        return None if best is None else best[2]

    def resolutions(self) -> pd.DataFrame:
        """Every resolution row, oldest first.

        Examples
        --------
        >>> with Ledger.memory() as ledger:
        ...     list(ledger.resolutions().columns[:3])
        ['seq', 'recorded_at', 'outcome']
        """
        cols = ["seq", "recorded_at", "outcome", "type", "group", "happened", "date", "source",
                "final", "implied_by"]
        rows = [{"seq": s, "recorded_at": at, **{c: pl.get(c) for c in cols[2:]}}
                for s, _, pl, at in self._rows("resolution")]
        return pd.DataFrame(rows, columns=cols)

    def resolved(self, *, include_hindcasts: bool = False, reliable_only: bool = False
                 ) -> pd.DataFrame:
        """Recorded forecasts joined with their resolutions (see the module's rules).

        A forecast "will X have happened by H" resolves 1 if X first happened on or before H
        and 0 if a resolution says it had not happened by a date ≥ H (or can no longer
        happen); mirrored for a none-outcome. A forecast whose ``as_of`` or recording day is
        on or after the day its question was settled (``min(event date, H)``) is a hindcast.

        Parameters
        ----------
        include_hindcasts : bool, default False
            Keep hindcasts (flagged in column ``hindcast``) instead of leaving them out.
        reliable_only : bool, default False
            Keep only forecasts recorded as having passed their diagnostics (``reliable`` is
            True); by default every recorded forecast is kept, whatever its diagnostics.

        Returns
        -------
        DataFrame
            Columns ``seq, forecast_id, outcome, as_of, horizon, created, recorded_at, p,
            prior_p, y, settled_on, resolution_seq, source, hindcast, reliable``. ``reliable``
            is True or False as recorded with the forecast and None (unknown) for forecasts
            recorded without it.

        Examples
        --------
        >>> with Ledger.memory() as ledger:
        ...     ledger.resolved().empty
        True
        """
        cols = ["seq", "forecast_id", "outcome", "as_of", "horizon", "created", "recorded_at",
                "p", "prior_p", "y", "settled_on", "resolution_seq", "source", "hindcast",
                "reliable"]
        rows = self._rows()
        status: dict[str, _Status] = {}
        mirrored: set[str] = set()
        for seq, kind, pl, _ in rows:
            if kind == "resolution":
                k, d = _Status.assertion(pl)
                status.setdefault(pl["outcome"], _Status()).add(k, d, _Ref.of(seq, pl))
                if pl.get("type") == "none":
                    mirrored.add(pl["outcome"])
        out = []
        for seq, kind, pl, at in rows:
            st = status.get(pl["outcome"])
            if kind != "forecast" or st is None:
                continue
            got = st.resolve(pl["horizon"])
            if got is None:
                continue
            y, settled, ref = got
            hindcast = pl["as_of"] >= settled or at[:10] >= settled
            if hindcast and not include_hindcasts:
                continue
            reliable = _reliability(pl)
            if reliable_only and reliable is not True:
                continue
            out.append({"seq": seq, "forecast_id": pl["forecast_id"], "outcome": pl["outcome"],
                        "as_of": pl["as_of"], "horizon": pl["horizon"],
                        "created": pl["provenance"].get("created"), "recorded_at": at,
                        "p": pl["p"],
                        "prior_p": np.nan if pl.get("prior_p") is None else pl["prior_p"],
                        "y": 1 - y if pl["outcome"] in mirrored else y, "settled_on": settled,
                        "resolution_seq": ref.seq, "source": ref.source,
                        "hindcast": hindcast, "reliable": reliable})
        df = pd.DataFrame(out, columns=cols)
        df["reliable"] = df["reliable"].astype(object)
        return df

    def score(self, spec: Spec | None = None, *, n_boot: int = 1000, seed: int | None = 0,
              include_hindcasts: bool = False, reliable_only: bool = False) -> pd.DataFrame:
        """Scores of the resolved forecasts per outcome and overall (:func:`score_table`).

        Climatology is the outcome's reference-class base rate from ``spec`` (default
        :func:`~iamg_forecast.spec.load_spec`) over the forecast's window from ``as_of`` to
        its horizon, assuming a constant monthly hazard (see :func:`climatology`); outcomes
        without one fall back to the observed event rate. ``bss_prior`` compares with each
        forecast's own prior where it was recorded. Hindcasts are left out unless
        ``include_hindcasts`` (see :meth:`resolved`).

        Parameters
        ----------
        spec : Spec, optional
            The scenario whose reference classes give climatology.
        n_boot : int, default 1000
            Resamples of the calibration test.
        seed : int or None, default 0
            Seed of the resampling.
        include_hindcasts : bool, default False
            Score hindcasts too.
        reliable_only : bool, default False
            Score only forecasts recorded as having passed their diagnostics. By default
            every recorded forecast is scored, and the counts below show how many of them
            failed their diagnostics or were recorded without saying.

        Raises
        ------
        LedgerError
            When :meth:`verify` finds a problem (rows altered, triggers dropped, ...).

        Returns
        -------
        DataFrame
            The columns of :func:`score_table`, with, after ``n``, ``n_unreliable`` (scored
            forecasts that failed their diagnostics) and ``n_unknown_reliability`` (scored
            forecasts recorded without their diagnostics, counted as not known reliable).
            ``attrs["excluded_unreliable"]`` and ``attrs["excluded_unknown_reliability"]``
            count the resolved forecasts ``reliable_only`` left out (0 without it).

        Examples
        --------
        >>> with Ledger.memory() as ledger:
        ...     ledger.score()["n"].tolist()
        []
        """
        check = self.verify()
        if not check.ok:
            shown = "; ".join(check.problems[:5]) + ("; ..." if len(check.problems) > 5 else "")
            raise LedgerError(f"{self.where}: refusing to score: the ledger fails verification "
                              f"({len(check.problems)} problem(s): {shown}); scores of an "
                              "altered ledger prove nothing")
        df = self.resolved(include_hindcasts=include_hindcasts)
        reliable = df["reliable"]
        bad, unknown = reliable.map(lambda v: v is False), reliable.map(lambda v: v is None)
        excluded = {"excluded_unreliable": 0, "excluded_unknown_reliability": 0}
        if reliable_only:
            excluded = {"excluded_unreliable": int(bad.sum()),
                        "excluded_unknown_reliability": int(unknown.sum())}
            keep = ~(bad | unknown)
            df, bad, unknown = df[keep].reset_index(drop=True), bad[keep], unknown[keep]
        if len(df):
            spec = load_spec() if spec is None else spec
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

    def plot_history(self, outcome: str | list[str] | None = None, *,
                     horizon: Any = None) -> Figure:
        """Chart the probability of each outcome across the recorded forecasts, one panel per
        outcome, with its resolutions marked (filled circle at 100% for happened, open circle
        at 0% for did not happen).

        Parameters
        ----------
        outcome : str or list of str, optional
            The outcome(s) to draw (default: every recorded one). An unknown name raises a
            :class:`LedgerError` with a suggestion.
        horizon : str or date, optional
            Only forecasts for this horizon (the same question); all horizons when omitted.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> with Ledger.memory() as ledger:
        ...     fig = ledger.plot_history()
        >>> type(fig).__name__
        'Figure'
        """
        from iamg_forecast.calibration.plots import plot_history

        hist = self.history()
        known = list(dict.fromkeys(list(hist["outcome"])
                                   + list(self.resolutions()["outcome"])))
        names = None if outcome is None else ([outcome] if isinstance(outcome, str)
                                              else list(outcome))
        for n in names or []:
            if n not in known:
                hint = difflib.get_close_matches(n, known, n=1)
                raise LedgerError(f"no recorded forecast of {n!r}" + (
                    f"; did you mean {hint[0]!r}?" if hint else
                    f"; recorded outcomes: {known}"))
        hz = None if horizon is None else _iso_date(horizon, "horizon")
        return plot_history(hist, self.resolutions(), names, horizon=hz)

    def reliability_diagram(self, *, n_boot: int = 1000, seed: int | None = 0,
                            include_hindcasts: bool = False, reliable_only: bool = False
                            ) -> Figure:
        """CORP reliability diagram of every resolved forecast (see :func:`plot_reliability`).

        Hindcasts are left out unless ``include_hindcasts``, and forecasts not recorded as
        reliable only with ``reliable_only`` (see :meth:`resolved`). With nothing resolved
        yet the Figure only says so (no exception, so reports can always include it).

        Examples
        --------
        >>> with Ledger.memory() as ledger:
        ...     fig = ledger.reliability_diagram()
        >>> fig.axes[0].texts[0].get_text()
        'no resolved forecasts yet'
        """
        df = self.resolved(include_hindcasts=include_hindcasts, reliable_only=reliable_only)
        if df.empty:
            from matplotlib.figure import Figure

            fig = Figure(figsize=(5.2, 5.2), layout="constrained")
            ax = fig.add_subplot()
            ax.text(0.5, 0.5, "no resolved forecasts yet", ha="center", va="center")
            ax.set_axis_off()
            return fig
        res = corp(df["p"].to_numpy(float), df["y"].to_numpy(float), n_boot=n_boot, seed=seed)
        return plot_reliability(res, title=f"Ledger: {res.n} resolved forecasts, "
                                           f"BS {res.score:.3f}, MCB p={res.mcb_pvalue:.2g}")


# ---- climatology -----------------------------------------------------------------------------
DAYS_PER_MONTH = 365.25 / 12


def _months(a: str, b: str) -> float:
    """Months (of 30.44 days) from ``a`` to ``b``, never negative."""
    days = (dt.date.fromisoformat(b) - dt.date.fromisoformat(a)).days
    return max(days, 0) / DAYS_PER_MONTH


def climatology(spec: Spec, outcome: str, as_of: str, horizon: str) -> float:
    """Reference-class probability that ``outcome`` resolves yes for a window ``as_of``–horizon.

    Assumes a constant monthly hazard. ``per: month`` rates give ``1 - (1 - r)^m`` over the
    ``m`` months of the window. ``per: horizon`` rates hold from the scenario start to the
    default horizon (``m0`` months) and are rescaled to the window: an event or choice becomes
    ``1 - (1 - r)^(m / m0)``, a none-outcome ``r^(m / m0)``. NaN when the outcome has no
    reference class.

    Examples
    --------
    >>> spec = load_spec()
    >>> round(climatology(spec, "deadlock_persists", "2025-11-01", "2026-12-31"), 3)
    0.125
    """
    try:
        o = spec.outcome(outcome)
    except KeyError:
        return float("nan")
    rc = o.reference_class
    if rc is None:
        return float("nan")
    m = _months(as_of, horizon)
    if rc.per == "month":
        surv_month = 1 - rc.base_rate
        return float(surv_month**m) if o.type == "none" else float(1 - surv_month**m)
    start = f"{spec.scenario.start_month}-01"
    m0 = _months(start, spec.scenario.default_horizon) or 1.0
    if o.type == "none":
        return float(rc.base_rate ** (m / m0))
    return float(1 - (1 - rc.base_rate) ** (m / m0))

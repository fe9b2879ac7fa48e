"""The forecast ledger: an append-only, hash-chained record of forecasts and resolutions.

Every forecast (one row per outcome) and every resolution is a row of one chain in SQLite
(:mod:`.ledger_chain`: canonical JSON, row hashes, append-only tables and their
verification). Someone who rewrites the chain and its anchors consistently defeats any check
inside the file: publish :meth:`Ledger.head` (e.g. in reports) and pass it to
``verify(head=...)`` to catch that too. A forecast is recorded from a
:class:`~iamg_forecast.forecast.Forecast` or a typed :class:`~.ledger_entry.ForecastEntry`;
what a resolution means, and which forecasts it settles (hindcasts apart), is
:mod:`.ledger_status`.

The database may be shared with the evidence log: the ledger uses only tables prefixed
``ledger_`` and its row ``('ledger', version)`` of the shared ``schema_version`` table. Triggers
reject UPDATE and DELETE on the ledger's tables; every operation is one transaction.

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

__all__ = ["Ledger", "VerifyResult", "ForecastEntry", "GENESIS", "LEDGER_SCHEMA_VERSION",
           "canonical_json", "row_hash", "check_resolution", "climatology"]

import datetime as dt
import difflib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from iamg_forecast.calibration import ledger_status
from iamg_forecast.calibration.ledger_chain import (
    DDL,
    GENESIS,
    LEDGER_SCHEMA_VERSION,
    VerifyResult,
    append_rows,
    canonical_json,
    row_hash,
    verify_chain,
)
from iamg_forecast.calibration.ledger_entry import (
    ForecastEntry,
    iso_date,
    stored_problems,
    stored_reliability,
)
from iamg_forecast.calibration.ledger_status import check_resolution
from iamg_forecast.calibration.plots import plot_history
from iamg_forecast.calibration.scores import corp, plot_reliability
from iamg_forecast.errors import FileRefusedError, LedgerError
from iamg_forecast.files import SQLiteHandle, check_writable_target, is_sqlite_or_absent
from iamg_forecast.forecast import Forecast
from iamg_forecast.priorcheck import climatology
from iamg_forecast.spec import Spec, load_spec

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BUSY_TIMEOUT_MS = 10_000


def _utcnow() -> dt.datetime:
    """The time stamped on new rows (one place, so tests can pin the clock)."""
    return dt.datetime.now(dt.UTC)


def _today() -> dt.date:
    """Today's local date, the latest date a resolution may carry (tests can pin it)."""
    return dt.date.today()


def _as_datetime(value: Any) -> dt.datetime:
    d = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return d if d.tzinfo is not None else d.replace(tzinfo=dt.UTC)


# ---- the ledger ------------------------------------------------------------------------------
class Ledger(SQLiteHandle):
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
            for stmt in DDL:
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
        return append_rows(conn, kind, payloads, _utcnow().isoformat(timespec="microseconds"))

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
    def record(self, fc: Forecast | ForecastEntry) -> str:
        """Record a forecast: one ``'forecast'`` row per outcome, in one transaction.

        A :class:`~iamg_forecast.forecast.Forecast` is recorded through its entry
        (:meth:`ForecastEntry.of <iamg_forecast.calibration.ledger_entry.ForecastEntry.of>`):
        its table (columns ``outcome, question, p, lo80, hi80, lo95, hi95, term``), its
        provenance (with at least ``spec_hash, evidence_hash, as_of, horizon, seed, draws,
        chains, versions, created``), its prior probabilities at the same horizon and its
        diagnostic gates, stored as ``diagnostics: {"ok": bool, "problems": [str, ...]}``. An
        entry whose ``ok`` is None is stored without the key and counts as of unknown
        reliability, like rows written before the ledger stored it. Recording the same
        forecast twice writes nothing the second time.

        Parameters
        ----------
        fc : Forecast or ForecastEntry
            The forecast to record.

        Returns
        -------
        str
            The forecast id: the first 16 hex digits of the SHA-256 of the canonical JSON of
            the provenance.

        Raises
        ------
        TypeError
            If ``fc`` is neither a Forecast nor a ForecastEntry, or an entry's fields have the
            wrong types.
        LedgerError
            If the table or provenance lacks a field, a date is not ISO ``YYYY-MM-DD``, a
            probability is not in [0, 1] or the diagnostics are malformed.

        Examples
        --------
        >>> table = pd.DataFrame({"outcome": ["other_pm", "sudani_return"],
        ...                       "question": ["?", "?"], "p": [0.3, 0.2], "lo80": [0.2, 0.1],
        ...                       "hi80": [0.4, 0.3], "lo95": [0.1, 0.0], "hi95": [0.5, 0.4],
        ...                       "term": ["unlikely", "unlikely"]})
        >>> prov = dict(spec_hash="s", evidence_hash="e", as_of="2026-01-15",
        ...             horizon="2026-12-31", seed=1, draws=10, chains=2, versions={},
        ...             created="2026-01-15T10:00:00+00:00")
        >>> with Ledger.memory() as ledger:
        ...     fid = ledger.record(ForecastEntry(table, prov, ok=True))
        ...     len(fid), len(ledger)
        (16, 2)
        """
        if isinstance(fc, Forecast):
            fc = ForecastEntry.of(fc)
        if not isinstance(fc, ForecastEntry):
            raise TypeError(f"record expects a Forecast or a ForecastEntry, got "
                            f"{type(fc).__name__}")
        fid, payloads = fc.payloads()
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
        happened, date, source = check_resolution(spec, outcome, happened, date, source,
                                                  today=_today())
        wanted = ledger_status.implied_resolutions(spec, outcome, happened, date, source)
        with self._tx() as c:
            status = self._status(c)
            todo = []
            for w in wanted:
                st = status.setdefault(w["outcome"], ledger_status.Status())
                kind, d = ledger_status.Status.assertion(w)
                clash = st.conflict(kind, d)
                if clash is not None:
                    said = ledger_status.Ref.of(0, w).said
                    raise LedgerError(f"cannot record {said}: it contradicts the resolution "
                                      f"already recorded at {clash} (source: {clash.source})")
                if not st.redundant(kind, d):
                    todo.append(w)
            seqs = self._append(c, "resolution", todo) if todo else []
        return [{**w, "seq": s} for w, s in zip(todo, seqs, strict=True)]

    def _status(self, conn: sqlite3.Connection) -> dict[str, ledger_status.Status]:
        cur = conn.execute("SELECT seq, payload FROM ledger_rows WHERE kind = 'resolution' "
                           "ORDER BY seq")
        return ledger_status.statuses((seq, json.loads(text)) for seq, text in cur)

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
        return verify_chain(self._conn, head)

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
                        "reliable": stored_reliability(pl),
                        "problems": stored_problems(pl)})
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
        hz = None if horizon is None else iso_date(horizon, "horizon")
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
        return ledger_status.resolved_frame(self._rows(), include_hindcasts=include_hindcasts,
                              reliable_only=reliable_only)

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
        return ledger_status.score_resolved(self.resolved(include_hindcasts=include_hindcasts),
                              load_spec() if spec is None else spec, n_boot=n_boot, seed=seed,
                              reliable_only=reliable_only)

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
        hz = None if horizon is None else iso_date(horizon, "horizon")
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

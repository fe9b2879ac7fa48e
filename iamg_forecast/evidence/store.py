"""The evidence log: an append-only SQLite store that never loses an item.

Every add, amend and retraction is a new row; nothing is updated or deleted. Each operation is
one transaction (``BEGIN IMMEDIATE``, WAL journal), so a crash leaves all of an import or none.
The current state, the history of an item and the log as it stood on a past date are all
queries over those rows.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import re
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from iamg_forecast.errors import EvidenceError, FileRefusedError, Problem, short_text
from iamg_forecast.evidence.cells import as_date, model_data
from iamg_forecast.evidence.io import read_rows, write_evidence_file
from iamg_forecast.evidence.items import (
    CONTENT_FIELDS,
    Evidence,
    check_against_spec,
    validation_problems,
)
from iamg_forecast.files import SQLiteHandle, check_writable_target, is_sqlite_or_absent
from iamg_forecast.spec import Spec, load_spec, parse_date

__all__ = ["EvidenceLog", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1
MIGRATIONS = [
    # version 1
    """
    CREATE TABLE IF NOT EXISTS evidence_rows (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        item_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('add', 'amend', 'retract')),
        content TEXT,
        reason TEXT,
        recorded_at TEXT NOT NULL,
        UNIQUE (item_id, version)
    );
    CREATE INDEX IF NOT EXISTS evidence_rows_item ON evidence_rows (item_id);
    CREATE TRIGGER IF NOT EXISTS evidence_rows_no_update BEFORE UPDATE ON evidence_rows
        BEGIN SELECT RAISE(ABORT, 'evidence rows are append-only'); END;
    CREATE TRIGGER IF NOT EXISTS evidence_rows_no_delete BEFORE DELETE ON evidence_rows
        BEGIN SELECT RAISE(ABORT, 'evidence rows are append-only'); END;
    """,
]


_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
                           r"(Z|[+-]\d{2}:\d{2})?", re.ASCII)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


class EvidenceLog(SQLiteHandle):
    """Dated, sourced, graded evidence in an embedded SQLite file (or in memory).

    Examples
    --------
    >>> import iamg_forecast as iaf
    >>> log = iaf.EvidenceLog.memory()
    >>> ids = log.import_file(iaf.seed_evidence_path())
    >>> len(log) == len(ids)
    True
    >>> log.retract(ids[0], reason="example")
    >>> len(log) == len(ids) - 1
    True
    """

    def __init__(self, conn: sqlite3.Connection, spec: Spec, path: str):
        self._conn = conn
        self.spec = spec
        self.path = path
        self._migrate()

    # ---- lifecycle ----------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, spec: Spec | None = None, *,
             create: bool = True) -> EvidenceLog:
        """Open the log at ``path``; items are validated against ``spec``.

        Parameters
        ----------
        path : str or Path
            The SQLite file of the log.
        spec : Spec, optional
            The scenario the items must fit; defaults to :func:`~iamg_forecast.load_spec`.
        create : bool, default True
            Create an empty log (and its folder) when ``path`` does not exist. With ``False``
            a missing file is an error, for commands that only read.

        Raises
        ------
        EvidenceError
            When ``path`` is missing (and ``create`` is false), is a directory, or is not an
            SQLite database; the file is left as it was.
        """
        path = Path(path)
        if path.is_dir():
            raise EvidenceError([Problem(str(path), "<store>", "is a directory; expected the "
                                         "SQLite file of an evidence store")])
        _check_store_file(path)
        if not path.exists():
            if not create:
                raise EvidenceError([Problem(str(path), "<store>", "no such file; add or "
                                             "import evidence first, which creates it")],
                                    header=f"no evidence store at {path}")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise EvidenceError([Problem(str(path), "<store>", "cannot create the folder "
                                             f"of the store: {err.strerror or err}")]) from None
        spec = spec or load_spec()
        conn = None
        try:
            conn = sqlite3.connect(str(path), timeout=60.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=60000")
            return cls(conn, spec, str(path))
        except sqlite3.Error as err:
            if conn is not None:
                conn.close()
            raise EvidenceError([Problem(str(path), "<store>", "cannot open as an evidence store "
                                         f"({err}); expected an SQLite file written by "
                                         "iamg_forecast")]) from None
        except BaseException:
            if conn is not None:
                conn.close()
            raise

    @classmethod
    def memory(cls, spec: Spec | None = None) -> EvidenceLog:
        """A log in memory, for quick notebook work."""
        conn = sqlite3.connect(":memory:", isolation_level=None)
        return cls(conn, spec or load_spec(), ":memory:")

    def _write(self, fn):
        """Run ``fn(conn)`` in one IMMEDIATE transaction, retrying while the file is busy."""
        delay = 0.01
        for _attempt in range(200):
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) and "busy" not in str(err):
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
                continue
            try:
                out = fn(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return out
        raise EvidenceError([Problem(self.path, "<store>", "the store stayed busy for too long")])

    def _migrate(self) -> None:
        def run(conn):
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (component TEXT PRIMARY KEY,"
                         " version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM schema_version WHERE component='evidence'"
                               ).fetchone()
            current = row[0] if row else 0
            if current > SCHEMA_VERSION:
                raise EvidenceError([Problem(self.path, "schema_version", f"the store has "
                                             f"schema {current}; this version reads up to "
                                             f"{SCHEMA_VERSION}")])
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for stmt in _statements(MIGRATIONS[version - 1]):
                    conn.execute(stmt)
                conn.execute("INSERT OR REPLACE INTO schema_version VALUES ('evidence', ?)",
                             (version,))
        self._write(run)

    # ---- reading --------------------------------------------------------------------------
    def _latest(self, until: str | None = None) -> dict[str, tuple[int, str, str | None]]:
        """Item id -> (version, action, content) of its latest row (recorded before ``until``)."""
        sql = "SELECT item_id, version, action, content FROM evidence_rows"
        args: tuple = ()
        if until is not None:
            sql += " WHERE recorded_at <= ?"
            args = (until,)
        out: dict[str, tuple[int, str, str | None]] = {}
        for item_id, version, action, content in self._conn.execute(sql + " ORDER BY seq", args):
            out[item_id] = (version, action, content)
        return out

    @staticmethod
    def _item(item_id: str, content: str) -> Evidence:
        return Evidence(**json.loads(content), id=item_id)

    def current(self) -> list[Evidence]:
        """Current version of every item not retracted, sorted by (date, id)."""
        return self._state(None)

    def _state(self, until: str | None) -> list[Evidence]:
        items = [self._item(i, c) for i, (_, a, c) in self._latest(until).items()
                 if a != "retract"]
        return sorted(items, key=lambda e: (e.date, e.id))

    def as_known_on(self, when: dt.date | dt.datetime | str) -> list[Evidence]:
        """The log as it stood at the end of ``when`` (a date) or at ``when`` (a datetime).

        ``when`` may also be an ISO string: ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM[:SS]``.

        Raises
        ------
        EvidenceError
            When ``when`` is neither a date, a datetime nor such a string.
        """
        if isinstance(when, str):
            text = when
            try:
                if "T" in text and _ISO_DATETIME.fullmatch(text):
                    when = dt.datetime.fromisoformat(text)
                else:
                    when = parse_date(text, "when")
            except ValueError:
                raise EvidenceError([Problem("<argument>", "when", "expected an ISO date "
                                             "YYYY-MM-DD or datetime YYYY-MM-DDTHH:MM:SS",
                                             when)]) from None
        if not isinstance(when, dt.date):
            raise EvidenceError([Problem("<argument>", "when", "expected a date, a datetime or "
                                         "an ISO string", type(when).__name__)])
        if isinstance(when, dt.datetime):
            stamp = (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).isoformat(
                timespec="microseconds")
        else:
            stamp = dt.datetime.combine(when, dt.time.max, tzinfo=dt.UTC).isoformat(
                timespec="microseconds")
        return self._state(stamp)

    def __len__(self) -> int:
        return len(self.current())

    def items(self) -> pd.DataFrame:
        """One row per current item: ``id`` and every content field."""
        rows = [{"id": e.id, **e.content()} for e in self.current()]
        return pd.DataFrame(rows, columns=["id", *CONTENT_FIELDS])

    def history(self, item_id: str) -> pd.DataFrame:
        """Every version of one item with its action, reason and timestamp."""
        self._require(item_id)
        rows = self._conn.execute(
            "SELECT version, action, content, reason, recorded_at FROM evidence_rows "
            "WHERE item_id=? ORDER BY seq", (item_id,)).fetchall()
        return pd.DataFrame(rows, columns=["version", "action", "content", "reason",
                                           "recorded_at"])

    def rows(self) -> int:
        """Number of stored rows (only ever grows)."""
        return int(self._conn.execute("SELECT COUNT(*) FROM evidence_rows").fetchone()[0])

    def digest(self) -> str:
        """SHA-256 over every stored row: equal digests mean byte-identical stores."""
        h = hashlib.sha256()
        for row in self._conn.execute("SELECT * FROM evidence_rows ORDER BY seq"):
            h.update(json.dumps(row).encode())
        return h.hexdigest()

    def model_data(self, as_of: dt.date | str | None = None) -> dict[str, np.ndarray]:
        """The model's evidence arrays for the current items known on ``as_of``.

        ``as_of`` is a date, an ISO string ``YYYY-MM-DD`` or ``None`` (every item); anything
        else raises :class:`EvidenceError` naming it.
        """
        return model_data(self.spec, self.current(), as_date(as_of, "as_of"))

    # ---- writing --------------------------------------------------------------------------
    def _validate(self, items: list[Evidence]) -> None:
        problems = [p for it in items for p in check_against_spec(it, self.spec)]
        if problems:
            raise EvidenceError(problems)

    def add(self, *items: Evidence | Mapping[str, Any]) -> list[str]:
        """Append items; an item whose id and content are already current is a no-op.

        Parameters
        ----------
        *items : Evidence or mapping
            Items, or mappings of their fields (validated here, like a row of a file).

        Returns
        -------
        list of str
            The ids of the items, in order.

        Raises
        ------
        EvidenceError
            Listing every problem, one line each; nothing is added then. Problems include an
            invalid field, an item that does not fit the spec, a ``duplicate_of`` or
            ``corroborates`` naming an id that is neither in the log nor among ``items``,
            and an id already in the log with different content (use :meth:`amend`).
        """
        built: list[tuple[str, Evidence]] = []
        problems: list[Problem] = []
        for k, x in enumerate(items):
            label = f"items[{k}]" if len(items) > 1 else "item"
            if isinstance(x, Evidence):
                built.append((f"item {x.id}", x))
            elif isinstance(x, Mapping):
                try:
                    it = Evidence(**{str(key): v for key, v in x.items()})
                except ValidationError as err:
                    problems += validation_problems(err, "<add>", label)
                    continue
                built.append((f"item {it.id}", it))
            else:
                problems.append(Problem("<add>", label, "expected Evidence or a mapping of its "
                                        "fields", type(x).__name__))
        problems += [p for _, it in built for p in check_against_spec(it, self.spec)]
        if problems:
            raise EvidenceError(problems)
        return self._write(lambda conn: self._insert(conn, built, "add", None))

    def _insert(self, conn: sqlite3.Connection, located: list[tuple[str, Evidence]],
                action: str, where: str | None, found: list[Problem] | None = None,
                other_ids: set[str] | None = None) -> list[str]:
        """Write ``located`` (location, item) in the open transaction, or raise and write none.

        With ``where`` (a file name) problems are reported as ``where: location: field``,
        otherwise as ``location: field``. ``found`` are problems already found (reported with
        these), ``other_ids`` ids of the same batch that failed validation.
        """
        latest: dict[str, tuple[int, str, str | None]] = {}
        last_content: dict[str, str] = {}
        for item_id, version, act, content in conn.execute(
                "SELECT item_id, version, action, content FROM evidence_rows ORDER BY seq"):
            latest[item_id] = (version, act, content)
            if content is not None:
                last_content[item_id] = content
        problems = list(found or [])
        problems += self._reference_problems(located, latest, where, other_ids or set())
        stamp = _now()
        rows = []
        batch: dict[str, tuple[str, str]] = {}  # id -> (location, content) within this call
        for loc, it in located:
            content = json.dumps(it.content(), sort_keys=True, ensure_ascii=False)
            prev = latest.get(it.id)
            clash = None
            if it.id in batch:
                if batch[it.id][1] != content:
                    clash = f"the same id with different content at {batch[it.id][0]}"
            elif prev is not None and last_content.get(it.id) == content:
                pass  # the same report entered again (even a retracted one): no-op
            elif prev is not None and action == "add":
                clash = ("an item with this id was retracted; a retracted item cannot be added "
                         "again: give the new report its own id") if prev[1] == "retract" else (
                    "an item with this id is already in the log with different content; use "
                    "amend to change it")
            else:
                batch[it.id] = (loc, content)
                version = (prev[0] + 1) if prev else 1
                latest[it.id] = (version, action, content)
                rows.append((it.id, version, action, content, None, stamp))
                continue
            batch.setdefault(it.id, (loc, content))
            if clash:
                problems.append(_located(where, loc, "id", clash, it.id))
        if problems:
            head = (f"{where}: {len(problems)} problem(s); nothing was imported" if where
                    else f"{len(problems)} problem(s); nothing was written")
            raise EvidenceError(problems, header=head)
        conn.executemany("INSERT INTO evidence_rows (item_id, version, action, content, reason, "
                         "recorded_at) VALUES (?, ?, ?, ?, ?, ?)", rows)
        return [it.id for _, it in located]

    def _reference_problems(self, located: list[tuple[str, Evidence]],
                            latest: dict[str, tuple[int, str, str | None]],
                            where: str | None, other_ids: set[str]) -> list[Problem]:
        """``duplicate_of``/``corroborates`` naming no known id, and chains of duplicates that
        lead back to the item itself.
        """
        retracted = {i for i, (_, a, _c) in latest.items() if a == "retract"}
        known = (set(latest) - retracted) | {it.id for _, it in located} | other_ids
        dup_of: dict[str, str | None] = {}
        if any(it.duplicate_of for _, it in located):  # a cycle needs a new duplicate_of
            dup_of = {i: json.loads(c).get("duplicate_of") for i, (_, a, c) in latest.items()
                      if a != "retract" and c is not None}
            dup_of.update({it.id: it.duplicate_of for _, it in located})
        problems = []
        for loc, it in located:
            for field in ("duplicate_of", "corroborates"):
                ref = getattr(it, field)
                if ref is None or ref in known:
                    continue
                if ref in retracted:
                    problems.append(_located(where, loc, field, "names a retracted item; a "
                                             "withdrawn report cannot be repeated or "
                                             "confirmed", ref))
                    continue
                hint = difflib.get_close_matches(ref, sorted(known), n=1)
                scope = "in this file" if where else "among the items added"
                problems.append(_located(where, loc, field, "no item with this id in the log or "
                                         f"{scope}" + (
                                             f"; did you mean {hint[0]!r}?" if hint else ""),
                                         ref))
            seen, ref = {it.id}, it.duplicate_of
            while ref is not None and ref not in seen:
                seen.add(ref)
                ref = dup_of.get(ref)
            if ref == it.id:
                problems.append(_located(where, loc, "duplicate_of", "duplicates form a cycle "
                                         "back to this item", it.duplicate_of))
        return problems

    def _require(self, item_id: str) -> tuple[int, str, str | None]:
        latest = self._latest()
        if item_id not in latest:
            hint = difflib.get_close_matches(item_id, list(latest), n=1)
            raise EvidenceError([Problem(self.path, "id", "no such item" + (
                f"; did you mean {hint[0]!r}?" if hint else ""), item_id)])
        return latest[item_id]

    def retract(self, item_id: str, reason: str) -> None:
        """Withdraw an item (recorded with ``reason``; its history stays)."""
        if not str(reason).strip():
            raise EvidenceError([Problem(self.path, "reason", "a retraction needs a reason")])
        version, action, _ = self._require(item_id)
        if action == "retract":
            raise EvidenceError([Problem(self.path, "id", "already retracted", item_id)])
        self._write(lambda conn: conn.execute(
            "INSERT INTO evidence_rows (item_id, version, action, content, reason, recorded_at)"
            " VALUES (?, ?, 'retract', NULL, ?, ?)", (item_id, version + 1, reason, _now())))

    def amend(self, item_id: str, **changes: Any) -> Evidence:
        """Record a new version of an item with ``changes``; returns it (same id)."""
        _, action, content = self._require(item_id)
        if action == "retract":
            raise EvidenceError([Problem(self.path, "id", "cannot amend a retracted item",
                                         item_id)])
        unknown = [k for k in changes if k not in CONTENT_FIELDS]
        if unknown:
            raise EvidenceError([Problem(self.path, k, "not an evidence field") for k in unknown])
        try:
            new = Evidence(**{**json.loads(content), **changes}, id=item_id)
        except ValidationError as err:
            raise EvidenceError(validation_problems(err, f"item {item_id}")) from None
        self._validate([new])
        self._write(lambda conn: self._insert(conn, [(f"item {item_id}", new)], "amend", None))
        return new

    # ---- files ----------------------------------------------------------------------------
    def import_file(self, path: str | Path) -> list[str]:
        """Import a YAML or CSV file: every row valid, then all rows in one transaction.

        Rows already in the log with the same content are skipped, so importing a file again
        changes nothing.

        Raises
        ------
        EvidenceError
            Listing every problem (row, field, value, reason); nothing is imported then.
            Besides invalid rows: an id on two rows of the file, an id already in the log with
            different content (use :meth:`amend`), and a ``duplicate_of`` or
            ``corroborates`` naming an id in neither the log nor the file.
        """
        path = Path(path)
        located, problems, bad_ids = read_rows(path, self.spec)
        return self._write(lambda conn: self._insert(conn, located, "add", path.name,
                                                     problems, bad_ids))

    def export(self, path: str | Path) -> Path:
        """Write the current items to YAML or CSV (by suffix)."""
        return write_evidence_file(self.current(), path)


def _check_store_file(path: Path) -> None:
    """Refuse an existing path that is not a regular SQLite file (an empty or unrelated file
    must not be turned into a store; a FIFO or device must not be opened).
    """
    try:
        check_writable_target(path, None, "evidence store")
    except FileRefusedError as err:
        raise EvidenceError([Problem(short_text(path), "<store>", err.reason)]) from None
    if not is_sqlite_or_absent(path):
        raise EvidenceError([Problem(short_text(path), "<store>", "not a database: the file "
                                     "is empty or holds something else; expected the SQLite "
                                     "store written by iamg_forecast, or a new path")])


def _located(where: str | None, loc: str, field: str, message: str, value: object) -> Problem:
    """A problem of one item: in a file (``where``) at row ``loc``, or of item ``loc``."""
    if where is None:
        return Problem(loc, field, message, value)
    return Problem(where, f"{loc}: {field}", message, value)


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (triggers contain semicolons)."""
    out, buf = [], []
    for line in script.strip().splitlines():
        buf.append(line)
        text = "\n".join(buf).strip()
        if text.endswith(";") and (not text.upper().startswith("CREATE TRIGGER")
                                   or text.upper().endswith("END;")):
            out.append(text)
            buf = []
    return out

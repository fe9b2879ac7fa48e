"""The ledger's hash chain: canonical JSON, row hashes, its tables, and their verification.

Every row of the SQLite table ``ledger_rows`` stores ``seq``, ``kind`` (``'forecast'`` or
``'resolution'``), a canonical JSON ``payload`` (sorted keys, compact separators),
``recorded_at`` (UTC), the previous row's hash and its own hash

    hash = sha256(prev_hash + canonical_json([seq, kind, payload, recorded_at]))

with ``prev_hash`` of the first row :data:`GENESIS` (64 zeros). :func:`verify_chain`
recomputes the chain, so any altered, deleted, reordered or inserted row is found and named by
its ``seq``. A second append-only table, ``ledger_anchors`` (``seq``, ``hash``), is written in
the same transaction as each row; it is what reveals a deleted *last* row, which a chain alone
cannot. Triggers reject UPDATE and DELETE on both tables.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import math
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["GENESIS", "KINDS", "LEDGER_SCHEMA_VERSION", "DDL", "VerifyResult", "append_rows",
           "canonical_json", "jsonable", "row_hash", "schema_problems", "verify_chain"]

#: Version of the ledger's tables, stored as ``('ledger', version)`` in ``schema_version``.
LEDGER_SCHEMA_VERSION = 1
#: ``prev_hash`` of the first row.
GENESIS = "0" * 64
#: The kinds of rows.
KINDS = ("forecast", "resolution")
_TABLES = ("ledger_rows", "ledger_anchors")

#: The ledger's tables and their append-only triggers (``schema_version`` is shared).
DDL = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "component TEXT PRIMARY KEY, version INTEGER)",
    "CREATE TABLE IF NOT EXISTS ledger_rows ("
    "seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL, "
    "recorded_at TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger_anchors (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL)",
    *(f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
      f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
      for table in _TABLES for op in ("UPDATE", "DELETE")),
)


# ---- canonical JSON and hashing --------------------------------------------------------------
def jsonable(obj: Any) -> Any:
    """Plain JSON types for hashing: numpy scalars unwrapped, dates ISO, non-finite floats None.

    Examples
    --------
    >>> jsonable({"p": np.float64(0.5), "when": dt.date(2026, 1, 2), "x": float("nan")})
    {'p': 0.5, 'when': '2026-01-02', 'x': None}
    """
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        items = [jsonable(v) for v in obj]
        return sorted(items, key=canonical_json) if isinstance(obj, set | frozenset) else items
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
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


def append_rows(conn: sqlite3.Connection, kind: str, payloads: list[dict[str, Any]],
                recorded_at: str) -> list[int]:
    """Append one row (and its anchor) per payload to the chain; return their ``seq``.

    Run inside the caller's write transaction, so that two writers cannot fork the chain.
    """
    last = conn.execute("SELECT seq, hash FROM ledger_rows ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (last[0], last[1]) if last else (0, GENESIS)
    seqs = []
    for payload in payloads:
        seq += 1
        body = jsonable(payload)
        h = row_hash(prev, seq, kind, body, recorded_at)
        conn.execute("INSERT INTO ledger_rows (seq, kind, payload, recorded_at, prev_hash, "
                     "hash) VALUES (?, ?, ?, ?, ?, ?)",
                     (seq, kind, canonical_json(body), recorded_at, prev, h))
        conn.execute("INSERT INTO ledger_anchors (seq, hash) VALUES (?, ?)", (seq, h))
        prev = h
        seqs.append(seq)
    return seqs


# ---- verification ----------------------------------------------------------------------------
@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :meth:`~iamg_forecast.calibration.ledger.Ledger.verify`.

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
        import html

        if self.ok:
            return (f"<p>Ledger intact: {self.n_rows} rows, head "
                    f"<code>{self.head[:16]}</code></p>")
        items = "".join(f"<li>{html.escape(p)}</li>" for p in self.problems)
        return (f"<p style='color:#a00;font-weight:bold'>Ledger NOT intact "
                f"({len(self.problems)} problems)</p><ul>{items}</ul>")


def _normal_sql(sql: str) -> str:
    """SQL text with ``IF NOT EXISTS`` dropped and whitespace collapsed, for comparison."""
    return " ".join(re.sub(r"(?i)\bIF NOT EXISTS\b", "", sql).split())


def _schema_of(conn: sqlite3.Connection) -> dict[tuple[str, str], str]:
    """(type, name) -> normalised SQL of every table and trigger on the ledger's tables."""
    return {(t, n): _normal_sql(sql) for t, n, sql in conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN (?, ?)", _TABLES)
        if sql is not None}


@functools.cache
def _expected_schema() -> dict[tuple[str, str], str]:
    """The ledger's tables and triggers as :data:`DDL` creates them."""
    conn = sqlite3.connect(":memory:")
    try:
        for stmt in DDL:
            conn.execute(stmt)
        return _schema_of(conn)
    finally:
        conn.close()


def schema_problems(conn: sqlite3.Connection) -> list[str]:
    """Differences between the ledger's tables and triggers and the ones it was created
    with: a dropped or replaced append-only trigger, an extra trigger on its tables, a
    changed table, or a changed schema version.
    """
    found = _schema_of(conn)
    expected = _expected_schema()
    problems = []
    for key, sql in expected.items():
        kind, name = key
        if key not in found:
            problems.append(f"schema: {kind} {name} is missing (dropped?); without it the "
                            "ledger is not append-only")
        elif found[key] != sql:
            problems.append(f"schema: {kind} {name} differs from the one the ledger "
                            "creates (replaced?)")
    for kind, name in sorted(set(found) - set(expected)):
        problems.append(f"schema: unexpected {kind} {name} on the ledger's tables")
    row = conn.execute("SELECT version FROM schema_version WHERE component = "
                       "'ledger'").fetchone()
    if row is None or row[0] != LEDGER_SCHEMA_VERSION:
        problems.append(f"schema: schema_version of the ledger is "
                        f"{None if row is None else row[0]!r}, expected "
                        f"{LEDGER_SCHEMA_VERSION}")
    return problems


def _row_problems(seq: int, kind: str, text: str, at: str, prev_hash: str, stored: str,
                  prev: str, expected: int, anchors: dict[int, str]) -> list[str]:
    """What is wrong with one row, given the hash of the row before it and its anchors."""
    problems = []
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
    return problems


def _head_problems(head: tuple[int, str] | str | None, rows: list, hashes: list[str]
                   ) -> list[str]:
    """Whether the chain still passes through a head published earlier."""
    if isinstance(head, tuple):
        h_seq, h_hash = int(head[0]), str(head[1])
        found = next((r[5] for r in rows if r[0] == h_seq), GENESIS if h_seq == 0 else None)
        if found != h_hash:
            return [f"seq {h_seq}: does not match the published head {h_hash[:16]}… (ledger "
                    "rewritten?)"]
    elif head is not None and head != GENESIS and head not in hashes:
        return [f"seq ?: published head {head[:16]}… is not in the chain (ledger rewritten?)"]
    return []


def verify_chain(conn: sqlite3.Connection, head: tuple[int, str] | str | None = None
                 ) -> VerifyResult:
    """Recompute the chain of ``conn``'s ledger and report every problem, each by ``seq``.

    See :meth:`~iamg_forecast.calibration.ledger.Ledger.verify`.
    """
    problems: list[str] = schema_problems(conn)
    rows = conn.execute("SELECT seq, kind, payload, recorded_at, prev_hash, hash "
                        "FROM ledger_rows ORDER BY seq").fetchall()
    anchors = dict(conn.execute("SELECT seq, hash FROM ledger_anchors").fetchall())
    expected, prev = 1, GENESIS
    hashes: list[str] = []
    for seq, kind, text, at, prev_hash, stored in rows:
        problems += _row_problems(seq, kind, text, at, prev_hash, stored, prev, expected,
                                  anchors)
        prev, expected = stored, max(expected, seq + 1)
        hashes.append(stored)
    present = {r[0] for r in rows}
    for seq in sorted(set(anchors) - present):
        problems.append(f"seq {seq}: row missing but its anchor exists (deleted?)")
    problems += _head_problems(head, rows, hashes)
    return VerifyResult(ok=not problems, problems=problems, n_rows=len(rows),
                        head=hashes[-1] if hashes else GENESIS)

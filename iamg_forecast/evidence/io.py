"""Evidence files: YAML and CSV, read all-or-nothing, written losslessly.

Every bad row is reported at once (line or list index, field, value, reason) and nothing is
returned when any row is bad, so an import is all or nothing.

Reading is bounded: regular files only (a FIFO or ``/dev/zero`` is refused without reading),
at most :data:`~iamg_forecast.defaults.MAX_EVIDENCE_FILE_BYTES`, YAML without aliases, anchors,
repeated keys or deep nesting, CSV without repeated columns, extra or missing cells, or a blank
``value``.

CSV cells are written so that a spreadsheet cannot run them: a text cell starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return (or their full-width forms) gets a leading
``'`` (OWASP's CSV-injection advice), as does a cell that starts with ``'`` followed by one of
those or by another ``'``. Reading removes exactly that one quote, so export then import gives
back every item unchanged (carriage returns included).
"""

from __future__ import annotations

import csv
import io
import os
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from iamg_forecast import defaults
from iamg_forecast.errors import EvidenceError, FileRefusedError, Problem, short, short_text
from iamg_forecast.evidence.items import (
    CONTENT_FIELDS,
    Evidence,
    check_against_spec,
    validation_problems,
)
from iamg_forecast.files import read_text_bounded, write_atomic
from iamg_forecast.spec import Spec, load_yaml

__all__ = ["read_evidence_file", "read_rows", "write_evidence_file", "COLUMNS",
           "csv_escape", "csv_unescape", "seed_evidence_path", "seed_evidence"]

COLUMNS = ("id",) + CONTENT_FIELDS
#: Columns holding text, escaped against formula injection on export and unescaped on import.
TEXT_COLUMNS = ("id", "indicator", "source", "reliability", "note", "url", "quote",
                "duplicate_of", "corroborates")
_FORMULA_START = "=+-@\t\r\uff1d\uff0b\uff0d\uff20"



def seed_evidence_path() -> Path:
    """Path of the bundled evidence file with the dated facts of the January 2026 analysis.

    Examples
    --------
    >>> seed_evidence_path().name
    'seed_evidence.yaml'
    """
    return Path(str(resources.files("iamg_forecast") / "data" / "seed_evidence.yaml"))


def seed_evidence() -> list[Evidence]:
    """The items of the bundled seed evidence, in file order (each one validated on its own).

    Examples
    --------
    >>> all(isinstance(e, Evidence) for e in seed_evidence())
    True
    """
    raw = yaml.safe_load(seed_evidence_path().read_text(encoding="utf-8"))
    return [Evidence(**row) for row in raw["evidence"]]

def csv_escape(cell: str) -> str:
    """A text cell a spreadsheet reads as text, never as a formula (see the module docstring).

    Examples
    --------
    >>> csv_escape("=HYPERLINK(1)"), csv_escape("plain"), csv_escape("'=x")
    ("'=HYPERLINK(1)", 'plain', "''=x")
    """
    if cell and (cell[0] in _FORMULA_START
                 or (cell[0] == "'" and len(cell) > 1 and cell[1] in _FORMULA_START + "'")):
        return "'" + cell
    return cell


def csv_unescape(cell: str) -> str:
    """Undo :func:`csv_escape` (a cell it did not change is returned as it is).

    Examples
    --------
    >>> all(csv_unescape(csv_escape(c)) == c for c in ("=1", "'=1", "''", "'", "-", "'a"))
    True
    """
    if len(cell) > 1 and cell[0] == "'" and cell[1] in _FORMULA_START + "'":
        return cell[1:]
    return cell


def _text(path: Path) -> str:
    """The file's text: a regular file, within the size limit, UTF-8; else EvidenceError."""
    try:
        return read_text_bounded(path, defaults.MAX_EVIDENCE_FILE_BYTES, "evidence file")
    except FileRefusedError as err:
        raise EvidenceError([Problem(short_text(path.name), "<file>", err.reason)]) from None


def _rows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(location, raw mapping) per row of a YAML or CSV evidence file."""
    if path.is_dir():
        raise EvidenceError([Problem(short_text(path), "<file>", "is a directory; expected a "
                                     ".yaml, .yml or .csv file")])
    if path.suffix.lower() not in (".yaml", ".yml", ".csv"):
        raise EvidenceError([Problem(short_text(path.name), "<file>", "unsupported file type "
                                     f"{short(path.suffix)}; expected .yaml, .yml or .csv")])
    text = _text(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = load_yaml(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "<file>"
            reason = getattr(err, "problem", None) or err
            raise EvidenceError([Problem(short_text(path.name), where,
                                         f"not valid YAML: {short_text(reason, 200)}")]
                                ) from None
        if not isinstance(data, dict) or not isinstance(data.get("evidence"), list):
            raise EvidenceError([Problem(path.name, "<file>",
                                         "expected a mapping with an 'evidence' list")])
        return [(f"evidence[{i}]", row) for i, row in enumerate(data["evidence"])]
    if path.suffix.lower() == ".csv":
        return _csv_rows(path, text)
    raise AssertionError("unreachable")  # pragma: no cover


def _csv_rows(path: Path, text: str) -> list[tuple[str, dict[str, Any]]]:
    """(location, raw mapping) per record of a CSV evidence file; refuses malformed files."""
    name = short_text(path.name)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise EvidenceError([Problem(name, "header", "the file is empty; expected a header "
                                         f"row with some of {list(COLUMNS)}")])
        unknown = [c for c in header if c not in COLUMNS]
        if unknown:
            raise EvidenceError([Problem(name, "header", "unknown column(s) "
                                         f"{short(unknown)}; expected some of {list(COLUMNS)}")])
        repeated = sorted({c for c in header if header.count(c) > 1})
        if repeated:
            raise EvidenceError([Problem(name, "header", f"column(s) {repeated} appear more "
                                         "than once; each column may appear once")])
        rows, problems = [], []
        start = reader.line_num + 1
        for cells in reader:
            where = f"line {start}"
            start = reader.line_num + 1
            if not cells:
                continue   # a blank line
            if len(cells) != len(header):
                more = "more" if len(cells) > len(header) else "fewer"
                problems.append(Problem(name, where, f"{len(cells)} cells, {more} than the "
                                        f"{len(header)} columns of the header"))
                continue
            row = dict(zip(header, cells, strict=True))
            if row.get("value") is not None and not row["value"].strip():
                problems.append(Problem(name, f"{where}: value", "blank cell: write 1 (it "
                                        "happened), 0, a count or a measurement"))
                continue
            # monitored_absent stays text here: Evidence accepts only true/false, yes/no, 1/0
            clean = {k: (csv_unescape(v) if k in TEXT_COLUMNS else v)
                     for k, v in row.items() if v != ""}
            rows.append((where, clean))
    except csv.Error as err:
        raise EvidenceError([Problem(name, f"line {reader.line_num}", "not valid CSV: "
                                     f"{short_text(err, 120)}")]) from None
    if problems:
        raise EvidenceError(problems, header=f"{name}: {len(problems)} problem(s); nothing "
                                             "was imported")
    return rows


def read_evidence_file(path: str | Path, spec: Spec) -> list[Evidence]:
    """Read and validate every row of a YAML or CSV evidence file against ``spec``.

    Every row must be a valid item that fits ``spec``, and an id given explicitly must not
    appear on two rows. Rows without an id take the hash of their content, so a row repeated
    verbatim is one item.

    Raises
    ------
    EvidenceError
        Listing every bad row (location, field, value, reason); nothing is returned then.

    Examples
    --------
    >>> import iamg_forecast as iaf
    >>> items = read_evidence_file(iaf.seed_evidence_path(), iaf.load_spec())
    >>> items[0].id
    'seed-maliki-nominated'
    """
    path = Path(path)
    located, problems, _ = read_rows(path, spec)
    if problems:
        raise EvidenceError(problems, header=f"{path.name}: {len(problems)} problem(s); "
                                             "nothing was imported")
    return [item for _, item in located]


def read_rows(path: Path, spec: Spec
              ) -> tuple[list[tuple[str, Evidence]], list[Problem], set[str]]:
    """The valid rows of an evidence file as (location, item), every problem found, and the
    ids given on invalid rows.

    A file that cannot be read at all (missing, not UTF-8, not YAML, wrong type) raises
    :class:`EvidenceError` at once; problems of single rows are collected and returned, so
    that the caller can add its own checks before reporting them all together (the ids of
    invalid rows still exist in the file as far as such checks are concerned). An id repeated
    on a later row is reported there, and that row is left out.
    """
    if not os.path.lexists(path):
        raise EvidenceError([Problem(short_text(path), "<file>", "no such file")])
    located: list[tuple[str, Evidence]] = []
    problems: list[Problem] = []
    first: dict[str, tuple[str, bool]] = {}  # id -> (location, id given explicitly)
    bad_ids: set[str] = set()
    for where, row in _rows(path):
        if not isinstance(row, dict):
            problems.append(Problem(path.name, where, "expected a mapping of fields",
                                    type(row).__name__))
            continue
        if any(not isinstance(k, str) for k in row):
            problems.append(Problem(path.name, where, "field names must be text",
                                    short([k for k in row if not isinstance(k, str)])))
            continue
        try:
            item = Evidence(**row)
        except ValidationError as err:
            problems += validation_problems(err, path.name, where)
            if isinstance(row.get("id"), str) and len(row["id"]) <= defaults.MAX_ID_CHARS:
                given = row["id"]
                bad_ids.add(given)
                if given in first:
                    problems.append(_duplicate_id(path, where, given, first[given][0]))
                first.setdefault(given, (where, True))
            continue
        found = check_against_spec(item, spec)
        problems += [Problem(path.name, f"{where}: {p.path}", p.message, p.value)
                     for p in found]
        explicit = "id" in row
        if item.id in first:
            seen_at, seen_explicit = first[item.id]
            if explicit or seen_explicit:
                problems.append(_duplicate_id(path, where, item.id, seen_at))
            continue  # a row repeated verbatim without an id is the same report: one item
        first[item.id] = (where, explicit)
        located.append((where, item))
    return located, problems, bad_ids


def write_evidence_file(items: list[Evidence], path: str | Path) -> Path:
    """Write items to YAML or CSV (by suffix); text fields are kept verbatim.

    Examples
    --------
    >>> import tempfile, iamg_forecast as iaf
    >>> items = read_evidence_file(iaf.seed_evidence_path(), iaf.load_spec())
    >>> out = write_evidence_file(items, Path(tempfile.mkdtemp()) / "e.csv")
    >>> [e.id for e in read_evidence_file(out, iaf.load_spec())] == [e.id for e in items]
    True
    """
    path = Path(path)
    rows = [{"id": e.id, **e.content()} for e in items]
    if path.suffix.lower() in (".yaml", ".yml"):
        text = yaml.safe_dump({"evidence": rows}, sort_keys=False, allow_unicode=True, width=100)
    elif path.suffix.lower() == ".csv":
        buf = io.StringIO(newline="")
        # CRLF records (RFC 4180): the writer then quotes every cell holding a CR or an LF,
        # so a bare CR inside a note survives the round trip
        writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\r\n",
                                quoting=csv.QUOTE_MINIMAL)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ("" if v is None else csv_escape(v) if k in TEXT_COLUMNS else v)
                             for k, v in r.items()})
        text = buf.getvalue()
    else:
        raise EvidenceError([Problem(short_text(path), "<file>", "unsupported file type "
                                     f"{short(path.suffix)}; expected .yaml, .yml or .csv")])
    try:
        return write_atomic(path, text, suffixes=(".yaml", ".yml", ".csv"),
                            what="evidence file")
    except FileRefusedError as err:
        raise EvidenceError([Problem(short_text(path), "<file>", err.reason)]) from None


def _duplicate_id(path: Path, where: str, item_id: str, seen_at: str) -> Problem:
    """An id given on a row after ``seen_at`` already used it."""
    return Problem(path.name, f"{where}: id", f"duplicate id: already used at {seen_at}; each "
                   "row needs its own id", item_id)

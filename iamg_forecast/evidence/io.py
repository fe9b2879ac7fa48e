"""Evidence files: YAML and CSV, read all-or-nothing, written losslessly.

Every bad row is reported at once (line or list index, field, value, reason) and nothing is
returned when any row is bad, so an import is all or nothing.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from iamg_forecast.errors import EvidenceError, Problem
from iamg_forecast.evidence.items import (
    CONTENT_FIELDS,
    Evidence,
    check_against_spec,
    validation_problems,
)
from iamg_forecast.spec import Spec, load_yaml

__all__ = ["read_evidence_file", "read_rows", "write_evidence_file", "COLUMNS"]

COLUMNS = ("id",) + CONTENT_FIELDS


def _text(path: Path) -> str:
    """The file's text; an unreadable or non-UTF-8 file is an :class:`EvidenceError`."""
    if path.is_dir():
        raise EvidenceError([Problem(str(path), "<file>", "is a directory; expected a .yaml, "
                                     ".yml or .csv file")])
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise EvidenceError([Problem(path.name, "<file>", f"not UTF-8 text ({err.reason} at "
                                     f"byte {err.start}); save the file as UTF-8")]) from None
    except OSError as err:
        raise EvidenceError([Problem(str(path), "<file>", "cannot read the file: "
                                     f"{err.strerror or err}")]) from None


def _rows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(location, raw mapping) per row of a YAML or CSV evidence file."""
    if not path.is_dir() and path.suffix.lower() not in (".yaml", ".yml", ".csv"):
        raise EvidenceError([Problem(path.name, "<file>", "unsupported file type "
                                     f"{path.suffix!r}; expected .yaml, .yml or .csv")])
    text = _text(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = load_yaml(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "<file>"
            reason = getattr(err, "problem", None) or err
            raise EvidenceError([Problem(path.name, where, f"not valid YAML: {reason}")]
                                ) from None
        if not isinstance(data, dict) or not isinstance(data.get("evidence"), list):
            raise EvidenceError([Problem(path.name, "<file>",
                                         "expected a mapping with an 'evidence' list")])
        return [(f"evidence[{i}]", row) for i, row in enumerate(data["evidence"])]
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        unknown = [c for c in (reader.fieldnames or []) if c not in COLUMNS]
        if unknown:
            raise EvidenceError([Problem(path.name, "header", f"unknown column(s) {unknown}; "
                                         f"expected some of {list(COLUMNS)}")])
        rows = []
        for row in reader:
            # monitored_absent stays text here: Evidence accepts only true/false, yes/no, 1/0
            clean = {k: v for k, v in row.items() if k is not None and v not in ("", None)}
            rows.append((f"line {reader.line_num - _line_breaks(row)}", clean))
        return rows


def _line_breaks(row: dict[str, Any]) -> int:
    """Line breaks inside the quoted fields of a CSV record: the record starts that many lines
    before the line the reader has reached.
    """
    values = [v for v in row.values() if isinstance(v, str)]
    values += [x for v in row.values() if isinstance(v, list) for x in v if isinstance(x, str)]
    return sum(len(re.findall(r"\r\n|\r|\n", v)) for v in values)


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
    if not path.exists():
        raise EvidenceError([Problem(str(path), "<file>", "no such file")])
    located: list[tuple[str, Evidence]] = []
    problems: list[Problem] = []
    first: dict[str, tuple[str, bool]] = {}  # id -> (location, id given explicitly)
    bad_ids: set[str] = set()
    for where, row in _rows(path):
        if not isinstance(row, dict):
            problems.append(Problem(path.name, where, "expected a mapping of fields",
                                    type(row).__name__))
            continue
        try:
            item = Evidence(**{str(k): v for k, v in row.items()})
        except ValidationError as err:
            problems += validation_problems(err, path.name, where)
            if row.get("id") is not None:
                given = str(row["id"])
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
        writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in r.items()})
        text = buf.getvalue()
    else:
        raise EvidenceError([Problem(str(path), "<file>", "unsupported file type "
                                     f"{path.suffix!r}; expected .yaml, .yml or .csv")])
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    tmp.replace(path)
    return path


def _duplicate_id(path: Path, where: str, item_id: str, seen_at: str) -> Problem:
    """An id given on a row after ``seen_at`` already used it."""
    return Problem(path.name, f"{where}: id", f"duplicate id: already used at {seen_at}; each "
                   "row needs its own id", item_id)

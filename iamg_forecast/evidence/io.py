"""Evidence files: YAML and CSV, read all-or-nothing, written losslessly.

Every bad row is reported at once (line or list index, field, value, reason) and nothing is
returned when any row is bad, so an import is all or nothing.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from iamg_forecast.errors import EvidenceError, Problem
from iamg_forecast.evidence.items import CONTENT_FIELDS, Evidence, check_against_spec
from iamg_forecast.spec import Spec

__all__ = ["read_evidence_file", "write_evidence_file", "COLUMNS"]

COLUMNS = ("id",) + CONTENT_FIELDS


def _rows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(location, raw mapping) per row of a YAML or CSV evidence file."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise EvidenceError([Problem(path.name, "<file>", f"not valid YAML: {err}")]) from None
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
            clean = {k: v for k, v in row.items() if k is not None and v not in ("", None)}
            if "monitored_absent" in clean:
                clean["monitored_absent"] = clean["monitored_absent"].strip().lower() in (
                    "true", "1", "yes")
            rows.append((f"line {reader.line_num}", clean))
        return rows
    raise EvidenceError([Problem(path.name, "<file>", "unsupported file type "
                                 f"{path.suffix!r}; expected .yaml, .yml or .csv")])


def read_evidence_file(path: str | Path, spec: Spec) -> list[Evidence]:
    """Read and validate every row of a YAML or CSV evidence file against ``spec``.

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
    if not path.exists():
        raise EvidenceError([Problem(str(path), "<file>", "no such file")])
    items: list[Evidence] = []
    problems: list[Problem] = []
    for where, row in _rows(path):
        if not isinstance(row, dict):
            problems.append(Problem(path.name, where, "expected a mapping of fields",
                                    type(row).__name__))
            continue
        try:
            item = Evidence(**row)
        except ValidationError as err:
            for e in err.errors():
                field = ".".join(str(p) for p in e["loc"]) or "<row>"
                value = e.get("input") if not isinstance(e.get("input"), dict) else None
                problems.append(Problem(path.name, f"{where}: {field}",
                                        e["msg"].removeprefix("Value error, "), value))
            continue
        except TypeError as err:
            problems.append(Problem(path.name, where, str(err)))
            continue
        found = check_against_spec(item, spec)
        problems += [Problem(path.name, f"{where}: {p.path}", p.message, p.value)
                     for p in found]
        items.append(item)
    if problems:
        raise EvidenceError(problems, header=f"{path.name}: {len(problems)} problem(s); "
                                             "nothing was imported")
    return items


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

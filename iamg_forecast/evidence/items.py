"""One piece of evidence: dated, sourced and graded with the Admiralty code."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import math
import re
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from iamg_forecast import defaults
from iamg_forecast.errors import Problem, short
from iamg_forecast.kinds import IndicatorKind, get_kind
from iamg_forecast.spec import (
    INFO_GRADES,
    SOURCE_GRADES,
    Spec,
    month_end,
    parse_date,
    parse_month,
)

__all__ = ["Evidence", "CONTENT_FIELDS", "check_against_spec", "validation_problems"]

# The fields that make an item what it is; its default id hashes exactly these.
CONTENT_FIELDS = ("indicator", "date", "value", "source", "reliability", "note", "url", "quote",
                  "duplicate_of", "corroborates", "monitored_absent", "period_start",
                  "running_total", "distinct_event")
#: Content fields left out of :meth:`Evidence.content` (and so of the id) while at their default,
#: so that items written before the fields existed keep their ids and hashes.
OPTIONAL_CONTENT = {"period_start": None, "running_total": False, "distinct_event": False}


# The only spellings accepted for a yes/no field given as text (case-insensitive).
TRUE_WORDS = ("true", "yes", "1")
FALSE_WORDS = ("false", "no", "0")


def _today() -> dt.date:
    return dt.date.today()


class Evidence(BaseModel):
    """A dated, sourced, graded report about one indicator (or the resolution of an outcome).

    Parameters
    ----------
    indicator : str
        Name of an indicator of the spec, or of an outcome (its resolution, ``value=1``).
    date : date or ISO string
        When it happened (not when it was logged). Not in the future.
    value : float
        0/1 for binary indicators, an integer >= 0 for counts, a finite number for continuous.
    source : str
        Who reported it (non-empty).
    reliability : str
        Admiralty code: source reliability ``A``-``F`` and information credibility ``1``-``6``.
    note, url, quote : str, optional
        Free text, a link (http/https) and the exact words of the source.
    duplicate_of, corroborates : str, optional
        Id of an item this one repeats (adds nothing) or independently confirms.
    monitored_absent : bool
        "We watched this indicator this month and it did not happen" (implies ``value=0``).
    period_start : date, optional
        Count indicators: the first day the count covers; ``date`` is the last. Without it a
        count is the whole calendar month's. How parts of a month and running totals combine is
        :func:`iamg_forecast.evidence.cells.count_cells`.
    running_total : bool
        Count indicators: ``value`` is the total since ``period_start`` (which it requires), as
        in "35 attacks since 17 October"; a later total of the same series amends, it does not
        add.
    distinct_event : bool
        Binary indicators: this report is of another event than the month's other reports of
        the indicator (a second government's statement, another failed session), so the month
        counts one more event. Without it, reports of one indicator-month that are not linked
        by ``corroborates`` count once, at the strongest grade: they may share a source. See
        :func:`iamg_forecast.evidence.cells.model_data`.
    id : str, optional
        Defaults to a hash of the content, so entering the same report twice is one item.

    Examples
    --------
    >>> e = Evidence(indicator="sistani_signals_opposition_to_maliki", date="2026-01-20",
    ...              value=1, source="Reuters", reliability="B2")
    >>> e.month
    '2026-01'
    >>> e.id == Evidence(**e.content()).id
    True
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    indicator: str = Field(min_length=1, max_length=200)
    date: dt.date
    value: float = 1.0
    source: str = Field(min_length=1, max_length=defaults.MAX_SOURCE_CHARS)
    reliability: str
    note: str | None = Field(default=None, max_length=defaults.MAX_TEXT_CHARS)
    url: str | None = Field(default=None, max_length=defaults.MAX_URL_CHARS)
    quote: str | None = Field(default=None, max_length=defaults.MAX_TEXT_CHARS)
    duplicate_of: str | None = Field(default=None, max_length=defaults.MAX_ID_CHARS)
    corroborates: str | None = Field(default=None, max_length=defaults.MAX_ID_CHARS)
    monitored_absent: bool = False
    period_start: dt.date | None = None
    running_total: bool = False
    distinct_event: bool = False
    id: str = Field(default="", max_length=defaults.MAX_ID_CHARS)

    @field_validator("indicator", "source", "reliability", "note", "url", "quote",
                     "duplicate_of", "corroborates", "id", mode="before")
    @classmethod
    def _text_only(cls, v: Any, info: Any) -> Any:
        # No number-to-text coercion (an id of 1e308 is a typo), no huge values stringified.
        if v is not None and not isinstance(v, str):
            raise ValueError(f"expected text, got {type(v).__name__}")
        if v == "" and info.field_name in _OPTIONAL_TEXT:
            return None   # an empty optional text is no text (a CSV cannot tell them apart)
        return v

    @field_validator("id", "duplicate_of", "corroborates")
    @classmethod
    def _id_chars(cls, v: str | None) -> str | None:
        if v is not None and (_CONTROL.search(v) or v != v.strip()):
            raise ValueError("an id holds no control characters (line breaks, tabs) and no "
                             f"leading or trailing spaces, got {short(v)}")
        return v

    @field_validator("date", "period_start", mode="before")
    @classmethod
    def _parse_date(cls, v: Any, info: Any) -> Any:
        if info.field_name == "period_start" and (v is None or v == ""):
            return None
        try:
            return parse_date(v)
        except ValueError:
            raise ValueError(f"expected an ISO date YYYY-MM-DD, got {short(v)}") from None

    @field_validator("date")
    @classmethod
    def _not_future(cls, v: dt.date) -> dt.date:
        if v > _today():
            raise ValueError(f"date {v} is in the future (today is {_today()})")
        return v

    @field_validator("value", mode="before")
    @classmethod
    def _number(cls, v: Any) -> Any:
        if isinstance(v, bool):
            raise ValueError(f"expected a number, got the boolean {v!r} "
                             "(write 1 or 0; in YAML, yes/no/true/false are booleans)")
        if isinstance(v, str):
            if not v.strip():
                raise ValueError("value is blank: write 1 (it happened), 0, a count or a "
                                 "measurement")
            if len(v) > 64 or not _NUMBER.fullmatch(v.strip()):
                raise ValueError(f"expected a number, got {short(v)}")
            v = float(v.strip())
        elif v is not None and not isinstance(v, int | float):
            raise ValueError(f"expected a number, got {type(v).__name__}")
        elif isinstance(v, int) and abs(v) > 2**63:
            raise ValueError(f"value is out of range, got {short(v)}")
        return v

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError(f"value must be a finite number, got {v}")
        return v

    @field_validator("monitored_absent", "running_total", "distinct_event", mode="before")
    @classmethod
    def _flag(cls, v: Any) -> Any:
        if isinstance(v, bool):
            return v
        if isinstance(v, int | float) and v in (0, 1):
            return bool(v)
        if isinstance(v, str) and v.strip().lower() in TRUE_WORDS + FALSE_WORDS:
            return v.strip().lower() in TRUE_WORDS
        raise ValueError("expected true or false (also yes/no or 1/0), got " + short(v))

    @field_validator("source")
    @classmethod
    def _nonblank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("source must not be blank")
        return v

    @field_validator("reliability", mode="before")
    @classmethod
    def _admiralty(cls, v: Any) -> str:
        code = v.strip().upper() if isinstance(v, str) else ""
        if len(code) != 2 or code[0] not in SOURCE_GRADES or code[1] not in INFO_GRADES:
            raise ValueError(
                f"expected an Admiralty code: a letter A-F then a digit 1-6 (e.g. 'B2'), got "
                f"{short(v)}"
            )
        return code

    @field_validator("url")
    @classmethod
    def _http(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        if not (v.startswith("http://") or v.startswith("https://")) or any(
                c.isspace() for c in v):
            raise ValueError(f"url must start with http:// or https:// and hold no spaces, "
                             f"got {v[:80]!r}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Evidence:
        if self.monitored_absent and self.value != 0:
            raise ValueError(f"monitored_absent items must have value 0, got {self.value}")
        if self.period_start is not None and self.period_start > self.date:
            raise ValueError(f"period_start {self.period_start} is after the item's date "
                             f"{self.date}: a period runs from period_start to date")
        if self.running_total and self.period_start is None:
            raise ValueError("a running_total needs period_start: the day the total counts from")
        if self.running_total and self.monitored_absent:
            raise ValueError("an item is either a running_total or monitored_absent, not both")
        if self.duplicate_of and self.corroborates:
            raise ValueError("an item is either a duplicate_of or corroborates another, not both")
        if self.distinct_event and (self.duplicate_of or self.corroborates):
            raise ValueError("a distinct_event reports another event; an item that is a "
                             "duplicate_of or corroborates another reports the same one")
        if self.distinct_event and self.value != 1:
            raise ValueError(f"a distinct_event is a report that the event happened (value 1), "
                             f"got value {self.value:g}")
        if not self.id:
            object.__setattr__(self, "id", self.content_hash())
        elif self.id in (self.duplicate_of, self.corroborates):
            raise ValueError("duplicate_of or corroborates names the item's own id; an item "
                             "cannot refer to itself")
        return self

    def content(self) -> dict[str, Any]:
        """The content fields as plain JSON-able values (no id)."""
        d = self.model_dump(mode="json", include=set(CONTENT_FIELDS))
        return {k: d[k] for k in CONTENT_FIELDS
                if k not in OPTIONAL_CONTENT or d[k] != OPTIONAL_CONTENT[k]}

    def content_hash(self) -> str:
        """First 16 hex digits of the SHA-256 of the canonical JSON of :meth:`content`."""
        text = json.dumps(self.content(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def month(self) -> str:
        """The month ``YYYY-MM`` the item falls in."""
        return f"{self.date.year:04d}-{self.date.month:02d}"


_OPTIONAL_TEXT = ("note", "url", "quote", "duplicate_of", "corroborates")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A decimal number as people write it: no hex, no underscores, no "nan" or "infinity".
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)


# Logged outcomes are taken as certain (they resolve the question), so only well-graded
# reports may log one: source A-B (reliable), information 1-2 (confirmed or probably true).
OUTCOME_GRADE = ("AB", ("1", "2"))


def check_against_spec(item: Evidence, spec: Spec) -> list[Problem]:
    """Problems of ``item`` relative to ``spec`` (unknown indicator, value of the wrong kind,
    date outside the scenario, an outcome logged from a weak report). An empty list means the
    item fits.

    Examples
    --------
    >>> from iamg_forecast.spec import load_spec
    >>> e = Evidence(indicator="no_such", date="2026-01-01", source="x", reliability="A1")
    >>> [p.path for p in check_against_spec(e, load_spec())]
    ['indicator']
    """
    where = f"item {item.id}"
    problems: list[Problem] = []
    names = spec.indicator_names + spec.outcome_names + list(spec.milestones)
    if item.indicator not in names:
        hint = difflib.get_close_matches(item.indicator, names, n=1)
        problems.append(Problem(where, "indicator", "unknown indicator or outcome" + (
            f"; did you mean {hint[0]!r}?" if hint else ""), item.indicator))
        return problems
    start = parse_month(spec.scenario.start_month)
    if item.date < start:
        problems.append(Problem(where, "date", f"before the scenario start {start}",
                                str(item.date)))
    if item.date > month_end(spec.scenario.end_month):
        problems.append(Problem(where, "date", f"after the scenario end {spec.scenario.end_month}",
                                str(item.date)))
    if item.indicator in spec.milestones:
        # a milestone is a dated public step of a process: certain, like an outcome
        return problems + _certain_problems(item, where, "a milestone")
    if item.indicator in spec.outcome_names:
        if spec.outcome(item.indicator).type == "none":
            return problems + [Problem(where, "indicator", "a 'none' outcome (e.g. deadlock) "
                                       "cannot be logged as happening; it resolves when the "
                                       "horizon passes", item.indicator)]
        return problems + _certain_problems(item, where, "an outcome")
    ind = spec.indicator(item.indicator)
    kind = get_kind(ind.kind)
    problems += _period_problems(item, where, kind)
    if item.distinct_event and kind.max_reports < 2:
        problems.append(Problem(where, "distinct_event", f"a {kind.name} indicator counts one "
                                "report per month; distinct events are for binary indicators",
                                True))
    if item.monitored_absent and not kind.absence:
        problems.append(Problem(where, "monitored_absent", f"a {kind.name} indicator is "
                                "measured, not absent: log the measured value instead", True))
    why = kind.value_problem(item.value, *ind.accepted_range)
    if why is not None:
        problems.append(Problem(where, "value", why, item.value))
    return problems


def _period_problems(item: Evidence, where: str, kind: IndicatorKind) -> list[Problem]:
    """A stated period is for counts; a count's own period lies within one calendar month (a
    running total may start earlier: its monthly parts are differences of totals).
    """
    if item.period_start is None:
        return []
    field = "running_total" if item.running_total else "period_start"
    if not kind.additive:
        return [Problem(where, field, f"periods and running totals are for indicators whose "
                        f"reports add up (counts); this one is {kind.name}",
                        str(item.period_start))]
    if not item.running_total and (item.period_start.year, item.period_start.month) != (
            item.date.year, item.date.month):
        return [Problem(where, "period_start", f"a count's period must lie within one calendar "
                        f"month (it ends {item.date}); log each month's part as its own item, "
                        "or the series as a running_total", str(item.period_start))]
    return []


def _certain_problems(item: Evidence, where: str, what: str) -> list[Problem]:
    """Problems of an item that settles something with certainty (an outcome, a milestone):
    logged once, with value 1, from a source graded A or B and information graded 1 or 2.
    """
    out = []
    if item.value != 1:
        out.append(Problem(where, "value", f"{what} is logged once, when it happened, with "
                           "value 1", item.value))
    src, info = item.reliability[0], item.reliability[1:]
    if src not in OUTCOME_GRADE[0] or info not in OUTCOME_GRADE[1]:
        out.append(Problem(where, "reliability", f"{what} settles the question with certainty, "
                           "so it needs a source graded A or B and information graded 1 or 2; "
                           "log weaker reports through an indicator", item.reliability))
    return out


def validation_problems(err: ValidationError, where: str, prefix: str = "") -> list[Problem]:
    """One :class:`Problem` per error of a pydantic ``ValidationError`` raised by
    :class:`Evidence`: ``field: message`` and the offending value, without pydantic's
    error codes and links.

    Parameters
    ----------
    err : ValidationError
        The error raised while building an :class:`Evidence`.
    where : str
        File name (or a label such as ``"<add>"``) reported with each problem.
    prefix : str, optional
        Row location put before the field, e.g. ``"line 3"``.

    Examples
    --------
    >>> try:
    ...     Evidence(indicator="x", date="2026-01-01", source=" ", reliability="B2")
    ... except ValidationError as err:
    ...     print(validation_problems(err, "<add>")[0])
    <add>: source: source must not be blank (got ' ')
    """
    problems = []
    for e in err.errors():
        msg = e["msg"].removeprefix("Value error, ")
        field = ".".join(str(p) for p in e["loc"]) or _field_named_in(msg)
        value = e.get("input")
        if e["type"] == "missing":
            msg, value = "required field is missing", None
        elif e["type"] == "extra_forbidden":
            hint = difflib.get_close_matches(field, [*CONTENT_FIELDS, "id"], n=1)
            msg = "unknown field" + (f"; did you mean {hint[0]!r}?" if hint else "")
            value = None
        elif isinstance(value, dict | list) or short(value) in msg:
            value = None
        path = f"{prefix}: {field}" if prefix else field
        problems.append(Problem(where, path, msg, value))
    return problems


def _field_named_in(message: str) -> str:
    """The field a whole-item message is about: the first field it names, else ``<item>``."""
    found = [(m.start(), f) for f in (*CONTENT_FIELDS, "id")
             if (m := re.search(rf"\b{f}\b", message))]
    return min(found)[1] if found else "<item>"

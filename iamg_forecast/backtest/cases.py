"""Backtest cases as data: past Iraqi government formations and militia attack waves.

A case is a folder (``backtests/<name>/`` in a checkout, shipped in the wheel) with
``case.yaml`` (what the case is, who held which role, how it resolved), ``facts.yaml`` (dated,
sourced, graded facts in a spec-neutral event vocabulary) and a ``README.md`` of sources.
``backtests/events.yaml`` maps each event type onto the indicators and outcomes of the bundled
spec, one table for every case (see ``backtests/FORMAT.md``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from iamg_forecast.backtest.reference import pm_priors, stage_priors, trend_prior
from iamg_forecast.errors import Problem, SpecError
from iamg_forecast.evidence import Evidence
from iamg_forecast.files import bundled_dir
from iamg_forecast.spec import STAGE_ROWS, Spec, load_spec, load_yaml, month_end, parse_month

__all__ = ["Case", "Fact", "EventMap", "load_case", "list_cases", "cases_dir", "CASE_WINDOW",
           "designates"]

Role = Literal["frontrunner", "incumbent", "other", "none"]
Direction = Literal["up", "down"]

# A formation case's questions are "by the end of the 14th month from the start", the window of
# the bundled spec (2025-11 to 2026-12-31) and of its reference classes.
CASE_WINDOW = 14


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Resolution(_Strict):
    """The confidence vote that ended a formation case."""

    role: Literal["frontrunner", "incumbent", "other"]
    person: str
    date: dt.date
    source: str
    url: str
    note: str | None = None


class CaseInfo(_Strict):
    """``case.yaml``: what the case is."""

    name: str
    title: str
    kind: Literal["formation", "count"]
    start: dt.date
    roles: dict[Literal["frontrunner", "incumbent"], str | None] | None = None
    initial_stage: Literal["election", "president"] = "election"
    resolution: Resolution | None = None
    end: dt.date | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _kind_fields(self) -> CaseInfo:
        if self.kind == "formation":
            if self.resolution is None or self.roles is None:
                raise ValueError("a formation case needs roles and a resolution")
            if self.resolution.role in self.vacant_roles:
                raise ValueError(f"resolution.role {self.resolution.role!r} is a role nobody "
                                 "held on the start day (null in roles)")
            if self.resolution.date <= self.start:
                raise ValueError(f"resolution.date {self.resolution.date} must be after "
                                 f"start {self.start}")
        elif self.end is None or self.end <= self.start:
            raise ValueError("a count case needs an end after its start")
        return self

    @property
    def last_day(self) -> dt.date:
        """The last day forecasts are made for: the day before the vote, or the case's end."""
        if self.resolution is not None:
            return self.resolution.date - dt.timedelta(days=1)
        assert self.end is not None
        return self.end

    @property
    def vacant_roles(self) -> list[str]:
        """The PM roles nobody held on the start day (``null`` in ``roles``).

        A vacant role cannot win: the roles are fixed on the start day, and anyone named later
        is "other". Every variant of the case (the model, the no-evidence model, climatology
        and uniform) drops it.
        """
        return sorted(r for r, who in (self.roles or {}).items() if who is None)


class Fact(_Strict):
    """One dated, sourced, graded fact of a case (``facts.yaml``)."""

    id: str = Field(min_length=1, max_length=80)
    date: dt.date
    event: str
    role: Role = "none"
    person: str | None = None
    actor: str | None = None
    summary: str = Field(min_length=1)
    source: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://")
    reliability: str = Field(pattern=r"^[A-F][1-6]$")
    quote: str | None = None
    note: str | None = None
    value: float | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    expect: dict[str, Direction] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _count_fields(self) -> Fact:
        if self.event == "attacks_reported":
            if self.value is None or self.period_start is None or self.period_end is None:
                raise ValueError("attacks_reported needs value, period_start and period_end")
            if self.value < 0 or self.value != int(self.value):
                raise ValueError(f"value must be a whole count >= 0, got {self.value}")
            if self.period_end < self.period_start:
                raise ValueError("period_end is before period_start")
        return self

    @property
    def one_calendar_month(self) -> bool:
        """The fact's period is exactly one calendar month."""
        s, e = self.period_start, self.period_end
        return (s is not None and e is not None and s.day == 1
                and e == month_end(f"{s.year:04d}-{s.month:02d}"))

    @property
    def running_total(self) -> bool:
        """A count over a period that starts in an earlier month than it ends: a running total
        ("127 attacks since 17 October"), logged as one (see ``count_cells``).
        """
        s, e = self.period_start, self.period_end
        return s is not None and e is not None and (s.year, s.month) != (e.year, e.month)

    @property
    def public_when_period_ends(self) -> bool:
        """The count was public in the month its period ends. Only such counts are logged
        (dated at the period's end): a count published in a later month (a quarterly report)
        would otherwise reach forecasts made before it was public.
        """
        e = self.period_end
        return e is not None and (e.year, e.month) == (self.date.year, self.date.month)


class MapEntry(_Strict):
    """How one event type, for one role, enters the spec."""

    indicator: str | None = None
    milestone: str | None = None
    value: float | None = None
    outcome: bool = False
    count: bool = False
    actor_matches: str | None = None
    of_designate: bool | None = None


class EventType(_Strict):
    """One entry of ``events.yaml``."""

    description: str
    maps: dict[Role | Literal["any"], MapEntry | list[MapEntry]] = Field(default_factory=dict)


class EventMap(_Strict):
    """``backtests/events.yaml``: the vocabulary and its mapping onto the bundled spec."""

    roles: dict[Role, str]
    events: dict[str, EventType]

    def entry(self, fact: Fact, designate: str | None = None) -> MapEntry | None:
        """The mapping that applies to ``fact``, or None when the spec cannot see it.

        A role may list several entries: the first whose ``actor_matches`` fits and whose
        ``of_designate`` holds applies (``of_designate: true`` only when the fact names
        ``designate``, the PM-designate in place on its date; see :func:`designates`).
        """
        maps = self.events[fact.event].maps
        found = maps.get(fact.role, maps.get("any"))
        names_designate = _same_person(fact.person, designate)
        for entry in found if isinstance(found, list) else [found]:
            if entry is None or (entry.actor_matches is not None and not re.search(
                    entry.actor_matches, fact.actor or "", flags=re.IGNORECASE)):
                continue   # an entry for another kind of actor: the next one may apply
            if entry.of_designate is not None and entry.of_designate != names_designate:
                continue   # an entry for the designate (or for anyone but him)
            if entry.count and not fact.public_when_period_ends:
                return None
            if (entry.outcome or entry.milestone) and not (
                    fact.reliability[0] in "AB" and fact.reliability[1] in "12"):
                return None   # a certain step needs a certain report (see check_against_spec)
            return entry
        return None

    def evidence(self, fact: Fact, designate: str | None = None) -> Evidence | None:
        """The evidence item a fact is logged as in the bundled spec, or None.

        ``designate``: the PM-designate in place on the fact's date (:func:`designates`).

        Examples
        --------
        >>> case = load_case("formation_2014")
        >>> items = [case.events.evidence(f) for f in case.facts]
        >>> all(e is None or e.url.startswith("http") for e in items)
        True
        """
        entry = self.entry(fact, designate)
        if entry is None:
            return None
        if entry.outcome:
            indicator, value = self.roles[fact.role], 1.0
        elif entry.milestone is not None:
            indicator, value = entry.milestone, 1.0
        else:
            assert entry.indicator is not None
            indicator = entry.indicator
            value = fact.value if entry.count else entry.value
        # a fact is one event: a second fact of one indicator in a month is another event
        period = {} if entry.count or entry.indicator is None else {"distinct_event": True}
        if entry.count:   # the item covers the fact's period and is dated at its end
            assert fact.period_start is not None and fact.period_end is not None
            period = {"date": fact.period_end, "running_total": fact.running_total,
                      "period_start": None if fact.one_calendar_month else fact.period_start}
        return Evidence(**{"id": fact.id, "indicator": indicator, "date": fact.date,
                           "value": value, "source": fact.source,
                           "reliability": fact.reliability, "url": fact.url,
                           "quote": fact.quote, "note": fact.summary, **period})


def cases_dir() -> Path:
    """Directory of the bundled cases (``backtests/`` in a checkout, shipped in the wheel).

    Examples
    --------
    >>> sorted(p.name for p in cases_dir().glob("*.yaml"))
    ['events.yaml', 'formations.yaml']
    """
    return bundled_dir("backtests")


def list_cases(root: str | Path | None = None) -> list[str]:
    """Names of the cases under ``root`` (default: the bundled ones), sorted.

    Examples
    --------
    >>> "formation_2010" in list_cases()
    True
    """
    base = Path(root) if root is not None else cases_dir()
    return sorted(p.parent.name for p in base.glob("*/case.yaml"))


def _read(path: Path) -> Any:
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise SpecError([Problem(str(path), "", f"cannot read the file: {err.strerror}")]
                        ) from None
    except Exception as err:  # yaml.YAMLError and friends: report the file, not a traceback
        raise SpecError([Problem(str(path), "", f"not valid YAML: {err}")]) from None


def _problems(err: ValidationError, where: str, prefix: str) -> list[Problem]:
    return [Problem(where, prefix + ".".join(str(x) for x in e["loc"]), e["msg"])
            for e in err.errors()]


@dataclass(frozen=True)
class Case:
    """A loaded, validated backtest case. Create with :func:`load_case`.

    Attributes
    ----------
    info : CaseInfo
    facts : tuple of Fact
        In date order.
    events : EventMap
    path : Path
    """

    info: CaseInfo
    facts: tuple[Fact, ...]
    events: EventMap
    path: Path

    @property
    def name(self) -> str:
        """The case's name (its folder)."""
        return self.info.name

    @cached_property
    def spec(self) -> Spec:
        """The bundled spec with the case's time frame and what was known before it started.

        The month axis starts in the case's first month; the questions are "by the end of the
        ``CASE_WINDOW``-th month", as in the bundled spec (or of the month after the last
        forecast date, when a count case runs longer). The PM choice priors and reference
        classes come from the formations completed before the case started
        (:func:`~iamg_forecast.backtest.reference.pm_priors`), as an analyst at the time could
        have computed them; the formation process starts at the case's ``initial_stage``.
        """
        data = load_spec().to_dict()
        start = parse_month(self.info.start)
        first = f"{start.year:04d}-{start.month:02d}"
        last_day = self.info.last_day
        # the window of the bundled spec, or longer when the case's last forecast needs it
        k = max(start.year * 12 + start.month - 1 + CASE_WINDOW - 1,
                last_day.year * 12 + last_day.month)
        horizon_month = f"{k // 12:04d}-{k % 12 + 1:02d}"
        last = horizon_month
        data["scenario"] = {**data["scenario"], "name": f"backtest_{self.name}",
                            "title": self.info.title, "start_month": first, "end_month": last,
                            "default_horizon": month_end(horizon_month).isoformat()}
        _pm_overlay(data, self.events.roles, self.info.start, self.info.initial_stage,
                    self.info.vacant_roles)
        return Spec.from_mapping(data, where=f"{self.name} (bundled spec, case time frame)")

    @property
    def horizon(self) -> dt.date:
        """The date every forecast of the case is "by"."""
        return dt.date.fromisoformat(self.spec.scenario.default_horizon)

    @property
    def outcomes(self) -> dict[str, str]:
        """Role → outcome name of the spec (the roles someone held on the start day)."""
        return {r: o for r, o in self.events.roles.items() if r not in self.info.vacant_roles}

    @cached_property
    def items(self) -> tuple[Evidence, ...]:
        """The facts the spec can see, as evidence items (in date order)."""
        found = _series_members([e for f, who in zip(self.facts, designates(self.facts),
                                                      strict=True)
                                 if (e := self.events.evidence(f, who)) is not None])
        unplaced = _unplaced_totals(self.spec, found)
        return tuple(e for e in found if e.id not in unplaced)

    @property
    def unseen(self) -> tuple[Fact, ...]:
        """The facts the spec has no indicator for (or, for a running total, no month)."""
        seen = {e.id for e in self.items}
        return tuple(f for f in self.facts if f.id not in seen)

    def forecast_dates(self) -> list[dt.date]:
        """Month ends from the case's first month to its last day (the day before the vote).

        Examples
        --------
        >>> [str(d) for d in load_case("formation_2014").forecast_dates()][:2]
        ['2014-04-30', '2014-05-31']
        """
        out = []
        d = month_end(_month_of(self.info.start))
        while d <= self.info.last_day:
            out.append(d)
            d = month_end(_month_of(d + dt.timedelta(days=1)))
        return out


#: The events that start and end a designation (FORMAT.md's vocabulary).
_DESIGNATION_STARTS = ("pm_designated",)
_DESIGNATION_ENDS = ("designate_fails", "cabinet_approved")


def designates(facts: Sequence[Fact]) -> list[str | None]:
    """The PM-designate in place on each fact's date (None when there is none).

    A designation starts on the day of its ``pm_designated`` fact and ends on the day of a
    ``designate_fails`` or ``cabinet_approved`` fact (naming him, or no one): on that day he is
    no longer in place, so a refusal dated the day he withdrew is not read as a refusal of a
    designate. On a day with both, the end comes first (al-Zurfi withdrew and al-Kadhimi was
    designated on 9 April 2020).

    Examples
    --------
    >>> case = load_case("replacement_2019_20")
    >>> on = dict(zip((f.id for f in case.facts), designates(case.facts)))
    >>> on["f2019-26"], on["f2019-27"], on["f2019-30"]
    ('Adnan al-Zurfi', 'Mustafa al-Kadhimi', 'Mustafa al-Kadhimi')
    """
    by_date: dict[dt.date, list[Fact]] = {}
    for f in facts:
        by_date.setdefault(f.date, []).append(f)
    current: str | None = None
    on_day: dict[dt.date, str | None] = {}
    for day in sorted(by_date):
        for f in by_date[day]:
            if f.event in _DESIGNATION_ENDS and (f.person is None
                                                 or _same_person(f.person, current)):
                current = None
        for f in by_date[day]:
            if f.event in _DESIGNATION_STARTS:
                current = f.person
        on_day[day] = current
    return [on_day[f.date] for f in facts]


def _same_person(a: str | None, b: str | None) -> bool:
    """Both name one person (case and surrounding spaces aside)."""
    return a is not None and b is not None and a.strip().casefold() == b.strip().casefold()


def _series_members(items: list[Evidence]) -> list[Evidence]:
    """Counts of one month that share a running total's start ("27 attacks since 17 October",
    reported in October) are the series' first totals: logged as running totals too.
    """
    starts = {(e.indicator, e.period_start) for e in items if e.running_total}
    return [e.model_copy(update={"running_total": True})
            if not e.running_total and (e.indicator, e.period_start) in starts else e
            for e in items]


def _unplaced_totals(spec: Spec, items: list[Evidence]) -> set[str]:
    """Ids of running totals whose month the rule of ``count_cells`` cannot give a count: the
    totals of a series after a month without one, and a total below the series' previous one.
    """
    out: set[str] = set()
    series: dict[tuple[str, dt.date | None], list[Evidence]] = {}
    for e in items:
        if e.running_total:
            series.setdefault((e.indicator, e.period_start), []).append(e)
    for (_, start), group in series.items():
        month = spec.month_index(start) - 1
        last = -1.0
        for e in sorted(group, key=lambda x: (x.date, x.id)):
            m = spec.month_index(e.date)
            if m > month + 1 or e.value < last:
                out.add(e.id)
                continue
            month, last = m, e.value
    return out


def _pm_overlay(data: dict[str, Any], roles: dict[str, str], start: dt.date,
                initial_stage: str, vacant: Sequence[str] = ()) -> None:
    """Set the PM group's priors (the choices', the presidency's trend and the later steps')
    from the formations known before ``start``, and drop the choices of ``vacant`` roles with
    everything that names them (in place).
    """
    prior = pm_priors(before=start)
    steps = stage_priors(before=start)
    trend = trend_prior(before=start)
    gone = {roles[r] for r in vacant}
    data["outcomes"] = [o for o in data["outcomes"] if o["name"] not in gone]
    for o in data["outcomes"]:
        if o.get("after"):
            o["after"] = [a for a in o["after"] if a["outcome"] not in gone]
    for g in data["competing_groups"]:
        if g.get("stages") is not None:
            g["stages"] = {**g["stages"], "designation_milestones": {
                o: m for o, m in g["stages"]["designation_milestones"].items() if o not in gone}}
    by_outcome = {o: r for r, o in roles.items()}
    why = (f"Computed by the rule of backtests/formations.yaml from the {prior.n} formations "
           f"completed before {start}.")
    for o in data["outcomes"]:
        role = by_outcome.get(o["name"])
        if role is None:
            continue
        if o["type"] == "choice":
            o["base"] = {**o["base"], "mu": round(prior.mu[role], 3), "rationale": why}
        o["reference_class"] = {**o["reference_class"], "base_rate": round(prior.rate(role), 3),
                                "source": why}
    for g in data["competing_groups"]:
        if g.get("stages") is not None:
            g["stages"] = {**g["stages"], "initial": initial_stage, **{
                r: {**g["stages"][r], "mu": round(steps.mu[r], 3), "rationale": steps.why(r)}
                for r in STAGE_ROWS}}
            if g.get("hazard_trend") is not None:
                g["hazard_trend"] = {**g["hazard_trend"], "mu": round(trend.mu, 3),
                                     "sigma": round(trend.sigma, 3), "rationale": trend.why()}


def _month_of(d: dt.date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def load_events(root: Path) -> EventMap:
    """Read and validate ``events.yaml`` under ``root``."""
    path = root / "events.yaml"
    try:
        return EventMap.model_validate(_read(path))
    except ValidationError as err:
        raise SpecError(_problems(err, str(path), "")) from None


def load_case(case: str | Path, root: str | Path | None = None) -> Case:
    """Load a backtest case by name (bundled) or folder path, checking every fact.

    Every problem is collected: an unknown event type, a role the event does not take, a
    duplicate id, a fact outside the case, a malformed field (with file and key path).

    Parameters
    ----------
    case : str or Path
        A bundled case's name (see :func:`list_cases`) or the path of a case folder.
    root : str or Path, optional
        Where ``events.yaml`` and named cases live (default: the bundled cases).

    Returns
    -------
    Case

    Raises
    ------
    SpecError
        Listing every problem found.

    Examples
    --------
    >>> case = load_case("formation_2010")
    >>> case.info.kind, case.info.resolution.role
    ('formation', 'incumbent')
    """
    base = Path(root) if root is not None else cases_dir()
    folder = Path(case) if Path(case).is_dir() else base / str(case)
    if not (folder / "case.yaml").is_file():
        names = list_cases(base)
        raise SpecError([Problem(str(case), "", f"no backtest case there; expected one of "
                                                f"{names} or a folder with case.yaml")])
    events = load_events(base if (base / "events.yaml").is_file() else folder.parent)
    problems: list[Problem] = []
    info = None
    try:
        raw = _read(folder / "case.yaml")
        info = CaseInfo.model_validate((raw or {}).get("case"))
    except ValidationError as err:
        problems += _problems(err, str(folder / "case.yaml"), "case.")
    raw_facts = (_read(folder / "facts.yaml") or {}).get("facts") or []
    facts: list[Fact] = []
    where = str(folder / "facts.yaml")
    seen: set[str] = set()
    for i, row in enumerate(raw_facts):
        try:
            f = Fact.model_validate(row)
        except ValidationError as err:
            problems += _problems(err, where, f"facts[{i}].")
            continue
        problems += _fact_problems(f, i, where, events, info, seen)
        seen.add(f.id)
        facts.append(f)
    if info is not None and info.name != folder.name:
        problems.append(Problem(str(folder / "case.yaml"), "case.name",
                                f"must equal the folder's name {folder.name!r}", info.name))
    if problems:
        raise SpecError(problems)
    assert info is not None
    facts.sort(key=lambda f: (f.date, f.id))
    return Case(info=info, facts=tuple(facts), events=events, path=folder)


def _fact_problems(f: Fact, i: int, where: str, events: EventMap, info: CaseInfo | None,
                   seen: set[str]) -> list[Problem]:
    out = []
    at = f"facts[{i}]"
    if f.id in seen:
        out.append(Problem(where, f"{at}.id", "duplicate id", f.id))
    if f.event not in events.events:
        out.append(Problem(where, f"{at}.event", f"unknown event type; expected one of "
                                                 f"{sorted(events.events)}", f.event))
    bad = [k for k in f.expect if k not in events.roles and k not in EXPECTABLE_LATENTS]
    if bad:
        out.append(Problem(where, f"{at}.expect", "expected roles "
                           f"{sorted(events.roles)} or latents {sorted(EXPECTABLE_LATENTS)}",
                           bad))
    vacant = [] if info is None else info.vacant_roles
    if f.role in vacant:
        out.append(Problem(where, f"{at}.role", "a role nobody held on the start day (null in "
                           "case.yaml roles); a later candidate is 'other'", f.role))
    if any(k in vacant for k in f.expect):
        out.append(Problem(where, f"{at}.expect", "a role nobody held on the start day (null "
                           "in case.yaml roles) cannot move", [k for k in f.expect
                                                               if k in vacant]))
    if info is not None and not info.start <= f.date <= (
            info.resolution.date if info.resolution else info.end):
        out.append(Problem(where, f"{at}.date", f"outside the case ({info.start} to "
                           f"{info.resolution.date if info.resolution else info.end})",
                           str(f.date)))
    return out


# Latent states a count case's fact may name in ``expect``.
EXPECTABLE_LATENTS = frozenset({"us_iran_escalation", "militia_cohesion"})

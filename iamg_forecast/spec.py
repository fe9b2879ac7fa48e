"""The scenario specification: validated, hashable data loaded from ``priors/*.yaml``.

The spec is the single source of every number in the model. Each prior carries a rationale and,
where it comes from the seed analysis or a reference class, its source or quote. Loading collects
*every* problem (schema, unknown names, cycles, duplicates) into one :class:`SpecError` naming the
file and key path of each.

Size: one pydantic model per section of ``priors/*.yaml``, and the loader that checks them all.

Examples
--------
>>> from iamg_forecast.spec import load_spec
>>> spec = load_spec()
>>> spec.scenario.start_month
'2025-11'
>>> len(spec.hash)
64
"""

from __future__ import annotations

import datetime as dt
import difflib
import graphlib
import hashlib
import heapq
import json
import re
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from iamg_forecast import defaults
from iamg_forecast.errors import FileRefusedError, Problem, SpecError, short, short_text
from iamg_forecast.families import get_family, positive_families
from iamg_forecast.files import bundled_dir, read_text_bounded
from iamg_forecast.kinds import get_kind

__all__ = [
    "Fixed",
    "PriorSpec",
    "Latent",
    "Link",
    "Loading",
    "Indicator",
    "Outcome",
    "CompetingGroup",
    "Reliability",
    "Scenario",
    "Spec",
    "load_spec",
    "default_priors_dir",
    "month_range",
    "month_end",
    "parse_month",
    "load_yaml",
    "parse_date",
    "Real",
    "OutcomeEffect",
    "MAX_AFTER",
]

# The parameters a prior may name (each family reads some: ``families.PriorFamily.params``).
PRIOR_PARAMETERS = ("mu", "sigma", "alpha", "beta", "nu", "lam")
SECTIONS = ("scenario", "latents", "links", "indicators", "competing_groups", "outcomes",
            "reliability")
LIST_SECTIONS = ("latents", "links", "indicators", "competing_groups", "outcomes")
SOURCE_GRADES = "ABCDEF"
INFO_GRADES = "123456"


def _real(v: Any) -> Any:
    """Refuse booleans where a number is meant (YAML reads ``yes`` as true)."""
    if isinstance(v, bool):
        raise ValueError(f"expected a number, got the boolean {v!r} (in YAML, yes/no/true/false "
                         "are booleans)")
    return v


#: A finite real number that is not a boolean (the spec's numbers; NaN and inf are refused by
#: ``allow_inf_nan=False`` on the models).
Real = Annotated[float, BeforeValidator(_real)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_ISO_MONTH = re.compile(r"\d{4}-\d{2}", re.ASCII)


def parse_date(value: Any, what: str = "date") -> dt.date:
    """The one date parser: a date, a datetime (its date) or exactly ``YYYY-MM-DD``.

    ISO week dates (``2026-W03-1``), basic format (``20260115``), times, surrounding text and
    surrounding spaces are refused, so every input path accepts what the documentation says and
    nothing more. The spec, evidence items, a forecast's ``as_of`` and horizon, saved forecasts
    and the ledger all read dates with it. Anything else raises a ``ValueError`` naming
    ``what`` and a short prefix of the value.

    Examples
    --------
    >>> parse_date("2026-01-15")
    datetime.date(2026, 1, 15)
    >>> parse_date(dt.datetime(2026, 1, 15, 9, 30))
    datetime.date(2026, 1, 15)
    >>> parse_date("20260115")
    Traceback (most recent call last):
    ...
    ValueError: date: expected an ISO date YYYY-MM-DD, got '20260115'
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{what}: expected an ISO date YYYY-MM-DD, got {short(value)}")


def parse_month(text: str) -> dt.date:
    """Parse ``YYYY-MM`` (or an ISO date ``YYYY-MM-DD``) to the first day of that month.

    Examples
    --------
    >>> parse_month("2025-11")
    datetime.date(2025, 11, 1)
    """
    if isinstance(text, dt.date):
        return parse_date(text).replace(day=1)
    raw = str(text).strip()
    if _ISO_MONTH.fullmatch(raw):
        raw += "-01"
    return parse_date(raw, "month").replace(day=1)


def month_end(month: str | dt.date) -> dt.date:
    """Last day of the month containing ``month``.

    Examples
    --------
    >>> month_end("2026-02")
    datetime.date(2026, 2, 28)
    """
    a = parse_month(month) if isinstance(month, str) else month.replace(day=1)
    nxt = a.replace(year=a.year + 1, month=1) if a.month == 12 else a.replace(month=a.month + 1)
    return nxt - dt.timedelta(days=1)


def month_range(start: str | dt.date, end: str | dt.date) -> list[str]:
    """List the months ``YYYY-MM`` from ``start`` to ``end`` inclusive.

    Examples
    --------
    >>> month_range("2025-11", "2026-02")
    ['2025-11', '2025-12', '2026-01', '2026-02']
    """
    a = parse_month(start) if isinstance(start, str) else start.replace(day=1)
    b = parse_month(end) if isinstance(end, str) else end.replace(day=1)
    out = []
    y, m = a.year, a.month
    while (y, m) <= (b.year, b.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _sign(v: Any) -> int:
    if v in ("+", "+1", 1, "positive"):
        return 1
    if v in ("-", "-1", -1, "negative"):
        return -1
    raise ValueError(f"sign must be '+' or '-' (or +1/-1), got {v!r}")


Sign = Annotated[int, BeforeValidator(_sign)]


class PriorSpec(_Strict):
    """A prior distribution with its justification.

    Parameters are given inline, e.g. ``{dist: Normal, mu: 0, sigma: 1, rationale: "..."}``.
    ``dist`` must be a registered family (:data:`iamg_forecast.families.FAMILIES`); every scale
    must be strictly positive.
    """

    dist: str
    mu: Real | None = None
    sigma: Real | None = None
    alpha: Real | None = None
    beta: Real | None = None
    nu: Real | None = None
    lam: Real | None = None
    rationale: str = Field(min_length=3)
    source: str | None = None
    quote: str | None = None

    @field_validator("rationale")
    @classmethod
    def _said(cls, v: str) -> str:
        return _nonblank_rationale(v)

    @model_validator(mode="after")
    def _check_params(self) -> PriorSpec:
        wanted = get_family(self.dist).params
        for name in PRIOR_PARAMETERS:
            value = getattr(self, name)
            if name in wanted and value is None:
                raise ValueError(f"{self.dist} needs parameter {name!r}")
            if name not in wanted and value is not None:
                raise ValueError(
                    f"{self.dist} takes no parameter {name!r} (it takes {sorted(wanted)})"
                )
            if name in wanted and wanted[name] in ("scale", "positive") and value <= 0:
                raise ValueError(f"{name} must be > 0 for {self.dist}, got {value}")
        return self

    @property
    def params(self) -> dict[str, float]:
        """The distribution's parameters as a dict, ready for ``pm.<dist>(name, **params)``."""
        return {k: float(getattr(self, k)) for k in get_family(self.dist).params}

    def to_preliz(self):
        """Return the equivalent PreliZ distribution (for plots and moments).

        Examples
        --------
        >>> float(PriorSpec(dist="Normal", mu=0, sigma=1, rationale="unit").to_preliz().mean())
        0.0
        """
        import preliz as pz

        return getattr(pz, self.dist)(**self.params)


def _nonblank_rationale(v: str) -> str:
    if len(v.strip()) < 3:
        raise ValueError("rationale must say why (at least 3 characters that are not spaces)")
    return v


class Fixed(_Strict):
    """A fixed constant with its justification (used where a free parameter would hurt sampling)."""

    value: Real
    rationale: str = Field(min_length=3)
    source: str | None = None

    @field_validator("rationale")
    @classmethod
    def _said(cls, v: str) -> str:
        return _nonblank_rationale(v)


class Latent(_Strict):
    """A latent state on the logit scale, one value per month."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    role: Literal["driver", "mediator"]
    description: str
    quote: str | None = None
    initial: PriorSpec
    innovation_sd: Fixed

    @field_validator("innovation_sd")
    @classmethod
    def _positive_sd(cls, v: Fixed) -> Fixed:
        if v.value <= 0:
            raise ValueError(f"innovation_sd.value must be > 0, got {v.value}")
        return v


def _positive_prior(v: PriorSpec, what: str) -> PriorSpec:
    """A size with a positive prior (its sign is given separately)."""
    if v.dist not in positive_families():
        raise ValueError(f"{what} need a positive prior ({positive_families()}); the sign is "
                         f"given separately, got {v.dist!r}")
    return v


class _SignedEffect(_Strict):
    """A signed effect: ``sign`` from the seed, a positive prior on its size, the passage."""

    sign: Sign
    effect: PriorSpec
    quote: str | None = None

    @field_validator("effect")
    @classmethod
    def _positive(cls, v: PriorSpec) -> PriorSpec:
        return _positive_prior(v, "effect sizes")


class Link(_SignedEffect):
    """A causal edge ``parent -> child`` with a sign from the seed and a prior on its size."""

    parent: str
    child: str


class Loading(_Strict):
    """How strongly an indicator (or outcome hazard) responds to one latent."""

    latent: str
    sign: Sign
    prior: PriorSpec

    @field_validator("prior")
    @classmethod
    def _positive(cls, v: PriorSpec) -> PriorSpec:
        return _positive_prior(v, "loadings")


class Indicator(_Strict):
    """An observable event or measurement that loads on latents.

    ``kind`` names an entry of :data:`iamg_forecast.kinds.KINDS`, which says what a report is
    and which of the kind fields (``false_report_rate``, ``obs_sd``, ``false_report_sd``,
    ``dispersion``, ``value_range``) the indicator needs. Built in: ``binary`` (did the event
    happen this month; logit link), ``count`` (how many; log link; Poisson, or negative binomial
    with ``dispersion`` for bursty counts: variance ``mu + mu^2 / dispersion``) and
    ``continuous`` (a measured value; identity link, Normal noise).
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: str
    description: str
    baseline: PriorSpec
    loadings: list[Loading] = Field(min_length=1)
    false_report_rate: Fixed | None = None
    obs_sd: Fixed | None = None
    false_report_sd: Fixed | None = None
    dispersion: Fixed | None = None
    value_range: tuple[Real, Real] | None = None

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, v: str) -> str:
        get_kind(v)   # raises with a did-you-mean hint
        return v

    @property
    def accepted_range(self) -> tuple[float, float]:
        """The values an item of this indicator may take (inclusive; see the kind's entry).

        ``binary``: 0 to 1; ``count``: 0 to :data:`~iamg_forecast.defaults.MAX_COUNT`;
        ``continuous``: ``value_range`` when the spec declares one, else plus or minus
        :data:`~iamg_forecast.defaults.CONTINUOUS_LIMIT`.
        """
        return get_kind(self.kind).accepted_range(self)

    @model_validator(mode="after")
    def _kind_fields(self) -> Indicator:
        get_kind(self.kind).validate(self)
        return self


class ReferenceClass(_Strict):
    """The reference class behind an outcome's base rate.

    ``per: month`` gives a monthly rate (compared as ``1 - (1 - rate)^months``);
    ``per: horizon`` a probability from the scenario start to the default horizon.
    """

    description: str
    base_rate: Real = Field(gt=0, lt=1)
    per: Literal["month", "horizon"] = "horizon"
    source: str


class OutcomeEffect(_SignedEffect):
    """Once ``outcome`` has happened, this outcome's monthly hazard logit moves by ``sign``
    times ``effect`` (from the month after). The seed: harsh sanctions after uncoordinated
    attacks; aid tied to verifiable disarmament and to who leads the next government.
    """

    outcome: str


#: At most this many outcomes may move one outcome's hazard (its forecast follows every
#: combination of them: 2**MAX_AFTER states).
MAX_AFTER = 3


class Outcome(_Strict):
    """A forecast question with a resolution criterion.

    ``event``: happens (or not) by the horizon, with a monthly hazard. ``choice``: one of the
    alternatives of a competing group (e.g. who becomes PM). ``none``: the group's event does not
    happen by the horizon (e.g. deadlock persists).
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    question: str
    resolution: str
    type: Literal["event", "choice", "none"]
    group: str | None = None
    base: PriorSpec | None = None
    drivers: list[Loading] = Field(default_factory=list)
    plausible: tuple[Real, Real]
    reference_class: ReferenceClass | None = None
    after: list[OutcomeEffect] = Field(default_factory=list, max_length=MAX_AFTER)

    @field_validator("plausible")
    @classmethod
    def _range(cls, v: tuple[float, float]) -> tuple[float, float]:
        lo, hi = v
        if not (0 <= lo < hi <= 1):
            raise ValueError(f"plausible must be [lo, hi] with 0 <= lo < hi <= 1, got {list(v)}")
        return v

    @model_validator(mode="after")
    def _type_fields(self) -> Outcome:
        if self.type == "event" and self.base is None:
            raise ValueError("an event outcome needs a base (monthly hazard logit) prior")
        if self.type in ("choice", "none") and not self.group:
            raise ValueError(f"a {self.type} outcome needs a group")
        if self.type == "event" and self.group:
            raise ValueError("an event outcome takes no group")
        if self.type == "none" and (self.base is not None or self.drivers):
            raise ValueError("a none outcome takes no base or drivers (it is the complement)")
        if self.after and self.type != "event":
            raise ValueError("only an event outcome's hazard may depend on other outcomes "
                             "(after)")
        return self


class Stages(_Strict):
    """The constitutional steps before a group's event, each logged as a dated milestone.

    Without stages, the group's event happens each month with the group's hazard. With them,
    the process moves from ``election`` (no president yet) to ``president`` (the presidency is
    filled: the group's hazard and drivers give the monthly chance of that step) to a named
    designate of one choice (the choice follows the softmax of the choice logits), and from a
    designate to the event (the confidence vote) or back to ``president`` when the designate
    fails. Several steps may happen in one month.

    Attributes
    ----------
    initial : {"election", "president"}
        Where the process stands at the scenario start (``president`` when the presidency is
        already filled, e.g. a PM resigned mid-term).
    president_milestone : str
        Evidence name logging the step ``election`` → ``president``.
    designation : PriorSpec
        Logit of the monthly chance that a designate is named once the presidency is filled.
    designation_milestones : dict
        Choice outcome → evidence name logging the designation of that choice.
    vote, vote_same_month : PriorSpec
        Logit of the monthly chance of the confidence vote with a designate in place (from the
        month after the designation; in the month of the designation).
    failure : PriorSpec
        Logit of the monthly chance that a designate without a vote fails or withdraws.
    failure_milestone : str
        Evidence name logging a failed designation.
    """

    initial: Literal["election", "president"] = "election"
    president_milestone: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    designation: PriorSpec
    designation_milestones: dict[str, Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]]
    vote: PriorSpec
    vote_same_month: PriorSpec
    failure: PriorSpec
    failure_milestone: str = Field(pattern=r"^[a-z][a-z0-9_]*$")

    @property
    def milestones(self) -> list[str]:
        """Every milestone name: president, designations (in choice order), failure."""
        return [self.president_milestone, *self.designation_milestones.values(),
                self.failure_milestone]


#: The hazard rows a staged group adds after its own row, and the prior of each.
STAGE_ROWS = ("designation", "vote", "vote_same_month", "failure")


class CompetingGroup(_Strict):
    """Competing risks: the group's event (e.g. a cabinet vote) happens at most once; which
    alternative it is follows a softmax over every choice's logit (each with a base and
    drivers: no choice is a driverless reference). Optionally staged (:class:`Stages`).
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    event: str
    hazard: PriorSpec
    drivers: list[Loading] = Field(default_factory=list)
    none_outcome: str
    hazard_trend: PriorSpec | None = None
    stages: Stages | None = None
    reference_class: ReferenceClass | None = None

    def row_prior(self, row: str) -> PriorSpec:
        """The prior of one of the group's hazard rows (its own, ``<group>:trend`` or
        ``<group>:<stage row>``).
        """
        if row == self.name:
            return self.hazard
        key = row.split(":", 1)[1]
        if key == "trend":
            assert self.hazard_trend is not None
            return self.hazard_trend
        assert self.stages is not None
        return getattr(self.stages, key)


class Reliability(_Strict):
    """Admiralty grades (source A–F × information 1–6) → probability a report is true."""

    rationale: str
    source: str
    source_grades: dict[str, str]
    information_grades: dict[str, str]
    table: dict[str, list[Real]]
    table_rationale: dict[str, str]

    @model_validator(mode="after")
    def _complete(self) -> Reliability:
        problems = []
        if sorted(self.table) != list(SOURCE_GRADES):
            problems.append(f"table must have rows {list(SOURCE_GRADES)}, got {sorted(self.table)}")
        for row, values in self.table.items():
            if len(values) != 6:
                problems.append(f"table.{row} must list 6 probabilities, got {len(values)}")
            for j, p in enumerate(values):
                if not 0 < p < 1:
                    problems.append(f"table.{row}[{j}] must be in (0, 1), got {p}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def probability(self, code: str) -> float:
        """Probability that a report graded ``code`` (e.g. ``"B2"``) is true.

        Examples
        --------
        >>> from iamg_forecast.spec import load_spec
        >>> 0.5 < load_spec().reliability.probability("A1") < 1
        True
        """
        code = str(code).strip().upper()
        if len(code) != 2 or code[0] not in SOURCE_GRADES or code[1] not in INFO_GRADES:
            raise ValueError(
                f"Admiralty code must be a letter A-F and a digit 1-6 (e.g. 'B2'), got {code!r}"
            )
        return self.table[code[0]][int(code[1]) - 1]


class Scenario(_Strict):
    """Time frame and identity of the scenario."""

    name: str
    title: str
    start_month: str
    end_month: str
    default_horizon: str
    description: str = ""

    @field_validator("start_month", "end_month", mode="before")
    @classmethod
    def _month(cls, v: Any) -> str:
        if isinstance(v, dt.datetime) or (isinstance(v, int) and not isinstance(v, bool)):
            raise ValueError(f"expected a month YYYY-MM, got {short(v)}")
        try:
            d = parse_month(v)
        except (TypeError, ValueError):
            raise ValueError(f"expected a month YYYY-MM, got {short(v)}") from None
        return f"{d.year:04d}-{d.month:02d}"

    @field_validator("default_horizon", mode="before")
    @classmethod
    def _date(cls, v: Any) -> str:
        if isinstance(v, dt.datetime):
            raise ValueError(f"expected an ISO date YYYY-MM-DD, got {short(str(v))}")
        try:
            return parse_date(v).isoformat()   # a date, or an unquoted date in YAML
        except ValueError:
            raise ValueError(f"expected an ISO date YYYY-MM-DD, got {short(v)}") from None

    @model_validator(mode="after")
    def _order(self) -> Scenario:
        if parse_month(self.end_month) <= parse_month(self.start_month):
            raise ValueError(f"end_month {self.end_month} must be after start_month")
        n = len(month_range(self.start_month, self.end_month))
        if n > defaults.MAX_SCENARIO_MONTHS:
            raise ValueError(f"the scenario spans {n} months from start_month to end_month; "
                             f"at most {defaults.MAX_SCENARIO_MONTHS} are supported")
        h = parse_month(self.default_horizon)
        if not parse_month(self.start_month) <= h <= parse_month(self.end_month):
            raise ValueError(
                f"default_horizon {self.default_horizon} must fall between start_month and "
                "end_month"
            )
        return self


class Spec(_Strict):
    """The whole validated scenario. Build it with :func:`load_spec` (or :meth:`from_mapping`)."""

    scenario: Scenario
    latents: list[Latent]
    links: list[Link] = Field(default_factory=list)
    indicators: list[Indicator]
    competing_groups: list[CompetingGroup] = Field(default_factory=list)
    outcomes: list[Outcome]
    reliability: Reliability
    origins: dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)

    # ---- derived views -------------------------------------------------------------------
    @cached_property
    def months(self) -> list[str]:
        """Months of the model's time axis, ``YYYY-MM``, start to end inclusive."""
        return month_range(self.scenario.start_month, self.scenario.end_month)

    @cached_property
    def latent_order(self) -> list[str]:
        """Latent names in topological order (parents before children)."""
        return _topological(self.latent_names, [(lk.parent, lk.child) for lk in self.links])

    @property
    def latent_names(self) -> list[str]:
        """Latent names in file order."""
        return [x.name for x in self.latents]

    @property
    def indicator_names(self) -> list[str]:
        """Indicator names in file order."""
        return [x.name for x in self.indicators]

    @property
    def outcome_names(self) -> list[str]:
        """Outcome names in file order."""
        return [x.name for x in self.outcomes]

    def latent(self, name: str) -> Latent:
        """Return the latent called ``name``."""
        return _by_name(self.latents, name, "latent")

    def indicator(self, name: str) -> Indicator:
        """Return the indicator called ``name``."""
        return _by_name(self.indicators, name, "indicator")

    def outcome(self, name: str) -> Outcome:
        """Return the outcome called ``name``."""
        return _by_name(self.outcomes, name, "outcome")

    def group(self, name: str) -> CompetingGroup:
        """Return the competing group called ``name``."""
        return _by_name(self.competing_groups, name, "competing group")

    def choices(self, group: str) -> list[str]:
        """The choice outcomes of a competing group, in file order: the one order every layer
        uses for choice logits, softmax rows and choice indices.
        """
        return [o.name for o in self.outcomes if o.group == group and o.type == "choice"]

    def group_members(self, group: str) -> list[str]:
        """Outcome names of a competing group: its choices, then its none-outcome."""
        return self.choices(group) + [self.group(group).none_outcome]

    @cached_property
    def hazard_rows(self) -> list[str]:
        """Names of the hazard-logit rows: event outcomes, then per competing group its own
        row, its trend row (``<group>:trend``, when it has one), its stage rows
        (``<group>:designation``, ``:vote``, ``:vote_same_month``, ``:failure`` when staged) and
        its choices.
        """
        rows = [o.name for o in self.outcomes if o.type == "event"]
        for g in self.competing_groups:
            rows.append(g.name)
            if g.hazard_trend is not None:
                rows.append(f"{g.name}:trend")
            if g.stages is not None:
                rows += [f"{g.name}:{r}" for r in STAGE_ROWS]
            rows += self.choices(g.name)
        rows += [row for _, _, _, row in self.outcome_effects]
        return rows

    @cached_property
    def outcome_effects(self) -> list[tuple[str, str, int, str]]:
        """``(outcome, parent, sign, hazard row)`` of every outcome-to-outcome effect, in
        outcome order; the row (``<outcome>:after:<parent>``) holds the effect's size.
        """
        return [(o.name, a.outcome, a.sign, f"{o.name}:after:{a.outcome}")
                for o in self.outcomes for a in o.after]

    @cached_property
    def milestones(self) -> dict[str, tuple[str, str, str | None]]:
        """Milestone name → ``(group, step, choice)``; step is ``president``, ``designation``
        or ``failure`` (see :class:`Stages`).
        """
        out: dict[str, tuple[str, str, str | None]] = {}
        for g in self.competing_groups:
            st = g.stages
            if st is None:
                continue
            out[st.president_milestone] = (g.name, "president", None)
            for choice, ms in st.designation_milestones.items():
                out[ms] = (g.name, "designation", choice)
            out[st.failure_milestone] = (g.name, "failure", None)
        return out

    def step_evidence(self, group: str, kind: str, choice: int = -1) -> str:
        """The evidence name logging a group's step: a milestone, or for ``formation`` the
        choice outcome itself (:meth:`choices` order).
        """
        name = self.choices(group)[choice] if choice >= 0 else None
        if kind == "formation":
            assert name is not None
            return name
        return next(ms for ms, (g, k, c) in self.milestones.items()
                    if g == group and k == kind and c == name)

    def hazard_prior(self, row: str) -> PriorSpec:
        """The prior of a hazard row: an outcome's base, a group's hazard or a stage's prior."""
        if row in self.outcome_names:
            base = self.outcome(row).base
            assert base is not None
            return base
        if ":after:" in row:
            child, parent = row.split(":after:")
            return next(a.effect for a in self.outcome(child).after if a.outcome == parent)
        return self.group(row.split(":", 1)[0]).row_prior(row)

    def month_index(self, date: str | dt.date) -> int:
        """Index on the month axis of the month containing ``date`` (may be out of range)."""
        d = parse_date(date, "date")
        s = parse_month(self.scenario.start_month)
        return (d.year - s.year) * 12 + (d.month - s.month)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of the spec (round-trips through :meth:`from_mapping`)."""
        return self.model_dump(mode="json", exclude_none=True)

    @cached_property
    def hash(self) -> str:
        """SHA-256 of the canonical JSON of the spec: stable under key order and whitespace."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def from_mapping(cls, data: dict[str, Any], where: str = "<memory>") -> Spec:
        """Validate a mapping with every section (as produced by :meth:`to_dict`)."""
        return _build([(where, data)])


def _by_name(items: Iterable[Any], name: str, what: str):
    for x in items:
        if x.name == name:
            return x
    names = [x.name for x in items]
    hint = difflib.get_close_matches(name, names, n=1)
    raise KeyError(f"unknown {what} {name!r}" + (f"; did you mean {hint[0]!r}?" if hint else ""))


def _sorter(nodes: list[str], edges: list[tuple[str, str]]) -> graphlib.TopologicalSorter:
    """A :class:`graphlib.TopologicalSorter` of ``nodes`` with each parent before its child."""
    ts: graphlib.TopologicalSorter = graphlib.TopologicalSorter({n: () for n in nodes})
    for p, c in edges:
        ts.add(c, p)
    return ts


def _topological(nodes: list[str], edges: list[tuple[str, str]]) -> list[str]:
    """Nodes with parents before children, otherwise in the order given (graphlib, without
    recursion: a chain of thousands of latents must not exhaust the stack). Raises
    ``ValueError`` naming a node on a cycle.
    """
    ts = _sorter(nodes, edges)
    try:
        ts.prepare()
    except graphlib.CycleError as err:
        raise ValueError(err.args[1][0]) from None
    rank = {n: i for i, n in enumerate(nodes)}
    ready = [(rank.get(n, len(rank)), n) for n in ts.get_ready()]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, n = heapq.heappop(ready)
        order.append(n)
        ts.done(n)
        for m in ts.get_ready():
            heapq.heappush(ready, (rank.get(m, len(rank)), m))
    return order


def _find_cycle(nodes: list[str], edges: list[tuple[str, str]]) -> list[str] | None:
    """One cycle among ``nodes`` as a path of parent -> child that returns to its start, or
    None (graphlib, no recursion).
    """
    try:
        _sorter(nodes, edges).prepare()
    except graphlib.CycleError as err:
        return list(err.args[1])
    return None


def default_priors_dir() -> Path:
    """Directory of the bundled scenario (``priors/`` in a checkout, shipped in the wheel).

    Examples
    --------
    >>> (default_priors_dir() / "reliability.yaml").exists()
    True
    """
    return bundled_dir("priors")


class _Bounded:
    """Composer and mapping constructor of the bounded YAML loaders (see :class:`_YamlLoader`).

    Written against PyYAML's ``Composer`` and ``SafeConstructor`` explicitly, so that it
    works over the pure-Python parser and over libyaml's (C) events alike.
    """

    allow_aliases = False

    def _bounded_init(self) -> None:
        self._depth = 0
        self._expanded: dict[int, tuple[Any, int, int]] = {}  # id -> (node, size, depth)

    def compose_node(self, parent: Any, index: Any) -> Any:
        if not self.allow_aliases:
            event = self.peek_event()
            anchor = getattr(event, "anchor", None)
            if isinstance(event, yaml.AliasEvent) or anchor is not None:
                sign = "*" if isinstance(event, yaml.AliasEvent) else "&"
                raise yaml.composer.ComposerError(
                    None, None, f"aliases and anchors ({sign}{short(anchor)}) are not allowed "
                    "here; write the value out", event.start_mark)
        self._depth += 1
        try:
            if self._depth > defaults.MAX_YAML_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {defaults.MAX_YAML_DEPTH} levels deep",
                    self.peek_event().start_mark)
            mark = self.peek_event().start_mark
            node = yaml.composer.Composer.compose_node(self, parent, index)
        finally:
            self._depth -= 1
        if id(node) not in self._expanded:   # children were composed (and sized) first
            kids = ([x for pair in node.value for x in pair] if isinstance(node, yaml.MappingNode)
                    else node.value if isinstance(node, yaml.SequenceNode) else [])
            size = 1 + sum(self._expanded[id(k)][1] for k in kids)
            depth = 1 + max((self._expanded[id(k)][2] for k in kids), default=0)
            self._expanded[id(node)] = (node, size, depth)
            if size > defaults.MAX_YAML_NODES or depth > defaults.MAX_YAML_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"expands to {size:,} values nested {depth} deep; at most "
                    f"{defaults.MAX_YAML_NODES:,} values and {defaults.MAX_YAML_DEPTH} levels "
                    "are allowed (aliases repeat what they name)", mark)
        return node

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise yaml.constructor.ConstructorError(
                        None, None, "merge keys (<<) are not allowed", key_node.start_mark)
                key = self.construct_object(key_node, deep=True)
                try:
                    dup = key in seen
                    seen.add(key)
                except TypeError:
                    continue   # an unhashable key: reported by the base class
                if dup:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {short(key)}: a key may appear once in a "
                        "mapping", key_node.start_mark)
        return yaml.constructor.SafeConstructor.construct_mapping(self, node, deep=deep)


class _YamlLoader(_Bounded, yaml.SafeLoader):
    """PyYAML's safe loader, bounded: nesting at most
    :data:`~iamg_forecast.defaults.MAX_YAML_DEPTH` deep (the composer recurses), no key
    repeated in a mapping (the last one would silently win), no merge keys, and either no
    aliases at all (``allow_aliases=False``) or aliases whose expansion stays within
    :data:`~iamg_forecast.defaults.MAX_YAML_NODES` nodes and the depth limit (an alias bomb
    expands a few hundred bytes into gigabytes). An impossible date stays text (see
    :func:`load_yaml`).
    """

    def __init__(self, stream: Any):
        yaml.SafeLoader.__init__(self, stream)
        self._bounded_init()


def _timestamp_or_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError):
        return loader.construct_scalar(node)


_YamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)


class _AliasYamlLoader(_YamlLoader):
    """:class:`_YamlLoader` that accepts aliases within the expansion limits (priors files)."""

    allow_aliases = True


try:
    from yaml.cyaml import CParser as _CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CParser = None

if _CParser is not None:   # libyaml's events, several times faster; the same checks
    _C = yaml.composer.Composer

    class _FastYamlLoader(_Bounded, _CParser, yaml.constructor.SafeConstructor,
                          yaml.resolver.Resolver):
        """:class:`_YamlLoader` over libyaml's parser (PyYAML's composer, our bounds)."""

        get_single_node, compose_document = _C.get_single_node, _C.compose_document
        check_node, get_node = _C.check_node, _C.get_node
        compose_scalar_node = _C.compose_scalar_node
        compose_sequence_node = _C.compose_sequence_node
        compose_mapping_node = _C.compose_mapping_node

        def __init__(self, stream: Any):
            _CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            self.anchors: dict[str, Any] = {}
            self._bounded_init()

    class _FastAliasYamlLoader(_FastYamlLoader):
        allow_aliases = True

    _FastYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)
    _LOADERS = {False: _FastYamlLoader, True: _FastAliasYamlLoader}
else:  # pragma: no cover - PyYAML built without libyaml
    _LOADERS = {False: _YamlLoader, True: _AliasYamlLoader}


def load_yaml(text: str, *, aliases: bool = False) -> Any:
    r"""Parse YAML safely, keeping an impossible unquoted date (``2026-13-01``) as a string.

    ``yaml.safe_load`` raises a bare ``ValueError`` on such a date and so loses the file, the
    row and the field; kept as text, the date reaches the validator of its field, which
    reports it with its location. Merge keys, repeated keys, nesting deeper than
    :data:`~iamg_forecast.defaults.MAX_YAML_DEPTH` and aliases (unless ``aliases``, and then
    any expansion beyond :data:`~iamg_forecast.defaults.MAX_YAML_NODES` values) raise
    ``yaml.YAMLError``.

    Examples
    --------
    >>> load_yaml("a: 2026-13-01\nb: 2026-01-31")
    {'a': '2026-13-01', 'b': datetime.date(2026, 1, 31)}
    """
    try:   # safe constructors only: no arbitrary objects
        return yaml.load(text, Loader=_LOADERS[bool(aliases)])
    except (UnicodeEncodeError, RecursionError) as err:
        raise yaml.YAMLError(f"cannot parse: {short_text(err, 120)}") from None


def _fmt_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _pydantic_problems(err: ValidationError, where: str, prefix: str,
                       known_keys: Iterable[str] = ()) -> list[Problem]:
    problems = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        path = prefix + ("." if prefix and loc and not isinstance(loc[0], int) else "") + \
            _fmt_loc(loc)
        msg = e["msg"].removeprefix("Value error, ")
        value = e.get("input")
        if e["type"] == "extra_forbidden" and loc:
            key = str(loc[-1])
            hint = difflib.get_close_matches(key, list(known_keys), n=1)
            msg = f"unknown key {key!r}" + (f"; did you mean {hint[0]!r}?" if hint else "")
            value = None
        elif e["type"] == "missing":
            msg = "required key is missing"
            value = None
        elif isinstance(value, dict | list):
            value = None
        problems.append(Problem(where, path or "<root>", msg, value))
    return problems


_ITEM_TYPES = {
    "latents": Latent,
    "links": Link,
    "indicators": Indicator,
    "competing_groups": CompetingGroup,
    "outcomes": Outcome,
}


def _field_names(model: type[BaseModel]) -> set[str]:
    names = set(model.model_fields)
    for f in model.model_fields.values():
        ann = f.annotation
        for sub in (PriorSpec, Fixed, Loading, ReferenceClass):
            if ann is sub or sub in getattr(ann, "__args__", ()):
                names |= set(sub.model_fields)
    return names


def _build(files: list[tuple[str, Any]]) -> Spec:  # noqa: C901 - one pass collecting problems
    problems: list[Problem] = []
    merged: dict[str, Any] = {k: [] for k in LIST_SECTIONS}
    singles: dict[str, tuple[str, Any]] = {}
    origins: dict[str, str] = {}
    for where, data in files:
        if data is None:
            continue
        if not isinstance(data, dict):
            problems.append(Problem(where, "<root>", "expected a mapping of sections",
                                    type(data).__name__))
            continue
        for key, value in data.items():
            if key not in SECTIONS:
                hint = difflib.get_close_matches(str(key), SECTIONS, n=1)
                problems.append(Problem(where, str(key), "unknown section" + (
                    f"; did you mean {hint[0]!r}?" if hint else f"; expected one of {SECTIONS}")))
                continue
            if key in LIST_SECTIONS:
                if not isinstance(value, list):
                    problems.append(Problem(where, key, "expected a list",
                                            type(value).__name__))
                    continue
                if len(value) > defaults.MAX_SPEC_ENTRIES:
                    problems.append(Problem(where, key, f"{len(value)} entries; at most "
                                            f"{defaults.MAX_SPEC_ENTRIES} are supported"))
                    continue
                model = _ITEM_TYPES[key]
                for i, item in enumerate(value):
                    path = f"{key}[{i}]"
                    try:
                        obj = TypeAdapter(model).validate_python(item)
                    except ValidationError as err:
                        problems += _pydantic_problems(err, where, path, _field_names(model))
                        continue
                    merged[key].append((where, path, obj))
            else:
                if key in singles:
                    problems.append(Problem(where, key, f"section already given in "
                                                        f"{singles[key][0]}"))
                    continue
                singles[key] = (where, value)
    parsed: dict[str, Any] = {}
    for key, model in (("scenario", Scenario), ("reliability", Reliability)):
        if key not in singles:
            problems.append(Problem("<all files>", key, "required section is missing"))
            continue
        where, value = singles[key]
        try:
            parsed[key] = TypeAdapter(model).validate_python(value)
        except ValidationError as err:
            problems += _pydantic_problems(err, where, key, _field_names(model))

    # ---- duplicates ----------------------------------------------------------------------
    names: dict[str, tuple[str, str, str]] = {}
    for section in ("latents", "indicators", "outcomes", "competing_groups"):
        for where, path, obj in merged[section]:
            if obj.name in names:
                w0, p0, s0 = names[obj.name]
                problems.append(Problem(where, f"{path}.name",
                                        f"duplicate name; already used by {s0} at {w0}: {p0}",
                                        obj.name))
            else:
                names[obj.name] = (where, path, section)
                origins[f"{section}.{obj.name}"] = f"{where}: {path}"

    latent_names = [o.name for _, _, o in merged["latents"]]
    outcome_objs = {o.name: (w, p, o) for w, p, o in merged["outcomes"]}
    group_objs = {g.name: (w, p, g) for w, p, g in merged["competing_groups"]}

    def check_latent(name: str, where: str, path: str) -> None:
        if name not in latent_names:
            hint = difflib.get_close_matches(name, latent_names, n=1)
            problems.append(Problem(where, path, "unknown latent" + (
                f"; did you mean {hint[0]!r}?" if hint else f"; expected one of {latent_names}"),
                name))

    for where, path, lk in merged["links"]:
        check_latent(lk.parent, where, f"{path}.parent")
        check_latent(lk.child, where, f"{path}.child")
        if lk.parent == lk.child:
            problems.append(Problem(where, path, "a latent cannot be its own parent", lk.parent))
    for where, path, ind in merged["indicators"]:
        for j, ld in enumerate(ind.loadings):
            check_latent(ld.latent, where, f"{path}.loadings[{j}].latent")
    for where, path, o in merged["outcomes"]:
        for j, ld in enumerate(o.drivers):
            check_latent(ld.latent, where, f"{path}.drivers[{j}].latent")
        if o.group and o.group not in group_objs:
            problems.append(Problem(where, f"{path}.group", "unknown competing group; expected "
                                    f"one of {sorted(group_objs)}", o.group))
    milestone_names: list[tuple[str, str, str]] = []
    for where, path, g in merged["competing_groups"]:
        for j, ld in enumerate(g.drivers):
            check_latent(ld.latent, where, f"{path}.drivers[{j}].latent")
        target = g.none_outcome
        o = outcome_objs.get(target)
        if o is None or o[2].type != "none" or o[2].group != g.name:
            problems.append(Problem(where, f"{path}.none_outcome", f"must name a 'none' outcome "
                                    f"of group {g.name!r}", target))
        choices = [o for _, _, o in merged["outcomes"] if o.group == g.name and o.type == "choice"]
        if len(choices) < 2:
            problems.append(Problem(where, path, "a competing group needs at least two choice "
                                    "outcomes", len(choices)))
        for o in choices:
            if o.base is None:
                w, p, _ = outcome_objs[o.name]
                problems.append(Problem(w, f"{p}.base", "a choice needs a base (choice logit) "
                                        "prior: every choice competes on its own logit"))
        if g.stages is not None:
            named = set(g.stages.designation_milestones)
            want = {o.name for o in choices}
            if named != want:
                problems.append(Problem(where, f"{path}.stages.designation_milestones",
                                        f"must name one milestone per choice {sorted(want)}",
                                        sorted(named)))
            for ms in g.stages.milestones:
                milestone_names.append((where, f"{path}.stages", ms))

    problems += _after_problems(merged["outcomes"])
    seen_ms: set[str] = set()
    for where, path, ms in milestone_names:
        if ms in names or ms in seen_ms:
            problems.append(Problem(where, path, "milestone name already used by another "
                                    "milestone, latent, indicator, outcome or group", ms))
        seen_ms.add(ms)

    # ---- roles and cycles ---------------------------------------------------------------
    edges = [(lk.parent, lk.child) for _, _, lk in merged["links"]
             if lk.parent in latent_names and lk.child in latent_names]
    for where, path, lat in merged["latents"]:
        has_parents = any(c == lat.name for _, c in edges)
        if lat.role == "driver" and has_parents:
            problems.append(Problem(where, f"{path}.role", "a driver has no parents, but links "
                                    "point into it; make it a mediator", lat.name))
        if lat.role == "mediator" and not has_parents:
            problems.append(Problem(where, f"{path}.role", "a mediator needs at least one parent "
                                    "link", lat.name))
    cycle = _find_cycle(latent_names, edges)
    if cycle:
        where = next((w for w, _, lk in merged["links"] if lk.parent == cycle[0]), "<links>")
        problems.append(Problem(where, "links", "cycle among latents: " + " -> ".join(cycle)))
    for section in ("latents", "indicators"):
        if not merged[section]:
            problems.append(Problem("<all files>", section, "at least one entry is required"))
    if not merged["outcomes"]:
        problems.append(Problem("<all files>", "outcomes", "the outcome set is empty; at least "
                                "one outcome is required"))
    if problems:
        raise SpecError(problems)
    return Spec(
        scenario=parsed["scenario"],
        reliability=parsed["reliability"],
        origins=origins,
        **{k: [o for _, _, o in merged[k]] for k in LIST_SECTIONS},
    )


def _after_problems(outcomes: list[tuple[str, str, Outcome]]) -> list[Problem]:
    """Outcome-to-outcome effects: a known event or choice outcome, not the outcome itself,
    named once; a parent is moved by no other outcome and at most one choice per group (so
    the parents' timings are independent given the latents and the forecast stays exact).
    """
    by_name = {o.name: o for _, _, o in outcomes}
    problems = []
    for where, path, o in outcomes:
        groups: list[str] = []
        for j, a in enumerate(o.after):
            at = f"{path}.after[{j}].outcome"
            parent = by_name.get(a.outcome)
            if parent is None or parent.type == "none" or a.outcome == o.name:
                problems.append(Problem(where, at, "expected another event or choice outcome",
                                        a.outcome))
            elif parent.after:
                problems.append(Problem(where, at, "an outcome other outcomes depend on cannot "
                                        "itself depend on outcomes (after)", a.outcome))
            elif parent.type == "choice" and parent.group in groups:
                problems.append(Problem(where, at, "at most one choice of a competing group",
                                        a.outcome))
            elif [b.outcome for b in o.after].count(a.outcome) > 1:
                problems.append(Problem(where, at, "named more than once", a.outcome))
            if parent is not None and parent.type == "choice":
                groups.append(parent.group or "")
    return problems


def load_spec(path: str | Path | None = None) -> Spec:
    """Load and validate a scenario from a directory of YAML files (or one YAML file).

    Parameters
    ----------
    path : str or Path, optional
        A directory whose ``*.yaml`` files together hold every section, or a single file.
        Defaults to the bundled IAMG scenario (:func:`default_priors_dir`).

    Returns
    -------
    Spec
        The validated, immutable spec.

    Raises
    ------
    SpecError
        Listing every problem found, each with file and key path.

    Examples
    --------
    >>> spec = load_spec()
    >>> "maliki_confirmed" in spec.outcome_names
    True
    """
    root = Path(path) if path is not None else default_priors_dir()
    if not root.exists():
        raise SpecError([Problem(str(root), "<path>", "no such file or directory")])
    files = sorted(root.glob("*.yaml")) + sorted(root.glob("*.yml")) if root.is_dir() else [root]
    if not files:
        raise SpecError([Problem(str(root), "<path>", "no *.yaml files in this directory")])
    texts: list[tuple[str, str]] = []
    problems: list[Problem] = []
    for f in files:
        try:
            texts.append((f.name, read_text_bounded(f, defaults.MAX_SPEC_FILE_BYTES,
                                                    "priors file")))
        except FileRefusedError as err:
            problems.append(Problem(f.name, "<file>", err.reason))
    if problems:
        raise SpecError(problems)
    key = hashlib.sha256(json.dumps(texts).encode("utf-8", "surrogatepass")).hexdigest()
    if key in _SPEC_CACHE:
        return _SPEC_CACHE[key]
    loaded: list[tuple[str, Any]] = []
    for name, text in texts:
        try:
            loaded.append((name, load_yaml(text, aliases=True)))
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "<file>"
            reason = getattr(err, "problem", None) or err
            problems.append(Problem(name, where, f"not valid YAML: {short_text(reason, 200)}"))
    if problems:
        raise SpecError(problems)
    spec = _build(loaded)
    _SPEC_CACHE[key] = spec
    while len(_SPEC_CACHE) > 8:
        _SPEC_CACHE.pop(next(iter(_SPEC_CACHE)))
    return spec


# Specs loaded from the same file contents (immutable, so shared): loading is mostly parsing.
_SPEC_CACHE: dict[str, Spec] = {}

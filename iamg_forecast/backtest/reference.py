"""The reference class of Iraqi government formations, and the PM priors it implies.

``backtests/formations.yaml`` lists every formation since 2005 by the roles of the PM question
(front-runner, incumbent, someone else), with the dates of its steps. :func:`pm_priors` turns
the formations completed before a date into the choice logits' prior means and the
reference-class rates, and :func:`stage_priors` into the prior means of the process's later
steps (designation, vote, failure), and :func:`trend_prior` into the prior of the presidency's
trend, by the rules written in that file. The bundled scenario's
numbers (``priors/outcomes.yaml``) are these rules over every formation (a test checks it); a
backtest case uses only the formations completed before it started.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy.special import log_expit

from iamg_forecast.errors import Problem, SpecError
from iamg_forecast.evidence.cells import STEP_ORDER, Step, group_history
from iamg_forecast.files import bundled_dir
from iamg_forecast.spec import STAGE_ROWS, load_spec, load_yaml

__all__ = ["Formation", "Designation", "load_formations", "pm_priors", "PMPriors", "ROLES",
           "WINDOW_MONTHS", "stage_priors", "StagePriors", "trend_prior", "TrendPrior",
           "TrendRule", "load_trend_rule"]

ROLES = ("frontrunner", "incumbent", "other")
#: A formation is "late" when no cabinet won a vote within this many months of its start.
WINDOW_MONTHS = 14


Role = Literal["frontrunner", "incumbent", "other"]


class Designation(BaseModel):
    """A PM-designate of a past formation: the day he was charged, his role and, when he
    withdrew or lapsed without a vote, the day of that (``fails``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: dt.date
    role: Role
    fails: dt.date | None = None


class Formation(BaseModel):
    """One past formation (an entry of ``formations.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    start: dt.date
    approved: dt.date
    frontrunner: str | None = None
    incumbent: str | None = None
    winner: str
    winner_role: Role
    initial_stage: Literal["election", "president"] = "election"
    president: dt.date | None = None
    designations: list[Designation]
    sources: list[str]
    note: str | None = None

    @model_validator(mode="after")
    def _steps_in_order(self) -> Formation:
        if (self.president is None) != (self.initial_stage == "president"):
            raise ValueError("a formation that starts at the election needs the day the "
                             "presidency was filled (president), and only such a one")
        days = [self.start] + ([self.president] if self.president else [])
        for d in self.designations:
            days += [d.date] + ([d.fails] if d.fails else [])
        if days + [self.approved] != sorted(days + [self.approved]):
            raise ValueError("the steps' dates are not in order (start, president, each "
                             "designation and its failure, approved)")
        last = self.designations[-1] if self.designations else None
        if last is None or last.fails is not None or last.role != self.winner_role:
            raise ValueError("the last designation must be the winner's (same role, no fails)")
        if any(d.fails is None for d in self.designations[:-1]):
            raise ValueError("every designation but the last needs the day it failed (fails)")
        return self

    def months_to(self, day: dt.date) -> int:
        """Index of ``day``'s month on the formation's month axis (its start month is 0)."""
        return (day.year - self.start.year) * 12 + day.month - self.start.month

    def steps(self) -> list[Step]:
        """The dated steps as the model reads logged milestones (choices index :data:`ROLES`),
        in date order and :data:`~iamg_forecast.evidence.cells.STEP_ORDER` within a day.
        """
        dated = [(self.president, Step(self.months_to(self.president), "president"))
                 ] if self.president else []
        for d in self.designations:
            dated.append((d.date, Step(self.months_to(d.date), "designation",
                                       ROLES.index(d.role))))
            if d.fails:
                dated.append((d.fails, Step(self.months_to(d.fails), "failure")))
        dated.append((self.approved, Step(self.months_to(self.approved), "formation",
                                          ROLES.index(self.winner_role))))
        return [s for _, s in sorted(dated, key=lambda t: (t[0], STEP_ORDER[t[1].kind]))]

    @property
    def late(self) -> bool:
        """No cabinet within :data:`WINDOW_MONTHS` months of the start."""
        months = self.months_to(self.approved) - (self.approved.day < self.start.day)
        return months >= WINDOW_MONTHS


class TrendRule(BaseModel):
    """The reference prior the presidency's trend starts from (``trend_rule`` of
    ``formations.yaml``), before any formation is seen.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    mu: float
    sigma: float = Field(gt=0)
    rationale: str = Field(min_length=1)


def _formations_file() -> tuple[str, dict]:
    path = bundled_dir("backtests") / "formations.yaml"
    return str(path), load_yaml(path.read_text(encoding="utf-8")) or {}


def load_trend_rule() -> TrendRule:
    """The reference prior of the presidency's trend (``trend_rule`` in ``formations.yaml``).

    Examples
    --------
    >>> load_trend_rule().mu
    0.0
    """
    path, raw = _formations_file()
    try:
        return TrendRule.model_validate(raw.get("trend_rule"))
    except ValidationError as err:
        raise SpecError([Problem(path, ".".join(["trend_rule", *map(str, e["loc"])]), e["msg"])
                         for e in err.errors()]) from None


def load_formations() -> list[Formation]:
    """The reference class of ``backtests/formations.yaml``, oldest first.

    Examples
    --------
    >>> [f.winner_role for f in load_formations()][:2]
    ['other', 'incumbent']
    """
    path, raw = _formations_file()
    out, problems = [], []
    for i, row in enumerate(raw.get("formations") or []):
        try:
            out.append(Formation.model_validate(row))
        except ValidationError as err:
            problems += [Problem(path, ".".join([f"formations[{i}]",
                                                      *map(str, e["loc"])]), e["msg"])
                         for e in err.errors()]
    if problems:
        raise SpecError(problems)
    return sorted(out, key=lambda f: f.start)


@dataclass(frozen=True)
class PMPriors:
    """The PM question's priors implied by ``n`` past formations (see the module docstring)."""

    n: int
    shares: dict[str, float]
    mu: dict[str, float]
    deadlock: float

    def rate(self, role: str) -> float:
        """Reference-class rate: a role winning within the window, or (``none``) deadlock."""
        return self.deadlock if role == "none" else self.shares[role] * (1 - self.deadlock)


def pm_priors(before: dt.date | None = None) -> PMPriors:
    """Choice-logit prior means and reference-class rates from the formations completed
    before ``before`` (default: all of them).

    Examples
    --------
    >>> p = pm_priors()
    >>> p.n, round(p.shares["other"], 3), round(p.deadlock, 3)
    (6, 0.667, 0.125)
    >>> pm_priors(dt.date(2006, 1, 1)).mu == {"frontrunner": 0.0, "incumbent": 0.0,
    ...                                      "other": 0.0}
    True
    """
    past = [f for f in load_formations() if before is None or f.approved < before]
    n = len(past)
    shares = {r: (sum(f.winner_role == r for f in past) + 1) / (n + len(ROLES)) for r in ROLES}
    logs = {r: math.log(s) for r, s in shares.items()}
    centre = sum(logs.values()) / len(logs)
    late = sum(f.late for f in past)
    return PMPriors(n=n, shares=shares, mu={r: v - centre for r, v in logs.items()},
                    deadlock=(late + 1) / (n + 2))


@dataclass(frozen=True)
class StagePriors:
    """Prior means of the formation process's later steps implied by ``n`` past formations:
    per step (:data:`~iamg_forecast.spec.STAGE_ROWS`) the months it happened (``k``), the
    months it could have happened (``exposure``) and ``mu = logit((k + 1) / (exposure + 2))``.
    """

    n: int
    k: dict[str, int]
    exposure: dict[str, int]
    mu: dict[str, float]
    before: dt.date | None = None

    def why(self, step: str) -> str:
        """The rationale line of one step's prior."""
        when = "" if self.before is None else f" completed before {self.before}"
        return (f"Computed by the rule of backtests/formations.yaml from the {self.n} "
                f"formation(s){when}: the step happened in {self.k[step]} of the "
                f"{self.exposure[step]} months in which it could have.")


def _staged_group(spec) -> int:
    """Index of the staged competing group (the PM question), checked to have one choice per
    role.
    """
    g = next(i for i, grp in enumerate(spec.competing_groups) if grp.stages is not None)
    group = spec.competing_groups[g]
    if len(spec.choices(group.name)) != len(ROLES):
        raise SpecError([Problem("priors/outcomes.yaml", f"competing_groups.{group.name}",
                                 f"expected one choice per role {ROLES}")])
    return g


def _past(before: dt.date | None) -> list[Formation]:
    return [f for f in load_formations() if before is None or f.approved < before]


def stage_priors(before: dt.date | None = None) -> StagePriors:
    """Prior means of the designation, vote, same-month vote and failure steps from the
    formations completed before ``before`` (default: all of them).

    Each formation's steps are read month by month by
    :func:`~iamg_forecast.evidence.cells.group_history`, the function that turns logged
    milestones into the model's likelihood cells, so a month counts for a step exactly when
    the model would count it.

    Examples
    --------
    >>> p = stage_priors()
    >>> p.n, p.k["designation"], p.exposure["designation"]
    (6, 8, 12)
    >>> stage_priors(dt.date(2006, 1, 1)).mu["vote"]
    0.0
    """
    spec = load_spec()
    g = _staged_group(spec)
    rows = {spec.hazard_rows.index(f"{spec.competing_groups[g].name}:{r}"): r
            for r in STAGE_ROWS}
    past = _past(before)
    k = dict.fromkeys(STAGE_ROWS, 0)
    exposure = dict.fromkeys(STAGE_ROWS, 0)
    for f in past:
        cells, _, _ = group_history(spec, g, f.steps(), f.months_to(f.approved),
                                    initial=f.initial_stage)
        for row, _, sign in cells:
            if row in rows:
                exposure[rows[row]] += 1
                k[rows[row]] += sign > 0
    mu = {r: math.log((k[r] + 1) / (exposure[r] - k[r] + 1)) for r in STAGE_ROWS}
    return StagePriors(n=len(past), k=k, exposure=exposure, mu=mu, before=before)


@dataclass(frozen=True)
class TrendPrior:
    """The prior of the presidency's monthly trend implied by ``n`` past formations that
    started at an election: the posterior mean and sd of the trend given the months each
    waited for its president (see :func:`trend_prior`).
    """

    n: int
    months: tuple[int, ...]
    mu: float
    sigma: float
    before: dt.date | None = None

    def why(self) -> str:
        """The rationale line of the trend's prior."""
        when = "" if self.before is None else f" completed before {self.before}"
        waits = ", ".join(map(str, self.months)) or "none"
        return (f"Computed by the rule of backtests/formations.yaml from the {self.n} "
                f"formation(s){when} that started at an election (presidency in month "
                f"{waits} of each): the posterior mean and sd of the trend.")


#: Grid of the trend rule: points per axis, and how many prior sds each axis spans either side.
_GRID = (401, 6.0)


def trend_prior(before: dt.date | None = None) -> TrendPrior:
    """Prior of the presidency's trend from the formations completed before ``before``.

    The presidency's monthly logit is ``base + trend * month`` (months since the election;
    the drivers are left out). Starting from the spec's prior of ``base`` (the constitution's)
    and the reference prior of the trend (``trend_rule`` in ``formations.yaml``), each past
    formation's months without a president and its month with one, read by
    :func:`~iamg_forecast.evidence.cells.group_history` as the model reads logged milestones,
    update both on a grid; the trend's posterior mean and sd are its prior for the date.

    Examples
    --------
    >>> p = trend_prior()
    >>> p.months, round(p.mu, 3), round(p.sigma, 3)
    ((4, 8, 3, 5, 12), 0.104, 0.103)
    """
    spec = load_spec()
    g = _staged_group(spec)
    group = spec.competing_groups[g]
    row = spec.hazard_rows.index(group.name)
    rule = load_trend_rule()
    points, span = _GRID
    b0, t0 = group.hazard, rule
    if b0.dist != "Normal":
        raise SpecError([Problem("priors/outcomes.yaml", f"competing_groups.{group.name}.hazard",
                                 "the trend rule needs a Normal prior of the presidency's "
                                 "hazard", b0.dist)])
    b = np.linspace(b0.params["mu"] - span * b0.params["sigma"],
                    b0.params["mu"] + span * b0.params["sigma"], points)[:, None]
    t = np.linspace(t0.mu - span * t0.sigma, t0.mu + span * t0.sigma, points)[None, :]
    lp = (-0.5 * ((b - b0.params["mu"]) / b0.params["sigma"]) ** 2
          - 0.5 * ((t - t0.mu) / t0.sigma) ** 2)
    months = []
    for f in _past(before):
        if f.initial_stage != "election":
            continue
        cells, _, _ = group_history(spec, g, f.steps(), f.months_to(f.approved),
                                    initial=f.initial_stage)
        for r, m, sign in cells:
            if r == row:
                lp = lp + log_expit(sign * (b + t * m))
                if sign > 0:
                    months.append(m)
    w = np.exp(lp - lp.max())
    w /= w.sum()
    mu = float((w * t).sum())
    sigma = float(np.sqrt((w * (t - mu) ** 2).sum()))
    return TrendPrior(n=len(months), months=tuple(months), mu=mu, sigma=sigma, before=before)

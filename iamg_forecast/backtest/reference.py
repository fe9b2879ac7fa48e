"""The reference class of Iraqi government formations, and the PM priors it implies.

``backtests/formations.yaml`` lists every formation since 2005 by the roles of the PM question
(front-runner, incumbent, someone else). :func:`pm_priors` turns the formations completed
before a date into the choice logits' prior means and the reference-class rates, by the rule
written in that file. The bundled scenario's numbers (``priors/outcomes.yaml``) are this rule
over every formation (a test checks it); a backtest case uses only the formations completed
before it started.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from iamg_forecast.errors import Problem, SpecError
from iamg_forecast.files import bundled_dir
from iamg_forecast.spec import load_yaml

__all__ = ["Formation", "load_formations", "pm_priors", "PMPriors", "ROLES", "WINDOW_MONTHS"]

ROLES = ("frontrunner", "incumbent", "other")
#: A formation is "late" when no cabinet won a vote within this many months of its start.
WINDOW_MONTHS = 14


class Formation(BaseModel):
    """One past formation (an entry of ``formations.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    start: dt.date
    approved: dt.date
    frontrunner: str | None = None
    incumbent: str | None = None
    winner: str
    winner_role: Literal["frontrunner", "incumbent", "other"]
    sources: list[str]
    note: str | None = None

    @property
    def late(self) -> bool:
        """No cabinet within :data:`WINDOW_MONTHS` months of the start."""
        months = (self.approved.year - self.start.year) * 12 + self.approved.month \
            - self.start.month - (self.approved.day < self.start.day)
        return months >= WINDOW_MONTHS


def load_formations() -> list[Formation]:
    """The reference class of ``backtests/formations.yaml``, oldest first.

    Examples
    --------
    >>> [f.winner_role for f in load_formations()][:2]
    ['other', 'incumbent']
    """
    path = bundled_dir("backtests") / "formations.yaml"
    raw = load_yaml(path.read_text(encoding="utf-8"))
    out, problems = [], []
    for i, row in enumerate((raw or {}).get("formations") or []):
        try:
            out.append(Formation.model_validate(row))
        except ValidationError as err:
            problems += [Problem(str(path), f"formations[{i}]." + ".".join(map(str, e["loc"])),
                                 e["msg"]) for e in err.errors()]
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

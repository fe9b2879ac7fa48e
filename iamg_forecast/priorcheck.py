"""Prior predictive checks and prior elicitation.

:func:`prior_check` draws from the model's prior (the same PyMC graph that is fitted) and puts
each outcome's prior probability by the default horizon next to its reference-class base rate;
it also compares the prior distribution of days from the election to a new government with the
five formations since 2005. :func:`elicit` turns an analyst's "between a and b with 90%" into a
prior with PreliZ and returns the YAML to paste into ``priors/``. :func:`climatology` is the
reference-class probability of an outcome over any window: the prior check's reference
column, and the ledger's climatology when it scores forecasts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from iamg_forecast import defaults
from iamg_forecast.errors import ForecastError, short
from iamg_forecast.likelihood import NP
from iamg_forecast.model import ScenarioModel
from iamg_forecast.spec import PriorSpec, Spec, parse_date

__all__ = ["prior_check", "prior_outcome_probs", "PriorCheck", "elicit", "Elicited",
           "FORMATION_DAYS", "ELECTION_DATE", "climatology", "DAYS_PER_MONTH"]

# Days from election to the confidence vote, Iraqi formations 2006-2022 (see priors/outcomes.yaml).
FORMATION_DAYS = {"2006": 156, "2010": 289, "2014": 131, "2018": 165, "2022": 382}
ELECTION_DATE = dt.date(2025, 11, 11)


@dataclass(frozen=True)
class PriorCheck:
    """Result of :func:`prior_check`: outcome table, formation-time PITs, flags."""

    table: pd.DataFrame
    formation_pit: pd.DataFrame
    horizon: str
    draws: int

    @property
    def flagged(self) -> list[str]:
        """Outcomes whose prior probability falls outside the spec's plausible range."""
        return list(self.table.loc[~self.table["plausible_ok"], "outcome"])

    def to_text(self) -> str:
        """Plain-text rendering for the terminal."""
        t = self.table.copy()
        for c in ("prior_p", "lo80", "hi80", "reference"):
            t[c] = t[c].map(lambda v: f"{v:.1%}")
        lines = [f"Prior probability by {self.horizon} ({self.draws} prior draws)",
                 t.to_string(index=False), "",
                 "Days from election to government: prior-predictive PIT of past formations",
                 self.formation_pit.to_string(index=False)]
        if self.flagged:
            lines.append("\nFLAGGED (prior outside plausible range): " + ", ".join(self.flagged))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self.table.to_html(index=False) + self.formation_pit.to_html(index=False)


# ---- climatology: reference-class probabilities over a window --------------------------------
#: Average days in a month: windows between two dates are measured in these months.
DAYS_PER_MONTH = 365.25 / 12


def _months(a: Any, b: Any) -> float:
    """Months (of 30.44 days) from ``a`` to ``b``, never negative."""
    days = (parse_date(b, "horizon") - parse_date(a, "as_of")).days
    return max(days, 0) / DAYS_PER_MONTH


def climatology(spec: Spec, outcome: str, as_of: Any, horizon: Any) -> float:
    """Reference-class probability that ``outcome`` resolves yes for a window ``as_of``–horizon.

    Assumes a constant monthly hazard. ``per: month`` rates give ``1 - (1 - r)^m`` over the
    ``m`` months of the window (a none-outcome, the survival of its group's event, ``(1 -
    r)^m``). ``per: horizon`` rates hold from the scenario start to the default horizon
    (``m0`` months) and are rescaled to the window: an event or choice becomes
    ``1 - (1 - r)^(m / m0)``, a none-outcome ``r^(m / m0)``. NaN when the outcome has no
    reference class.

    Examples
    --------
    >>> from iamg_forecast.spec import load_spec
    >>> spec = load_spec()
    >>> round(climatology(spec, "deadlock_persists", "2025-11-01", "2026-12-31"), 3)
    0.125
    """
    try:
        o = spec.outcome(outcome)
    except KeyError:
        return float("nan")
    rc = o.reference_class
    if rc is None:
        return float("nan")
    m = _months(as_of, horizon)
    if rc.per == "month":
        surv_month = 1 - rc.base_rate
        return float(surv_month**m) if o.type == "none" else float(1 - surv_month**m)
    start = f"{spec.scenario.start_month}-01"
    m0 = _months(start, spec.scenario.default_horizon) or 1.0
    if o.type == "none":
        return float(rc.base_rate ** (m / m0))
    return float(1 - (1 - rc.base_rate) ** (m / m0))


_PRIOR_CACHE: dict[tuple, np.ndarray] = {}


def _prior_draws(model: ScenarioModel, draws: int, seed: int) -> np.ndarray:
    """Prior hazard draws (draw, hazard, month), cached per model, size and seed."""
    key = (model.spec.hash, model.interventions, draws, seed)
    if key not in _PRIOR_CACHE:
        hz = model.sample_prior(draws=draws, seed=seed)["hazard_logit"].values
        _PRIOR_CACHE[key] = hz.reshape((-1,) + hz.shape[2:])
    return _PRIOR_CACHE[key]


def prior_outcome_probs(model: ScenarioModel, as_of: dt.date, horizon: dt.date,
                        draws: int = 1000, seed: int = 0) -> dict[str, float]:
    """Each outcome's probability by ``horizon`` under the prior alone (no evidence).

    The reference a forecast's skill is measured against ("skill vs its own prior").

    Examples
    --------
    >>> import iamg_forecast as iaf, datetime as dt
    >>> p = prior_outcome_probs(iaf.load_model(), dt.date(2026, 1, 31),
    ...                         dt.date(2026, 6, 30))  # doctest: +SKIP
    """
    hz = _prior_draws(model, draws, seed)
    _, cum = model._outcome_terms(hz, model.data((), as_of), ops=NP)
    p = cum[..., model.spec.month_index(horizon)].mean(axis=0)
    return {name: float(v) for name, v in zip(model.spec.outcome_names, p, strict=True)}


def _prior_cum(model: ScenarioModel, hz: np.ndarray) -> np.ndarray:
    data = model.data()  # no evidence: from the scenario start
    _, cum = model._outcome_terms(hz, data, ops=NP)
    return cum


def _formation_cdf_days(model: ScenarioModel, cum: np.ndarray) -> pd.DataFrame:
    """Prior-predictive PIT of each past formation's duration (days from election)."""
    spec = model.spec
    if not spec.competing_groups:
        return pd.DataFrame(columns=["formation", "days", "pit"])
    g = spec.competing_groups[0]
    none_idx = spec.outcome_names.index(g.none_outcome)
    formed = 1.0 - cum[:, none_idx, :].mean(axis=0)  # P(formed by end of month m)
    ends = [(dt.date.fromisoformat(f"{m}-01") - ELECTION_DATE).days for m in spec.months[1:]]
    ends.append(ends[-1] + 31)
    # month m's formations happen by the end of that month; interpolate linearly inside it
    starts = [max(0, (dt.date.fromisoformat(f"{m}-01") - ELECTION_DATE).days)
              for m in spec.months]
    rows = []
    for label, days in FORMATION_DAYS.items():
        prev, pit = 0.0, float(formed[-1])
        for m, (a, b) in enumerate(zip(starts, ends, strict=True)):
            if days <= b:
                frac = (days - a) / max(b - a, 1)
                pit = prev + frac * (formed[m] - prev)
                break
            prev = formed[m]
        rows.append({"formation": label, "days": days, "pit": round(float(pit), 3)})
    return pd.DataFrame(rows)


def prior_check(model: ScenarioModel, *, draws: int = 2000, seed: int = 0) -> PriorCheck:
    """Prior probability of each outcome by the default horizon, next to its base rate.

    Parameters
    ----------
    model : ScenarioModel
    draws : int
        Prior draws.
    seed : int

    Returns
    -------
    PriorCheck
        ``table`` (outcome, prior_p, lo80, hi80, reference, plausible range, plausible_ok) and
        ``formation_pit`` (PIT of the five past formation durations under the prior).

    Examples
    --------
    >>> import iamg_forecast as iaf
    >>> pc = iaf.prior_check(iaf.load_model(), draws=200)  # doctest: +SKIP
    >>> pc.flagged  # doctest: +SKIP
    []
    """
    for name, value, lo in (("draws", draws, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or not (
                lo <= value <= (defaults.MAX_DRAWS if name == "draws" else 2**32 - 1)):
            raise ForecastError(f"{name} must be an integer from {lo} to "
                                f"{defaults.MAX_DRAWS if name == 'draws' else 2**32 - 1:,}, "
                                f"got {short(value)}")
    spec = model.spec
    hz = _prior_draws(model, draws, seed)
    cum = _prior_cum(model, hz)
    h_idx = spec.month_index(spec.scenario.default_horizon)
    p = cum[..., h_idx]
    start = f"{spec.scenario.start_month}-01"
    rows = []
    for j, o in enumerate(spec.outcomes):
        ref_p = climatology(spec, o.name, start, spec.scenario.default_horizon)
        mean = float(p[:, j].mean())
        lo, hi = o.plausible
        rows.append({
            "outcome": o.name, "prior_p": mean,
            "lo80": float(np.quantile(p[:, j], 0.1)), "hi80": float(np.quantile(p[:, j], 0.9)),
            "reference": ref_p, "plausible": f"[{lo:.0%}, {hi:.0%}]",
            "plausible_ok": bool(lo <= mean <= hi),
        })
    return PriorCheck(table=pd.DataFrame(rows), formation_pit=_formation_cdf_days(model, cum),
                      horizon=spec.scenario.default_horizon, draws=hz.shape[0])


@dataclass(frozen=True)
class Elicited:
    """An elicited prior: the :class:`PriorSpec` and the YAML fragment to paste."""

    prior: PriorSpec
    yaml: str
    kind: str

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(self.yaml)}</pre>"


def elicit(lower: float, upper: float, mass: float = 0.9,
           kind: Literal["probability", "effect", "real"] = "probability",
           rationale: str | None = None, source: str | None = None) -> Elicited:
    """Turn "between ``lower`` and ``upper`` with probability ``mass``" into a spec prior.

    Uses PreliZ's maximum-entropy fit. ``kind="probability"`` (a monthly probability, e.g. a
    hazard or an indicator's base rate) gives a Normal on the logit scale, which is how the model
    uses it; ``"effect"`` (a positive effect size or loading) a Gamma; ``"real"`` a Normal.

    Examples
    --------
    >>> e = elicit(0.02, 0.10, mass=0.9)
    >>> e.prior.dist, round(e.prior.mu, 2)   # the midpoint of the interval on the logit scale
    ('Normal', -3.04)
    >>> "rationale" in e.yaml
    True
    """
    import preliz as pz

    if not 0 < mass < 1:
        raise ValueError(f"mass must be in (0, 1), got {mass}")
    if not lower < upper:
        raise ValueError(f"lower must be below upper, got {lower} >= {upper}")
    if kind == "probability":
        if not 0 < lower < upper < 1:
            raise ValueError(f"probabilities must satisfy 0 < lower < upper < 1, got "
                             f"{lower}, {upper}")
        lo, hi = np.log(lower / (1 - lower)), np.log(upper / (1 - upper))
        dist = pz.Normal()
    elif kind == "effect":
        if lower <= 0:
            raise ValueError(f"an effect size must be positive, got lower={lower}")
        lo, hi, dist = lower, upper, pz.Gamma()
    elif kind == "real":
        lo, hi, dist = lower, upper, pz.Normal()
    else:
        raise ValueError(f"kind must be 'probability', 'effect' or 'real', got {kind!r}")
    pz.maxent(dist, float(lo), float(hi), mass, plot=False)
    names = ("mu", "sigma") if isinstance(dist, pz.Normal) else ("alpha", "beta")
    params = {n: round(float(v), 4) for n, v in zip(names, dist.params, strict=True)}
    scale = "monthly probability" if kind == "probability" else kind
    why = rationale or (f"Elicited: {mass:.0%} between {lower:g} and {upper:g} ({scale}); "
                        f"maximum-entropy fit with PreliZ.")
    prior = PriorSpec(dist="Normal" if "mu" in params else "Gamma", rationale=why,
                      source=source, **params)
    text = yaml.safe_dump(prior.model_dump(exclude_none=True), sort_keys=False)
    return Elicited(prior=prior, yaml=text, kind=kind)

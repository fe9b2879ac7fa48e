"""The likelihood and the outcome probabilities against the formulas the docs state, written
here independently of ``likelihood.py``.

``tests/test_model.py`` checks that the PyMC graph and the NumPy side agree; both are built
from ``likelihood.py``, so that checks the wiring. These tests check the formulas themselves:
the report mixture ``r p(y | state) + (1 - r) p_false(y)`` of the README with scipy's
distributions, and the outcome probabilities by simulating monthly hazards.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import yaml
from scipy import special, stats

from iamg_forecast.evidence import Evidence
from iamg_forecast.likelihood import NP
from iamg_forecast.model import hazard_rows
from iamg_forecast.spec import default_priors_dir

AS_OF = dt.date(2026, 3, 15)   # obs_through = 2026-02, the last complete month


def raw_indicator(name: str) -> dict:
    raw = yaml.safe_load((default_priors_dir() / "indicators.yaml").read_text())
    return next(i for i in raw["indicators"] if i["name"] == name)


@pytest.mark.parametrize(("indicator", "value", "grade", "absent"), [
    ("sistani_signals_opposition_to_maliki", 1, "B2", False),
    ("sistani_signals_opposition_to_maliki", 0, "C3", True),
    ("iamg_attacks_count", 4, "A2", False),
    ("iamg_attacks_count", 0, "B2", True),
    ("rial_monthly_change_pct", 15.0, "B2", False),
])
def test_a_cell_is_the_documented_mixture(model, indicator, value, grade, absent):
    """log(r p(y | eta) + (1 - r) p_false(y)): Bernoulli(expit eta) against Bernoulli(false
    rate), negative binomial (mean exp eta, the YAML's dispersion; Poisson without one) against
    Poisson(false rate), Normal(eta, obs_sd) against Normal(baseline mu, false_report_sd); r
    from the grade, constants from the YAML."""
    spec = model.spec
    item = Evidence(indicator=indicator, date="2026-02-10", value=value, source="x",
                    reliability=grade, monitored_absent=absent)
    data = model.data([item], AS_OF)
    i, m = spec.indicator_names.index(indicator), spec.month_index(item.date)
    rng = np.random.default_rng(3)
    eta = rng.normal(0.0, 1.5, size=(7, len(spec.indicator_names), len(spec.months)))
    if indicator == "rial_monthly_change_pct":
        eta = 3.0 + 8.0 * eta
    got = model.loglik(eta, np.zeros((7, len(hazard_rows(spec)), len(spec.months))), data,
                       outcomes=False)
    raw = raw_indicator(indicator)
    r = spec.reliability.probability(grade)
    e = eta[:, i, m]
    fr = raw.get("false_report_rate", {}).get("value")
    if raw["kind"] == "binary":
        true, false = stats.bernoulli.pmf(value, special.expit(e)), stats.bernoulli.pmf(value, fr)
    elif raw["kind"] == "count":   # negative binomial with a dispersion, else Poisson
        phi = raw.get("dispersion", {}).get("value")
        true = (stats.nbinom.pmf(value, phi, phi / (phi + np.exp(e))) if phi
                else stats.poisson.pmf(value, np.exp(e)))
        false = stats.poisson.pmf(value, fr)
    else:
        true = stats.norm.pdf(value, e, raw["obs_sd"]["value"])
        false = stats.norm.pdf(value, raw["baseline"]["mu"], raw["false_report_sd"]["value"])
    np.testing.assert_allclose(got, np.log(r * true + (1 - r) * false), rtol=1e-10)


def test_outcome_probabilities_follow_the_monthly_hazards(model):
    """Simulate the outcomes month by month from one set of hazard logits: after the last
    month known (obs_through), each event happens in month m with probability expit(h_m), plus
    for an event moved by others (``after``) each effect from the month after the other outcome
    happened (the bundled spec's effects at this draw differ from none by 15 standard errors). The
    PM group follows its stages (docs/model.md): from "no president", the presidency is filled
    with expit(g_m); with a president, a designate is named with expit(designation_m) and his
    role is drawn by softmax of the choice logits; in the month of the designation the vote
    follows with expit(vote_same_month_m); a designate from an earlier month wins the vote
    with expit(vote_m), or else fails with expit(failure_m) and the president must name
    another. If no vote happens the deadlock persists. The frequencies by the horizon match
    the forecast's probabilities within 4.5 standard errors (200,000 simulated histories;
    standard errors below 0.0012)."""
    spec = model.spec
    rows = hazard_rows(spec)
    data = model.data([], AS_OF)
    obs = int(data["obs_through"])
    n_m = len(spec.months)
    h_idx = spec.month_index(spec.scenario.default_horizon)
    rng = np.random.default_rng(7)
    hz = rng.normal(-1.0, 0.8, size=(len(rows), n_m))
    hz[rows.index("maliki_confirmed")] += 2.0
    _, cum = model._outcome_terms(hz[None], data, ops=NP)
    p = np.asarray(cum)[0, :, h_idx]
    n = 200_000
    months = np.arange(obs + 1, h_idx + 1)
    freq = {}
    first = {}   # month of each event (n_m: not by the horizon)
    children = {c for c, _, _, _ in spec.outcome_effects}
    for o in spec.outcomes:
        if o.type == "event" and o.name not in children:
            hit = rng.random((n, months.size)) < special.expit(hz[rows.index(o.name), months])
            first[o.name] = np.where(hit.any(axis=1), months[np.argmax(hit, axis=1)], n_m)
            freq[o.name] = hit.any(axis=1).mean()
    g = spec.competing_groups[0]
    choices = [o.name for o in spec.outcomes if o.group == g.name and o.type == "choice"]
    chance = {k: special.expit(hz[rows.index(f"{g.name}:{k}")]) for k in
              ("designation", "vote", "vote_same_month", "failure")}
    chance["president"] = special.expit(hz[rows.index(g.name)])
    logits = np.stack([hz[rows.index(c)] for c in choices])   # (C, M)
    president = np.zeros(n, bool)
    designate = np.full(n, -1)     # role of the designate in place, -1 none
    chosen = np.full(n, -1)        # role confirmed by a vote
    voted = np.full(n, n_m)        # month of the vote
    for m in months:
        open_ = chosen < 0
        old = open_ & (designate >= 0)
        won = old & (rng.random(n) < chance["vote"][m])
        chosen[won] = designate[won]
        voted[won] = m
        failed = old & ~won & (rng.random(n) < chance["failure"][m])
        designate[failed] = -1      # a failed designate ends the month with a president only
        elected = open_ & ~president & (rng.random(n) < chance["president"][m])
        president |= elected
        can_name = open_ & president & (designate < 0) & ~failed
        named = can_name & (rng.random(n) < chance["designation"][m])
        pick = (rng.random(n)[:, None] > np.cumsum(special.softmax(logits[:, m]))).sum(axis=1)
        designate[named] = pick[named]
        fast = named & (rng.random(n) < chance["vote_same_month"][m])
        chosen[fast] = designate[fast]
        voted[fast] = m
    for k, name in enumerate(choices):
        freq[name] = (chosen == k).mean()
        first[name] = np.where(chosen == k, voted, n_m)
    freq[g.none_outcome] = (chosen < 0).mean()
    # an event moved by others (``after``): its logit gains each effect from the month after
    # the other outcome happened
    for child in children:
        logit = np.repeat(hz[rows.index(child), months][None], n, axis=0)
        for c, parent, sign, row in spec.outcome_effects:
            if c == child:
                after = months[None] > first[parent][:, None]
                logit += sign * hz[rows.index(row), months] * after
        hit = rng.random((n, months.size)) < special.expit(logit)
        freq[child] = hit.any(axis=1).mean()
    for j, name in enumerate(spec.outcome_names):
        se = np.sqrt(p[j] * (1 - p[j]) / n)
        assert abs(freq[name] - p[j]) < 4.5 * se + 1e-12, (name, freq[name], p[j], se)
    assert p[spec.outcome_names.index("maliki_confirmed")] > 0.3   # the boost mattered


def test_known_outcomes_enter_the_likelihood_as_monthly_bernoulli_terms(model):
    """Months through obs_through without an event are Bernoulli(expit h) failures; a logged
    event is a success in its month after failures before it; a logged vote for a choice adds
    the log of its softmax share (scipy's Bernoulli and softmax, no likelihood.py)."""
    spec = model.spec
    rows = hazard_rows(spec)
    items = [Evidence(indicator="militia_fragmentation", date="2026-01-20", value=1,
                      source="x", reliability="A1"),
             Evidence(indicator="sudani_return", date="2026-02-05", value=1, source="x",
                      reliability="A1")]
    data = model.data(items, AS_OF)
    obs = int(data["obs_through"])
    rng = np.random.default_rng(11)
    hz = rng.normal(-1.5, 1.0, size=(len(rows), len(spec.months)))
    eta = np.zeros((1, len(spec.indicator_names), len(spec.months)))
    got = float(model.loglik(eta, hz[None], data)[0])
    logp = 0.0
    for o in spec.outcomes:
        if o.type != "event":
            continue
        h = special.expit(hz[rows.index(o.name)])
        at = spec.month_index("2026-01-20") if o.name == "militia_fragmentation" else None
        for m in range(obs + 1 if at is None else at + 1):
            logp += stats.bernoulli.logpmf(int(m == at), h[m])
    # the vote logged without milestones implies the steps before it in its month: the
    # presidency filled, a designate of that role named, the vote in the same month
    g = spec.competing_groups[0]
    choices = [o.name for o in spec.outcomes if o.group == g.name and o.type == "choice"]
    vote = spec.month_index("2026-02-05")
    logit = {k: hz[rows.index(f"{g.name}:{k}")] for k in ("designation", "vote_same_month")}
    hg = special.expit(hz[rows.index(g.name)])
    for m in range(vote + 1):
        logp += stats.bernoulli.logpmf(int(m == vote), hg[m])
    logp += np.log(special.expit(logit["designation"][vote]))
    logp += np.log(special.expit(logit["vote_same_month"][vote]))
    logits = [hz[rows.index(c), vote] for c in choices]
    logp += np.log(special.softmax(logits)[choices.index("sudani_return")])
    assert got == pytest.approx(logp, rel=1e-10)

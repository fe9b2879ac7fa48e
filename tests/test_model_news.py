"""The news that broke v0.1, at full sampler size: a month of 300 attacks and a named
PM-designate. Both move the outcomes the way the model's structure says they must, and both
pass every gate.
"""

from __future__ import annotations

import datetime as dt

import pytest

import iamg_forecast as iaf
from iamg_forecast.evidence import Evidence

AS_OF = dt.date(2026, 1, 31)


def _item(name, day, value=1.0, grade="A1"):
    return Evidence(indicator=name, date=day, value=value, source="test", reliability=grade)


@pytest.fixture(scope="module")
def base(model, seed_items):
    return iaf.forecast(model, seed_items, as_of=AS_OF, seed=21)


@pytest.mark.slow
def test_a_month_of_300_attacks(model, seed_items, base):
    fc = iaf.forecast(model, [*seed_items, _item("iamg_attacks_count", "2026-01-31", 300,
                                                 "B2")], as_of=AS_OF, seed=21)
    # v0.1 gave hundreds of divergences and R-hat up to 1.5 here. The negative-binomial count
    # and the retry with smaller steps leave no divergence. On the previous round's model the
    # redone fit still fell short of the gates at the default size and was extended to three
    # times the draws; on this one (seeded) the redone fit passes at the default size. Which
    # path the sampler took is recorded either way.
    assert fc.ok, fc.diagnostics.problems
    assert fc.provenance["target_accept"] == 0.95   # the first fit diverged: it was redone
    assert fc.provenance["draws_sampled"] in (fc.sizes["draws"], 3 * fc.sizes["draws"])
    lat = fc.latents()["mean"].sel(month="2026-01")
    before = base.latents()["mean"].sel(month="2026-01")
    # the count loads on escalation (+) and cohesion (-): the posterior moves both that way,
    # and escalation drives uncoordinated attacks and US measures up
    assert float(lat.sel(latent="us_iran_escalation")) > float(
        before.sel(latent="us_iran_escalation")) + 0.5
    assert float(lat.sel(latent="militia_cohesion")) < float(
        before.sel(latent="militia_cohesion"))
    for outcome in ("uncoordinated_attack", "us_aid_cut_or_sanctions"):
        assert fc[outcome].p > base[outcome].p + 0.02, outcome


@pytest.mark.slow
def test_a_named_designate(model, seed_items, base):
    steps = [_item("president_elected", "2026-01-10"), _item("other_designated", "2026-01-20")]
    fc = iaf.forecast(model, [*seed_items, *steps], as_of=AS_OF, seed=21)
    assert fc.ok, fc.diagnostics.problems
    # the designate's role concentrates the choice, and a designate puts a vote within weeks
    assert fc["other_pm"].p > 0.5 > base["other_pm"].p
    assert fc["other_pm"].p > 2 * base["other_pm"].p
    assert fc["deadlock_persists"].p < base["deadlock_persists"].p / 2
    assert fc["maliki_confirmed"].p < base["maliki_confirmed"].p
    # a failed designation returns the process a stage: the other roles gain again
    failed = iaf.forecast(model, [*seed_items, *steps, _item("designate_withdraws",
                                                             "2026-01-28")],
                          as_of=AS_OF, seed=21)
    assert failed.ok, failed.diagnostics.problems
    assert failed["other_pm"].p < fc["other_pm"].p
    assert failed["maliki_confirmed"].p > fc["maliki_confirmed"].p


@pytest.mark.slow
def test_a_judgement_on_a_latent(model, seed_items, base):
    """An analyst's graded judgement on a latent enters like any report: it moves the latent
    towards the judged level, less so the weaker its grade, and the outcomes follow."""
    def judged(grade):
        fc = iaf.forecast(model, [*seed_items, _item("judged_maliki_viability", "2026-01-31",
                                                     -1.5, grade)], as_of=AS_OF, seed=21)
        assert fc.ok, fc.diagnostics.problems
        return fc, float(fc.latents()["mean"].sel(month="2026-01", latent="maliki_viability"))

    strong, lat_strong = judged("B2")
    weak, lat_weak = judged("C3")
    lat_base = float(base.latents()["mean"].sel(month="2026-01", latent="maliki_viability"))
    # measured at seed 21: 2.38 without, 1.55 with C3, 0.66 with B2 (maliki_confirmed 0.42,
    # 0.35, 0.25); the posterior means' Monte Carlo error is a few hundredths, the margins 0.3
    assert lat_strong < lat_weak - 0.3
    assert lat_weak < lat_base - 0.3
    assert strong["maliki_confirmed"].p < weak["maliki_confirmed"].p < base["maliki_confirmed"].p

"""What the README promises of what-if, attribution and grades, checked for being right.

Fits use the default sizes (4 chains x 1,000 draws, about a second each once compiled), so the
Monte Carlo errors are small enough for the comparisons to have power. A tolerance is a multiple
``Z`` of the combined Monte Carlo standard error (``conftest.mcse``) of the two estimates
compared; each comparison below is of an independent refit (another sampler seed).
"""

from __future__ import annotations

import numpy as np
import pytest

import iamg_forecast as iaf
from iamg_forecast.evidence import Evidence

from .conftest import mcse

# Two-sided 0.1% per comparison: over the at most 27 comparisons of one test below, a correct
# pipeline fails with probability below 3%.
Z = 3.3
EVENTS = ["uncoordinated_attack", "militia_fragmentation", "verifiable_disarmament_step",
          "us_aid_cut_or_sanctions", "illicit_revenue_shift"]
PM = ["maliki_confirmed", "sudani_return", "other_pm", "deadlock_persists"]


def probs(fc) -> np.ndarray:
    """Outcome probabilities in the order of ``outcome_draws``' columns (and of ``mcse``)."""
    return fc.table().set_index("outcome")["p"].reindex(fc.spec.outcome_names).to_numpy()


def report(indicator, value=1, reliability="A1", date="2026-02-10", **kw) -> Evidence:
    return Evidence(indicator=indicator, date=date, value=value, source="test",
                    reliability=reliability, **kw)


# ---- what-if: the refit when Pareto k > 0.7 ----------------------------------------------------
@pytest.mark.slow
def test_what_if_refits_when_pareto_k_is_high_and_matches_a_direct_fit(model, seed_items,
                                                                       default_fit):
    """Every event outcome reported as happened in February: one what-if call whose importance
    weights are too uneven (k = 1.08), so ``refit="auto"`` (the default) refits.

    No single report of the seed's kind reaches k > 0.7 on this fit: of the 42 tried (each
    event outcome reported as happened and each binary indicator reported, A1, on 2026-02-10)
    the largest is 0.64, Maliki's withdrawal, and the next 0.33. A binary report's likelihood
    is bounded and an outcome report moves one hazard. Reports of 25 or more attacks in a
    month do, but their refits have divergent transitions (the gates fail), so their Monte
    Carlo errors cannot be trusted for a comparison.
    """
    new = [report(o) for o in EVENTS]
    auto = default_fit.what_if(*new)
    assert auto.path == "refit" and auto.provenance["path"] == "refit"
    assert auto.pareto_k["all"] > 0.7
    assert auto.sizes == default_fit.sizes and auto.as_of == new[0].date
    direct = iaf.forecast(model, seed_items + new, as_of=auto.as_of, seed=12)
    names = model.spec.outcome_names
    ev = [names.index(o) for o in EVENTS]
    pm = [names.index(o) for o in PM]
    # the events are resolved: certain in both
    assert (probs(auto)[ev] == 1.0).all() and (probs(direct)[ev] == 1.0).all()
    # The unresolved outcomes agree within Z combined standard errors (about 0.01 each).
    # Measured against direct fits with seeds 12-16: at most 1.6 of them (0.95 with seed 12,
    # whose direct fit misses the tail-ESS gate, 320 < 400: its 5% and 95% quantiles are short
    # of draws, not the means compared here, whose errors come from their own ESS).
    se = np.sqrt(mcse(auto) ** 2 + mcse(direct) ** 2)[pm]
    diff = np.abs(probs(auto) - probs(direct))[pm]
    assert (diff < Z * se).all(), (diff, se)
    # The refit was needed: PSIS alone fails the agreement above, being more than Z combined
    # errors away from the direct fit on some PM outcome, so the test fails if no refit ran.
    # Measured: 6.3 to 7.4 errors over direct seeds 12-16 (6.3 with seed 12).
    psis = default_fit.what_if(*new, refit="never")
    assert psis.path == "psis"
    assert (np.abs(probs(psis) - probs(direct))[pm] / se).max() > Z


# ---- attribution against leave-one-out refits -------------------------------------------------
@pytest.fixture(scope="module")
def attribution(default_fit):
    return default_fit.attribution(form="long")


@pytest.mark.slow
@pytest.mark.parametrize("item_id", ["seed-sudani-suspends", "seed-executions-halted"])
def test_attribution_matches_leave_one_out_refits(model, seed_items, default_fit, attribution,
                                                  item_id):
    """The default path (PSIS leave-one-out, k <= 0.7 here) against refitting without the item.

    The two items that move the forecast most (largest shifts 0.117 and 0.034; the next is
    seed-iran-unrest at 0.026). Measured over refit seeds 12-14: at most 1.8 and 1.9 combined
    standard errors (each error at most 0.013).
    """
    rows = attribution[attribution["item"] == item_id].set_index("outcome")
    assert (rows["method"] == "psis").all() and rows["reliable"].all()
    shift = rows["shift"].reindex(model.spec.outcome_names).to_numpy()
    rest = [e for e in seed_items if e.id != item_id]
    refit = iaf.forecast(model, rest, as_of=default_fit.as_of, seed=12)
    refit_shift = probs(default_fit) - probs(refit)
    data = model.data(rest, default_fit.as_of)
    lw, k = default_fit._reweighted(data)
    assert k == pytest.approx(rows["pareto_k"].iloc[0])
    # p_full is common to both shifts; the errors are those of the two leave-one-out answers
    se = np.sqrt(mcse(default_fit, weights=np.exp(lw).reshape(-1), data=data) ** 2
                 + mcse(refit) ** 2)
    assert (np.abs(shift - refit_shift) < Z * se).all(), (shift, refit_shift, se)
    # and the item does move the forecast: a zero shift would fail here (measured with the
    # refit seed 12: 9.4 and 5.6 combined errors for the most-moved outcome; seeds 13-14
    # give 8.7-9.3 and 4.2-4.4)
    assert (np.abs(refit_shift) / se).max() > Z


@pytest.mark.slow
def test_attribution_refits_an_item_whose_k_is_high(model, seed_items):
    """An A1 report of 40 attacks in February: leaving it out of a fit that has it gives
    Pareto k > 0.7 (0.77; 25 attacks gave 0.60 once the spec had judgements and
    outcome-to-outcome effects), so attribution refits without it, with the forecast's own
    seed."""
    attack = report("iamg_attacks_count", 40)
    fc = iaf.forecast(model, seed_items + [attack], seed=21)
    att = fc.attribution(form="long")
    rows = att[att["item"] == attack.id].set_index("outcome")
    assert (rows["method"] == "refit").all() and rows["pareto_k"].iloc[0] > 0.7
    assert rows["reliable"].all()   # the refit without the report passes the gates
    assert (att[att["item"] != attack.id]["method"] == "psis").all()
    # The refit is the forecast without the item on the same as_of, horizon and seed...
    alt = iaf.forecast(model, seed_items, as_of=fc.as_of, seed=fc.seed)
    shift = rows["shift"].reindex(model.spec.outcome_names).to_numpy()
    np.testing.assert_allclose(shift, probs(fc) - probs(alt), rtol=0, atol=1e-12)
    # ... and agrees with an independent refit within Z combined errors (measured against
    # seeds 12-15: 1.2, 1.4, 2.3, 1.3; the errors are at most 0.009). With right errors the
    # largest of 9 normal ratios exceeds 2.5 in about 1 pair in 9; Z leaves room for the errors
    # from each run's ESS understating the spread between runs a little.
    other = iaf.forecast(model, seed_items, as_of=fc.as_of, seed=12)
    se = np.sqrt(mcse(alt) ** 2 + mcse(other) ** 2)
    assert (np.abs(probs(alt) - probs(other)) < Z * se).all()
    # 40 attacks raise the chance of an uncoordinated attack (measured: by 0.16)
    assert shift[model.spec.outcome_names.index("uncoordinated_attack")] > Z * se.max()


def test_attribution_is_zero_exactly_where_a_duplicate_stands_in(seed_forecast):
    """Leaving out a report that a logged duplicate repeats changes nothing, exactly (the
    duplicate counts once its target is gone; the seed has four such pairs). Leaving out any
    other report changes something, including either report of the corroborating pair (the
    smallest largest shift is 5e-4, for the weaker of that pair)."""
    att = seed_forecast.attribution(refit=False, form="long")
    assert set(att["item"]) == {e.id for e in seed_forecast.usable}
    assert att["reliable"].equals(att["pareto_k"] <= 0.7)
    targets = {e.duplicate_of for e in seed_forecast.items if e.duplicate_of}
    assert len(targets) == 4
    for it in seed_forecast.usable:
        shift = att.loc[att["item"] == it.id, "shift"].to_numpy()
        if it.id in targets:
            assert (shift == 0.0).all(), it.id
        else:
            assert np.abs(shift).max() > 1e-4, it.id


# ---- how much a grade counts --------------------------------------------------------------------
GRADES = ["A1", "B2", "C3", "D4", "E5"]   # reliability 0.97, 0.83, 0.60, 0.24, 0.07


@pytest.mark.parametrize("new", [
    report("sistani_signals_opposition_to_maliki"),
    report("sistani_signals_opposition_to_maliki", 0, monitored_absent=True),
    report("militia_public_rift"),
    report("us_threat_or_strike_on_iran"),
    report("iamg_attacks_count", 0),
    report("iamg_attacks_count", 6),
    report("rial_monthly_change_pct", 15.0),
], ids=["binary", "monitored_absent", "binary_cohesion", "binary_escalation", "count_zero",
        "count_six", "continuous"])
def test_a_stronger_grade_moves_every_outcome_at_least_as_far(default_fit, new):
    """The same report graded A1, B2, C3, D4, E5: each stronger grade moves every outcome at
    least as far, in the same direction.

    For one report the importance weight of a draw is ``r L(draw) + (1 - r) F`` with ``F`` the
    false-report likelihood, the same in every draw, so on the same draws the shift
    ``r C / (r S + (1 - r) F)`` grows in ``r`` with a fixed sign: exact for raw weights, and
    only Pareto smoothing of the largest weights can perturb it (the smallest margin measured
    is 2e-5, against a tolerance of 1e-4). A report of 6 attacks moves the forecast the same at
    every grade: a false report of 6 attacks is all but impossible under the false-report rate
    of 0.2 a month (Poisson probability 7e-8), so the likelihood treats it as true.
    """
    p0 = probs(default_fit)
    shifts = np.array([probs(default_fit.what_if(new.model_copy(update={"reliability": g}),
                                                 refit="never")) - p0 for g in GRADES])
    stronger, weaker = shifts[:-1], shifts[1:]
    assert (np.abs(stronger) >= np.abs(weaker) - 1e-4).all(), shifts
    moved = np.abs(stronger) > 1e-3
    assert (np.sign(stronger) == np.sign(weaker))[moved].all(), shifts
    # the report moves something (measured: 0.0045 to 0.087 at A1)
    assert np.abs(shifts[0]).max() > 2e-3
    if new.indicator != "iamg_attacks_count" or new.value == 0:
        # and the grade matters: E5 moves the most-moved outcome less than half as far as A1
        # (measured ratios 0.06 to 0.34)
        j = np.abs(shifts[0]).argmax()
        assert abs(shifts[-1, j]) < 0.5 * abs(shifts[0, j]), shifts[:, j]


@pytest.mark.slow
def test_a_weak_grade_moves_less_than_a_strong_one_on_refits(model, seed_items, default_fit):
    """The same report graded A1 and E5, each fitted directly (not reweighted): the A1 fit
    moves every outcome at least as far, in the same direction, within Monte Carlo error.

    A public rift between militias (PSIS shifts at A1 up to 0.070, at E5 up to 0.022). The
    comparison of ``|shift_A1| >= |shift_E5|`` allows Z combined standard errors of the two
    refits (the base fit is common to both shifts).
    """
    fits = {g: iaf.forecast(model, seed_items + [report("militia_public_rift", reliability=g)],
                            seed=s) for g, s in (("A1", 12), ("E5", 13))}
    p0 = probs(default_fit)
    a, e = (probs(fits[g]) - p0 for g in ("A1", "E5"))
    se = np.sqrt(mcse(fits["A1"]) ** 2 + mcse(fits["E5"]) ** 2)
    assert (np.abs(a) >= np.abs(e) - Z * se).all(), (a, e, se)
    clear = np.abs(e) > Z * se   # E5 moved it beyond noise: then A1 moved it the same way
    assert (np.sign(a) == np.sign(e))[clear].all(), (a, e, se)
    # The rift raises militia fragmentation by much more at A1 than at E5 (measured on these
    # refits: 0.063 and 0.016, 7.8 combined errors of 0.006 apart; the first inequality
    # above holds with at least 0.014 to spare)
    j = model.spec.outcome_names.index("militia_fragmentation")
    assert a[j] - e[j] > Z * se[j], (a[j], e[j], se[j])

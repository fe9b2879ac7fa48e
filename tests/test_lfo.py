"""Leave-future-out indicator check: predictive PITs, PSIS vs refit, the simulated history."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from iamg_forecast.calibration import leave_future_out as L
from iamg_forecast.calibration.simulation_based import uniformity_pvalue


def _draw_report(model, i, eta_s, r, rng):
    """One report from the predictive mixture, given a draw's predictor ``eta_s``."""
    from iamg_forecast.calibration.simulate import _report

    return _report(int(model.indicator_constants["kind"][i]), eta_s, r, model.spec.indicators[i],
                   rng)


@pytest.mark.parametrize("kind", ["binary", "count", "continuous"])
def test_predictive_pit_is_uniform_for_reports_from_the_predictive(model, kind):
    i = next(j for j, ind in enumerate(model.spec.indicators) if ind.kind == kind)
    rng = np.random.default_rng(7)
    eta = rng.normal(-0.5 if kind != "continuous" else 3.0, 0.8, size=200)
    w = np.full(eta.size, 1 / eta.size)
    pits = []
    for _ in range(600):
        y = _draw_report(model, i, float(eta[rng.integers(eta.size)]), 0.83, rng)
        pits.append(L._predictive(model, eta, w, i, y, 0.83, float(rng.random()))[0])
    # 600 reports drawn from the very predictive distribution: randomised PITs are uniform
    # (seeded; the test rejects at 1% with probability 0.01 under uniformity).
    assert uniformity_pvalue(np.array(pits)) > 0.01


def test_predictive_binary_matches_closed_form(model):
    i = next(j for j, ind in enumerate(model.spec.indicators) if ind.kind == "binary")
    fr = model.indicator_constants["false_rate"][i]
    eta = np.array([-1.0, 0.0, 2.0])
    w = np.array([0.2, 0.5, 0.3])
    p1 = w @ (0.7 / (1 + np.exp(-eta)) + 0.3 * fr)
    pit, ls = L._predictive(model, eta, w, i, 1.0, 0.7, 0.25)
    assert pit == pytest.approx((1 - p1) + 0.25 * p1) and ls == pytest.approx(np.log(p1))
    pit0, ls0 = L._predictive(model, eta, w, i, 0.0, 0.7, 0.25)
    assert pit0 == pytest.approx(0.25 * (1 - p1)) and ls0 == pytest.approx(np.log(1 - p1))


def test_predictive_continuous_log_score(model):
    i = next(j for j, ind in enumerate(model.spec.indicators) if ind.kind == "continuous")
    c = model.indicator_constants
    eta = np.array([1.0, 4.0])
    w = np.array([0.5, 0.5])
    dens = w @ (0.6 * stats.norm.pdf(2.0, eta, c["obs_sd"][i])
                + 0.4 * stats.norm.pdf(2.0, c["false_mu"][i], c["false_sd"][i]))
    assert L._predictive(model, eta, w, i, 2.0, 0.6, 0.5)[1] == pytest.approx(np.log(dens))


@pytest.fixture(scope="module")
def history(model):
    return L.simulate_history(model, seed=1, through="2026-04", monitored_share=0.4)


def test_simulated_history_extends_the_seed(model, history, seed_items):
    assert history[:len(seed_items)] == seed_items
    sim = history[len(seed_items):]
    assert sim and all(e.source == "simulated month" for e in sim)
    assert min(e.date for e in sim).isoformat() >= "2026-02-01"
    assert max(e.date for e in sim).isoformat() <= "2026-04-30"
    # deterministic in the seed
    again = L.simulate_history(model, seed=1, through="2026-04", monitored_share=0.4)
    assert [e.id for e in again] == [e.id for e in history]
    assert [e.value for e in again] == [e.value for e in history]


def test_lfo_psis_agrees_with_exact_refits(model, history):
    res = L.lfo(model, history, seed=3)
    exact = L.lfo(model, history, seed=3, exact=True)
    f = res.frame
    assert list(res.months["month"]) == sorted(res.months["month"])
    assert {"month", "indicator", "kind", "value", "reliability", "pit", "log_score", "source",
            "pareto_k", "method"} <= set(f.columns)
    assert f["pit"].between(0, 1).all()
    assert (f.loc[f["kind"] != "continuous", "log_score"] <= 0).all()
    assert res.attrs["fits"] <= exact.attrs["fits"] == len(exact.months)
    # Same cells in the same order. Where PSIS carried the posterior (k <= 0.7) the predictive
    # log score of a report matches the refit's up to Monte Carlo error: each predictive
    # probability is a posterior mean with SE <~ 0.02 (ESS >= 250), i.e. <~ 0.1 on the log
    # scale for probabilities >= 0.2; 0.25 is a loose 2.5 SE bound.
    assert list(f["indicator"]) == list(exact.frame["indicator"])
    psis = (f["method"] == "psis").to_numpy()
    assert psis.any()
    diff = np.abs(f["log_score"].to_numpy() - exact.frame["log_score"].to_numpy())[psis]
    assert diff.max() < 0.25, diff
    s = res.summary(verdict_source="simulated month")
    assert s["n_cells"] == len(f) and s["verdict_source"] == "simulated month"
    assert set(s["by_source"]) == {"seed analysis (Jan 2026)", "simulated month"}
    fig = res.plot()
    assert len(fig.axes) == 3

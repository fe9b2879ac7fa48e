"""Scoring rules and CORP: cross-checked against scoringrules, SciPy and brute force."""

from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import pandas as pd
import pytest
import scoringrules as sr
from scipy.optimize import isotonic_regression

from iamg_forecast.calibration.scores import (
    ALL,
    MIN_N_CALIBRATION,
    CorpResult,
    _mcb_pooled,
    _pool,
    brier,
    brier_skill,
    corp,
    log_score,
    pav,
    plot_reliability,
    score_table,
)

matplotlib.use("Agg")

# Tolerance of 1e-9 for cross-checks of closed-form quantities: both sides are a handful of
# float64 operations per case averaged over <= 5,000 cases, so the rounding error is of order
# 1e-16 * n ≈ 1e-12 at worst; 1e-9 leaves three orders of magnitude of slack while still
# catching any real formula difference (those show up at 1e-3 or above).
TOL = 1e-9


def synthetic(n: int, seed: int, calibrated: bool = True) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=n)
    truth = p if calibrated else p**2
    return p, (rng.uniform(size=n) < truth).astype(float)


# ---- scoring rules vs scoringrules ----------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_brier_and_log_score_match_scoringrules(seed):
    rng = np.random.default_rng(seed)
    n = 2000
    # keep p away from 0/1: scoringrules does not clip, so exact 0/1 would give inf there
    p = rng.uniform(0.001, 0.999, size=n)
    y = (rng.uniform(size=n) < rng.uniform(size=n)).astype(float)
    assert brier(p, y) == pytest.approx(float(np.mean(sr.brier_score(y, p))), abs=TOL)
    assert log_score(p, y) == pytest.approx(float(np.mean(sr.log_score(y, p))), abs=TOL)


def test_brier_is_on_the_zero_one_scale():
    assert brier([1.0], [0]) == 1.0
    assert brier([0.5, 0.5], [0, 1]) == 0.25
    assert brier(np.ones(3), np.ones(3)) == 0.0


def test_log_score_clips_instead_of_returning_infinity():
    assert log_score([0.0], [1]) == pytest.approx(-np.log(1e-12), rel=1e-9)
    assert log_score([1.0], [1]) == pytest.approx(0.0, abs=1e-11)
    assert np.isfinite(log_score([1.0, 0.0], [0, 1]))


def test_brier_skill_against_float_and_array_references():
    p, y = synthetic(500, 3)
    clim = y.mean()
    expected = 1 - np.mean((p - y) ** 2) / np.mean((clim - y) ** 2)
    assert brier_skill(p, y, clim) == pytest.approx(expected, abs=TOL)
    prior = np.full_like(p, 0.3)
    prior[::2] = 0.6
    expected = 1 - np.mean((p - y) ** 2) / np.mean((prior - y) ** 2)
    assert brier_skill(p, y, prior) == pytest.approx(expected, abs=TOL)
    assert brier_skill(p, y, p) == 0.0
    assert np.isnan(brier_skill([0.4, 0.6], [1, 1], 1.0))  # reference perfect: undefined


@pytest.mark.parametrize(("p", "y", "match"), [
    ([0.2, 1.2], [0, 1], r"\[0, 1\]"),
    ([0.2, np.nan], [0, 1], r"\[0, 1\]"),
    ([0.2, 0.3], [0, 2], "0 or 1"),
    ([0.2], [0, 1], "same length"),
    ([], [], "at least one"),
])
def test_bad_inputs_are_named(p, y, match):
    with pytest.raises(ValueError, match=match):
        brier(p, y)


# ---- PAV ----------------------------------------------------------------------------------
def brute_force_isotonic(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Isotonic regression by the min-max formula over pooled distinct values.

    For pooled means m_j with weights w_j (j over sorted distinct p), the solution at j is
    max_{a <= j} min_{b >= j} (sum_{a..b} w m) / (sum_{a..b} w) (Robertson, Wright & Dykstra
    1988, Thm 1.4.4): an O(k^3) definition that shares no code with PAV.
    """
    xs = np.unique(p)
    w = np.array([np.sum(p == v) for v in xs], dtype=float)
    m = np.array([y[p == v].mean() for v in xs])
    k = xs.size
    fit = np.empty(k)
    for j in range(k):
        fit[j] = max(min(np.sum(w[a:b + 1] * m[a:b + 1]) / np.sum(w[a:b + 1])
                         for b in range(j, k)) for a in range(j + 1))
    return fit[np.searchsorted(xs, p)]


@pytest.mark.parametrize("seed", range(5))
def test_pav_matches_scipy_without_ties(seed):
    p, y = synthetic(3000, seed)
    order = np.argsort(p)
    expected = np.empty_like(p)
    expected[order] = isotonic_regression(y[order]).x
    assert np.max(np.abs(pav(p, y) - expected)) < TOL


@pytest.mark.parametrize("seed", range(20))
def test_pav_matches_brute_force_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    p = rng.choice([0.0, 0.1, 0.25, 0.5, 0.7, 0.9, 1.0], size=n)
    y = (rng.uniform(size=n) < rng.uniform(size=n)).astype(float)
    got = pav(p, y)
    assert np.max(np.abs(got - brute_force_isotonic(p, y))) < TOL
    for v in np.unique(p):  # ties recalibrate to one value
        assert np.ptp(got[p == v]) == 0


def test_pav_is_monotone_and_in_input_order():
    p = np.array([0.9, 0.1, 0.5, 0.3])
    y = np.array([1, 0, 0, 1])
    got = pav(p, y)
    assert got.tolist() == [1.0, 0.0, 0.5, 0.5]
    order = np.argsort(p)
    assert np.all(np.diff(got[order]) >= 0)


# ---- CORP decomposition ----------------------------------------------------------------------
@pytest.mark.parametrize(("seed", "calibrated"), list(itertools.product(range(4), [True, False])))
def test_corp_identity_and_signs(seed, calibrated):
    p, y = synthetic(1500, seed, calibrated)
    res = corp(p, y, n_boot=0)
    assert abs(brier(p, y) - (res.mcb - res.dsc + res.unc)) < TOL
    assert res.mcb >= 0 and res.dsc >= 0
    assert res.unc == pytest.approx(y.mean() * (1 - y.mean()), abs=TOL)
    assert res.score == pytest.approx(brier(p, y), abs=TOL)


def test_corp_with_ties_and_rounded_forecasts():
    rng = np.random.default_rng(7)
    p = np.round(rng.uniform(size=2000), 1)
    y = (rng.uniform(size=2000) < p).astype(float)
    res = corp(p, y, n_boot=200)
    assert res.x.tolist() == sorted(set(p.tolist()))
    assert res.counts.sum() == 2000
    assert abs(brier(p, y) - (res.mcb - res.dsc + res.unc)) < TOL


def test_corp_equals_murphy_binning_when_pav_does_not_pool():
    # Three forecast values whose observed frequencies already increase: PAV pools nothing, so
    # MCB and DSC reduce to Murphy's reliability and resolution terms computed by hand.
    p = np.repeat([0.2, 0.5, 0.8], [10, 10, 10])
    y = np.concatenate([np.r_[np.ones(3), np.zeros(7)], np.r_[np.ones(4), np.zeros(6)],
                        np.r_[np.ones(9), np.zeros(1)]])
    freq, ybar, w = np.array([0.3, 0.4, 0.9]), y.mean(), np.full(3, 10 / 30)
    res = corp(p, y, n_boot=0)
    assert res.cep.tolist() == pytest.approx(freq.tolist(), abs=TOL)
    assert res.mcb == pytest.approx(float(np.sum(w * (np.array([0.2, 0.5, 0.8]) - freq) ** 2)),
                                    abs=TOL)
    assert res.dsc == pytest.approx(float(np.sum(w * (freq - ybar) ** 2)), abs=TOL)


def test_pooled_mcb_formula_used_by_the_bootstrap_equals_the_direct_one():
    p, y = synthetic(800, 11, calibrated=False)
    res = corp(p, y, n_boot=0)
    _, x, _, counts, sums = _pool(p, y)
    assert float(_mcb_pooled(x, counts, sums, res.cep, p.size)) == pytest.approx(res.mcb,
                                                                                 abs=TOL)


def test_calibrated_forecasts_lie_in_their_consistency_band():
    p, y = synthetic(5000, 2024)
    res = corp(p, y, n_boot=1000, seed=1)
    # pointwise 95 % bands: a calibrated curve should be inside at about 95 % of points; the
    # points are strongly dependent (PAV pools neighbours), so allow down to the brief's 90 %.
    assert res.band_coverage >= 0.90, res.band_coverage
    assert res.mcb_pvalue > 0.05, res.mcb_pvalue
    assert np.all(res.band_lo <= res.band_hi)


def test_miscalibrated_forecasts_have_significant_mcb():
    p, y = synthetic(5000, 2024, calibrated=False)
    res = corp(p, y, n_boot=1000, seed=1)
    # E[(p - p^2)^2] = 1/30 for p ~ U(0, 1); resampled MCB under calibration is ~0.002, so
    # every one of the 1000 resamples is smaller and the p-value is the minimum 1/1001.
    assert res.mcb == pytest.approx(1 / 30, abs=0.01)
    assert res.mcb_pvalue == pytest.approx(1 / 1001)
    assert res.band_coverage < 0.5


def test_corp_is_reproducible_with_a_seed():
    p, y = synthetic(300, 5)
    a, b = corp(p, y, n_boot=100, seed=3), corp(p, y, n_boot=100, seed=3)
    assert np.array_equal(a.band_lo, b.band_lo) and a.mcb_pvalue == b.mcb_pvalue


def test_corp_result_views():
    p, y = synthetic(200, 9)
    res = corp(p, y, n_boot=50)
    assert isinstance(res, CorpResult)
    frame = res.to_frame()
    assert list(frame.columns) == ["x", "cep", "n", "band_lo", "band_hi", "inside_band"]
    assert len(frame) == res.x.size and frame.attrs["n"] == 200
    html = res._repr_html_()
    assert "MCB" in html and "DSC" in html and "UNC" in html
    assert "CorpResult(n=200" in repr(res)
    plain = corp(p, y, n_boot=0)
    assert np.isnan(plain.mcb_pvalue) and np.isnan(plain.band_coverage)
    assert "n/a" in plain._repr_html_()


# ---- score table ---------------------------------------------------------------------------
def test_score_table_small_sample_makes_no_calibration_claim():
    p, y = synthetic(60, 1)
    df = pd.DataFrame({"outcome": np.where(np.arange(60) % 2, "a", "b"), "p": p, "y": y})
    t = score_table(df)
    assert t["outcome"].tolist() == ["b", "a", ALL]
    assert t["n"].tolist() == [30, 30, 60]
    assert t["calibrated_claim"].tolist() == [
        "insufficient (n=30, need ≥ 100)", "insufficient (n=30, need ≥ 100)",
        "insufficient (n=60, need ≥ 100)"]
    assert t["mcb_pvalue"].isna().all()
    assert (t["climatology"] == "sample mean").all()
    assert np.isnan(t["bss_prior"]).all() and (t["n_prior"] == 0).all()
    row = t.iloc[-1]
    assert row["brier"] == pytest.approx(brier(p, y), abs=TOL)
    assert row["log_score"] == pytest.approx(log_score(p, y), abs=TOL)
    assert row["brier"] == pytest.approx(row["mcb"] - row["dsc"] + row["unc"], abs=TOL)


def test_score_table_claim_needs_100_and_reports_the_test():
    p, y = synthetic(MIN_N_CALIBRATION - 1, 4)
    t = score_table(pd.DataFrame({"outcome": "a", "p": p, "y": y}))
    assert t["calibrated_claim"].iloc[0].startswith("insufficient (n=99")
    p, y = synthetic(400, 4)
    t = score_table(pd.DataFrame({"outcome": "a", "p": p, "y": y}), n_boot=300)
    assert t["calibrated_claim"].iloc[0].startswith("calibration not rejected")
    p, y = synthetic(400, 4, calibrated=False)
    t = score_table(pd.DataFrame({"outcome": "a", "p": p, "y": y}), n_boot=300)
    assert t["calibrated_claim"].iloc[0].startswith("calibration rejected")
    assert t["mcb_pvalue"].iloc[0] < 0.05


def test_score_table_reference_classes_and_priors():
    p, y = synthetic(40, 8)
    base = np.where(np.arange(40) < 20, 0.3, np.nan)
    prior = np.where(np.arange(40) % 4 == 0, 0.5, np.nan)
    outcome = np.where(np.arange(40) < 20, "rc", "none")
    df = pd.DataFrame({"outcome": outcome, "p": p, "y": y, "base_rate": base, "prior_p": prior})
    t = score_table(df).set_index("outcome")
    assert t.loc["rc", "climatology"] == "reference class"
    assert t.loc["none", "climatology"] == "sample mean"
    assert t.loc[ALL, "climatology"].startswith("mixed (20 of 40")
    m = np.arange(40) < 20
    assert t.loc["rc", "bss_climatology"] == pytest.approx(brier_skill(p[m], y[m], 0.3), abs=TOL)
    ref_none = y[~m].mean()
    assert t.loc["none", "bss_climatology"] == pytest.approx(
        brier_skill(p[~m], y[~m], ref_none), abs=TOL)
    has = ~np.isnan(prior)
    assert t.loc[ALL, "n_prior"] == has.sum()
    assert t.loc[ALL, "bss_prior"] == pytest.approx(brier_skill(p[has], y[has], 0.5), abs=TOL)


def test_score_table_empty_and_missing_columns():
    empty = score_table(pd.DataFrame({"outcome": [], "p": [], "y": []}))
    assert empty.empty and "calibrated_claim" in empty.columns
    with pytest.raises(ValueError, match="missing"):
        score_table(pd.DataFrame({"outcome": ["a"], "p": [0.5]}))


# ---- plot ---------------------------------------------------------------------------------
def test_plot_reliability_returns_a_figure_and_uses_a_given_axes():
    from matplotlib.figure import Figure

    p, y = synthetic(300, 2)
    res = corp(p, y, n_boot=100)
    fig = plot_reliability(res)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and len(ax.collections) == 1  # diagonal + curve; band
    assert len(ax.child_axes) == 1  # histogram inset
    other = Figure()
    given = other.add_subplot()
    assert plot_reliability(corp(p, y, n_boot=0), ax=given) is other
    assert len(given.collections) == 0  # no band without resampling

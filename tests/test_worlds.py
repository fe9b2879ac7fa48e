"""Simulated-world scoring: world -> evidence round trip, forecast path, PSIS what-if, scores."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from iamg_forecast.calibration import engine as E
from iamg_forecast.calibration import simulation_based as S
from iamg_forecast.calibration.fits import TAG_FIT, seed_of
from iamg_forecast.calibration.simulate import simulate_worlds
from iamg_forecast.calibration.worlds import (
    WorldScores,
    holdout_forecast,
    score_worlds,
    world_evidence,
)
from iamg_forecast.evidence.cells import DATA_SLOTS
from iamg_forecast.evidence.items import check_against_spec

CFG = {"seed": 0, "draws": 400, "tune": 300, "chains": 2, "thin_to": 100}


@pytest.fixture(scope="module")
def worlds(model):
    return simulate_worlds(model, S.default_pattern(model), 25, seed=0)


def test_world_evidence_reproduces_world_data(model, worlds):
    for w in worlds:
        items = world_evidence(model, w)
        assert not [p for it in items for p in check_against_spec(it, model.spec)]
        data = model.data(items, w.as_of)
        for key in DATA_SLOTS:
            # reliabilities of corroborated pairs are recombined: equal up to rounding
            np.testing.assert_allclose(data[key], w.data[key], rtol=0, atol=1e-12, err_msg=key)
    # the seed's corroborated disarmament signals become two linked items
    assert any(it.corroborates for it in world_evidence(model, worlds[0]))


def test_record_probabilities_are_the_forecasts(model, worlds):
    """The SBC/world record's forecast equals Forecast._from_fit on the same draws."""
    from iamg_forecast.forecast import Forecast
    from iamg_forecast.inference import sample_posterior

    w = next(x for x in worlds if x.resolved.any())  # exercise a resolution too
    rec = E._full_record(model, model, w, CFG, None)
    idata = sample_posterior(model, w.data, seed=seed_of(0, w.index, TAG_FIT),
                             draws=400, tune=300, chains=2)
    fc = Forecast._from_fit(model, idata, world_evidence(model, w), w.as_of, w.horizon, 0,
                            {"draws": 400, "tune": 300, "chains": 2}, "icd203")
    np.testing.assert_allclose(rec["p_fit"], fc.weights @ fc.outcome_draws(), atol=1e-12)
    # A resolved outcome's forecast is certain, and it is what happened: exactly 1 or 0.
    p = np.array(rec["p_fit"])
    happened = np.array(rec["happened"], dtype=float)
    assert np.array(rec["resolved"]).tolist() == w.resolved.tolist()
    np.testing.assert_array_equal(p[w.resolved], happened[w.resolved])
    np.testing.assert_array_equal(happened, w.happened.astype(float))


def _mean_and_se(x, w, chains):
    """Weighted mean of per-draw values ``x`` and its Monte Carlo SE, with the MCMC ESS.

    A self-normalised weighted mean of autocorrelated draws has variance
    ``sum_s w_s^2 (x_s - xbar)^2 * S / ESS_mcmc(x)`` (``var(x) / ESS_mcmc`` for equal weights).
    """
    from arviz_stats.base import array_stats

    xbar = float(w @ x)
    if np.ptp(x) == 0:
        return xbar, 0.0, np.inf
    ess = float(array_stats.ess(x.reshape(chains, -1), method="mean", chain_axis=-2,
                                draw_axis=-1))
    return xbar, float(np.sqrt(np.sum(w ** 2 * (x - xbar) ** 2) * x.size / ess)), ess


def test_psis_what_if_agrees_with_refit(model, worlds, monkeypatch):
    from iamg_forecast.calibration import holdout as H

    w = worlds[1]
    quantities, forecasts = [], []
    real_q, real_p = E.quantities, H.probabilities
    monkeypatch.setattr(E, "quantities", lambda *a, **kw: quantities.append(real_q(*a, **kw))
                        or quantities[-1])
    full = E._full_record(model, model, w, CFG, None)
    monkeypatch.setattr(E, "quantities", real_q)
    monkeypatch.setattr(H, "probabilities", lambda fc: forecasts.append(fc) or real_p(fc))
    rec = holdout_forecast(model, w, seed=0, draws=400, tune=300, chains=2, holdout_seed=5,
                           fit_seed=6)
    assert rec["pareto_k"] < 0.7  # one weak report: a small update
    assert rec["held_out"]["indicator"] in model.spec.indicator_names
    # Per-draw outcome probabilities of the full fit and of the PSIS-updated reduced fit (the
    # last Forecast whose probabilities were taken), reproducing both records.
    n_lat, n_out = len(model.spec.latent_order), len(model.spec.outcome_names)
    x_full = quantities[0][:, n_lat:n_lat + n_out]
    after = forecasts[-1]
    x_psis, w_psis = after.outcome_draws(), after.weights
    w_full = np.full(x_full.shape[0], 1 / x_full.shape[0])
    est = np.array([[*_mean_and_se(x_full[:, j], w_full, 2), *_mean_and_se(x_psis[:, j],
                                                                            w_psis, 2)]
                    for j in range(n_out)])
    np.testing.assert_allclose(est[:, 0], full["p_fit"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(est[:, 3], rec["p_psis"], rtol=0, atol=1e-12)
    # Resolved outcomes are certain on both paths.
    np.testing.assert_allclose(est[w.resolved, 0], est[w.resolved, 3], rtol=0, atol=1e-12)
    # Two independent fits of 800 draws: the difference of the means has SE
    # sqrt(se_full^2 + se_psis^2), each SE computed from the draws. Bonferroni over the
    # unresolved outcomes at a family-wise 1% gives z = 3.1 for the 6 of them; seeded, the
    # largest |diff| / SE is 1.6. The normal approximation needs enough effective draws:
    # seeded, the smallest MCMC ESS is 582 and the importance-sampling ESS 770; 100 is required.
    open_ = ~w.resolved
    assert open_.any()
    assert min(est[open_, 2].min(), est[open_, 5].min(), 1 / np.sum(w_psis ** 2)) >= 100
    z = stats.norm.ppf(1 - 0.01 / (2 * open_.sum()))
    ratio = np.abs(est[open_, 0] - est[open_, 3]) / np.hypot(est[open_, 1], est[open_, 4])
    assert ratio.max() < z, np.round(ratio, 2)


def _fake_records(n: int, rng: np.random.Generator, calibrated: bool):
    full, whatif = [], []
    for k in range(n):
        p_true = rng.beta(0.6, 1.6, size=9)
        happened = rng.random(9) < p_true
        p_fit = p_true if calibrated else np.clip(p_true + rng.normal(0, 0.35, 9), 0.01, 0.99)
        full.append({"k": k, "p_fit": p_fit.tolist(), "p_true": p_true.tolist(),
                     "happened": happened.tolist(), "resolved": [False] * 9})
        whatif.append({"k": k, "pareto_k": 0.3 if k % 2 else 0.9, "p_psis": p_fit.tolist(),
                       "p_reduced": p_fit.tolist()})
    return full, whatif


def test_scores_of_calibrated_and_noisy_forecasts(model):
    rng = np.random.default_rng(4)
    full, whatif = _fake_records(300, rng, calibrated=True)
    ws = WorldScores.from_records(full, whatif, model, n_boot=500)
    fit = ws.paths.set_index("path").loc["fit"]
    # 2700 forecasts equal to the true probabilities: skilful with a CI far from 0, and the
    # MCB test of calibration (level 5%) does not reject (seeded: p = 0.21; lower CI bound 0.28).
    assert fit["bss_lo95"] > 0.1 and fit["skill_verdict"] == "skilful"
    assert fit["mcb_pvalue"] > 0.05
    assert fit["bss_lo95"] <= fit["bss_climatology"] <= fit["bss_hi95"]
    assert set(ws.paths["path"]) == {"fit", "psis", "auto", "true"}
    noisy = WorldScores.from_records(*_fake_records(300, rng, calibrated=False), model,
                                     n_boot=200)
    # noise of sd 0.35 on the probabilities destroys calibration (MCB p at its floor)
    assert noisy.paths.set_index("path").loc["fit", "mcb_pvalue"] < 0.01


def test_auto_path_falls_back_to_refit(model):
    full, whatif = _fake_records(4, np.random.default_rng(0), calibrated=True)
    for w in whatif:
        w["p_psis"] = [0.5] * 9
    ws = WorldScores.from_records(full, whatif, model, n_boot=10)
    f = ws.frame
    high_k = f["pareto_k"] > 0.7
    np.testing.assert_allclose(f.loc[high_k, "p_auto"], f.loc[high_k, "p_fit"])
    np.testing.assert_allclose(f.loc[~high_k, "p_auto"], 0.5)


@pytest.mark.slow
def test_score_worlds_end_to_end(model, tmp_path):
    ws = score_worlds(model, 4, whatif=2, executor=S.InlineExecutor(), store=tmp_path,
                      n_boot=50)
    assert ws.attrs["n_worlds"] == 4 and ws.attrs["n_whatif"] == 2
    assert len(ws.frame) == 4 * len(model.spec.outcome_names)
    assert not ws.frame.loc[ws.frame["scored"], "resolved"].any()
    assert ws.frame["p_psis"].notna().sum() == 2 * len(model.spec.outcome_names)
    assert (tmp_path / "sims" / "whatif_000001.json").exists()

"""Correctness against an analytic posterior: Beta prior, binary evidence."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import yaml
from arviz_stats.base import array_stats
from scipy import stats

import iamg_forecast as iaf
from iamg_forecast.evidence import Evidence
from iamg_forecast.spec import default_priors_dir

A, B = 2.0, 3.0
K, N = 7, 20  # reports of the event in 7 of 20 monitored months


def conjugate_spec(tmp_path):
    """One latent that barely moves; the indicator's probability has a Beta(2, 3) prior."""
    rel = yaml.safe_load((default_priors_dir() / "reliability.yaml").read_text())
    # A1 means "certain" here so the likelihood is exactly Bernoulli (clipped at 1 - 1e-6).
    rel["reliability"]["table"]["A"][0] = 0.999999
    tiny = {"value": 1e-4, "rationale": "frozen latent for the test"}
    spec = {
        "scenario": {"name": "conjugate", "title": "Beta-Bernoulli check",
                     "start_month": "2024-01", "end_month": "2025-12",
                     "default_horizon": "2025-12-31"},
        "latents": [{"name": "x", "role": "driver", "description": "inert",
                     "initial": {"dist": "Normal", "mu": 0, "sigma": 1e-4,
                                 "rationale": "inert latent"},
                     "innovation_sd": tiny}],
        "indicators": [{"name": "event", "kind": "binary", "description": "the event",
                        "baseline": {"dist": "Beta", "alpha": A, "beta": B,
                                     "rationale": "the Beta prior under test"},
                        "loadings": [{"latent": "x", "sign": "+",
                                      "prior": {"dist": "HalfNormal", "sigma": 1e-4,
                                                "rationale": "inert loading"}}],
                        "false_report_rate": {"value": 0.5, "rationale": "irrelevant"}}],
        "outcomes": [{"name": "o", "question": "q?", "resolution": "r", "type": "event",
                      "base": {"dist": "Normal", "mu": -3, "sigma": 1, "rationale": "any"},
                      "plausible": [0.0, 1.0]}],
        **rel,
    }
    path = tmp_path / "conjugate.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.slow
def test_beta_binary_posterior_matches_analytic(tmp_path):
    model = iaf.load_model(conjugate_spec(tmp_path))
    items = []
    for m in range(N):
        d = dt.date(2024 + m // 12, m % 12 + 1, 15)
        items.append(Evidence(indicator="event", date=d, value=1 if m < K else 0,
                              monitored_absent=m >= K, source="test", reliability="A1"))
    fc = iaf.forecast(model, items, as_of="2025-09-30", horizon="2025-12-31", seed=3,
                      draws=2000, tune=1000, chains=4)
    eta = fc.draws["indicator_eta"][:, :, 0, 0]  # (chain, draw): logit of p
    p = 1 / (1 + np.exp(-eta))
    post = stats.beta(A + K, B + N - K)
    mean_mcse = float(array_stats.mcse(p, method="mean"))
    assert abs(p.mean() - post.mean()) < 3 * mean_mcse, (p.mean(), post.mean(), mean_mcse)
    for q in (0.05, 0.95):
        est = np.quantile(p, q)
        q_mcse = float(array_stats.mcse(p, method="quantile", prob=q))
        assert abs(est - post.ppf(q)) < 3 * q_mcse, (q, est, post.ppf(q), q_mcse)

"""Shared, session-scoped fixtures: one compiled model and one small fitted forecast per run."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

import iamg_forecast as iaf
from iamg_forecast.evidence import Evidence

# Scripts the tests run as child processes: not modules to import (``--doctest-modules``).
collect_ignore_glob = ["helpers/*"]

# Plumbing tests use small fits; statistical tests ask for their own sizes explicitly.
SMALL = {"draws": 300, "tune": 300, "chains": 2}


@pytest.fixture(scope="session")
def spec():
    return iaf.load_spec()


@pytest.fixture(scope="session")
def model():
    return iaf.load_model()


@pytest.fixture(scope="session")
def seed_items() -> list[Evidence]:
    raw = yaml.safe_load(iaf.seed_evidence_path().read_text(encoding="utf-8"))
    return [Evidence(**row) for row in raw["evidence"]]


@pytest.fixture(scope="session")
def seed_forecast(model, seed_items):
    """The default model fitted to the seed evidence, small draws (plumbing, not numbers)."""
    return iaf.forecast(model, seed_items, seed=7, **SMALL)


@pytest.fixture(scope="session")
def default_fit(model, seed_items):
    """Default sampling settings (the gates are stated for these; about a second once
    compiled): also for the direction of small effects, which the small fit's Monte Carlo
    error can flip."""
    return iaf.forecast(model, seed_items, seed=11)


def mcse(fc, weights: np.ndarray | None = None, data: dict | None = None) -> np.ndarray:
    """Monte Carlo standard error of each outcome probability of ``fc`` (in table order).

    Self-normalised importance sampling, ``sqrt(sum w^2 (p - mean)^2)``, inflated by the
    draws' autocorrelation (ESS of the mean over the number of draws, from arviz-stats).
    ``weights`` (flat, summing to 1) and ``data`` default to the forecast's own; pass others
    for a reweighting the forecast does not hold (a leave-one-out of attribution).
    """
    from arviz_stats.base import array_stats

    p = fc.outcome_draws(data=data)                     # (draws, outcome)
    w = fc.weights if weights is None else weights
    mean = w @ p
    is_se = np.sqrt((w[:, None] ** 2 * (p - mean) ** 2).sum(axis=0))
    chains = fc.sizes["chains"]
    x = np.moveaxis(p.reshape(chains, -1, p.shape[1]), -1, 0)   # (outcome, chain, draw)
    r_eff = array_stats.ess(x, method="mean", chain_axis=-2, draw_axis=-1) / p.shape[0]
    return is_se / np.sqrt(np.clip(r_eff, 1e-3, 1.0))


@pytest.fixture()
def tmp_workspace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path

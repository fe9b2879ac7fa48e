"""The test quantities of simulation-based calibration, and the rank of the truth among draws.

For every simulated world the truth is ranked among the fit's draws for every latent at the
``as_of`` month, every outcome's probability by the horizon, the joint log-likelihood of the
world's data and the log-likelihood of its newest report (Talts et al. 2018; Modrák et al.
2023 for data-dependent quantities such as the log-likelihood). When the sampler, the
likelihood and the priors agree, every rank is uniform.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np

from iamg_forecast.diagnostics import gate_statistics
from iamg_forecast.forecast import apply_resolutions
from iamg_forecast.likelihood import NP
from iamg_forecast.model import ScenarioModel

__all__ = ["quantity_names", "newest_report_cell", "outcome_probs", "quantities",
           "rank_truth"]


def quantity_names(model: ScenarioModel) -> list[str]:
    """Names of the ranked quantities: ``latent:<name>``, ``p:<outcome>``, ``loglik`` and
    ``loglik:newest_report``.

    Examples
    --------
    >>> from iamg_forecast import load_model
    >>> names = quantity_names(load_model())
    >>> names[0], names[-2:], len(names)
    ('latent:iran_domestic_crisis', ['loglik', 'loglik:newest_report'], 23)
    """
    s = model.spec
    return ([f"latent:{n}" for n in s.latent_order] + [f"p:{o}" for o in s.outcome_names]
            + ["loglik", "loglik:newest_report"])


def newest_report_cell(data: dict[str, np.ndarray]) -> tuple[int, int] | None:
    """``(indicator, month)`` of the newest report: the most reliable observed report of the
    latest observed month (first in indicator order on ties); None without observed cells.

    Examples
    --------
    >>> newest_report_cell({"ind_observed": np.array([[1.0, 1.0], [0.0, 1.0]]),
    ...                     "ind_rel": np.array([[0.83, 0.66], [0.5, 0.83]])})
    (1, 1)
    """
    obs = np.asarray(data["ind_observed"])
    cells = list(zip(*np.nonzero(obs), strict=True))
    if not cells:
        return None
    rel = data["ind_rel"]
    i, m = min(cells, key=lambda c: (-c[1], -rel[c], c[0]))
    return int(i), int(m)


def outcome_probs(model: ScenarioModel, hz: np.ndarray, data: dict, h_idx: int) -> np.ndarray:
    """Per-draw probability of each outcome by month ``h_idx``: the forecast's own function."""
    _, cum = model._outcome_terms(hz, data, ops=NP)
    p = np.array(cum[..., h_idx], copy=True)
    return apply_resolutions(model.spec, p, data, h_idx)


def quantities(model: ScenarioModel, lat: np.ndarray, eta: np.ndarray, hz: np.ndarray,
               data: dict, as_of: dt.date, horizon: dt.date) -> np.ndarray:
    """Test quantities ``(n, Q)`` from flat draws ``lat (n, L, M)``, ``eta``, ``hz``.

    The last one is the log-likelihood of the newest report alone (:func:`newest_report_cell`):
    the report an analyst has just logged, and the one whose weight errors (a report counted
    twice) the other quantities barely see.
    """
    s = model.spec
    m_as = s.month_index(as_of)
    h_idx = s.month_index(horizon)
    p = outcome_probs(model, hz, data, h_idx)
    ll = model.loglik(eta, hz, data)
    newest = np.zeros(np.shape(data["ind_observed"]), bool)
    cell = newest_report_cell(data)
    if cell is not None:
        newest[cell] = True
    ll_new = model.loglik(eta, hz, data, cells=newest, outcomes=False)
    return np.concatenate([lat[:, :, m_as], p, ll[:, None], np.reshape(ll_new, (-1, 1))],
                          axis=1)


def _ess_rhat(q: np.ndarray) -> tuple[float, float]:
    """Minimum bulk ESS and maximum rank R-hat of ``q (chain, draw, Q)`` over varying columns."""
    arr = np.moveaxis(q, -1, 0)
    keep = np.ptp(arr.reshape(arr.shape[0], -1), axis=1) > 0
    n = q.shape[0] * q.shape[1]
    if not keep.any():
        return float(n), 1.0
    rhat, ess, _ = gate_statistics(arr[keep])
    return float(np.min(ess)), float(np.max(rhat)) if q.shape[0] > 1 else float("nan")


def rank_truth(draws_q: np.ndarray, truth: np.ndarray, thin_to: int, rng: np.random.Generator
               ) -> dict[str, Any]:
    """Thin ``draws_q (chain, draw, Q)`` and rank ``truth (Q,)`` among the kept draws.

    The thinning step is ``max(ceil(N / ESS), ceil(N / thin_to))`` with ``N`` all draws and ESS
    the smallest bulk ESS of the varying quantities. Ties (e.g. a resolved outcome, probability
    1 in every draw) are broken uniformly at random, and ``pit = (rank + V) / (L + 1)`` with
    ``V ~ U(0, 1)`` is exactly uniform on (0, 1) for a correct model whatever ``L``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> q = rng.normal(size=(2, 200, 1))
    >>> r = rank_truth(q, np.array([10.0]), thin_to=50, rng=rng)
    >>> r["rank"] == [r["L"]], r["L"] <= 50
    (True, True)
    """
    n_chain, n_draw = draws_q.shape[:2]
    total = n_chain * n_draw
    ess, rhat = _ess_rhat(draws_q)
    step = max(math.ceil(total / max(ess, 1.0)), math.ceil(total / thin_to), 1)
    kept = draws_q[:, ::step, :].reshape(-1, draws_q.shape[-1])
    n_kept = kept.shape[0]
    less = (kept < truth[None, :]).sum(axis=0)
    equal = (kept == truth[None, :]).sum(axis=0)
    rank = less + rng.integers(0, equal + 1)
    pit = (rank + rng.random(rank.shape)) / (n_kept + 1)
    return {"rank": rank.astype(int).tolist(), "pit": pit.tolist(), "L": int(n_kept),
            "thin": int(step), "ess_min": float(ess), "rhat_max": float(rhat)}

"""Tests that ranks are uniform: the simultaneous ECDF band and Holm's correction.

Uniformity is judged per quantity with the simultaneous ECDF band of Säilynoja, Bürkner &
Vehtari (2022) and across quantities with Holm's step-down procedure, which controls the
family-wise error at ``alpha`` whatever the dependence between the quantities. The band drawn
by :func:`~iamg_forecast.calibration.plots.ecdf_band` is the one these tests use.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

__all__ = ["uniformity_pvalue", "band_gamma", "holm"]


@lru_cache(maxsize=64)
def _null_gamma(n: int, n_null: int = 4000, seed: int = 20220412) -> np.ndarray:
    """Null distribution of the simultaneous-band statistic for ``n`` uniform values (sorted).

    The statistic (Säilynoja, Bürkner & Vehtari 2022, simulation method) is
    ``1 - 2 * min_z min(F_Bin(c_z), 1 - F_Bin(c_z - 1))`` over the grid ``z = 1/n .. (n-1)/n``,
    with ``c_z`` the ECDF count and ``F_Bin`` the Binomial(n, z) CDF: how extreme the most
    extreme point of the ECDF is.
    """
    rng = np.random.default_rng(seed)
    out = np.empty(n_null)
    block = max(1, 2_000_000 // max(n, 1))
    for s in range(0, n_null, block):
        u = rng.random((min(block, n_null - s), n))
        out[s:s + u.shape[0]] = _gamma_stat(u)
    return np.sort(out)


def _gamma_stat(u: np.ndarray) -> np.ndarray:
    """Band statistic of each row of ``u (rows, n)`` of values in (0, 1)."""
    from scipy.special import bdtr

    rows, n = u.shape
    if n < 2:
        return np.zeros(rows)
    z = np.arange(1, n) / n
    b = np.clip(np.ceil(u * n).astype(np.int64), 1, n)  # u <= i/n  <=>  ceil(u n) <= i
    flat = (b + np.arange(rows)[:, None] * (n + 1)).ravel()
    counts = np.bincount(flat, minlength=rows * (n + 1)).reshape(rows, n + 1).cumsum(axis=1)
    c = counts[:, 1:n]
    lower = bdtr(c, n, z).min(axis=1)
    # P(X >= c) = 1 - F(c - 1), and 1 for c = 0 (bdtr is NaN at -1)
    upper = np.where(c > 0, 1.0 - bdtr(np.maximum(c - 1, 0), n, z), 1.0).min(axis=1)
    return 1.0 - 2.0 * np.minimum(lower, upper)


def uniformity_pvalue(pit: Sequence[float] | np.ndarray, n_null: int = 4000) -> float:
    """P-value of the simultaneous ECDF-band test of uniformity on (0, 1).

    ``p < alpha`` exactly when the ECDF leaves the ``1 - alpha`` simultaneous band drawn by
    :func:`~iamg_forecast.calibration.plots.plot_sbc_ecdf` (up to Monte Carlo error of the
    band, ``n_null`` uniform samples). The smallest attainable value is ``1 / (n_null + 1)``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> uniformity_pvalue(rng.random(200)) > 0.05
    True
    >>> uniformity_pvalue(rng.random(200) ** 2) < 0.001
    True
    """
    u = np.asarray(pit, dtype=float).reshape(1, -1)
    null = _null_gamma(u.shape[1], n_null)
    stat = float(_gamma_stat(u)[0])
    # 1e-12: equal statistics (up to rounding) count as "as extreme".
    n_ge = null.size - np.searchsorted(null, stat - 1e-12, side="left")
    return float((1 + n_ge) / (1 + null.size))


def band_gamma(n: int, prob: float = 0.95, n_null: int = 4000) -> float:
    """Pointwise level that makes the ECDF band ``prob`` simultaneous for ``n`` values.

    Examples
    --------
    >>> 0.95 < band_gamma(100) < 1.0
    True
    """
    return float(np.quantile(_null_gamma(n, n_null), prob))


def holm(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (valid under any dependence).

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).round(2).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(pvalues, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out

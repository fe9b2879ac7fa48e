"""Is a fit to be trusted: rank R-hat, bulk and tail ESS, divergences, E-BFMI and Pareto k.

The gates every forecast carries (:class:`Diagnostics`), the quantities they check
(:func:`gate_quantities`: what the reported numbers are made of) and the estimators, vectorised
over quantities (:func:`gate_statistics`, the same numbers as arviz-stats). Thresholds live in
:mod:`iamg_forecast.defaults`.
"""

from __future__ import annotations

import concurrent.futures as cf
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from iamg_forecast import defaults
from iamg_forecast.model import PARAMETER_BLOCKS

__all__ = ["Diagnostics", "diagnose", "diagnostics_of", "gate_quantities", "gate_statistics"]


@dataclass(frozen=True)
class Diagnostics:
    """Sampling diagnostics and the reliability gate.

    ``ok`` is False when R-hat > 1.01, bulk or tail ESS < 400, any post-warm-up divergence,
    E-BFMI < 0.2, or (after reweighting) Pareto k > 0.7.
    """

    r_hat: float
    ess_bulk: float
    ess_tail: float
    divergences: int
    bfmi: float
    pareto_k: float | None = None
    method: str = "nuts"

    @property
    def problems(self) -> list[str]:
        """Human-readable list of failed gates (empty when reliable)."""
        out = []
        if not self.r_hat <= defaults.RHAT_MAX:
            out.append(f"max R-hat {self.r_hat:.3f} > {defaults.RHAT_MAX}")
        if not self.ess_bulk >= defaults.ESS_MIN:
            out.append(f"min bulk ESS {self.ess_bulk:.0f} < {defaults.ESS_MIN}")
        if not self.ess_tail >= defaults.ESS_MIN:
            out.append(f"min tail ESS {self.ess_tail:.0f} < {defaults.ESS_MIN}")
        if self.divergences > 0:
            out.append(f"{self.divergences} divergent transitions after warm-up")
        if not self.bfmi >= defaults.BFMI_MIN:
            out.append(f"min E-BFMI {self.bfmi:.2f} < {defaults.BFMI_MIN}")
        if self.pareto_k is not None and not self.pareto_k <= defaults.PARETO_K_MAX:
            out.append(f"Pareto k {self.pareto_k:.2f} > {defaults.PARETO_K_MAX}")
        return out

    @property
    def ok(self) -> bool:
        """True when every gate passes."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """Plain dict including ``ok`` and ``problems``."""
        return {**asdict(self), "ok": self.ok, "problems": self.problems}

    def _repr_html_(self) -> str:
        state = "reliable" if self.ok else "NOT reliable: " + "; ".join(self.problems)
        rows = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in asdict(self).items())
        return f"<p><b>{state}</b></p><table>{rows}</table>"


def gate_quantities(post, horizon_idx: int | None = None) -> np.ndarray:
    """The quantities the gates check, as ``(quantity, chain, draw)``.

    Every parameter block, every latent at every month up to the horizon, and every outcome
    hazard at the horizon month: what the reported numbers are made of. (Checking all
    ~1,000 deterministic cells costs as much as the fit and adds nothing the latent paths and
    parameters do not already show.)
    """
    cols = []
    for name in PARAMETER_BLOCKS:
        if name in post:
            cols.append(np.asarray(post[name].values, float).reshape(post[name].shape[:2] + (-1,)))
    lat = np.asarray(post["latent_state"].values, float)
    hz = np.asarray(post["hazard_logit"].values, float)
    h = lat.shape[-1] - 1 if horizon_idx is None else int(horizon_idx)
    cols.append(lat[..., : h + 1].reshape(lat.shape[:2] + (-1,)))
    cols.append(hz[..., h])
    # Quantities held fixed (e.g. a latent under an intervention) are dropped by
    # :func:`diagnostics_of`: they have no R-hat or ESS.
    return np.moveaxis(np.concatenate(cols, axis=-1), -1, 0)


def _split_chains(x: np.ndarray) -> np.ndarray:
    """``(Q, chain, draw)`` → ``(Q, 2 chain, draw // 2)``: first and last halves as chains."""
    half = x.shape[-1] // 2
    return np.concatenate([x[..., :half], x[..., -half:]], axis=-2)


def _z_scale(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank-normalise each quantity over all its chains and draws (Blom, ``c = 3/8``).

    The same as ``ndtri((rankdata(x, "average") - 3/8) / (n + 1/4))`` per quantity, with one
    quicksort per row: a tie group spanning sorted positions ``start..end`` has average rank
    ``(start + end) / 2 + 1``, so the scores are looked up on a half-integer grid. Rows
    without ties (most rows of continuous draws) skip the tie bookkeeping.

    Returns the scores (shape of ``x``) and each row's sorted values ``(Q, n)``, on which
    the caller's medians and quantiles are cheap.
    """
    from scipy import special

    flat = x.reshape(x.shape[0], -1)
    q, n = flat.shape
    order = np.argsort(flat, axis=1)
    ordered = np.take_along_axis(flat, order, axis=1)
    scores = special.ndtri((np.arange(2 * n - 1) / 2.0 + 1.0 - 0.375) / (n + 0.25))
    differs = ordered[:, 1:] != ordered[:, :-1]
    position = np.broadcast_to(2 * np.arange(n), (q, n))   # start + end without ties
    tied = np.flatnonzero(~differs.all(axis=1))
    if tied.size:
        position = position.copy()
        cols = np.arange(n)
        first = np.ones((tied.size, n), bool)
        first[:, 1:] = differs[tied]
        last = np.ones((tied.size, n), bool)
        last[:, :-1] = first[:, 1:]
        start = np.maximum.accumulate(np.where(first, cols, 0), axis=1)
        end = np.minimum.accumulate(np.where(last, cols, n)[:, ::-1], axis=1)[:, ::-1]
        position[tied] = start + end
    out = np.empty(flat.shape)
    np.put_along_axis(out, order, scores[position], axis=1)
    return out.reshape(x.shape), ordered


def _rhat(x: np.ndarray) -> np.ndarray:
    """Potential scale reduction of each quantity of ``(Q, chain, draw)``."""
    n = x.shape[-1]
    between = n * np.var(x.mean(axis=-1), axis=-1, ddof=1)
    within = np.var(x, axis=-1, ddof=1).mean(axis=-1)
    return np.sqrt((between / within + n - 1) / n)


def _ess(x: np.ndarray) -> np.ndarray:
    """Effective sample size of each quantity of ``(Q, chain, draw)`` (Geyer's initial
    monotone sequence, as in arviz-stats, computed for all quantities at once).
    """
    from arviz_stats.base import array_stats

    q, n_chain, n_draw = x.shape
    x = np.asarray(x, dtype=float)
    acov = array_stats.autocov(x, axis=-1)                    # (Q, chain, draw)
    mean_acov = acov.mean(axis=1)                             # (Q, draw)
    mean_var = mean_acov[:, 0] * n_draw / (n_draw - 1.0)
    var_plus = mean_var * (n_draw - 1.0) / n_draw
    if n_chain > 1:
        var_plus = var_plus + np.var(x.mean(axis=-1), axis=-1, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):  # constant quantities: see below
        rho = 1.0 - (mean_var[:, None] - mean_acov) / var_plus[:, None]
    rho_t = np.zeros((q, n_draw))
    rho_t[:, 0] = 1.0
    rho_t[:, 1] = rho[:, 1]
    even, odd = np.ones(q), rho[:, 1].copy()
    active = np.ones(q, bool)
    t_end = np.ones(q, int)
    t = 1
    # Geyer's initial positive sequence: pairs (t+1, t+2) while the last pair sum is positive
    while t < n_draw - 3 and active.any():
        active &= (even + odd) > 0.0
        if not active.any():
            break
        even = np.where(active, rho[:, t + 1], even)
        odd = np.where(active, rho[:, t + 2], odd)
        keep = active & ((even + odd) >= 0)
        rho_t[keep, t + 1] = even[keep]
        rho_t[keep, t + 2] = odd[keep]
        t_end[active] = t + 2
        t += 2
    max_t = t_end - 2
    idx = np.arange(q)
    pos = even > 0
    rho_t[idx[pos], max_t[pos] + 1] = even[pos]
    # Geyer's initial monotone sequence
    for tt in range(1, int(max_t.max()) - 1, 2):
        m = tt <= max_t - 2
        prev = rho_t[:, tt - 1] + rho_t[:, tt]
        cur = rho_t[:, tt + 1] + rho_t[:, tt + 2]
        fix = m & (cur > prev)
        rho_t[fix, tt + 1] = prev[fix] / 2.0
        rho_t[fix, tt + 2] = prev[fix] / 2.0
    cols = np.arange(n_draw)[None, :]
    head = np.where(cols <= max_t[:, None], rho_t, 0.0).sum(axis=1)
    nxt = rho_t[idx, np.minimum(max_t + 1, n_draw - 1)]
    size = n_chain * n_draw
    tau = np.maximum(-1.0 + 2.0 * head + nxt, 1.0 / np.log10(size))
    ess = size / tau
    flat = x.reshape(q, -1)
    const = (flat.max(axis=1) - flat.min(axis=1)) < np.finfo(float).resolution
    return np.where(const, float(size), ess)


def gate_statistics(arr: np.ndarray, prob: tuple[float, float] = (0.05, 0.95)
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank R-hat, bulk ESS and tail ESS of every quantity of ``arr (Q, chain, draw)``.

    The same estimators as arviz-stats (Vehtari et al. 2021), vectorised over quantities: the
    gates check a few hundred quantities after every fit, and one call per quantity cost as
    much as a fifth of a warm refit. ``tests/test_forecast.py`` checks the numbers against
    arviz-stats.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> r, eb, et = gate_statistics(rng.normal(size=(3, 4, 500)))
    >>> bool(r.max() < 1.01), bool(eb.min() > 1000)
    (True, True)
    """
    x = np.asarray(arr, dtype=float)
    workers = min(defaults.CORES, x.shape[0] // _MIN_PER_THREAD)
    if workers > 1:
        # Every quantity is computed on its own, and NumPy's sorts, FFTs and partitions
        # release the GIL: threads over blocks of quantities give the same numbers, sooner.
        parts = np.array_split(x, workers)
        with cf.ThreadPoolExecutor(workers) as pool:
            done = list(pool.map(lambda block: _gate_block(block, prob), parts))
        return tuple(np.concatenate(col) for col in zip(*done, strict=True))
    return _gate_block(x, prob)


_MIN_PER_THREAD = 32


def _gate_block(x: np.ndarray, prob: tuple[float, float]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`gate_statistics` of the quantities of one block, in this thread."""
    split = _split_chains(x)
    z_split, ordered = _z_scale(split)
    # NumPy's median and quantiles partition already sorted rows in a fraction of the time
    folded = np.abs(split - np.median(ordered, axis=1)[:, None, None])
    rhat = np.maximum(_rhat(z_split), _rhat(_z_scale(folded)[0]))
    ess_bulk = _ess(z_split)
    # with an even number of draws the split chains hold every draw: the same values as x
    values = ordered if x.shape[-1] % 2 == 0 else x.reshape(x.shape[0], -1)
    cut = np.quantile(values, prob, axis=1)
    # split(x <= q) is (split(x) <= q): the indicator is taken on the split draws directly
    tails = [_ess((split <= c[:, None, None]).astype(float)) for c in cut]
    return rhat, ess_bulk, np.minimum(*tails)


def diagnose(idata, horizon_idx: int | None = None) -> Diagnostics:
    """Compute the gate diagnostics of a nutpie/ArviZ DataTree (see :func:`gate_quantities`).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> post = xr.Dataset({"latent_state": (("chain", "draw", "latent", "month"),
    ...                                     rng.normal(size=(4, 500, 1, 2))),
    ...                    "hazard_logit": (("chain", "draw", "hazard", "month"),
    ...                                     rng.normal(size=(4, 500, 1, 2)))})
    >>> stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((4, 500), bool)),
    ...                     "energy": (("chain", "draw"), rng.normal(size=(4, 500)))})
    >>> tree = xr.DataTree.from_dict({"posterior": post, "sample_stats": stats})
    >>> diagnose(tree).ok
    True
    """
    return diagnostics_of(gate_quantities(idata["posterior"].to_dataset(), horizon_idx),
                          idata["sample_stats"].to_dataset())


def diagnostics_of(arr: np.ndarray, sample_stats) -> Diagnostics:
    """Gate diagnostics of the quantities ``arr (Q, chain, draw)`` and a run's sample stats.

    Quantities that never vary (held fixed, or resolved) have no R-hat or ESS and are skipped.

    Examples
    --------
    >>> import xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((4, 500), bool)),
    ...                     "energy": (("chain", "draw"), rng.normal(size=(4, 500)))})
    >>> diagnostics_of(rng.normal(size=(3, 4, 500)), stats).ok
    True
    """
    import arviz_stats as azs

    arr = np.asarray(arr, dtype=float)
    arr = arr[np.ptp(arr.reshape(arr.shape[0], -1), axis=1) > 0]
    div = int(sample_stats["diverging"].sum())
    bfmi = float(np.min(azs.bfmi(sample_stats["energy"].values)))
    if arr.shape[0] == 0:
        n = float(sample_stats["diverging"].size)
        return Diagnostics(r_hat=1.0, ess_bulk=n, ess_tail=n, divergences=div, bfmi=bfmi)
    # Tail ESS as in Vehtari et al. (2021): the 5% and 95% quantiles, stated explicitly because
    # ArviZ 1.x defaults to its 0.89 interval.
    r, eb, et = gate_statistics(arr, prob=(0.05, 0.95))
    return Diagnostics(r_hat=float(np.max(r)), ess_bulk=float(np.min(eb)),
                       ess_tail=float(np.min(et)), divergences=div, bfmi=bfmi)

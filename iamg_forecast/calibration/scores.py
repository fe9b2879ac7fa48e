"""Proper scoring rules for binary forecasts and the CORP reliability decomposition.

Everything here is closed-form NumPy/SciPy on arrays of forecast probabilities ``p`` and 0/1
outcomes ``y``; nothing samples a model. The CORP approach (Dimitriadis, Gneiting & Jordan 2021,
*PNAS* 118, e2016191118) recalibrates the forecasts with the pool-adjacent-violators (PAV)
algorithm and splits the mean Brier score exactly into

    S = MCB - DSC + UNC,

miscalibration (how much PAV recalibration would improve the score), discrimination (how much
better than the climatological event rate the recalibrated forecasts are) and uncertainty (the
score of that climatological rate). Consistency bands and a test of calibration come from
resampling outcomes under the hypothesis that the forecasts are calibrated.

Examples
--------
>>> import numpy as np
>>> from iamg_forecast.calibration.scores import brier, corp
>>> p = np.array([0.1, 0.4, 0.35, 0.8])
>>> y = np.array([0, 0, 1, 1])
>>> round(brier(p, y), 4)
0.1581
>>> res = corp(p, y, n_boot=0)
>>> abs(res.score - (res.mcb - res.dsc + res.unc)) < 1e-12
True
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.optimize import isotonic_regression

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "ALL",
    "CLIP",
    "MIN_N_CALIBRATION",
    "CorpResult",
    "brier",
    "brier_skill",
    "corp",
    "log_score",
    "pav",
    "plot_reliability",
    "score_table",
]

#: Probabilities are clipped to ``[CLIP, 1 - CLIP]`` before taking logs.
CLIP = 1e-12
#: ``score_table`` makes no claim about calibration from fewer resolved forecasts than this.
MIN_N_CALIBRATION = 100
#: Label of the row of :func:`score_table` that pools every outcome.
ALL = "(all)"


def _check(p: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validate and flatten forecasts and outcomes; return float arrays."""
    p = np.asarray(p, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if p.shape != y.shape:
        raise ValueError(f"p and y must have the same length, got {p.size} and {y.size}")
    if p.size == 0:
        raise ValueError("need at least one forecast to score, got none")
    if not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        bad = p[~(np.isfinite(p) & (p >= 0) & (p <= 1))][:3]
        raise ValueError(f"forecast probabilities must lie in [0, 1], got e.g. {bad.tolist()}")
    if np.any((y != 0) & (y != 1)):
        bad = np.unique(y[(y != 0) & (y != 1)])[:3]
        raise ValueError(f"outcomes must be 0 or 1, got e.g. {bad.tolist()}")
    return p, y


# ---- scoring rules ---------------------------------------------------------------------------
def brier(p: ArrayLike, y: ArrayLike) -> float:
    """Mean Brier score on the 0–1 scale: ``mean((p - y) ** 2)``; lower is better.

    This is the half-Brier (one-component) convention: a certain, wrong forecast scores 1, a
    constant 50 % forecast scores 0.25. (Brier's original two-component score is twice this.)

    Parameters
    ----------
    p : array_like
        Forecast probabilities of the event, each in ``[0, 1]``.
    y : array_like
        Outcomes, 1 if the event happened and 0 if not.

    Returns
    -------
    float
        The mean score.

    Examples
    --------
    >>> round(brier([0.8, 0.3], [1, 0]), 10)
    0.065
    >>> brier([1.0], [0])
    1.0
    """
    p, y = _check(p, y)
    return float(np.mean((p - y) ** 2))


def log_score(p: ArrayLike, y: ArrayLike) -> float:
    """Mean logarithmic score: mean negative log-likelihood (natural log); lower is better.

    ``p`` is clipped to ``[1e-12, 1 - 1e-12]`` first, so a certain, wrong forecast scores about
    27.6 instead of infinity.

    Parameters
    ----------
    p : array_like
        Forecast probabilities of the event, each in ``[0, 1]``.
    y : array_like
        Outcomes, 0 or 1.

    Returns
    -------
    float
        ``mean(-(y log p + (1 - y) log(1 - p)))``.

    Examples
    --------
    >>> round(log_score([0.5, 0.5], [1, 0]), 6)
    0.693147
    """
    p, y = _check(p, y)
    q = np.clip(p, CLIP, 1 - CLIP)
    return float(np.mean(-(y * np.log(q) + (1 - y) * np.log1p(-q))))


def brier_skill(p: ArrayLike, y: ArrayLike, reference: float | ArrayLike) -> float:
    """Brier skill score ``1 - BS(p) / BS(reference)`` against a reference forecast.

    Parameters
    ----------
    p : array_like
        Forecast probabilities.
    y : array_like
        Outcomes, 0 or 1.
    reference : float or array_like
        A single probability used for every case (climatology, a base rate) or one reference
        probability per case (e.g. the forecast's own prior).

    Returns
    -------
    float
        1 is perfect, 0 no better than the reference, negative worse. NaN when the reference
        scores exactly 0 (it was certain and right every time), where skill is undefined.

    Examples
    --------
    >>> round(brier_skill([0.9, 0.2], [1, 0], 0.5), 4)
    0.9
    >>> brier_skill([0.9, 0.2], [1, 0], [0.9, 0.2])
    0.0
    """
    p, y = _check(p, y)
    ref = np.broadcast_to(np.asarray(reference, dtype=float), p.shape)
    ref_score = brier(ref, y)
    if ref_score == 0:
        return float("nan")
    return float(1.0 - brier(p, y) / ref_score)


# ---- PAV and CORP ----------------------------------------------------------------------------
def _pool(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                 np.ndarray]:
    """Sort by ``p`` and pool ties: (order, unique x, start index, counts, event sums)."""
    order = np.argsort(p, kind="stable")
    x, start, counts = np.unique(p[order], return_index=True, return_counts=True)
    sums = np.add.reduceat(y[order], start)
    return order, x, start, counts, sums


def _pav_pooled(means: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Weighted isotonic (non-decreasing) regression of pooled means."""
    return np.asarray(isotonic_regression(means, weights=counts.astype(float)).x)


def pav(p: ArrayLike, y: ArrayLike) -> np.ndarray:
    """PAV (isotonic) recalibration of outcomes on forecasts; equal forecasts get equal values.

    Returns the non-decreasing function of ``p`` closest to ``y`` in squared error, evaluated at
    each forecast, in the input order. Ties in ``p`` are pooled first (as CORP prescribes), so
    the result is a function of the forecast value alone.

    Parameters
    ----------
    p : array_like
        Forecast probabilities (pooled where equal).
    y : array_like
        Outcomes, 0 or 1.

    Returns
    -------
    ndarray
        Recalibrated probabilities (conditional event probabilities), same order as ``p``.

    Examples
    --------
    >>> pav([0.2, 0.9, 0.5, 0.6], [1, 1, 0, 0]).tolist()
    [0.3333333333333333, 1.0, 0.3333333333333333, 0.3333333333333333]
    """
    p, y = _check(p, y)
    order, _, _, counts, sums = _pool(p, y)
    fit = _pav_pooled(sums / counts, counts)
    out = np.empty_like(p)
    out[order] = np.repeat(fit, counts)
    return out


def _mcb_pooled(x: np.ndarray, counts: np.ndarray, sums: np.ndarray, cep: np.ndarray,
                n: int) -> np.ndarray:
    """Brier MCB from pooled data; ``sums`` and ``cep`` may carry a leading bootstrap axis.

    Within a pool of ``c`` forecasts equal to ``x`` with ``s`` events,
    ``sum (x - y)^2 = c x^2 - 2 x s + s`` (as ``y^2 = y``), so
    ``MCB = sum_j [c_j (x_j^2 - f_j^2) - 2 s_j (x_j - f_j)] / n`` for the recalibrated ``f``.
    """
    return (counts * (x**2 - cep**2) - 2 * sums * (x - cep)).sum(axis=-1) / n


@dataclass(frozen=True, eq=False)
class CorpResult:
    """CORP reliability diagram and Brier score decomposition ``score = mcb - dsc + unc``.

    Attributes
    ----------
    n : int
        Number of forecasts.
    score, mcb, dsc, unc : float
        Mean Brier score (0–1 scale), miscalibration, discrimination and uncertainty.
    base_rate : float
        Observed event rate (the climatological reference of DSC and UNC).
    x : ndarray
        Distinct forecast values, sorted.
    cep : ndarray
        PAV-recalibrated conditional event probability at each ``x`` (the reliability curve).
    counts : ndarray
        Number of forecasts at each ``x``.
    recalibrated : ndarray
        The recalibrated value of each forecast, in input order.
    band_lo, band_hi : ndarray
        Pointwise consistency band at each ``x`` (``level`` coverage) under the hypothesis of
        calibration; NaN when ``n_boot == 0``.
    mcb_pvalue : float
        Bootstrap p-value of the test of calibration that uses MCB as its statistic (NaN when
        ``n_boot == 0``). Small values reject calibration.
    n_boot, seed : int
        Bootstrap size and seed.
    level : float
        Coverage of the consistency band.
    """

    n: int
    score: float
    mcb: float
    dsc: float
    unc: float
    base_rate: float
    x: np.ndarray = field(repr=False)
    cep: np.ndarray = field(repr=False)
    counts: np.ndarray = field(repr=False)
    recalibrated: np.ndarray = field(repr=False)
    band_lo: np.ndarray = field(repr=False)
    band_hi: np.ndarray = field(repr=False)
    mcb_pvalue: float
    n_boot: int
    seed: int | None
    level: float

    @property
    def inside_band(self) -> np.ndarray:
        """Whether the reliability curve lies in the consistency band at each ``x``."""
        # 1e-12 absorbs rounding in ratios of integers that are equal on paper.
        return (self.cep >= self.band_lo - 1e-12) & (self.cep <= self.band_hi + 1e-12)

    @property
    def band_coverage(self) -> float:
        """Share of the distinct forecast values at which the curve lies in the band."""
        if self.n_boot == 0:
            return float("nan")
        return float(np.mean(self.inside_band))

    def summary(self) -> dict[str, float]:
        """The scalar results as a plain dict."""
        return {"n": self.n, "score": self.score, "mcb": self.mcb, "dsc": self.dsc,
                "unc": self.unc, "base_rate": self.base_rate, "mcb_pvalue": self.mcb_pvalue,
                "band_coverage": self.band_coverage, "n_boot": self.n_boot, "level": self.level}

    def to_frame(self) -> pd.DataFrame:
        """The reliability curve: one row per distinct forecast value.

        Columns ``x, cep, n, band_lo, band_hi, inside_band``; the scalar results are in
        ``attrs``.
        """
        df = pd.DataFrame({"x": self.x, "cep": self.cep, "n": self.counts,
                           "band_lo": self.band_lo, "band_hi": self.band_hi,
                           "inside_band": self.inside_band if self.n_boot else np.nan})
        df.attrs.update(self.summary())
        return df

    def __repr__(self) -> str:
        return (f"CorpResult(n={self.n}, BS={self.score:.4f} = MCB {self.mcb:.4f} - "
                f"DSC {self.dsc:.4f} + UNC {self.unc:.4f}, MCB p={self.mcb_pvalue:.3g})")

    def _repr_html_(self) -> str:
        s = self.summary()
        cov = "n/a" if self.n_boot == 0 else f"{s['band_coverage']:.0%}"
        pval = "n/a" if self.n_boot == 0 else f"{self.mcb_pvalue:.3g}"
        rows = [("forecasts", f"{self.n}"), ("Brier score (0–1)", f"{self.score:.4f}"),
                ("MCB (miscalibration)", f"{self.mcb:.4f}"),
                ("DSC (discrimination)", f"{self.dsc:.4f}"),
                ("UNC (uncertainty)", f"{self.unc:.4f}"),
                ("event rate", f"{self.base_rate:.3f}"),
                ("MCB test p-value", pval),
                (f"curve inside {self.level:.0%} consistency band", cov)]
        body = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>"
                       for k, v in rows)
        return ("<table><caption>CORP decomposition: BS = MCB − DSC + UNC</caption>"
                f"{body}</table>")


def corp(p: ArrayLike, y: ArrayLike, n_boot: int = 1000, seed: int | None = 0,
         level: float = 0.95) -> CorpResult:
    """CORP reliability analysis and Brier decomposition (Dimitriadis, Gneiting & Jordan 2021).

    The forecasts are recalibrated by PAV (isotonic regression of ``y`` on ``p`` with ties
    pooled). With ``S`` the mean Brier score of the original (``x``), recalibrated (``c``) and
    climatological (``r``: the observed event rate for everyone) forecasts,
    ``MCB = S_x - S_c``, ``DSC = S_r - S_c``, ``UNC = S_r``, so ``S_x = MCB - DSC + UNC``
    exactly; MCB and DSC are never negative.

    The consistency band and the calibration test resample outcomes under the hypothesis that
    the forecasts are calibrated: ``y* ~ Bernoulli(p)`` independently, PAV is refitted each time,
    the band is the pointwise ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the
    refitted curves, and the p-value is ``(1 + #{MCB* >= MCB}) / (1 + n_boot)``.

    Parameters
    ----------
    p : array_like
        Forecast probabilities in ``[0, 1]``.
    y : array_like
        Outcomes, 0 or 1.
    n_boot : int, default 1000
        Number of resamples under calibration; 0 skips the band and the test.
    seed : int or None, default 0
        Seed of the resampling (``numpy.random.default_rng``).
    level : float, default 0.95
        Pointwise coverage of the consistency band.

    Returns
    -------
    CorpResult

    Notes
    -----
    The resampling treats forecasts as independent. Several forecasts of the same question share
    one outcome, so with repeated forecasts the band is too narrow and the test too eager to
    reject.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> p = rng.uniform(size=500)
    >>> res = corp(p, rng.uniform(size=500) < p, n_boot=200)
    >>> res.mcb < 0.01, res.mcb_pvalue > 0.05
    (True, True)
    """
    p, y = _check(p, y)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n_boot < 0:
        raise ValueError(f"n_boot must be >= 0, got {n_boot}")
    n = p.size
    order, x, _, counts, sums = _pool(p, y)
    cep = _pav_pooled(sums / counts, counts)
    recal = np.empty_like(p)
    recal[order] = np.repeat(cep, counts)
    rate = float(y.mean())
    s_x = float(np.mean((p - y) ** 2))
    s_c = float(np.mean((recal - y) ** 2))
    s_r = float(np.mean((rate - y) ** 2))
    # PAV minimises the squared error over all non-decreasing functions of p, which include
    # the identity (S_c <= S_x) and the constant event rate (S_c <= S_r); clipping only removes
    # rounding noise of order 1e-17 from the exact zeros.
    mcb = max(s_x - s_c, 0.0)
    dsc = max(s_r - s_c, 0.0)

    k = x.size
    lo = np.full(k, np.nan)
    hi = np.full(k, np.nan)
    pvalue = float("nan")
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        # Drawing y* ~ Bernoulli(p) per forecast and summing within a pool of c equal forecasts
        # is the same as one Binomial(c, x) draw per pool; single forecasts use a uniform
        # comparison, which is several times faster than NumPy's binomial sampler.
        sims = np.empty((n_boot, k))
        single = counts == 1
        sims[:, single] = rng.random((n_boot, int(single.sum()))) < x[single]
        if not single.all():
            sims[:, ~single] = rng.binomial(counts[~single], x[~single],
                                            size=(n_boot, int((~single).sum())))
        ceps = np.empty((n_boot, k))
        for b in range(n_boot):
            ceps[b] = _pav_pooled(sims[b] / counts, counts)
        mcb_star = _mcb_pooled(x, counts, sims, ceps, n)
        lo, hi = np.quantile(ceps, [(1 - level) / 2, (1 + level) / 2], axis=0)
        # Resampled MCB equal to the observed one (up to rounding) counts as "as extreme".
        pvalue = float((1 + np.sum(mcb_star >= mcb - 1e-12)) / (1 + n_boot))
    return CorpResult(n=n, score=s_x, mcb=mcb, dsc=dsc, unc=s_r, base_rate=rate, x=x, cep=cep,
                      counts=counts, recalibrated=recal, band_lo=lo, band_hi=hi,
                      mcb_pvalue=pvalue, n_boot=int(n_boot), seed=seed, level=level)


# ---- tables ---------------------------------------------------------------------------------
SCORE_COLUMNS = ["outcome", "n", "n_events", "event_rate", "brier", "log_score", "climatology",
                 "bss_climatology", "n_prior", "bss_prior", "mcb", "dsc", "unc", "mcb_pvalue",
                 "calibrated_claim"]


def _claim(n: int, pvalue: float, alpha: float) -> str:
    if n < MIN_N_CALIBRATION:
        return f"insufficient (n={n}, need ≥ {MIN_N_CALIBRATION})"
    if pvalue < alpha:
        return f"calibration rejected (MCB bootstrap p={pvalue:.3g} < {alpha:g}, n={n})"
    return f"calibration not rejected (MCB bootstrap p={pvalue:.3g} ≥ {alpha:g}, n={n})"


def _score_rows(name: str, sub: pd.DataFrame, n_boot: int, seed: int | None,
                alpha: float) -> dict[str, Any]:
    p = sub["p"].to_numpy(float)
    y = sub["y"].to_numpy(float)
    n = p.size
    ref = sub["_ref"].to_numpy(float)
    from_rc = sub["_from_rc"].to_numpy(bool)
    if from_rc.all():
        clim = "reference class"
    elif not from_rc.any():
        clim = "sample mean"
    else:
        clim = f"mixed ({int(from_rc.sum())} of {n} reference class, rest sample mean)"
    has_prior = sub["_prior"].notna().to_numpy()
    bss_prior = (brier_skill(p[has_prior], y[has_prior], sub["_prior"].to_numpy(float)[has_prior])
                 if has_prior.any() else float("nan"))
    # The bootstrap only serves the calibration claim, which needs MIN_N_CALIBRATION cases.
    res = corp(p, y, n_boot=n_boot if n >= MIN_N_CALIBRATION else 0, seed=seed)
    return {
        "outcome": name, "n": n, "n_events": int(y.sum()), "event_rate": float(y.mean()),
        "brier": res.score, "log_score": log_score(p, y), "climatology": clim,
        "bss_climatology": brier_skill(p, y, ref), "n_prior": int(has_prior.sum()),
        "bss_prior": bss_prior, "mcb": res.mcb, "dsc": res.dsc, "unc": res.unc,
        "mcb_pvalue": res.mcb_pvalue, "calibrated_claim": _claim(n, res.mcb_pvalue, alpha),
    }


def score_table(df: pd.DataFrame, *, n_boot: int = 1000, seed: int | None = 0,
                alpha: float = 0.05) -> pd.DataFrame:
    """Score resolved forecasts per outcome and overall.

    Parameters
    ----------
    df : DataFrame
        One row per resolved forecast with columns ``outcome``, ``p`` (forecast probability),
        ``y`` (0/1 outcome) and optionally ``prior_p`` (the forecast's own prior probability)
        and ``base_rate`` (the reference-class probability of the same question).
    n_boot : int, default 1000
        Resamples for the MCB test of calibration (run only where ``n >= 100``).
    seed : int or None, default 0
        Seed of the resampling.
    alpha : float, default 0.05
        Level of the calibration test.

    Returns
    -------
    DataFrame
        One row per outcome (in order of first appearance) and a last row ``"(all)"`` pooling
        every forecast, with columns:

        - ``n``, ``n_events``, ``event_rate``: counts of resolved forecasts and events;
        - ``brier`` (0–1 scale), ``log_score`` (natural log);
        - ``bss_climatology``: Brier skill against climatology, where climatology is the row's
          ``base_rate`` when given and otherwise the observed event rate of that outcome (an
          in-sample reference, flattering to climatology); ``climatology`` says which;
        - ``bss_prior``, ``n_prior``: Brier skill against the forecast's own prior, over the
          ``n_prior`` rows that have one (NaN if none);
        - ``mcb``, ``dsc``, ``unc``: the CORP decomposition ``brier = mcb - dsc + unc``;
        - ``mcb_pvalue``, ``calibrated_claim``: the bootstrap test of calibration. With fewer
          than 100 resolved forecasts no claim is made (``"insufficient (n=..., need ≥ 100)"``,
          p-value NaN); otherwise the claim says whether the test rejects calibration at
          ``alpha``. Not rejecting is not proof of calibration, and the test assumes independent
          forecasts.

    Examples
    --------
    >>> df = pd.DataFrame({"outcome": ["a", "a", "b"], "p": [0.2, 0.7, 0.5], "y": [0, 1, 1]})
    >>> t = score_table(df)
    >>> t[["outcome", "n", "brier"]].round(3).to_dict("records")
    [{'outcome': 'a', 'n': 2, 'brier': 0.065}, {'outcome': 'b', 'n': 1, 'brier': 0.25}, \
{'outcome': '(all)', 'n': 3, 'brier': 0.127}]
    >>> t["calibrated_claim"].iloc[-1]
    'insufficient (n=3, need ≥ 100)'
    """
    missing = {"outcome", "p", "y"} - set(df.columns)
    if missing:
        raise ValueError(f"score_table needs columns outcome, p, y; missing {sorted(missing)}")
    if len(df) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("outcome", "climatology",
                                                               "calibrated_claim") else float)
                             for c in SCORE_COLUMNS})
    work = pd.DataFrame({"outcome": df["outcome"].astype(str).to_numpy(),
                         "p": df["p"].to_numpy(float), "y": df["y"].to_numpy(float)})
    _check(work["p"], work["y"])
    base = (df["base_rate"].to_numpy(float) if "base_rate" in df.columns
            else np.full(len(df), np.nan))
    sample_mean = work.groupby("outcome", sort=False)["y"].transform("mean").to_numpy(float)
    work["_from_rc"] = ~np.isnan(base)
    work["_ref"] = np.where(np.isnan(base), sample_mean, base)
    work["_prior"] = (df["prior_p"].to_numpy(float) if "prior_p" in df.columns
                      else np.full(len(df), np.nan))
    rows = [_score_rows(name, sub, n_boot, seed, alpha)
            for name, sub in work.groupby("outcome", sort=False)]
    rows.append(_score_rows(ALL, work, n_boot, seed, alpha))
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


# ---- plot -----------------------------------------------------------------------------------
def plot_reliability(result: CorpResult, ax: Axes | None = None, *,
                     title: str | None = None) -> Figure:
    """CORP reliability diagram: diagonal, PAV curve, consistency band, forecast histogram.

    Uses matplotlib's object API only (no ``pyplot`` state, never shows a window), so it is
    safe under any backend, including ``Agg``.

    Parameters
    ----------
    result : CorpResult
        Output of :func:`corp`.
    ax : matplotlib Axes, optional
        Where to draw; a new Figure is made when omitted.
    title : str, optional
        Axes title; defaults to the decomposition.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=200)
    >>> fig = plot_reliability(corp(p, rng.uniform(size=200) < p, n_boot=100))
    >>> len(fig.axes), len(fig.axes[0].child_axes)  # the histogram is an inset
    (1, 1)
    """
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=(5.2, 5.2), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.get_figure(root=True)
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="perfect calibration")
    if result.n_boot > 0:
        ax.fill_between(result.x, result.band_lo, result.band_hi, color="C0", alpha=0.2, lw=0,
                        label=f"{result.level:.0%} consistency band")
    ax.plot(result.x, result.cep, color="C3", lw=1.8, marker="." if result.x.size < 30 else None,
            label="PAV-recalibrated (CORP)")
    ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal", xlabel="forecast probability",
           ylabel="conditional event probability")
    ax.set_title(title if title is not None else
                 f"BS {result.score:.3f} = MCB {result.mcb:.3f} − DSC {result.dsc:.3f} + "
                 f"UNC {result.unc:.3f}", fontsize=9)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    inset = ax.inset_axes((0.6, 0.06, 0.36, 0.24))
    inset.hist(np.repeat(result.x, result.counts), bins=np.linspace(0, 1, 21), color="0.5")
    inset.set_xlim(0, 1)
    inset.set_yticks([])
    inset.tick_params(labelsize=6)
    inset.set_title(f"forecasts (n={result.n})", fontsize=7)
    return fig

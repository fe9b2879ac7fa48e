"""Figures of the calibration suite: ECDF-difference plots with simultaneous bands, power bars,
PSIS-vs-refit agreement.

Only matplotlib's object API is used (``Figure``, never ``pyplot``), so nothing depends on a
backend or opens a window. :func:`to_data_uri` embeds a figure in self-contained HTML.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from iamg_forecast.calibration.uniformity import band_gamma, uniformity_pvalue

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_history", "ecdf_band", "plot_pit_ecdf", "plot_sbc_ecdf", "plot_power",
           "plot_psis_agreement", "to_data_uri"]


def ecdf_band(pit: np.ndarray, prob: float = 0.95, grid: int = 200
              ) -> dict[str, np.ndarray]:
    """ECDF difference of ``pit`` and its ``prob`` simultaneous band (Säilynoja et al. 2022).

    The band is pointwise Binomial at the adjusted level that makes it simultaneous (simulated
    once per sample size, shared with
    :func:`~.uniformity.uniformity_pvalue`), evaluated on a grid of at most
    ``grid`` points for drawing.

    Returns
    -------
    dict
        ``x``, ``diff`` (ECDF(x) - x), ``lo``, ``hi`` (band minus x).

    Examples
    --------
    >>> b = ecdf_band(np.linspace(0.01, 0.99, 50))
    >>> bool(np.all(b["lo"] <= b["diff"] + 1e-12) and np.all(b["diff"] <= b["hi"] + 1e-12))
    True
    """
    from arviz_stats.ecdf_utils import compute_ecdf, get_pointwise_confidence_band

    pit = np.asarray(pit, dtype=float)
    n = pit.size
    x = np.arange(1, n) / n
    if x.size > grid:
        x = x[np.linspace(0, x.size - 1, grid).round().astype(int)]
    lo, hi = get_pointwise_confidence_band(band_gamma(n, prob), n, x)
    diff, lo, hi = compute_ecdf(pit, x) - x, lo - x, hi - x
    # the ECDF of values in (0, 1) is 0 at 0 and 1 at 1: pin both ends
    z = np.zeros(1)
    return {"x": np.concatenate([z, x, z + 1]), "diff": np.concatenate([z, diff, z]),
            "lo": np.concatenate([z, lo, z]), "hi": np.concatenate([z, hi, z])}


def _ecdf_panel(ax: Axes, pit: np.ndarray, title: str, failed: bool | None, prob: float,
                note: str | None = None) -> None:
    b = ecdf_band(pit, prob)
    ax.fill_between(b["x"], b["lo"], b["hi"], step="mid", color="0.85", lw=0)
    ax.axhline(0, color="0.5", lw=0.6)
    ax.plot(b["x"], b["diff"], color="C3" if failed else "C0", lw=1.2, drawstyle="steps-mid")
    ax.set_xlim(0, 1)
    ax.set_title(title, fontsize=7, color="C3" if failed else "black")
    ax.tick_params(labelsize=6)
    if note:
        ax.text(0.03, 0.95, note, transform=ax.transAxes, fontsize=6, va="top")


def plot_pit_ecdf(pit: np.ndarray, *, title: str = "PIT", prob: float = 0.95,
                  ax: Axes | None = None) -> Figure:
    """One ECDF-difference panel of PIT values with the ``prob`` simultaneous band.

    Examples
    --------
    >>> fig = plot_pit_ecdf(np.random.default_rng(0).random(100))
    >>> len(fig.axes)
    1
    """
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=(4.2, 3.0), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.get_figure(root=True)
    pit = np.asarray(pit, dtype=float)
    p = uniformity_pvalue(pit)
    _ecdf_panel(ax, pit, f"{title} (n={pit.size}, p={p:.3g})", p < 1 - prob, prob)
    ax.set_xlabel("PIT", fontsize=7)
    ax.set_ylabel("ECDF − uniform", fontsize=7)
    return fig


def plot_sbc_ecdf(result: Any, *, ncols: int = 5, prob: float = 0.95) -> Figure:
    """ECDF-difference plot per SBC quantity with its ``prob`` simultaneous band.

    Panels whose ECDF leaves the band (quantity p-value below ``1 - prob``) are red; the
    Holm-adjusted p-value is printed in each.

    Parameters
    ----------
    result : SBCResult
    ncols : int
    prob : float

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    pit = result.pit
    tests = result.tree["tests"]
    names = [str(q) for q in pit["quantity"].values]
    nrows = int(np.ceil(len(names) / ncols))
    fig = Figure(figsize=(2.2 * ncols, 1.7 * nrows + 0.4), layout="constrained")
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
    for j, name in enumerate(names):
        ax = axes.flat[j]
        pv = float(tests["p_value"].values[j])
        ph = float(tests["p_holm"].values[j])
        _ecdf_panel(ax, pit.values[:, j], name, pv < 1 - prob, prob,
                    note=f"p={pv:.2g}, Holm {ph:.2g}")
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    a = result.tree.attrs
    fig.suptitle(f"SBC: ECDF − uniform with {prob:.0%} simultaneous bands "
                 f"({a['n_sims']} simulations, ≤{a['L']} draws each; verdict {a['verdict']})",
                 fontsize=9)
    return fig


def plot_power(power: Any) -> Figure:
    """Bar chart of the fraction of SBC runs that failed for each planted bug."""
    from matplotlib.figure import Figure

    fr = power.fractions()
    fig = Figure(figsize=(5.5, 2.6), layout="constrained")
    ax = fig.add_subplot()
    ax.bar(fr["bug"], fr["fraction_failed"],
           color=["0.6" if b == "control" else "C3" for b in fr["bug"]])
    for x, (f, n, size) in enumerate(zip(fr["fraction_failed"], fr["runs"], fr["n_sims"],
                                         strict=True)):
        ax.text(x, f + 0.02, f"{f:.0%} of {n} x {size}", ha="center", fontsize=8)
    ax.set_ylim(0, 1.15)
    ax.set_ylabel("share of SBC runs failing", fontsize=8)
    ax.set_title("Power: planted bugs (runs x simulations per run)", fontsize=9)
    ax.tick_params(labelsize=7)
    return fig


def plot_psis_agreement(scores: Any) -> Figure:
    """What-if (PSIS) probability against the full refit, coloured by Pareto k."""
    from matplotlib.figure import Figure

    d = scores.frame.dropna(subset=["p_psis"])
    fig = Figure(figsize=(4.2, 4.0), layout="constrained")
    ax = fig.add_subplot()
    sc = ax.scatter(d["p_fit"], d["p_psis"], c=np.clip(d["pareto_k"], -0.5, 1.2), s=4,
                    cmap="viridis", vmin=-0.5, vmax=1.2)
    ax.plot([0, 1], [0, 1], color="0.5", lw=0.8, ls="--")
    ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal", xlabel="full refit", ylabel="PSIS what-if")
    fig.colorbar(sc, ax=ax, label="Pareto k", shrink=0.8)
    ax.set_title("What-if by PSIS vs refit (every outcome, every world)", fontsize=8)
    return fig


def to_data_uri(fig: Figure, dpi: int = 110) -> str:
    """PNG ``data:`` URI of ``fig`` for self-contained HTML.

    Examples
    --------
    >>> to_data_uri(plot_pit_ecdf(np.linspace(0.05, 0.95, 20)))[:22]
    'data:image/png;base64,'
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def plot_history(history: Any, resolutions: Any = None, outcomes: Any = None, *,
                 horizon: str | None = None) -> Figure:
    """Probability of each outcome across recorded forecasts, with resolutions marked.

    See :meth:`~iamg_forecast.calibration.ledger.Ledger.plot_history`. Outcome names are drawn
    as plain text (no math parsing).

    Parameters
    ----------
    history : DataFrame
        :meth:`Ledger.history` rows (``outcome, p, as_of, horizon``).
    resolutions : DataFrame, optional
        :meth:`Ledger.resolutions` rows; each is marked at its date (a filled circle at 100%
        for "happened", an open one at 0% for "did not happen").
    outcomes : list of str, optional
        Outcomes to draw, one panel each (default: every outcome in ``history``).
    horizon : str, optional
        Only forecasts with this horizon (the same question).
    """
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    h = history if horizon is None else history[history["horizon"] == horizon]
    names = list(outcomes) if outcomes is not None else list(dict.fromkeys(h["outcome"]))
    n = max(1, len(names))
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(2.6 * cols, 1.9 * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols, sharey=True, squeeze=False)).ravel()
    fig.subplots_adjust(hspace=0.6, wspace=0.15)
    for ax, name in zip(axes, names, strict=False):
        sub = h[h["outcome"] == name]
        xs = [dt.date.fromisoformat(str(a)) for a in sub["as_of"]]
        ax.plot(xs, 100 * sub["p"].astype(float), marker="o", ms=3, color="#08306b", lw=1.2)
        if resolutions is not None and len(resolutions):
            for r in resolutions[resolutions["outcome"] == name].itertuples():
                when = dt.date.fromisoformat(str(r.date))
                y = 100 if r.happened else 0
                ax.plot([when], [y], marker="o", ms=6, color="#d94801",
                        mfc="#d94801" if r.happened else "white", clip_on=False)
                xs.append(when)
        ax.set_ylim(-5, 105)
        ax.set_title(name.replace("_", " "), fontsize=8, parse_math=False, usetex=False)
        ax.tick_params(labelsize=6)
        if xs:
            lo, hi = min(xs), max(xs)
            if lo == hi:
                lo, hi = lo - dt.timedelta(days=15), hi + dt.timedelta(days=15)
            ax.set_xlim(lo - dt.timedelta(days=3), hi + dt.timedelta(days=3))
        loc = mdates.AutoDateLocator(minticks=2, maxticks=3)
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc, show_offset=False))
    for ax in axes[len(names):]:
        ax.set_visible(False)
    for ax in axes[::cols]:
        ax.set_ylabel("probability (%)", fontsize=7)
    return fig

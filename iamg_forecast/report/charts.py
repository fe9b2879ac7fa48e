"""Charts as inline PNG data URIs (no external request), each with alt text.

Date axes are thinned by construction (at most :data:`MAX_DATE_LABELS` labels, short month
names), and :func:`overlapping_labels` measures the drawn labels so tests can check that no two
overlap. Text that may come from an analyst (item ids, indicator names) is drawn with math
parsing and TeX off, so a dollar sign or a backslash in it is shown as typed.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import math
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

__all__ = ["latent_charts", "curve_chart", "attribution_chart", "history_chart",
           "to_data_uri", "overlapping_labels", "MAX_DATE_LABELS",
           "latent_figure", "curve_figure", "attribution_figure"]

MAX_DATE_LABELS = 6
PLAIN = {"parse_math": False, "usetex": False}   # analyst text is never math or TeX
BLUE, ORANGE, GREY = "#08306b", "#d94801", "#444444"


def to_data_uri(fig: Figure) -> str:
    """Render a Matplotlib figure to a ``data:image/png;base64,...`` URI."""
    # Analyst text (ids, names) reaches labels: it is plain text, never mathtext ("$\\frac{$").
    for text in fig.findobj(Text):
        text.set_parse_math(False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _month_label(month: str, first: bool) -> str:
    d = dt.date.fromisoformat(month + "-01")
    return d.strftime("%b %Y") if first or d.month == 1 else d.strftime("%b")


def _month_axis(ax: Any, months: list[str], max_labels: int = MAX_DATE_LABELS) -> None:
    """Label a categorical month axis with at most ``max_labels`` short labels."""
    step = max(1, math.ceil(len(months) / max_labels))
    idx = list(range(0, len(months), step))
    labels = [_month_label(months[i], k == 0 or dt.date.fromisoformat(
        months[i] + "-01").month <= step) for k, i in enumerate(idx)]
    ax.set_xticks(idx, labels, fontsize=7)


def overlapping_labels(fig: Figure) -> list[tuple[str, str]]:
    """Pairs of tick labels that overlap on the same axis once the figure is drawn.

    Examples
    --------
    >>> fig = Figure(figsize=(1, 1)); ax = fig.subplots()
    >>> _ = ax.set_xticks(range(5), ["long label"] * 5)
    >>> len(overlapping_labels(fig)) > 0
    True
    """
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    out = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            boxes = [(t.get_text(), t.get_window_extent(renderer))
                     for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            for i in range(len(boxes)):
                for j in range(i + 1, len(boxes)):
                    a, b = boxes[i][1], boxes[j][1]
                    if a.overlaps(b) and a.width > 0 and b.width > 0:
                        out.append((boxes[i][0], boxes[j][0]))
    return out


def latent_figure(fc, latents: list[str] | None = None, ds=None) -> Figure:
    """Fan charts of the latents as small multiples: 80%/95% bands, the usual level (0),
    months with evidence (triangles) and the knowledge date (dashed line).
    """
    ds = fc.latents() if ds is None else ds
    names = list(fc.spec.latent_order if latents is None else latents)
    months = list(ds["month"].values)
    x = np.arange(len(months))
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig = Figure(figsize=(3.1 * cols, 2.0 * rows + 0.3))
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True, squeeze=False)).ravel()
    # fixed spacing (a layout engine costs as much as drawing): room for titles and labels
    fig.subplots_adjust(hspace=0.45, wspace=0.3)
    ev_idx = sorted({fc.spec.month_index(e.date) for e in fc.usable
                     if e.indicator in fc.spec.indicator_names})
    asof = fc.spec.month_index(fc.as_of)
    for k, (ax, lat) in enumerate(zip(axes, names, strict=False)):
        sub = ds.sel(latent=lat)
        ax.fill_between(x, sub["lo95"], sub["hi95"], color="#c6dbef", lw=0)
        ax.fill_between(x, sub["lo80"], sub["hi80"], color="#6baed6", lw=0)
        ax.plot(x, sub["mean"], color=BLUE, lw=1.3)
        ax.axhline(0, color="#999999", lw=0.6)
        ax.axvline(asof, color=GREY, ls="--", lw=0.8)
        lo = ax.get_ylim()[0]
        ax.plot(ev_idx, [lo] * len(ev_idx), ls="none", marker="^", color=ORANGE, ms=4,
                clip_on=False)
        ax.set_title(lat.replace("_", " "), fontsize=8, **PLAIN)
        ax.tick_params(labelsize=6)
        if k % cols == 0:
            ax.set_ylabel("state relative to usual", fontsize=6)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    _month_axis(axes[0], months, max_labels=4)
    for ax in axes:
        ax.tick_params(axis="x", labelbottom=False)
    for ax in axes[max(0, len(names) - cols):len(names)]:
        ax.tick_params(axis="x", labelbottom=True)
    return fig


def latent_charts(fc, ds=None) -> dict[str, str]:
    """The latent fan charts in one image, with alt text."""
    return {"uri": to_data_uri(latent_figure(fc, ds=ds)),
            "alt": "Fan charts of each underlying driver by month (0 is its usual level, above "
                   "it more than usual) with 80% and 95% bands; triangles mark months with "
                   "evidence; the dashed line is the knowledge date."}


def curve_figure(curve) -> Figure:
    """Probability of each outcome by each month-end up to the horizon."""
    fig = Figure(figsize=(6.5, 3.2))
    ax = fig.subplots()
    if len(curve):
        months = list(dict.fromkeys(curve["month"]))
        pos = {m: i for i, m in enumerate(months)}
        for name, grp in curve.groupby("outcome", sort=False):
            ax.plot([pos[m] for m in grp["month"]], 100 * grp["p"], marker="o", ms=3,
                    label=name.replace("_", " "))
        ax.legend(fontsize=6, ncol=1, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  frameon=False)
        _month_axis(ax, months)
    ax.set_ylim(0, 100)
    ax.set_ylabel("probability by month-end (%)", fontsize=8)
    ax.tick_params(labelsize=7)
    return fig


def curve_chart(curve) -> dict[str, str]:
    """Probability of each outcome by month-end up to the horizon, as a data URI."""
    return {"uri": to_data_uri(curve_figure(curve)),
            "alt": "Line chart: probability of each outcome by each month-end up to the horizon."}


def attribution_figure(att, items=()) -> Figure:
    """Tornado chart: the largest shifts single items caused, in percentage points."""
    fig = Figure(figsize=(6.5, 3.6))
    ax = fig.subplots()
    if len(att):
        dates = {e.id: str(e.date) for e in items}
        top = att.reindex(att["shift"].abs().sort_values(ascending=False).index).head(12)
        labels = [f"{r.indicator} ({dates.get(r.item, r.item)}) → {r.outcome}"
                  for r in top.itertuples()][::-1]
        vals = [100 * v for v in top["shift"]][::-1]
        ax.barh(range(len(vals)), vals, color=["#2171b5" if v >= 0 else "#cb181d"
                                               for v in vals])
        ax.set_yticks(range(len(vals)), labels, fontsize=6, **PLAIN)
        ax.axvline(0, color="#333", lw=0.8)
    ax.set_xlabel("change in probability caused by the item (percentage points)", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    return fig


def attribution_chart(att, items=()) -> dict[str, str]:
    """The tornado chart as a data URI with alt text."""
    return {"uri": to_data_uri(attribution_figure(att, items)),
            "alt": "Tornado chart: the twelve largest changes in outcome probabilities caused "
                   "by single evidence items, in percentage points (blue raised, red "
                   "lowered)."}


def history_chart(ledger, fc) -> dict[str, str]:
    """The history of the recorded forecasts of ``fc``'s questions, as a data URI.

    Drawn by the ledger itself (:meth:`Ledger.plot_history`), so the notebook and the report
    show the same chart.
    """
    recorded = set(ledger.history()["outcome"])
    names = [o for o in fc.spec.outcome_names if o in recorded]
    fig = ledger.plot_history(names, horizon=fc.horizon.isoformat())
    return {"uri": to_data_uri(fig),
            "alt": "Small multiples: the probability of each outcome in every recorded forecast "
                   "for the same horizon, by knowledge date; orange circles mark resolutions "
                   "(filled at 100% for happened, open at 0% for did not happen)."}

"""Charts as inline PNG data URIs (no external request), each with alt text."""

from __future__ import annotations

import base64
import io

import numpy as np
from matplotlib.figure import Figure
from matplotlib.text import Text

__all__ = ["latent_charts", "curve_chart", "attribution_chart", "to_data_uri"]


def to_data_uri(fig: Figure) -> str:
    """Render a Matplotlib figure to a ``data:image/png;base64,...`` URI."""
    # Analyst text (ids, names) reaches labels: it is plain text, never mathtext ("$\\frac{$").
    for text in fig.findobj(Text):
        text.set_parse_math(False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def latent_charts(fc) -> list[dict[str, str]]:
    """Fan chart (80%/95% bands) per latent, evidence dates marked on the time axis."""
    ds = fc.latents()
    months = list(ds["month"].values)
    x = np.arange(len(months))
    ev_idx = sorted({fc.spec.month_index(e.date) for e in fc.usable})
    asof = fc.spec.month_index(fc.as_of)
    out = []
    for lat in fc.spec.latent_order:
        sub = ds.sel(latent=lat)
        fig = Figure(figsize=(5.2, 2.2))
        ax = fig.subplots()
        ax.fill_between(x, sub["lo95"], sub["hi95"], color="#c6dbef", label="95%")
        ax.fill_between(x, sub["lo80"], sub["hi80"], color="#6baed6", label="80%")
        ax.plot(x, sub["mean"], color="#08306b", lw=1.5, label="mean")
        ax.axvline(asof, color="#444", ls="--", lw=0.8)
        for m in ev_idx:
            ax.plot([m], [ax.get_ylim()[0]], marker="^", color="#d94801", ms=6, clip_on=False)
        ax.set_xticks(x[::3], months[::3], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(lat, fontsize=9)
        ax.set_ylabel("logit-scale state", fontsize=7)
        out.append({"latent": lat, "uri": to_data_uri(fig),
                    "alt": f"Fan chart of {lat} by month with 80% and 95% bands; triangles mark "
                           f"months with evidence; the dashed line is the as-of date."})
    return out


def curve_chart(curve) -> dict[str, str]:
    """Probability of each outcome by month-end up to the horizon."""
    fig = Figure(figsize=(6.5, 3.2))
    ax = fig.subplots()
    if len(curve):
        for name, grp in curve.groupby("outcome", sort=False):
            ax.plot(grp["month"], grp["p"], marker="o", ms=3, label=name)
        ax.legend(fontsize=6, ncol=2)
    ax.set_ylim(0, 1)
    ax.set_ylabel("probability by month-end", fontsize=8)
    ax.tick_params(labelsize=7)
    fig.autofmt_xdate()
    return {"uri": to_data_uri(fig),
            "alt": "Line chart: probability of each outcome by each month-end up to the horizon."}


def attribution_chart(att) -> dict[str, str]:
    """Tornado chart: the largest shifts evidence items caused, by item and outcome."""
    fig = Figure(figsize=(6.5, 3.6))
    ax = fig.subplots()
    if len(att):
        top = att.reindex(att["shift"].abs().sort_values(ascending=False).index).head(12)
        labels = [f"{r.item} -> {r.outcome}" for r in top.itertuples()][::-1]
        vals = list(top["shift"])[::-1]
        ax.barh(range(len(vals)), vals, color=["#2171b5" if v >= 0 else "#cb181d" for v in vals])
        ax.set_yticks(range(len(vals)), labels, fontsize=6)
        ax.axvline(0, color="#333", lw=0.8)
    ax.set_xlabel("change in probability caused by the item", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    return {"uri": to_data_uri(fig),
            "alt": "Tornado chart: the twelve largest changes in outcome probabilities caused "
                   "by single evidence items (blue raised, red lowered)."}

"""The backtest's self-contained HTML report: tables and one trajectory chart per case."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib.dates as mdates
import numpy as np
from matplotlib.figure import Figure

from iamg_forecast.report.charts import to_data_uri
from iamg_forecast.report.render import render_template, write_text_atomic

if TYPE_CHECKING:
    from iamg_forecast.backtest.run import BacktestResult, CaseResult

__all__ = ["write_backtest_html", "trajectory_chart"]

_COLOURS = ["#08519c", "#d94801", "#238b45", "#6a51a3", "#636363", "#a50f15"]


def _dates(values) -> list[dt.date]:
    return [dt.date.fromisoformat(str(v)) for v in values]


def _date_axis(ax) -> None:
    loc = mdates.AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
    ax.tick_params(labelsize=7)


def _mark_facts(ax, res: CaseResult) -> None:
    """Seen facts as orange ticks at the bottom, unseen ones grey, the resolution a line."""
    seen = {i.id for i in res.case.items}
    for f in res.case.facts:
        ax.axvline(f.date, ymin=0, ymax=0.04, color="#d94801" if f.id in seen else "#bdbdbd",
                   lw=1.2)
    r = res.case.info.resolution
    if r is not None:
        ax.axvline(r.date, color="#111", ls=":", lw=1)
        ax.annotate(f"vote: {r.role}", (mdates.date2num(r.date), 0.97), fontsize=7,
                    ha="right", va="top", xycoords=("data", "axes fraction"))


def trajectory_chart(res: CaseResult) -> dict[str, str]:
    """Each role's probability across forecast dates (solid: with evidence; dashed: none)."""
    fig = Figure(figsize=(6.8, 3.0), layout="constrained")
    ax = fig.subplots()
    case = res.case
    if case.info.kind == "formation":
        for k, (role, outcome) in enumerate(case.outcomes.items()):
            for variant, ls in (("model", "-"), ("no_evidence", "--")):
                sub = res.forecasts[(res.forecasts["variant"] == variant)
                                    & (res.forecasts["outcome"] == outcome)]
                ax.plot(_dates(sub["as_of"]), sub["p"], ls=ls, marker="o", ms=2.5,
                        color=_COLOURS[k], label=role if variant == "model" else None)
        ax.set_ylim(0, 1)
        ax.set_ylabel("probability by the horizon", fontsize=8)
        alt = (f"Line chart for {case.name}: probability of each role (front-runner, incumbent, "
               "someone else, no cabinet) at each month end, solid with evidence and dashed "
               "without; ticks mark facts (orange: seen by the model, grey: not seen); the "
               "dotted line is the confidence vote.")
    else:
        lat = res.latents
        for k, name in enumerate(("us_iran_escalation", "militia_cohesion")):
            sub = lat[lat["latent"] == name]
            x = _dates(sub["as_of"])
            ax.fill_between(x, sub["lo80"], sub["hi80"], color=_COLOURS[k], alpha=0.2)
            ax.plot(x, sub["mean"], marker="o", ms=2.5, color=_COLOURS[k], label=name)
        bad = res.gates[(res.gates["variant"] == "model") & ~res.gates["reliable"].astype(bool)]
        for d in _dates(bad["as_of"]):
            ax.axvline(d, color="#b30000", lw=0.8, alpha=0.6)
        ax.set_ylabel("state relative to usual (as-of month)", fontsize=8)
        alt = (f"Line chart for {case.name}: posterior mean and 80% band of US-Iran escalation "
               "and militia cohesion in each as-of month; red lines mark forecasts that failed "
               "their diagnostic gates; ticks mark facts.")
    _mark_facts(ax, res)
    _date_axis(ax)
    ax.legend(fontsize=7, ncol=4, loc="upper left")
    ax.set_title(case.info.title, fontsize=9)
    return {"uri": to_data_uri(fig), "alt": alt}


def _fmt(v: Any, spec: str = ".3f") -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "—"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        return format(float(v), spec)
    return str(v)


def _table(df, columns: list[str] | None = None, index: bool = True) -> dict[str, Any]:
    """A DataFrame as header and formatted rows for the template."""
    if df is None or len(df) == 0:
        return {"head": [], "rows": []}
    df = df.reset_index() if index else df
    cols = columns or list(df.columns)
    return {"head": cols, "rows": [[_fmt(v) for v in row] for row in df[cols].to_numpy()]}


def _case_context(res: CaseResult) -> dict[str, Any]:
    gates = res.gates
    d = res.directions
    return {
        "name": res.case.name, "title": res.case.info.title, "kind": res.case.info.kind,
        "chart": trajectory_chart(res),
        "scores": _table(res.scores),
        "n_fits": len(gates), "n_reliable": int(gates["reliable"].sum()),
        "failed": _table(gates[~gates["reliable"].astype(bool)],
                         ["variant", "as_of", "problems"], index=False),
        "directions": _table(d, ["fact", "date", "event", "role", "target", "expected",
                                 "change", "threshold", "verdict"], index=False)
        if len(d) and "threshold" in d else {"head": [], "rows": []},
        "facts": [{"id": f.id, "date": f.date.isoformat(), "event": f.event, "role": f.role,
                   "summary": f.summary, "source": f.source, "url": f.url,
                   "grade": f.reliability,
                   "seen": f.id in {i.id for i in res.case.items}} for f in res.case.facts],
        "resolution": res.case.info.resolution,
    }


def write_backtest_html(result: BacktestResult, path: str | Path) -> Path:
    """Write the backtest report as one self-contained HTML file (written atomically).

    Examples
    --------
    >>> res.report("reports/backtests.html")  # doctest: +SKIP
    """
    html = render_template(
        "backtest.html.j2", settings=result.settings,
        pooled=_table(result.pooled), by_case=_table(result.by_case),
        direction_summary=_table(result.direction_summary, index=False),
        noise=_table(result.noise),
        cases=[_case_context(r) for r in result.cases.values()])
    return write_text_atomic(path, html)

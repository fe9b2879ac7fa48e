"""The calibration suite's HTML report, rendered by the report layer's Jinja templates.

:func:`write_calibration_html` turns the suite's summary and result objects into one context
(verdict rows, tables of text cells, figures as data URIs) for ``calibration.html.j2``, which
shares the forecast report's style (``_style.html.j2``); the page is self-contained (inline
PNGs, no external request) and written atomically.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iamg_forecast.report.charts import to_data_uri
from iamg_forecast.report.render import render_template, write_text_atomic

__all__ = ["write_calibration_html", "verdict_rows", "cells"]


def _fmt(v: Any) -> str:
    """A table value as text: yes/no, 3 significant digits below 0.001, else 3 decimals."""
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, float | np.floating):
        if not math.isfinite(v):
            return "–"
        return f"{v:.3g}" if abs(v) < 1e-3 and v != 0 else f"{v:.3f}"
    return str(v)


def cells(df: pd.DataFrame, left: tuple[str, ...] = ()) -> dict[str, Any]:
    """A DataFrame as a template table: a header, and per row ``{text, cls}`` cells.

    Numbers are right-aligned (``num``) unless their column is in ``left``; a cell reading
    ``pass`` or ``fail`` gets that class.

    Examples
    --------
    >>> t = cells(pd.DataFrame({"quantity": ["loglik"], "p": [0.5], "verdict": ["pass"]}),
    ...           left=("quantity",))
    >>> t["head"], [c["cls"] for c in t["rows"][0]]
    (['quantity', 'p', 'verdict'], ['', 'num', 'pass'])
    """
    rows = []
    for row in df.itertuples(index=False):
        out = []
        for c, v in zip(df.columns, row, strict=True):
            text = _fmt(v)
            cls = text if text in ("pass", "fail") else (
                "" if c in left or isinstance(v, str) else "num")
            out.append({"text": text, "cls": cls})
        rows.append(out)
    return {"head": [str(c) for c in df.columns], "rows": rows}


def _world_rows(s: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for r in s["worlds"]["paths"]:
        if r["path"] == "true":
            continue
        rows.append({"name": f"Worlds, {r['path']} path: Brier skill > 0",
                     "ok": r["skill_verdict"] == "skilful",
                     "numbers": f"BSS {r['bss_climatology']:.3f} (95% CI {r['bss_lo95']:.3f} "
                                f"to {r['bss_hi95']:.3f}), n={r['n']}"})
        rows.append({"name": f"Worlds, {r['path']} path: CORP calibration",
                     "ok": r["calibration_verdict"] != "calibration rejected",
                     "numbers": f"MCB {r['mcb']:.4f}, p={r['mcb_pvalue']:.3g}; curve inside "
                                f"band at {r['band_coverage']:.0%} of forecast values"})
    return rows


def _power_rows(s: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for bug, fr in (s["power"] or {}).get("fraction_failed", {}).items():
        runs = f"{s['power']['repeats']} runs of {s['power']['n_sims'][bug]} simulations"
        if bug == "control":
            # Holm holds the family-wise rate at 5%: failing half of the correct runs
            # (2 of 3: probability < 0.01) means the test, not a bug, is at fault.
            rows.append({"name": "Power: control (no bug) rarely fails", "ok": fr < 0.5,
                         "numbers": f"SBC failed in {fr:.0%} of {runs} without any bug"})
        else:
            rows.append({"name": f"Power: {bug}", "ok": fr > 0,
                         "numbers": f"SBC failed in {fr:.0%} of {runs}"})
    return rows


def _lfo_rows(s: dict[str, Any]) -> list[dict[str, Any]]:
    lf = s["lfo"]
    if not lf:
        return []
    sim = lf.get("by_source", {}).get("simulated", {})
    rows = [{"name": "LFO one-month-ahead PIT uniform (simulated months)",
             "ok": not lf["pit_verdict"].startswith("non-uniform"),
             "numbers": f"{lf.get('histories', 1)} histories, {sim.get('n', 0)} reports, "
                        f"p={lf['verdict_pvalue']:.3g}, mean log score "
                        f"{sim.get('mean_log_score', float('nan')):.3f}"}]
    seed_s = lf.get("by_source", {}).get("seed")
    if seed_s:
        pv = seed_s["pit_pvalue"]
        rows.append({"name": "LFO on the real seed reports (model vs reality, informational)",
                     "ok": pv is None or pv >= 0.05,
                     "numbers": f"{seed_s['n']} reports, PIT p={_fmt(pv)}, mean log score "
                                f"{seed_s['mean_log_score']:.3f}"})
    return rows


def verdict_rows(s: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's verdict table: one ``{name, ok, numbers, power}`` row per check.

    Examples
    --------
    >>> rows = verdict_rows({"sbc": {"verdict": "pass", "n_fail": 0, "n_quantities": 23,
    ...                              "n_sims": 40}, "worlds": {"paths": []}, "power": None,
    ...                      "lfo": None})
    >>> rows[0]["ok"], rows[0]["numbers"]
    (True, '0 of 23 quantities outside the 95% band; 40 simulations')
    """
    a = s["sbc"]
    rows = [{"name": "SBC (all quantities, Holm at 5%)", "ok": a["verdict"] == "pass",
             "numbers": f"{a['n_fail']} of {a['n_quantities']} quantities outside the 95% "
                        f"band; {a['n_sims']} simulations"}]
    rows += _world_rows(s) + _power_rows(s) + _lfo_rows(s)
    return [{**r, "power": r["name"].startswith("Power")} for r in rows]


def _settings(s: dict[str, Any]) -> pd.DataFrame:
    kv = [(k, v) for k, v in s["settings"].items()] + [
        (f"wall seconds: {k}", v) for k, v in s["wall_seconds"].items()] + [
        (f"version: {k}", v) for k, v in s["versions"].items()]
    return pd.DataFrame(kv, columns=["setting", "value"])


def _power_tables(power: Any) -> dict[str, Any] | None:
    if power is None:
        return None
    runs = power.runs[["bug", "repeat", "seed", "failed", "n_fail", "min_p_holm",
                       "worst_quantity", "mean_abs_shift"]]
    desc = power.runs.drop_duplicates("bug")[["bug", "description"]]
    return {"fractions": cells(power.fractions(), left=("bug",)),
            "runs": cells(runs, left=("bug", "worst_quantity")),
            "descriptions": cells(desc, left=("bug", "description"))}


def _lfo_tables(lfo_res: Any, s: dict[str, Any]) -> dict[str, Any] | None:
    if lfo_res is None:
        return None
    by_source = pd.DataFrame([{"source": k, **v}
                              for k, v in s["lfo"].get("by_source", {}).items()])
    return {"by_source": cells(by_source, left=("source",)),
            "months": cells(lfo_res.months, left=("month", "as_of", "method")),
            "frame": cells(lfo_res.frame, left=("month", "indicator", "kind", "source",
                                                "method"))}


def write_calibration_html(path: str | Path, summary: dict[str, Any], *, sbc_res: Any,
                           ws: Any, power: Any, lfo_res: Any, figs: dict[str, Any]) -> Path:
    """Write the calibration report (self-contained HTML) from the suite's results.

    Parameters
    ----------
    path : path
        The HTML file (written atomically; its folder is created).
    summary : dict
        :func:`~iamg_forecast.calibration.suite.run_calibration`'s summary.
    sbc_res, ws, power, lfo_res
        The :class:`~.sbc_result.SBCResult`, :class:`~.worlds.WorldScores`,
        :class:`~.power.PowerResult` (or None) and :class:`~.leave_future_out.LFOResult`
        (or None) the summary was made from.
    figs : dict
        Matplotlib figures by key (``sbc``, ``power``, ``corp_fit``, ``corp_psis``,
        ``psis``, ``lfo``); missing ones are left out.
    """
    s = summary
    html = render_template(
        "calibration.html.j2", s=s, verdicts=verdict_rows(s),
        figures={k: to_data_uri(f) for k, f in figs.items()},
        sbc_table=cells(sbc_res.table()[["quantity", "p_value", "p_holm", "verdict"]],
                        left=("quantity",)),
        power=_power_tables(power),
        share_k=_fmt(s["worlds"]["share_k_above_0.7"]),
        worlds={"paths": cells(ws.paths, left=("path", "skill_verdict",
                                               "calibration_verdict")),
                "agreement": cells(ws.psis_agreement(), left=("k_band",)),
                "per_outcome": cells(ws.per_outcome, left=("outcome",))},
        lfo=_lfo_tables(lfo_res, s),
        settings=cells(_settings(s), left=("setting", "value")))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, html)

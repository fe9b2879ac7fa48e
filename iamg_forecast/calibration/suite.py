"""``make calibrate``: SBC, power check, simulated-world scoring and the LFO check, in one HTML.

:func:`run_calibration` runs everything with one executor (so each worker compiles the model
once), prints progress lines, writes a self-contained HTML report (escaped text, inline PNG
charts, no external requests) plus a JSON summary next to it, and returns the summary.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import html
import json
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iamg_forecast import defaults
from iamg_forecast.calibration.engine import register, resolve, run_sims
from iamg_forecast.calibration.executors import default_executor, progress_fn
from iamg_forecast.model import ScenarioModel

__all__ = ["run_calibration", "FULL_SIZES", "write_html"]

# The sizes of ``make calibrate`` (see docs/calibration.md for what they cost and give).
FULL_SIZES = defaults.CALIBRATION_SIZES


def _lfo_task(ref: dict[str, Any], seed: int, sizes: dict[str, int]) -> dict[str, Any]:
    """Simulate a history after the seed and run LFO on it (runs in an executor worker)."""
    from iamg_forecast.calibration.leave_future_out import lfo, simulate_history

    model = resolve(ref)
    hist = simulate_history(model, seed=seed, **sizes)
    res = lfo(model, hist, seed=seed,
              source_label=lambda e: "simulated" if e.source == "simulated month" else "seed",
              **sizes)
    return {"frame": res.frame, "months": res.months, "pit_pvalue": res.pit_pvalue,
            "attrs": res.attrs, "n_items": len(hist)}


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def run_calibration(out_html: str | Path = "reports/calibration.html",
                    n_sims: int = FULL_SIZES["n_sims"], n_worlds: int = FULL_SIZES["n_worlds"],
                    power_repeats: int = FULL_SIZES["power_repeats"], seed: int = 0, *,
                    power_sims: int | Mapping[str, int] = FULL_SIZES["power_sims"],
                    n_whatif: int | None = None,
                    model: ScenarioModel | None = None, executor: cf.Executor | None = None,
                    store: str | Path | None = None, draws: int = 400, tune: int = 300,
                    chains: int = 2, thin_to: int = 100, lfo_enabled: bool = True,
                    progress: bool | Callable[[str], None] = True) -> dict[str, Any]:
    """Run the whole calibration suite and write ``out_html``.

    Parameters
    ----------
    out_html : path
        The HTML report; a JSON summary is written next to it (same name, ``.json``).
    n_sims : int
        SBC simulations (the first ``n_sims`` worlds).
    n_worlds : int
        Simulated worlds scored (the first ``n_worlds``; the same fits as SBC).
    power_repeats : int
        SBC runs per planted bug (0 skips the power check).
    seed : int
    power_sims : int or mapping
        Simulations per power-check SBC run: one size for every bug or ``{bug: size}``
        (:func:`~iamg_forecast.calibration.simulation_based.power_sizes`).
    n_whatif : int, optional
        Worlds that also get the PSIS what-if path (a second fit each); default ``n_worlds``.
    model : ScenarioModel, optional
        Default: the bundled scenario.
    executor : concurrent.futures.Executor, optional
        Default: :func:`~.simulation_based.default_executor`, shared by all stages.
    store : path, optional
        Directory that keeps every simulation (resume an interrupted run with the same one).
    draws, tune, chains, thin_to : int
        Sampler sizes of every fit.
    lfo_enabled : bool
    progress : bool or callable

    Returns
    -------
    dict
        Every verdict and number of the report (JSON-able), including wall times per stage.

    Examples
    --------
    >>> from iamg_forecast.calibration.suite import run_calibration
    >>> summary = run_calibration("reports/calibration.html", n_sims=40, n_worlds=40,
    ...                           power_repeats=1, power_sims=40)  # doctest: +SKIP
    >>> summary["sbc"]["verdict"]  # doctest: +SKIP
    'pass'
    """
    import iamg_forecast as iaf
    from iamg_forecast.calibration.power import power_check
    from iamg_forecast.calibration.sbc_result import SBCResult
    from iamg_forecast.calibration.worlds import WorldScores
    from iamg_forecast.inference import package_versions

    say = progress_fn(progress)
    out_html = Path(out_html)
    model = model or iaf.load_model()
    store_p = None if store is None else Path(store)
    n_whatif = n_worlds if n_whatif is None else min(n_whatif, n_worlds)
    sizes = {"draws": draws, "tune": tune, "chains": chains}
    own = executor is None
    ex = default_executor(chains) if own else executor
    times: dict[str, float] = {}
    t_all = time.perf_counter()
    figs: dict[str, Any] = {}
    try:
        say(f"[calibrate] {max(n_sims, n_worlds)} worlds ({n_whatif} with the what-if path), "
            f"SBC on {n_sims}, power {power_repeats} runs x {power_sims} per bug")
        lfo_fut = None
        if lfo_enabled:
            # queued behind the main simulations on the same workers (no extra compile)
            lfo_fut = ex.submit(_lfo_task, register(model), seed, sizes)
        t = time.perf_counter()
        recs = run_sims(model, max(n_sims, n_worlds), seed=seed, executor=ex, whatif=n_whatif,
                        thin_to=thin_to, store=None if store_p is None else store_p / "main",
                        progress=say, **sizes)
        times["simulations_and_fits"] = time.perf_counter() - t
        sbc_res = SBCResult.from_records(recs["full"][:n_sims], model,
                                         attrs={**sizes, "thin_to": thin_to,
                                                "spec_hash": model.spec.hash})
        say(f"[calibrate] SBC: {sbc_res!r}")
        t = time.perf_counter()
        ws = WorldScores.from_records(recs["full"][:n_worlds], recs["whatif"][:n_whatif],
                                      model, seed=seed)
        times["world_scoring"] = time.perf_counter() - t
        for row in ws.paths.itertuples():
            say(f"[calibrate] worlds/{row.path}: BSS {row.bss_climatology:.3f} "
                f"[{row.bss_lo95:.3f}, {row.bss_hi95:.3f}], MCB p={row.mcb_pvalue:.3g}")
        power = None
        if power_repeats > 0:
            t = time.perf_counter()
            power = power_check(model, n_sims=power_sims, repeats=power_repeats, executor=ex,
                                seed=seed, thin_to=thin_to, progress=say,
                                store=None if store_p is None else store_p / "power", **sizes)
            times["power_check"] = time.perf_counter() - t
        lfo_out = None
        if lfo_fut is not None:
            t = time.perf_counter()
            lfo_out = lfo_fut.result()
            times["lfo_wait"] = time.perf_counter() - t
            say(f"[calibrate] LFO: {len(lfo_out['frame'])} reports, PIT test "
                f"p={lfo_out['pit_pvalue']:.3g}")
    finally:
        if own:
            ex.shutdown(wait=True, cancel_futures=True)
    times["total"] = time.perf_counter() - t_all

    from iamg_forecast.calibration.leave_future_out import LFOResult
    from iamg_forecast.calibration.plots import plot_power, plot_psis_agreement
    from iamg_forecast.calibration.scores import plot_reliability

    lfo_res = None if lfo_out is None else LFOResult(
        frame=lfo_out["frame"], months=lfo_out["months"], pit_pvalue=lfo_out["pit_pvalue"],
        attrs={**lfo_out["attrs"], "n_items": lfo_out["n_items"]})
    figs["sbc"] = sbc_res.plot()
    for path, res in ws.corp.items():
        figs[f"corp_{path}"] = plot_reliability(res, title=f"{path}: BS {res.score:.3f}, "
                                                f"MCB {res.mcb:.4f} (p={res.mcb_pvalue:.2g})")
    if not ws.frame["p_psis"].isna().all():
        figs["psis"] = plot_psis_agreement(ws)
    if power is not None:
        figs["power"] = plot_power(power)
    if lfo_res is not None and len(lfo_res.frame):
        figs["lfo"] = lfo_res.plot()

    summary = {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "settings": {"n_sims": n_sims, "n_worlds": n_worlds, "n_whatif": n_whatif,
                     "power_repeats": power_repeats, "power_sims": power_sims, "seed": seed,
                     "thin_to": thin_to, **sizes, "spec_hash": model.spec.hash},
        "sbc": sbc_res.summary(),
        "worlds": ws.summary(),
        "psis_agreement": ws.psis_agreement().to_dict(orient="records"),
        "power": None if power is None else {**power.summary(),
                                             "runs": power.runs.to_dict(orient="records")},
        "lfo": None if lfo_res is None else lfo_res.summary(verdict_source="simulated"),
        "wall_seconds": {k: round(v, 1) for k, v in times.items()},
        "versions": package_versions(),
    }
    summary["failed_checks"] = failed_checks(summary)
    summary = _jsonable(summary)
    write_html(out_html, summary, sbc_res=sbc_res, ws=ws, power=power, lfo_res=lfo_res,
               figs=figs)
    out_html.with_suffix(".json").write_text(json.dumps(summary, indent=1, default=str))
    say(f"[calibrate] wrote {out_html} in {times['total']:.0f} s")
    return summary


def failed_checks(summary: dict[str, Any]) -> list[str]:
    """The verdicts of a calibration summary that failed, in words (empty when all pass).

    SBC must pass Holm's family-wise test; the full-fit and PSIS forecast paths on simulated
    worlds must be skilful (95% CI of the Brier skill above 0) and not rejected by CORP's MCB
    test; the simulated months of the LFO check must have uniform PITs at 5%.

    Examples
    --------
    >>> failed_checks({"sbc": {"verdict": "pass"}, "worlds": {"paths": []}, "lfo": None})
    []
    """
    out = []
    if summary["sbc"]["verdict"] != "pass":
        out.append("SBC: a quantity's ranks are not uniform (Holm, family-wise 5%)")
    for row in summary["worlds"]["paths"]:
        if row["path"] not in ("fit", "psis"):
            continue
        if row["skill_verdict"] != "skilful":
            out.append(f"worlds/{row['path']}: Brier skill CI does not exclude 0")
        if row["calibration_verdict"] == "calibration rejected":
            out.append(f"worlds/{row['path']}: CORP MCB test rejects calibration")
    lfo = summary.get("lfo")
    if lfo and lfo.get("pit_verdict", "").startswith("non-uniform"):
        out.append("LFO: simulated months' PITs are not uniform")
    return out


# ---- HTML -------------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.4}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}
.pass{color:#166534;font-weight:bold}.fail{color:#b91c1c;font-weight:bold}
img{max-width:100%}.note{color:#555;font-size:13px}
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _fmt(v: Any) -> str:
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, float | np.floating):
        if not math.isfinite(v):
            return "–"
        return f"{v:.3g}" if abs(v) < 1e-3 and v != 0 else f"{v:.3f}"
    return str(v)


def _table(df: pd.DataFrame, left: tuple[str, ...] = ()) -> str:
    head = "".join(f"<th class='{'l' if c in left else ''}'>{_e(c)}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for c, v in zip(df.columns, row, strict=True):
            txt = _fmt(v)
            cls = "l" if c in left else ""
            if txt in ("pass", "fail"):
                cls += f" {txt}"
            cells.append(f"<td class='{cls.strip()}'>{_e(txt)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _img(figs: dict[str, Any], key: str, alt: str) -> str:
    from iamg_forecast.calibration.plots import to_data_uri

    if key not in figs:
        return ""
    return f"<p><img alt='{_e(alt)}' src='{to_data_uri(figs[key])}'></p>"


def _verdict(ok: bool, yes: str = "pass", no: str = "fail") -> str:
    return f"<span class='{'pass' if ok else 'fail'}'>{_e(yes if ok else no)}</span>"


def write_html(path: str | Path, summary: dict[str, Any], *, sbc_res, ws, power, lfo_res,
               figs: dict[str, Any]) -> Path:
    """Write the calibration report (self-contained HTML) from the suite's results."""
    s = summary
    sbc_a = s["sbc"]
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>iamg_forecast calibration</title><style>{_CSS}</style></head><body>",
             "<h1>Calibration of the forecasting pipeline</h1>",
             f"<p class='note'>Created {_e(s['created'])}; spec "
             f"{_e(s['settings']['spec_hash'][:12])}; wall time "
             f"{_e(round(s['wall_seconds']['total']))} s.</p>"]
    # summary table
    rows = [("SBC (all quantities, Holm at 5%)", sbc_a["verdict"] == "pass",
             f"{sbc_a['n_fail']} of {sbc_a['n_quantities']} quantities outside the 95% band; "
             f"{sbc_a['n_sims']} simulations")]
    for r in s["worlds"]["paths"]:
        if r["path"] == "true":
            continue
        rows.append((f"Worlds, {r['path']} path: Brier skill > 0",
                     r["skill_verdict"] == "skilful",
                     f"BSS {r['bss_climatology']:.3f} (95% CI {r['bss_lo95']:.3f} to "
                     f"{r['bss_hi95']:.3f}), n={r['n']}"))
        rows.append((f"Worlds, {r['path']} path: CORP calibration",
                     r["calibration_verdict"] != "calibration rejected",
                     f"MCB {r['mcb']:.4f}, p={r['mcb_pvalue']:.3g}; curve inside band at "
                     f"{r['band_coverage']:.0%} of forecast values"))
    if s["power"]:
        for bug, fr in s["power"]["fraction_failed"].items():
            runs = f"{s['power']['repeats']} runs of {s['power']['n_sims'][bug]} simulations"
            if bug == "control":
                # Holm holds the family-wise rate at 5%: failing half of the correct runs
                # (2 of 3: probability < 0.01) means the test, not a bug, is at fault.
                rows.append(("Power: control (no bug) rarely fails", fr < 0.5,
                             f"SBC failed in {fr:.0%} of {runs} without any bug"))
            else:
                rows.append((f"Power: {bug}", fr > 0, f"SBC failed in {fr:.0%} of {runs}"))
    if s["lfo"]:
        lf = s["lfo"]
        sim = lf.get("by_source", {}).get("simulated", {})
        rows.append(("LFO one-month-ahead PIT uniform (simulated months)",
                     not lf["pit_verdict"].startswith("non-uniform"),
                     f"{sim.get('n', 0)} reports, p={lf['verdict_pvalue']:.3g}, mean log score "
                     f"{sim.get('mean_log_score', float('nan')):.3f}"))
        seed_s = lf.get("by_source", {}).get("seed")
        if seed_s:
            pv = seed_s["pit_pvalue"]
            rows.append(("LFO on the real seed reports (model vs reality, informational)",
                         pv is None or pv >= 0.05,
                         f"{seed_s['n']} reports, PIT p={_fmt(pv)}, mean log score "
                         f"{seed_s['mean_log_score']:.3f}"))
    parts.append("<h2>Verdicts</h2><table><tr><th class='l'>check</th><th>verdict</th>"
                 "<th class='l'>numbers</th></tr>")
    for name, ok, txt in rows:
        if name.startswith("Power"):
            v = _verdict(ok, "detected", "not detected")
        else:
            v = _verdict(ok)
        parts.append(f"<tr><td class='l'>{_e(name)}</td><td>{v}</td>"
                     f"<td class='l'>{_e(txt)}</td></tr>")
    parts.append("</table>")
    # SBC
    st = s["settings"]
    parts.append(
        "<h2>Simulation-based calibration</h2>"
        f"<p>{st['n_sims']} worlds drawn from the prior with the seed's evidence pattern "
        f"(the seed's reports plus 15% randomly monitored cells up to as-of), each fitted with "
        f"nutpie ({st['chains']} chains x {st['draws']} draws, {st['tune']} tuning), thinned to "
        f"at most {st['thin_to']} roughly independent draws (step max(ceil(N/ESS), "
        f"ceil(N/{st['thin_to']})); smallest L {sbc_a['min_L']}). The truth is ranked for every "
        "latent at the as-of month, every outcome's probability by the horizon (computed from "
        "the true hazards with the forecast's own function, resolutions included) and the joint "
        "log-likelihood of the world's data. Uniformity per quantity: simultaneous ECDF band "
        "(Säilynoja, Bürkner & Vehtari 2022); overall: Holm's procedure over the "
        f"{sbc_a['n_quantities']} quantities (valid under their dependence). "
        f"Binomial test of the failure count, for reference: p={sbc_a['binom_pvalue']:.3g}. "
        f"{sbc_a['sims_with_divergences']} simulations had divergent transitions; median "
        f"smallest ESS {sbc_a['median_ess_min']:.0f}.</p>"
        f"<p>Overall verdict: {_verdict(sbc_a['verdict'] == 'pass')}</p>")
    parts.append(_table(sbc_res.table()[["quantity", "p_value", "p_holm", "verdict"]],
                        left=("quantity",)))
    parts.append(_img(figs, "sbc", "SBC ECDF difference plots"))
    # power
    if power is not None:
        parts.append(
            "<h2>Power check: planted bugs</h2><p>Each bug is planted in the fit only; the "
            "worlds are simulated from the correct model. A run fails when the Holm-adjusted "
            "SBC verdict fails. The <i>control</i> rows are the same runs without a bug: "
            "how often a correct fit fails by chance. <i>mean_abs_shift</i> is how far the "
            "bug moves the forecasts: the mean over worlds and outcomes of |p(bug) - "
            "p(control)| on the same worlds with the same sampler seeds; part of it is "
            "Monte Carlo noise, since a changed fit follows another sampler path. "
            "<i>n_sims</i> is the size of each run: the control runs at the largest size, "
            "and a smaller run is compared with the control's first worlds.</p>")
        parts.append(_table(power.fractions(), left=("bug",)))
        parts.append(_table(power.runs[["bug", "repeat", "seed", "failed", "n_fail",
                                        "min_p_holm", "worst_quantity", "mean_abs_shift"]],
                            left=("bug", "worst_quantity")))
        desc = power.runs.drop_duplicates("bug")[["bug", "description"]]
        parts.append(_table(desc, left=("bug", "description")))
        parts.append(_img(figs, "power", "power bars"))
    # worlds
    wa = s["worlds"]
    parts.append(
        "<h2>Simulated-world scoring</h2>"
        f"<p>{wa['n_worlds']} worlds; outcomes already resolved on as-of are not scored. Paths: "
        "<b>fit</b> = full NUTS fit to the world's evidence; <b>psis</b> = fit without one "
        "randomly chosen observed report, then <code>Forecast.what_if(report, "
        "refit='never')</code>; <b>auto</b> = what <code>refit='auto'</code> returns (PSIS when "
        "Pareto k ≤ 0.7, else the refit); <b>true</b> = the true probability (an unattainable "
        f"reference). {wa['n_whatif']} worlds have the what-if path; Pareto k > 0.7 in "
        f"{_fmt(wa['share_k_above_0.7'])} of them. Climatology = "
        f"{_e(wa['climatology'])}; Brier skill CIs are 95% percentile intervals from "
        f"{wa['n_boot']} bootstrap resamples of worlds (climatology re-estimated in each). "
        "CORP: Dimitriadis, Gneiting & Jordan (2021); its resampling treats forecasts as "
        "independent, while outcomes of one world share the latent paths.</p>")
    parts.append(_table(ws.paths, left=("path", "skill_verdict", "calibration_verdict")))
    for key in ("corp_fit", "corp_psis", "psis"):
        parts.append(_img(figs, key, key))
    parts.append("<h3>PSIS vs refit, by Pareto k</h3>")
    parts.append(_table(ws.psis_agreement(), left=("k_band",)))
    parts.append("<h3>Per outcome (fit path)</h3>")
    parts.append(_table(ws.per_outcome, left=("outcome",)))
    # LFO
    if lfo_res is not None:
        lf = s["lfo"]
        parts.append(
            "<h2>Leave-future-out indicator check</h2>"
            f"<p>History: the seed evidence followed by months simulated from one draw of the "
            f"seed posterior ({lf['n_items']} items). For each month with reports, the model "
            f"conditioned on everything known at the end of the previous month predicts each "
            f"report; the posterior is carried forward by PSIS and refitted when Pareto k > "
            f"{lf['k_threshold']} ({lf['refits']} fits). PITs are randomised for binary and "
            f"count reports. The simulated months test the pipeline (their PITs are uniform "
            f"when it is right): p={lf['verdict_pvalue']:.3g} ({_e(lf['pit_verdict'])}). The "
            "seed months are real reports and test the model against reality: the seed's "
            "crisis reports are expected in the upper tail of the prior predictive, since the "
            "priors are centred on 'usual' by design. All reports: PIT p="
            f"{lf['pit_pvalue']:.3g}, mean log predictive score {lf['mean_log_score']:.3f}, "
            f"{lf['share_pit_outside_5_95']:.0%} of PITs outside [0.05, 0.95].</p>")
        parts.append(_table(pd.DataFrame([{"source": k, **v} for k, v in
                                          lf.get("by_source", {}).items()]), left=("source",)))
        parts.append(_table(lfo_res.months, left=("month", "as_of", "method")))
        parts.append(_img(figs, "lfo", "LFO PIT ECDF"))
        parts.append(_table(lfo_res.frame, left=("month", "indicator", "kind", "source",
                                                 "method")))
    # settings
    parts.append("<h2>Settings, wall times and versions</h2>")
    kv = [(k, v) for k, v in s["settings"].items()] + [
        (f"wall seconds: {k}", v) for k, v in s["wall_seconds"].items()] + [
        (f"version: {k}", v) for k, v in s["versions"].items()]
    parts.append(_table(pd.DataFrame(kv, columns=["setting", "value"]),
                        left=("setting", "value")))
    parts.append("</body></html>")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path

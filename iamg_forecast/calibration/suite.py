"""``make calibrate``: SBC, power check, simulated-world scoring and the LFO check, in one HTML.

:func:`run_calibration` runs everything with one executor (so each worker compiles the model
once), prints progress lines, writes a self-contained HTML report (:mod:`.suite_report`:
the report layer's templates, escaped text, inline PNG charts, no external requests) plus a
JSON summary next to it, and returns the summary.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import json
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from iamg_forecast import defaults
from iamg_forecast.calibration.engine import register, resolve, run_sims
from iamg_forecast.calibration.executors import default_executor, progress_fn
from iamg_forecast.calibration.leave_future_out import LFOResult, lfo, simulate_history
from iamg_forecast.calibration.plots import plot_power, plot_psis_agreement
from iamg_forecast.calibration.power import power_check
from iamg_forecast.calibration.sbc_result import SBCResult
from iamg_forecast.calibration.scores import plot_reliability
from iamg_forecast.calibration.worlds import WorldScores
from iamg_forecast.files import write_atomic
from iamg_forecast.inference import package_versions
from iamg_forecast.model import ScenarioModel, load_model

__all__ = ["run_calibration", "FULL_SIZES", "combine_lfo", "failed_checks"]

# The sizes of ``make calibrate`` (see docs/calibration.md for what they cost and give).
FULL_SIZES = defaults.CALIBRATION_SIZES


def _lfo_task(ref: dict[str, Any], seed: int, sizes: dict[str, int]) -> dict[str, Any]:
    """Simulate a history after the seed and run LFO on it (runs in an executor worker)."""
    model = resolve(ref)
    hist = simulate_history(model, seed=seed, **sizes)
    res = lfo(model, hist, seed=seed,
              source_label=lambda e: "simulated" if e.source == "simulated month" else "seed",
              **sizes)
    return {"frame": res.frame, "months": res.months, "pit_pvalue": res.pit_pvalue,
            "attrs": res.attrs, "n_items": len(hist)}


def combine_lfo(outs: list[dict[str, Any]]) -> LFOResult:
    """One LFO result from the checks of several independent simulated histories.

    Each report's PIT is an independent uniform under the model (within a history each report
    is predicted given everything before it; histories are independent), so the PITs of every
    history are tested together. Every history starts with the same real seed reports: they
    are kept once, from the first history. Each history's own p-value (simulated months) and
    Fisher's combination of them are kept in ``attrs``.

    Examples
    --------
    >>> import pandas as pd
    >>> out = {"frame": pd.DataFrame({"pit": [0.4, 0.2, 0.7],
    ...                                "source": ["seed", "simulated", "simulated"]}),
    ...        "months": pd.DataFrame({"month": ["2026-02"]}), "pit_pvalue": 0.5,
    ...        "attrs": {"seed": 0, "fits": 3}, "n_items": 20}
    >>> res = combine_lfo([out, {**out, "attrs": {"seed": 1, "fits": 4}}])
    >>> res.attrs["histories"], res.attrs["fits"], len(res.frame)   # the seed report once
    (2, 7, 5)
    """
    import pandas as pd
    from scipy import stats

    from iamg_forecast.calibration.uniformity import uniformity_pvalue

    frame = pd.concat([o["frame"].assign(history=o["attrs"]["seed"]) for o in outs[:1]]
                      + [o["frame"].loc[o["frame"]["source"] == "simulated"].assign(
                          history=o["attrs"]["seed"]) for o in outs[1:]], ignore_index=True)
    months = pd.concat([o["months"].assign(history=o["attrs"]["seed"]) for o in outs],
                       ignore_index=True)
    per = []
    for o in outs:
        sim = o["frame"].loc[o["frame"]["source"] == "simulated", "pit"].to_numpy()
        per.append(float(uniformity_pvalue(sim)) if sim.size >= 2 else float("nan"))
    finite = [p for p in per if math.isfinite(p)]
    attrs = {**outs[0]["attrs"], "seed": [o["attrs"]["seed"] for o in outs],
             "fits": int(sum(o["attrs"]["fits"] for o in outs)), "histories": len(outs),
             "n_items": int(sum(o["n_items"] for o in outs)), "history_pvalues": per,
             "fisher_pvalue": float(stats.combine_pvalues(finite).pvalue) if finite
             else float("nan")}
    pv = uniformity_pvalue(frame["pit"].to_numpy()) if len(frame) >= 2 else float("nan")
    return LFOResult(frame=frame, months=months, pit_pvalue=pv, attrs=attrs)


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
                    lfo_histories: int = FULL_SIZES["lfo_histories"],
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
    lfo_histories : int
        Independent simulated histories of the LFO check (seeds ``seed`` to
        ``seed + lfo_histories - 1``); the verdict tests their simulated months' PITs together.
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
    if lfo_enabled and lfo_histories < 1:
        raise ValueError(f"lfo_histories must be at least 1, got {lfo_histories}")
    say = progress_fn(progress)
    out_html = Path(out_html)
    model = model or load_model()
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
        lfo_futs = []
        if lfo_enabled:
            # queued behind the main simulations on the same workers (no extra compile)
            lfo_futs = [ex.submit(_lfo_task, register(model), seed + h, sizes)
                        for h in range(lfo_histories)]
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
        lfo_res = None
        if lfo_futs:
            t = time.perf_counter()
            lfo_res = combine_lfo([f.result() for f in lfo_futs])
            times["lfo_wait"] = time.perf_counter() - t
            say(f"[calibrate] LFO: {lfo_res.attrs['histories']} histories, "
                f"{len(lfo_res.frame)} reports, PIT test p={lfo_res.pit_pvalue:.3g}")
    finally:
        if own:
            ex.shutdown(wait=True, cancel_futures=True)
    times["total"] = time.perf_counter() - t_all

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
                     "lfo_histories": lfo_histories if lfo_enabled else 0,
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
    # the report layer (Jinja, matplotlib's PNG writer) is loaded when a report is written
    from iamg_forecast.calibration.suite_report import write_calibration_html

    write_calibration_html(out_html, summary, sbc_res=sbc_res, ws=ws, power=power,
                           lfo_res=lfo_res, figs=figs)
    write_atomic(out_html.with_suffix(".json"), json.dumps(summary, indent=1, default=str),
                 what="calibration summary")
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

"""Leave-future-out (LFO) check of the indicators: one-month-ahead predictions of the reports.

For every month ``t`` holding observed reports, the model is conditioned on what was known at the
end of month ``t - 1`` (reports of earlier months, outcome absence and resolutions through
``t - 1``) and predicts each report of month ``t``: the predictive distribution of a report
graded ``r`` is the likelihood's own mixture ``r * p(value | state) + (1 - r) * p_false(value)``,
averaged over the posterior. The posterior is carried forward by Pareto-smoothed importance
sampling from the last fit and refitted when Pareto k exceeds 0.7 (PSIS-LFO, Bürkner, Gabry &
Vehtari 2020; the idea behind ``arviz_stats.lfo_cv``).

Each report gets a PIT value (randomised for binary and count reports: ``P(Y < y) + V P(Y = y)``
with ``V ~ U(0, 1)``, uniform when the model is right) and its log predictive score. Reports of
one month share the month's latent state, so their marginal PITs would be uniform but not
independent, and a uniformity test that assumes independence would reject a correct model too
often. Each report of a month is therefore predicted given the month's earlier reports (in
indicator order) as well: the posterior is carried report by report, by PSIS from the last fit,
and refitted whenever Pareto k exceeds the threshold (precise reports, such as a currency rate,
can exhaust the importance weights within a month). These conditional PITs are independent
uniforms under the model (Rosenblatt's transform: the prequential principle applied report by
report), and a month's log scores add up to the joint log predictive density of its reports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from iamg_forecast.evidence.items import Evidence
from iamg_forecast.kinds import get_kind, pit_and_log_score, report_predictive
from iamg_forecast.model import ScenarioModel
from iamg_forecast.spec import month_end, parse_month

__all__ = ["LFOResult", "lfo", "simulate_history", "with_cells"]


def _as_of_before(spec, t: int) -> dt.date:
    """The last day of month ``t - 1`` (the day before the scenario start for ``t = 0``)."""
    return parse_month(spec.months[t]) - dt.timedelta(days=1)


def _predictive(model: ScenarioModel, eta: np.ndarray, w: np.ndarray, i: int, y: float,
                r: float, v: float) -> tuple[float, float]:
    """(PIT, log predictive density) of report ``y`` of indicator ``i`` graded ``r``.

    ``eta (n,)`` are the draws of the indicator's predictor in the month, ``w (n,)`` normalised
    weights, ``v`` the uniform that randomises discrete PITs.
    """
    ind = model.spec.indicators[i]
    kind = get_kind(ind.kind)
    return pit_and_log_score(report_predictive(kind, eta, kind.constants(ind), r),
                             kind.scored_value(y), w, v)


def with_cells(data: dict[str, Any], full: dict[str, Any],
               cells: Iterable[tuple[int, int]]) -> dict[str, Any]:
    """``data`` with the indicator cells ``(i, m)`` of ``full`` observed as well.

    Examples
    --------
    >>> import iamg_forecast as iaf
    >>> from iamg_forecast.evidence.io import seed_evidence
    >>> m = iaf.load_model()
    >>> full = m.data(seed_evidence(), dt.date(2026, 1, 31))
    >>> empty = m.data([], dt.date(2025, 12, 31))
    >>> i, t = (int(x[0]) for x in np.nonzero(full["ind_observed"]))
    >>> int(with_cells(empty, full, [(i, t)])["ind_observed"].sum())
    1
    """
    out = dict(data)
    for key in _CELL_KEYS:
        out[key] = np.array(data[key], copy=True)
    for i, m in cells:
        for key in _CELL_KEYS:
            out[key][i, m] = full[key][i, m]
    return out


_CELL_KEYS = ("ind_value", "ind_rel", "ind_observed")


@dataclass
class LFOResult:
    """One-month-ahead predictions of every report.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per predicted report (cell): ``month, indicator, kind, value, reliability, pit,
        log_score, source, pareto_k, method`` (``psis`` or ``refit``) and ``reports_before``
        (how many of the month's reports it is predicted given).
    months : pandas.DataFrame
        One row per month: cells, largest Pareto k, fits, method (``refit`` if any), summed
        log score (the joint log predictive density of the month's reports).
    pit_pvalue : float
        Simultaneous-ECDF-band test of PIT uniformity (all cells; each report is predicted
        given the earlier reports of its month, see the module note).
    """

    frame: pd.DataFrame
    months: pd.DataFrame
    pit_pvalue: float
    attrs: dict[str, Any] = field(default_factory=dict)

    def summary(self, verdict_source: str | None = None) -> dict[str, Any]:
        """Plain dict: counts, PIT test, log scores, refits.

        Parameters
        ----------
        verdict_source : str, optional
            Base ``pit_verdict`` on the reports of this ``source`` only (e.g. the simulated
            months, whose PITs are uniform when the pipeline is right; real reports also test
            the model against reality). Default: all reports.
        """
        from iamg_forecast.calibration.uniformity import uniformity_pvalue

        f = self.frame
        out = {**self.attrs, "n_cells": int(len(f)), "n_months": int(len(self.months)),
               "pit_pvalue": self.pit_pvalue,

               "mean_pit": float(f["pit"].mean()) if len(f) else float("nan"),
               "share_pit_outside_5_95": float(((f["pit"] < 0.05) | (f["pit"] > 0.95)).mean())
               if len(f) else float("nan"),
               "mean_log_score": float(f["log_score"].mean()) if len(f) else float("nan"),
               "elpd": float(f["log_score"].sum()),
               "refits": int(self.attrs.get("fits", (self.months["method"] == "refit").sum())),
               "max_pareto_k": float(self.months["pareto_k"].max())}
        vp = self.pit_pvalue
        if verdict_source is not None:
            sub = f.loc[f["source"] == verdict_source, "pit"].to_numpy()
            vp = uniformity_pvalue(sub) if sub.size >= 2 else float("nan")
        out.update({"verdict_source": verdict_source or "all", "verdict_pvalue": vp,
                    "pit_verdict": "uniform (not rejected)" if vp >= 0.05
                    else "non-uniform (rejected)"})
        if "source" in f:
            out["by_source"] = {
                str(s): {"n": int(len(g)), "mean_log_score": float(g["log_score"].mean()),
                         "pit_pvalue": uniformity_pvalue(g["pit"].to_numpy())
                         if len(g) >= 5 else None}
                for s, g in f.groupby("source")}
        return out

    def plot(self):
        """PIT ECDF-difference panels (all reports, then per source) with 95% simultaneous
        bands (see :mod:`.plots`).
        """
        from matplotlib.figure import Figure

        from iamg_forecast.calibration.plots import plot_pit_ecdf

        groups = [("all reports", self.frame["pit"].to_numpy())]
        if "source" in self.frame and self.frame["source"].nunique() > 1:
            groups += [(str(s), g["pit"].to_numpy()) for s, g in self.frame.groupby("source")
                       if len(g) >= 2]
        fig = Figure(figsize=(4.0 * len(groups), 3.0), layout="constrained")
        for ax, (name, pit) in zip(fig.subplots(1, len(groups), squeeze=False)[0], groups,
                                   strict=True):
            plot_pit_ecdf(pit, title=f"LFO PIT, {name}", ax=ax)
        return fig


def lfo(model: ScenarioModel, items: Iterable[Evidence], *, draws: int = 400, tune: int = 300,
        chains: int = 2, seed: int = 0, k_threshold: float = 0.7, exact: bool = False,
        months: Sequence[str] | None = None, source_label: Callable[[Evidence], str] | None = None,
        progress: bool | Callable[[str], None] = False) -> LFOResult:
    """Leave-future-out one-month-ahead check of an evidence history.

    Parameters
    ----------
    model : ScenarioModel
    items : iterable of Evidence
        The history (e.g. :func:`simulate_history`).
    draws, tune, chains : int
        Sizes of each fit.
    seed : int
        Fit ``j`` uses ``SeedSequence([seed, j])``; PIT randomisation ``[seed, month, cell]``.
    k_threshold : float
        Refit when the Pareto k of the carried-forward weights exceeds it.
    exact : bool
        Refit for every report (no PSIS).
    months : sequence of str, optional
        Only predict these months (``YYYY-MM``); default every month with reports.
    source_label : callable, optional
        ``item -> label`` for the ``source`` column (default: the item's ``source``).
    progress : bool or callable

    Returns
    -------
    LFOResult

    Examples
    --------
    >>> import iamg_forecast as iaf
    >>> m = iaf.load_model()
    >>> hist = simulate_history(m, seed=1)  # doctest: +SKIP
    >>> res = lfo(m, hist)  # doctest: +SKIP
    >>> res.summary()["pit_pvalue"] > 0.05  # doctest: +SKIP
    True
    """
    from iamg_forecast.calibration.executors import progress_fn
    from iamg_forecast.calibration.fits import fit_draws, flat, seed_of
    from iamg_forecast.calibration.uniformity import uniformity_pvalue
    from iamg_forecast.evidence.cells import usable_items
    from iamg_forecast.inference import psis_log_weights

    say = progress_fn(progress)
    spec = model.spec
    items = usable_items(list(items))
    if not items:
        raise ValueError("lfo needs at least one evidence item")
    end = max(e.date for e in items)
    full = model.data(items, end)
    label = {}
    for e in items:
        if e.indicator in spec.indicator_names:
            key = (spec.indicator_names.index(e.indicator), spec.month_index(e.date))
            label.setdefault(key, set()).add(source_label(e) if source_label else e.source)
    cells = sorted((int(m), int(i)) for i, m in zip(*np.nonzero(full["ind_observed"]),
                                                     strict=True))
    wanted = sorted({m for m, _ in cells if months is None or spec.months[m] in months})
    cfg = {"draws": draws, "tune": tune, "chains": chains}
    rows, mrows = [], []
    ref = None  # (draws, data) of the last fit
    n_fit = 0
    for t in wanted:
        as_of = _as_of_before(spec, t)
        base = model.data(items, as_of)
        month = [i for m, i in cells if m == t]
        elpd, ks, month_fits = 0.0, [], 0
        for n_before, i in enumerate(month):
            # each report is predicted given everything before it, the month's earlier reports
            # included: carried from the last fit by PSIS, refitted when Pareto k is too high
            data_k = with_cells(base, full, [(j, t) for j in month[:n_before]])
            method, k = "psis", 0.0
            if ref is not None and not exact:
                eta_r, hz_r = flat(ref[0]["indicator_eta"]), flat(ref[0]["hazard_logit"])
                lr = model.loglik(eta_r, hz_r, data_k) - model.loglik(eta_r, hz_r, ref[1])
                lw, k = psis_log_weights(lr.reshape(ref[0]["hazard_logit"].shape[:2]))
            if ref is None or exact or k > k_threshold:
                fitted, _ = fit_draws(model, data_k, seed_of(seed, n_fit), cfg)
                n_fit += 1
                month_fits += 1
                ref = (fitted, data_k)
                shape = fitted["hazard_logit"].shape[:2]
                lw = np.full(shape, -np.log(np.prod(shape)))
                method = "refit"
            y, r = float(full["ind_value"][i, t]), float(full["ind_rel"][i, t])
            v = float(np.random.default_rng([seed, t, i]).random())
            eta = flat(ref[0]["indicator_eta"])
            pit, ls = _predictive(model, eta[:, i, t], np.exp(lw).reshape(-1), i, y, r, v)
            elpd += ls
            ks.append(float(k))
            ind = spec.indicators[i]
            rows.append({"month": spec.months[t], "indicator": ind.name, "kind": ind.kind,
                         "value": y, "reliability": r, "pit": pit, "log_score": ls,
                         "source": "; ".join(sorted(label.get((i, t), {"?"}))),
                         "pareto_k": float(k), "method": method, "reports_before": n_before})
        mrows.append({"month": spec.months[t], "as_of": as_of.isoformat(), "cells": len(month),
                      "pareto_k": max(ks), "fits": month_fits,
                      "method": "refit" if month_fits else "psis", "log_score": elpd})
        say(f"[lfo] {spec.months[t]}: {len(month)} reports, {month_fits} fits "
            f"(largest k {max(ks):.2f})")
    frame = pd.DataFrame(rows)
    pv = uniformity_pvalue(frame["pit"].to_numpy()) if len(frame) >= 2 else float("nan")
    return LFOResult(frame=frame, months=pd.DataFrame(mrows), pit_pvalue=pv,
                     attrs={"fits": n_fit, "k_threshold": k_threshold, "exact": exact,
                            "seed": seed, "draws": draws, "tune": tune, "chains": chains})


def simulate_history(model: ScenarioModel, items: Iterable[Evidence] | None = None, *,
                     through: str | None = None, monitored_share: float = 0.3,
                     reliability: str = "B2", seed: int = 0, draws: int = 400, tune: int = 300,
                     chains: int = 2) -> list[Evidence]:
    """The seed evidence followed by months simulated from the seed posterior's predictive.

    One posterior draw (latent paths, indicator predictors, hazards) of the fit to ``items`` is
    taken as the truth of the months after the seed; in each of them every indicator is
    monitored with probability ``monitored_share`` and reported (graded ``reliability``) by the
    likelihood's generative story, and outcomes happen by the draw's hazards (none before the
    seed's ``as_of``, which the posterior already conditions on). Such a history is a draw from
    the model's prior predictive given the seed, so its one-step-ahead PITs are uniform when the
    pipeline is right.

    Parameters
    ----------
    model : ScenarioModel
    items : iterable of Evidence, optional
        Default: the bundled seed evidence.
    through : str, optional
        Last simulated month ``YYYY-MM`` (default: the last complete month before today, capped
        at the month before the spec's horizon).
    monitored_share : float
    reliability : str
        Admiralty grade of the simulated reports.
    seed : int
    draws, tune, chains : int
        Size of the seed fit.

    Returns
    -------
    list of Evidence
        The seed items, then the simulated ones (source ``"simulated month"``).

    Examples
    --------
    >>> import iamg_forecast as iaf
    >>> hist = simulate_history(iaf.load_model(), seed=1)  # doctest: +SKIP
    >>> hist[-1].source  # doctest: +SKIP
    'simulated month'
    """
    from iamg_forecast.calibration.engine import default_pattern
    from iamg_forecast.calibration.fits import fit_draws, seed_of
    from iamg_forecast.calibration.simulate import draw_report, outcome_truth
    from iamg_forecast.evidence.cells import observed_through

    spec = model.spec
    if items is None:
        from iamg_forecast.evidence.io import seed_evidence

        items = seed_evidence()
    items = list(items)
    as_of = default_pattern(model, items).as_of
    first = observed_through(spec, as_of) + 1
    if through is None:
        today = dt.date.today()
        last_complete = parse_month(today) - dt.timedelta(days=1)
        horizon = dt.date.fromisoformat(spec.scenario.default_horizon)
        through_d = min(last_complete, parse_month(horizon) - dt.timedelta(days=1))
        through = f"{through_d.year:04d}-{through_d.month:02d}"
    last = spec.month_index(parse_month(through))
    if last < first:
        return items
    fitted, _ = fit_draws(model, model.data(items, as_of), seed_of(seed, 0),
                           {"draws": draws, "tune": tune, "chains": chains})
    rng = np.random.default_rng([seed, 1])
    n = fitted["hazard_logit"].shape[0] * fitted["hazard_logit"].shape[1]
    j = int(rng.integers(n))
    eta = fitted["indicator_eta"].reshape((n,) + fitted["indicator_eta"].shape[2:])[j]
    hz = fitted["hazard_logit"].reshape((n,) + fitted["hazard_logit"].shape[2:])[j].copy()
    kinds = model.indicator_constants["kind"]
    r = spec.reliability.probability(reliability)
    out = list(items)
    for m in range(first, last + 1):
        date = month_end(spec.months[m])
        for i, ind in enumerate(spec.indicators):
            if rng.random() < monitored_share:
                val = draw_report(int(kinds[i]), float(eta[i, m]), r, ind, rng)
                out.append(Evidence(indicator=ind.name, date=date, value=val,
                                    source="simulated month", reliability=reliability,
                                    id=f"sim{seed}-{ind.name}-{spec.months[m]}"))
    hz[:, :first] = -50.0  # nothing happened before the seed's as_of: the posterior knows it
    truth = outcome_truth(model, hz, rng)
    ev = truth.event_month
    events = [o.name for o in spec.outcomes if o.type == "event"]
    for e_i, name in enumerate(events):
        if first <= ev[e_i] <= last:
            out.append(Evidence(indicator=name, date=month_end(spec.months[ev[e_i]]), value=1,
                                source="simulated month", reliability="A1",
                                id=f"sim{seed}-{name}"))
    for g_i, g in enumerate(spec.competing_groups):
        for step in truth.steps[g_i]:
            if first <= step.month <= last:
                name = spec.step_evidence(g.name, step.kind, step.choice)
                out.append(Evidence(indicator=name, date=month_end(spec.months[step.month]),
                                    value=1, source="simulated month", reliability="A1",
                                    id=f"sim{seed}-{name}-{spec.months[step.month]}"))
    return out

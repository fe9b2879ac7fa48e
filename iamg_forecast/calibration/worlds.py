"""Simulated-world scoring: calibration and skill of the forecasts where the truth is known.

Worlds are drawn from the prior with the realistic evidence pattern (as in SBC, and from the same
fits: :func:`~.simulation_based.run_sims` keeps each world's forecast next to its
ranks). Three forecast paths are scored on every outcome that is not already resolved on
``as_of``:

``fit``
    the full pipeline: a NUTS fit to all of the world's evidence;
``psis``
    the what-if path: a fit without one randomly chosen observed report, which is then absorbed
    by :meth:`~iamg_forecast.forecast.Forecast.what_if` (Pareto-smoothed importance sampling,
    never refitting);
``auto``
    what ``what_if(refit="auto")`` delivers: the PSIS forecast when Pareto k <= 0.7, otherwise
    the refit (the full fit above).

Each path gets the CORP reliability analysis (:func:`~iamg_forecast.calibration.scores.corp`)
and the Brier skill score against climatology with a 95% bootstrap interval over worlds.
Climatology is the base rate of each outcome among the scored worlds (outcomes unresolved on
``as_of``), i.e. the best constant forecast in hindsight; being fitted in-sample, it makes the
skill estimate conservative.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iamg_forecast.calibration.simulate import World
from iamg_forecast.evidence.items import Evidence
from iamg_forecast.model import ScenarioModel
from iamg_forecast.spec import month_end

__all__ = ["world_evidence", "holdout_forecast", "WorldScores", "score_worlds", "PATHS"]

PATHS = ("fit", "psis", "auto")


def _grade_table(model: ScenarioModel) -> list[tuple[str, float]]:
    codes = [f"{s}{i}" for s in "ABCDEF" for i in "123456"]
    return [(c, model.spec.reliability.probability(c)) for c in codes]


def _grades_for(model: ScenarioModel, r: float) -> list[str]:
    """Admiralty codes whose (corroborated) combination has reliability ``r``."""
    table = _grade_table(model)
    for code, p in table:
        if abs(p - r) < 1e-9:
            return [code]
    for a, pa in table:
        for b, pb in table:
            if abs(1.0 - (1.0 - pa) * (1.0 - pb) - r) < 1e-9:
                return [a, b]
    raise ValueError(f"no Admiralty grade or corroborated pair has reliability {r}")


def world_evidence(model: ScenarioModel, world: World, source: str | None = None
                   ) -> list[Evidence]:
    """The evidence items an analyst in ``world`` would have logged.

    One item per observed cell (two, the second corroborating the first, when the cell's
    reliability is a corroborated combination such as the seed's two disarmament signals), and
    one resolution item per outcome known on ``as_of``. ``model.data(items, world.as_of)``
    reproduces ``world.data``.

    Parameters
    ----------
    model : ScenarioModel
    world : World
    source : str, optional
        Source text of every item (default ``"simulated world <k>"``).

    Returns
    -------
    list of Evidence

    Examples
    --------
    >>> from iamg_forecast import load_model
    >>> from iamg_forecast.calibration.simulation_based import default_pattern
    >>> from iamg_forecast.calibration.simulate import simulate_worlds
    >>> m = load_model()
    >>> w = simulate_worlds(m, default_pattern(m), 1)[0]  # doctest: +SKIP
    >>> d = m.data(world_evidence(m, w), w.as_of)  # doctest: +SKIP
    >>> bool((d["ind_observed"] == w.data["ind_observed"]).all())  # doctest: +SKIP
    True
    """
    spec = model.spec
    src = source or f"simulated world {world.index}"
    data = world.data
    items: list[Evidence] = []

    def date_of(m: int) -> dt.date:
        return min(month_end(spec.months[m]), world.as_of)

    for i, m in sorted(zip(*np.nonzero(data["ind_observed"]), strict=True)):
        name = spec.indicator_names[i]
        codes = _grades_for(model, float(data["ind_rel"][i, m]))
        first = None
        for j, code in enumerate(codes):
            e = Evidence(indicator=name, date=date_of(int(m)), value=float(data["ind_value"][i, m]),
                         source=src, reliability=code, corroborates=first,
                         id=f"w{world.index}-{name}-{spec.months[m]}-{j}")
            first = first or e.id
            items.append(e)
    events = [o.name for o in spec.outcomes if o.type == "event"]
    for j, name in enumerate(events):
        m = int(data["event_month"][j])
        if m >= 0:
            items.append(Evidence(indicator=name, date=date_of(m), value=1, source=src,
                                  reliability="A1", id=f"w{world.index}-{name}"))
    for g_i, g in enumerate(spec.competing_groups):
        for step in world.steps[g_i]:
            name = spec.step_evidence(g.name, step.kind, step.choice)
            items.append(Evidence(indicator=name, date=date_of(step.month), value=1,
                                  source=src, reliability="A1",
                                  id=f"w{world.index}-{name}-{spec.months[step.month]}"))
    return items


def _quick_diagnostics(idata, q: np.ndarray):
    """Gate diagnostics on the test quantities ``q (chain, draw, Q)`` only (``diagnose`` over
    every latent-month costs about as much as the fit itself).
    """
    from iamg_forecast.inference import diagnostics_of

    return diagnostics_of(np.moveaxis(q, -1, 0), idata["sample_stats"].to_dataset())


def _probabilities(fc) -> list[float]:
    """``fc[o].p`` for every outcome, without the estimative term.

    ``Forecast.__getitem__`` also maps each probability to its ICD 203 term, which raises for a
    resolved outcome whose weighted mean rounds to 1.0000000000000007; the probability itself
    is the same weighted mean, clipped to [0, 1].
    """
    return np.clip(fc.weights @ fc.outcome_draws(), 0.0, 1.0).tolist()


def holdout_forecast(model: ScenarioModel, world: World, *, seed: int, draws: int, tune: int,
                     chains: int, holdout_seed: int, fit_seed: int) -> dict[str, Any]:
    """The PSIS what-if forecast of ``world``: fit without one report, then absorb it.

    A report is drawn uniformly among the world's observed indicator items; the model is fitted
    to the other items (same ``as_of``), wrapped in a :class:`~iamg_forecast.forecast.Forecast`
    and the report is added with ``what_if(item, refit="never")``: the production PSIS path.

    Returns
    -------
    dict
        ``p_psis`` (after absorbing), ``p_reduced`` (before), ``pareto_k``, the held-out item and
        the reduced fit's diagnostics.
    """
    from iamg_forecast.calibration.simulation_based import _fit_draws, _flat, _quantities
    from iamg_forecast.forecast import Forecast

    spec = model.spec
    items = world_evidence(model, world)
    reports = [e for e in items if e.indicator in spec.indicator_names]
    held = reports[int(np.random.default_rng(holdout_seed).integers(len(reports)))]
    rest = [e for e in items if e.id != held.id]
    cfg = {"draws": draws, "tune": tune, "chains": chains}
    data = model.data(rest, world.as_of)
    fitted, idata = _fit_draws(model, data, fit_seed, cfg)
    shape = fitted["hazard_logit"].shape[:2]
    q = _quantities(model, _flat(fitted["latent_state"]), _flat(fitted["indicator_eta"]),
                    _flat(fitted["hazard_logit"]), data, world.as_of, world.horizon)
    diag = _quick_diagnostics(idata, q.reshape(shape + (q.shape[-1],)))
    fc = Forecast(model=model, draws=fitted, items=tuple(rest), as_of=world.as_of,
                  horizon=world.horizon, seed=fit_seed, sizes=cfg, diagnostics=diag,
                  provenance={})
    after = fc.what_if(held, refit="never")
    return {"k": int(world.index), "seed": int(seed),
            "held_out": {"indicator": held.indicator, "month": held.month,
                         "value": held.value, "reliability": held.reliability,
                         "corroborates": held.corroborates},
            "pareto_k": float(after.pareto_k["all"]),
            "p_reduced": _probabilities(fc), "p_psis": _probabilities(after),
            "divergences": diag.divergences, "rhat_max": diag.r_hat,
            "ess_bulk_min": diag.ess_bulk}


# ---- scoring ---------------------------------------------------------------------------------
def _skill_sums(p: np.ndarray, y: np.ndarray, s: np.ndarray, n_w: np.ndarray) -> np.ndarray:
    """Brier skill vs per-outcome climatology for world weights ``n_w (B, W)``.

    ``p, y, s`` are ``(W, O)``: forecast, outcome, scored mask. Climatology is re-estimated in
    every resample (the base rate among the resampled scored worlds).
    """
    sy = s * y
    a = n_w @ sy                       # (B, O) weighted events
    cnt = n_w @ s                      # (B, O) weighted scored
    model_num = (n_w @ (s * (p - y) ** 2)).sum(axis=1)
    clim_num = np.where(cnt > 0, a - a ** 2 / np.where(cnt > 0, cnt, 1), 0.0).sum(axis=1)
    # A resample whose climatology scores 0 (every scored outcome constant) has no skill: NaN.
    ok = clim_num > 1e-15
    return np.where(ok, 1.0 - model_num / np.where(ok, clim_num, 1.0), np.nan)


@dataclass
class WorldScores:
    """Scores of the forecast paths on simulated worlds.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per (world, outcome): ``p_fit``, ``p_psis``, ``p_auto``, ``p_true`` (the true
        probability, an unattainable reference), ``happened``, ``resolved``, ``scored``.
    paths : pandas.DataFrame
        One row per path: n, Brier, Brier skill vs climatology and its 95% bootstrap CI, CORP
        decomposition, MCB p-value and consistency-band coverage, verdicts.
    corp : dict
        :class:`~iamg_forecast.calibration.scores.CorpResult` per path.
    per_outcome : pandas.DataFrame
    """

    frame: pd.DataFrame
    paths: pd.DataFrame
    corp: dict[str, Any] = field(repr=False)
    per_outcome: pd.DataFrame = field(repr=False)
    pareto_k: np.ndarray = field(repr=False)
    attrs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_records(cls, full: list[dict], whatif: list[dict], model: ScenarioModel, *,
                     n_boot: int = 2000, seed: int = 0, alpha: float = 0.05) -> WorldScores:
        """Score :func:`~.simulation_based.run_sims` records."""
        from iamg_forecast.calibration import scores
        from iamg_forecast.defaults import PARETO_K_MAX

        outs = model.spec.outcome_names
        wi = {r["k"]: r for r in whatif}
        rows = []
        for r in full:
            w = wi.get(r["k"])
            for j, o in enumerate(outs):
                p_psis = np.nan if w is None else w["p_psis"][j]
                p_auto = np.nan if w is None else (
                    p_psis if w["pareto_k"] <= PARETO_K_MAX else r["p_fit"][j])
                rows.append({"world": r["k"], "outcome": o, "p_fit": r["p_fit"][j],
                             "p_psis": p_psis, "p_auto": p_auto,
                             "p_reduced": np.nan if w is None else w["p_reduced"][j],
                             "pareto_k": np.nan if w is None else w["pareto_k"],
                             "p_true": r["p_true"][j], "happened": bool(r["happened"][j]),
                             "resolved": bool(r["resolved"][j])})
        df = pd.DataFrame(rows)
        df["scored"] = ~df["resolved"]
        path_rows, corps = [], {}
        rng = np.random.default_rng(seed)
        for path in (*PATHS, "true"):
            col = f"p_{path}"
            sub = df[df["scored"] & df[col].notna()]
            if sub.empty:
                continue
            worlds = np.sort(sub["world"].unique())
            pw = sub.pivot(index="world", columns="outcome", values=col).reindex(
                index=worlds, columns=outs)
            yw = sub.pivot(index="world", columns="outcome", values="happened").reindex(
                index=worlds, columns=outs)
            s = pw.notna().to_numpy(float)
            p = np.nan_to_num(pw.to_numpy(float))
            y = np.nan_to_num(yw.to_numpy(float))
            n_world = len(worlds)
            bss = float(_skill_sums(p, y, s, np.ones((1, n_world)))[0])
            counts = rng.multinomial(n_world, np.full(n_world, 1.0 / n_world), size=n_boot)
            boot = _skill_sums(p, y, s, counts.astype(float))
            lo, hi = np.nanquantile(boot, [0.025, 0.975])
            res = scores.corp(sub[col].to_numpy(float), sub["happened"].to_numpy(int),
                              n_boot=1000, seed=seed)
            corps[path] = res
            path_rows.append({
                "path": path, "worlds": n_world, "n": int(len(sub)),
                "events": int(sub["happened"].sum()), "brier": res.score,
                "bss_climatology": bss, "bss_lo95": float(lo), "bss_hi95": float(hi),
                "skill_verdict": "skilful" if lo > 0 else "skill not shown",
                "mcb": res.mcb, "dsc": res.dsc, "unc": res.unc,
                "mcb_pvalue": res.mcb_pvalue, "band_coverage": res.band_coverage,
                "calibration_verdict": ("calibration not rejected" if res.mcb_pvalue >= alpha
                                        else "calibration rejected")})
        paths = pd.DataFrame(path_rows)
        sc = df[df["scored"]]
        clim = sc.groupby("outcome")["happened"].mean()
        per = sc.groupby("outcome", sort=False).apply(
            lambda g: pd.Series({
                "n": len(g), "base_rate": g["happened"].mean(),
                "mean_p_fit": g["p_fit"].mean(),
                "brier_fit": float(np.mean((g["p_fit"] - g["happened"]) ** 2)),
                "brier_climatology": float(np.mean((clim[g.name] - g["happened"]) ** 2)),
            }), include_groups=False).reset_index()
        per["bss_fit"] = 1 - per["brier_fit"] / per["brier_climatology"]
        ks = np.array([w["pareto_k"] for w in whatif]) if whatif else np.array([])
        attrs = {"n_worlds": len(full), "n_whatif": len(whatif), "n_boot": n_boot,
                 "climatology": "per-outcome base rate among scored worlds (in-sample)",
                 "share_k_above_0.7": float(np.mean(ks > PARETO_K_MAX)) if ks.size else None}
        return cls(frame=df, paths=paths, corp=corps, per_outcome=per, pareto_k=ks, attrs=attrs)

    def summary(self) -> dict[str, Any]:
        """Plain dict of the per-path results."""
        return {**self.attrs, "paths": self.paths.to_dict(orient="records")}

    def psis_agreement(self) -> pd.DataFrame:
        """How far the PSIS forecast is from the full refit, by Pareto k band."""
        d = self.frame.dropna(subset=["p_psis"]).copy()
        d["abs_diff"] = (d["p_psis"] - d["p_fit"]).abs()
        d["k_band"] = pd.cut(d["pareto_k"], [-np.inf, 0.5, 0.7, 1.0, np.inf],
                             labels=["k<=0.5", "0.5<k<=0.7", "0.7<k<=1", "k>1"])
        return d.groupby("k_band", observed=False).agg(
            worlds=("world", "nunique"), mean_abs_diff=("abs_diff", "mean"),
            max_abs_diff=("abs_diff", "max")).reset_index()


def score_worlds(model: ScenarioModel, n_worlds: int = 500, *, whatif: int | None = None,
                 executor: cf.Executor | None = None, seed: int = 0,
                 items: Iterable[Evidence] | None = None, draws: int = 400, tune: int = 300,
                 chains: int = 2, thin_to: int = 100, store: str | Path | None = None,
                 n_boot: int = 2000, progress: bool | Callable[[str], None] = False
                 ) -> WorldScores:
    """Score the full-fit and PSIS what-if forecasts on ``n_worlds`` simulated worlds.

    Parameters
    ----------
    model : ScenarioModel
    n_worlds : int
    whatif : int, optional
        How many of the worlds also get the what-if path (a second fit each); default all.
    executor, seed, items, draws, tune, chains, thin_to, store, progress
        As for :func:`~.simulation_based.sbc`. With the same ``store`` and seed,
        the SBC fits are reused.
    n_boot : int
        Bootstrap resamples of worlds for the skill interval.

    Returns
    -------
    WorldScores

    Examples
    --------
    >>> from iamg_forecast import load_model
    >>> ws = score_worlds(load_model(), 100)  # doctest: +SKIP
    >>> ws.paths[["path", "bss_climatology", "bss_lo95", "mcb_pvalue"]]  # doctest: +SKIP
    """
    from iamg_forecast.calibration.simulation_based import run_sims

    recs = run_sims(model, n_worlds, seed=seed, executor=executor, items=items, draws=draws,
                    tune=tune, chains=chains, thin_to=thin_to, store=store,
                    whatif=n_worlds if whatif is None else whatif, progress=progress)
    return WorldScores.from_records(recs["full"], recs["whatif"], model, n_boot=n_boot,
                                    seed=seed)

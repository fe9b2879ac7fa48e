"""Simulated-world scoring: calibration and skill of the forecasts where the truth is known.

Worlds are drawn from the prior with the realistic evidence pattern (as in SBC, and from the same
fits: :func:`~.engine.run_sims` keeps each world's forecast next to its
ranks). Three forecast paths are scored on every outcome that is not already resolved on
``as_of``:

``fit``
    the full pipeline: a NUTS fit to all of the world's evidence;
``psis``
    the what-if path: a fit without one randomly chosen observed report, which is then absorbed
    by :meth:`~iamg_forecast.forecast.Forecast.what_if` (Pareto-smoothed importance sampling,
    never refitting; :func:`~.holdout.holdout_forecast`);
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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iamg_forecast.calibration.engine import run_sims
from iamg_forecast.calibration.holdout import holdout_forecast, world_evidence
from iamg_forecast.calibration.scores import corp
from iamg_forecast.defaults import PARETO_K_MAX
from iamg_forecast.evidence.items import Evidence
from iamg_forecast.model import ScenarioModel

# world_evidence and holdout_forecast live in .holdout; they are importable from here too.
__all__ = ["world_evidence", "holdout_forecast", "WorldScores", "score_worlds", "PATHS"]

PATHS = ("fit", "psis", "auto")


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
        """Score :func:`~.engine.run_sims` records."""
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
            res = corp(sub[col].to_numpy(float), sub["happened"].to_numpy(int),
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
        As for :func:`~.sbc_result.sbc`. With the same ``store`` and seed,
        the SBC fits are reused.
    n_boot : int
        Bootstrap resamples of worlds for the skill interval.

    Returns
    -------
    WorldScores
        Per path and per outcome: Brier score and skill, CORP decomposition, PSIS agreement.

    Examples
    --------
    >>> from iamg_forecast import load_model
    >>> ws = score_worlds(load_model(), 100)  # doctest: +SKIP
    >>> ws.paths[["path", "bss_climatology", "bss_lo95", "mcb_pvalue"]]  # doctest: +SKIP
    """
    recs = run_sims(model, n_worlds, seed=seed, executor=executor, items=items, draws=draws,
                    tune=tune, chains=chains, thin_to=thin_to, store=store,
                    whatif=n_worlds if whatif is None else whatif, progress=progress)
    return WorldScores.from_records(recs["full"], recs["whatif"], model, n_boot=n_boot,
                                    seed=seed)

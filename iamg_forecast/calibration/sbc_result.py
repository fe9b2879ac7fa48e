"""Simulation-based calibration (SBC) of the whole fitting pipeline, and its result.

Each simulation draws a world from the prior with the realistic evidence pattern
(:func:`~.engine.default_pattern`), fits it with the production sampler
(:func:`~iamg_forecast.inference.sample_posterior`), thins the draws to roughly independent ones
and ranks the truth among them (:mod:`.quantities`). When the sampler, the likelihood and the
priors agree, every rank is uniform (Talts et al. 2018); :class:`SBCResult` holds the ranks and
the verdicts of the uniformity tests (:mod:`.uniformity`).
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from iamg_forecast.calibration.engine import run_sims
from iamg_forecast.calibration.plots import plot_sbc_ecdf
from iamg_forecast.calibration.quantities import quantity_names
from iamg_forecast.calibration.simulate import EvidencePattern
from iamg_forecast.calibration.uniformity import holm, uniformity_pvalue
from iamg_forecast.evidence.items import Evidence
from iamg_forecast.model import ScenarioModel

__all__ = ["SBCResult", "sbc"]

#: Per-simulation fit statistics kept beside the ranks.
_PER_SIM = ("L", "thin", "ess_min", "rhat_max", "divergences")
#: Per-simulation, per-outcome forecast fields kept for simulated-world scoring.
_FORECASTS = ("p_fit", "p_true", "happened", "resolved")


def _tests(pit: np.ndarray, names: list[str], alpha: float) -> xr.Dataset:
    """Per-quantity uniformity p-values, their Holm adjustment and pass flags."""
    pv = np.array([uniformity_pvalue(pit[:, j]) for j in range(len(names))])
    return xr.Dataset({"p_value": ("quantity", pv), "p_holm": ("quantity", holm(pv)),
                       "passed": ("quantity", pv >= alpha)}, coords={"quantity": names})


@dataclass
class SBCResult:
    """Rank statistics of an SBC run and their verdicts.

    Attributes
    ----------
    tree : xarray.DataTree
        ``/ranks`` (``rank``, ``pit`` per sim x quantity; ``L``, ``thin``, ``ess_min``,
        ``rhat_max``, ``divergences`` per sim), ``/tests`` (per quantity: ``p_value``,
        ``p_holm``, ``passed``), ``/forecasts`` (per sim x outcome: ``p_fit``, ``p_true``,
        ``happened``, ``resolved``); attrs ``seed``, ``n_sims``, ``L`` and the verdict.
    alpha : float
    """

    tree: xr.DataTree
    alpha: float = 0.05
    _frame: pd.DataFrame | None = field(default=None, repr=False)

    @classmethod
    def from_records(cls, records: Sequence[dict], model: ScenarioModel, *, alpha: float = 0.05,
                     attrs: dict[str, Any] | None = None) -> SBCResult:
        """Build the result from :func:`~.engine.run_sims` records (``"full"`` kind)."""
        if not records:
            raise ValueError("no simulations to analyse")
        names = quantity_names(model)
        sims = [r["k"] for r in records]
        pit = np.array([r["pit"] for r in records], dtype=float)
        ranks = xr.Dataset({"rank": (("sim", "quantity"),
                                     np.array([r["rank"] for r in records], dtype=np.int64)),
                            "pit": (("sim", "quantity"), pit),
                            **{key: ("sim", np.array([r[key] for r in records]))
                               for key in _PER_SIM}},
                           coords={"sim": sims, "quantity": names})
        tests = _tests(pit, names, alpha)
        fc = xr.Dataset({key: (("sim", "outcome"), np.array([r[key] for r in records]))
                         for key in _FORECASTS},
                        coords={"sim": sims, "outcome": model.spec.outcome_names})
        from scipy.stats import binom  # scipy.stats costs ~0.4 s to import: only when used

        n_fail = int((~tests["passed"].values).sum())
        root_attrs = {
            **(attrs or {}),
            "seed": int(records[0]["seed"]), "n_sims": len(records),
            "L": int(np.max(ranks["L"].values)), "alpha": alpha,
            "test": "simultaneous ECDF band (Säilynoja et al. 2022); overall: Holm",
            "n_quantities": len(names), "n_fail": n_fail,
            "binom_pvalue": float(binom.sf(n_fail - 1, len(names), alpha)),
            "verdict": "pass" if float(tests["p_holm"].min()) >= alpha else "fail",
        }
        tree = xr.DataTree.from_dict({"/": xr.Dataset(attrs=root_attrs), "ranks": ranks,
                                      "tests": tests, "forecasts": fc})
        return cls(tree=tree, alpha=alpha)

    @property
    def ranks(self) -> xr.DataArray:
        """Ranks ``(sim, quantity)``."""
        return self.tree["ranks"]["rank"]

    @property
    def pit(self) -> xr.DataArray:
        """Randomised fractional ranks ``(sim, quantity)`` in (0, 1)."""
        return self.tree["ranks"]["pit"]

    @property
    def passed(self) -> bool:
        """The overall verdict: no quantity rejected after Holm's correction."""
        return self.tree.attrs["verdict"] == "pass"

    def table(self) -> pd.DataFrame:
        """One row per quantity: p-value, Holm-adjusted p-value, pass/fail."""
        t = self.tree["tests"].to_dataset().to_dataframe().reset_index()
        t["group"] = t["quantity"].str.split(":").str[0]
        t["verdict"] = np.where(t["passed"], "pass", "fail")
        return t

    def summary(self) -> dict[str, Any]:
        """The verdicts as a plain dict (JSON-able)."""
        a = dict(self.tree.attrs)
        r = self.tree["ranks"]
        a.update({"per_quantity": {row.quantity: {"p_value": float(row.p_value),
                                                  "p_holm": float(row.p_holm),
                                                  "passed": bool(row.passed)}
                                   for row in self.table().itertuples()},
                  "min_L": int(r["L"].min()), "median_ess_min": float(r["ess_min"].median()),
                  "sims_with_divergences": int((r["divergences"] > 0).sum())})
        return a

    def plot(self, **kwargs):
        """ECDF-difference plots with 95% simultaneous bands (see :mod:`.plots`)."""
        return plot_sbc_ecdf(self, **kwargs)

    def _repr_html_(self) -> str:
        import html

        a = self.tree.attrs
        head = (f"<p><b>Simulation-based calibration</b>: {a['n_sims']} simulations, "
                f"{a['n_quantities']} quantities, {a['n_fail']} outside their 95% band, "
                f"overall verdict (Holm, family-wise 5%): <b>{html.escape(a['verdict'])}</b></p>")
        return head + self.table().to_html(index=False, escape=True)

    def __repr__(self) -> str:
        a = self.tree.attrs
        return (f"SBCResult(n_sims={a['n_sims']}, L={a['L']}, Q={a['n_quantities']}, "
                f"failing={a['n_fail']}, verdict={a['verdict']!r})")


def sbc(model: ScenarioModel, n_sims: int = 200, executor: cf.Executor | None = None,
        seed: int = 0, items: Iterable[Evidence] | None = None, draws: int = 400,
        tune: int = 300, chains: int = 2, thin_to: int = 100,
        fit_transform: Callable[[dict], dict] | None = None, store: str | Path | None = None,
        *, fit_model: ScenarioModel | None = None, pattern: EvidencePattern | None = None,
        alpha: float = 0.05, chunk_size: int = 10,
        progress: bool | Callable[[str], None] = False) -> SBCResult:
    """Simulation-based calibration of the fitting pipeline.

    Parameters
    ----------
    model : ScenarioModel
    n_sims : int
        Number of simulated worlds (each one fit).
    executor : concurrent.futures.Executor, optional
        Default: a local process pool (:func:`~.executors.default_executor`); each worker
        compiles once. Use :class:`~.executors.InlineExecutor` to fit in this process with its
        compiled model.
    seed : int
        Simulation ``k`` uses ``[seed, k]``: results do not depend on the executor.
    items : iterable of Evidence, optional
        Evidence whose cells define the pattern (default: the seed evidence).
    draws, tune, chains, thin_to : int
        Sampler sizes; draws are thinned to at most ``thin_to`` roughly independent ones.
    fit_transform : callable, optional
        Changes what the fit sees (``data -> data``), e.g.
        :class:`~.planted_bugs.DropEveryOtherCell`.
    store : path, optional
        Directory for per-simulation JSON; a re-run skips finished simulations.
    fit_model : ScenarioModel, optional
        Fit with another model (e.g. :func:`~.planted_bugs.doubled_prior_model`), simulate with
        ``model``.
    pattern : EvidencePattern, optional
    alpha : float
        Level of each uniformity test and of the Holm family.
    chunk_size : int
    progress : bool or callable
        Print progress lines (True), or hand them to this function.

    Returns
    -------
    SBCResult
        The ranks of every simulation and the verdicts of the uniformity tests.

    Examples
    --------
    >>> import iamg_forecast as iaf
    >>> from iamg_forecast.calibration import InlineExecutor
    >>> res = iaf.calibration.sbc(iaf.load_model(), n_sims=100,
    ...                           executor=InlineExecutor())  # doctest: +SKIP
    >>> res.passed, res.table()[["quantity", "p_value"]].head()  # doctest: +SKIP
    """
    recs = run_sims(model, n_sims, seed=seed, executor=executor, items=items, pattern=pattern,
                    draws=draws, tune=tune, chains=chains, thin_to=thin_to,
                    fit_transform=fit_transform, fit_model=fit_model, store=store,
                    chunk_size=chunk_size, progress=progress)["full"]
    attrs = {"draws": draws, "tune": tune, "chains": chains, "thin_to": thin_to,
             "spec_hash": model.spec.hash,
             "fit_transform": "" if fit_transform is None else getattr(
                 fit_transform, "name", repr(fit_transform)),
             "fit_model": "" if fit_model is None else fit_model.spec.hash}
    return SBCResult.from_records(recs, model, alpha=alpha, attrs=attrs)

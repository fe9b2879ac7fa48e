"""The power check: how often SBC fails when a bug is planted in the fit.

SBC that passes proves little unless it fails with bugs of the size that matters; this module
runs it with each planted bug (:mod:`.planted_bugs`) and, as a control, without one.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iamg_forecast.calibration.executors import default_executor, progress_fn
from iamg_forecast.calibration.planted_bugs import ALL_BUGS, BUGS, CONTROL, planted_bug
from iamg_forecast.calibration.sbc_result import SBCResult, sbc
from iamg_forecast.evidence.items import Evidence
from iamg_forecast.model import ScenarioModel

__all__ = ["PowerResult", "power_check", "power_sizes"]


@dataclass
class PowerResult:
    """Outcome of SBC runs with planted bugs.

    Attributes
    ----------
    runs : pandas.DataFrame
        One row per (bug, repeat): seed, verdict, number of failing quantities, smallest Holm
        p-value and the quantity it belongs to, and ``mean_abs_shift``: the mean over worlds
        and outcomes of ``|p_fit(bug) - p_fit(control)|`` on the same worlds with the same
        sampler seeds (how much the bug moves the forecasts; NaN without a control run). The
        ``control`` rows (no bug) give the false-alarm rate.
    n_sims : dict
        Simulations per SBC run, per arm (bug name or ``control``).
    repeats : int
    """

    runs: pd.DataFrame
    n_sims: dict[str, int]
    repeats: int
    results: dict[tuple[str, int], SBCResult] = field(default_factory=dict, repr=False)

    def fractions(self) -> pd.DataFrame:
        """Fraction of SBC runs that failed, per bug."""
        g = self.runs.groupby("bug", sort=False)
        return pd.DataFrame({"n_sims": g["n_sims"].first(), "runs": g.size(),
                             "failed": g["failed"].sum(),
                             "fraction_failed": g["failed"].mean(),
                             "mean_abs_shift": g["mean_abs_shift"].mean()}).reset_index()

    def summary(self) -> dict[str, Any]:
        """Plain dict: fractions per bug and the sizes."""
        shift = self.runs.groupby("bug", sort=False)["mean_abs_shift"].mean()
        return {"n_sims": self.n_sims, "repeats": self.repeats,
                "fraction_failed": {r.bug: float(r.fraction_failed)
                                    for r in self.fractions().itertuples()},
                "mean_abs_shift": {bug: (None if pd.isna(v) else float(v))
                                   for bug, v in shift.items()}}


def _run_row(name: str, what: str, size: int, r: int, s: int, res: SBCResult,
             reference: dict[int, np.ndarray]) -> dict[str, Any]:
    """The ``runs`` row of one SBC run; a control run becomes the reference of its seed."""
    t = res.table()
    worst = t.loc[t["p_holm"].idxmin()]
    p_fit = res.tree["forecasts"]["p_fit"].values
    if name == CONTROL:
        reference[s] = p_fit
    shift = (float(np.mean(np.abs(p_fit - reference[s][:len(p_fit)])))
             if name != CONTROL and s in reference else float("nan"))
    return {"bug": name, "description": what, "n_sims": size, "repeat": r, "seed": s,
            "failed": not res.passed, "n_fail": int((~t["passed"]).sum()),
            "min_p_holm": float(worst["p_holm"]), "worst_quantity": str(worst["quantity"]),
            "mean_abs_shift": shift}


def power_check(model: ScenarioModel, n_sims: int | Mapping[str, int] = 100,
                repeats: int = 3, *,
                bugs: Sequence[str] = BUGS, executor: cf.Executor | None = None, seed: int = 0,
                items: Iterable[Evidence] | None = None, draws: int = 400, tune: int = 300,
                chains: int = 2, thin_to: int = 100, store: str | Path | None = None,
                alpha: float = 0.05, control: bool = True,
                progress: bool | Callable[[str], None] = False) -> PowerResult:
    """Run SBC with planted bugs and report how often it fails (its power).

    Bugs (:func:`~.planted_bugs.planted_bug`): ``half_likelihood``
    (:class:`~.planted_bugs.DropEveryOtherCell`), ``doubled_prior_initial``
    (:func:`~.planted_bugs.doubled_prior_model` on the initial-state sigmas; the
    ``doubled_prior_innovation`` variant doubles the random-walk steps, which SBC barely sees
    at affordable sizes) and ``double_counted_item`` (:class:`~.planted_bugs.CountCellTwice`;
    the ``duplicate_as_corroboration`` variant, :class:`~.planted_bugs.DoubleCountCell`, is the
    milder form the evidence code would produce if a duplicate were taken for a
    corroboration). Repeat ``r`` uses seed ``seed + r`` (the same worlds for every bug: paired
    simulations). With ``control`` the same runs are made without a bug: how often a correct
    fit fails (the false alarms a failing bug run must be read against), and the reference for
    how far each bug moves the forecasts (``mean_abs_shift``).

    Parameters
    ----------
    model : ScenarioModel
    n_sims : int or mapping
        Simulations per SBC run: one size for every bug, or ``{bug: size}`` (bugs not named
        use 100). The control arm runs at the largest size; world ``k`` does not depend on the
        size, so every bug run is paired with the control's first worlds.
    repeats : int
        Runs per bug.
    bugs : sequence of str
        Names from :data:`~.planted_bugs.ALL_BUGS`.
    executor : concurrent.futures.Executor, optional
        Shared by every run (pass one to avoid recompiling per run).
    seed : int
    items : iterable of Evidence, optional
    draws, tune, chains, thin_to : int
    store : path, optional
        Runs are stored under ``store/<bug>/seed<seed>``.
    alpha : float
    control : bool
        Also run every repeat without a bug (bug name ``"control"``).
    progress : bool or callable
        As for :func:`~.sbc_result.sbc`.

    Returns
    -------
    PowerResult
        One row per run, and the share of runs that failed per bug.

    Examples
    --------
    >>> from iamg_forecast import load_model
    >>> from iamg_forecast.calibration import InlineExecutor
    >>> pw = power_check(load_model(), n_sims=50, repeats=2,
    ...                  executor=InlineExecutor())  # doctest: +SKIP
    >>> pw.fractions()  # doctest: +SKIP
    """
    say = progress_fn(progress)
    arms = ([CONTROL] if control else []) + [b for b in bugs if b != CONTROL]
    sizes = power_sizes(n_sims, arms)
    rows, results = [], {}
    reference: dict[int, np.ndarray] = {}
    own = executor is None
    ex = default_executor(chains) if own else executor
    try:
        for name in arms:
            transform, fit_model, what = planted_bug(model, name)
            for r in range(repeats):
                s = seed + r
                sub = None if store is None else Path(store) / name / f"seed{s}"
                res = sbc(model, n_sims=sizes[name], executor=ex, seed=s, items=items,
                          draws=draws, tune=tune, chains=chains, thin_to=thin_to,
                          fit_transform=transform, fit_model=fit_model, store=sub,
                          alpha=alpha, progress=progress)
                row = _run_row(name, what, sizes[name], r, s, res, reference)
                rows.append(row)
                results[(name, r)] = res
                say(f"[power] {name} repeat {r}: {'FAIL' if row['failed'] else 'pass'} "
                    f"(worst {row['worst_quantity']}, Holm p={row['min_p_holm']:.3g})")
    finally:
        if own:
            ex.shutdown(wait=True, cancel_futures=True)
    return PowerResult(runs=pd.DataFrame(rows), n_sims=sizes, repeats=repeats,
                       results=results)


def power_sizes(n_sims: int | Mapping[str, int], arms: Sequence[str],
                default: int = 100) -> dict[str, int]:
    """Simulations per SBC run for each power-check arm; the control runs at the largest.

    Examples
    --------
    >>> power_sizes({"double_counted_item": 800, "half_likelihood": 200},
    ...             ["control", "half_likelihood", "double_counted_item"])
    {'control': 800, 'half_likelihood': 200, 'double_counted_item': 800}
    >>> power_sizes(50, ["control", "half_likelihood"])
    {'control': 50, 'half_likelihood': 50}
    """
    if isinstance(n_sims, Mapping):
        unknown = sorted(set(n_sims) - set(ALL_BUGS) - {CONTROL})
        if unknown:
            raise ValueError(f"power-check sizes name unknown bugs {unknown}; expected names "
                             f"from {ALL_BUGS}")
        sizes = {a: int(n_sims.get(a, default)) for a in arms if a != CONTROL}
    else:
        sizes = {a: int(n_sims) for a in arms if a != CONTROL}
    bad = {a: n for a, n in sizes.items() if n < 2}
    if bad:
        raise ValueError(f"power-check sizes must be at least 2 simulations, got {bad}")
    if CONTROL in arms:
        top = max(sizes.values(), default=int(n_sims) if not isinstance(n_sims, Mapping)
                  else default)
        sizes = {CONTROL: top, **sizes}
    return sizes

"""A simulated world as an analyst sees it: its evidence items, and the what-if forecast.

:func:`world_evidence` turns a world's data back into the items an analyst would have logged;
:func:`holdout_forecast` fits the world without one of its reports and absorbs that report
with :meth:`~iamg_forecast.forecast.Forecast.what_if`, the production PSIS path that
simulated-world scoring (:mod:`.worlds`) compares with a full refit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from iamg_forecast.calibration.fits import fit_draws, flat
from iamg_forecast.calibration.quantities import quantities
from iamg_forecast.calibration.simulate import World
from iamg_forecast.diagnostics import diagnostics_of
from iamg_forecast.evidence.items import Evidence
from iamg_forecast.forecast import Forecast
from iamg_forecast.model import ScenarioModel
from iamg_forecast.spec import month_end

__all__ = ["world_evidence", "holdout_forecast", "probabilities"]


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
    >>> from iamg_forecast.calibration.engine import default_pattern
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
    return diagnostics_of(np.moveaxis(q, -1, 0), idata["sample_stats"].to_dataset())


def probabilities(fc: Forecast) -> list[float]:
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
    spec = model.spec
    items = world_evidence(model, world)
    reports = [e for e in items if e.indicator in spec.indicator_names]
    held = reports[int(np.random.default_rng(holdout_seed).integers(len(reports)))]
    rest = [e for e in items if e.id != held.id]
    cfg = {"draws": draws, "tune": tune, "chains": chains}
    data = model.data(rest, world.as_of)
    fitted, idata = fit_draws(model, data, fit_seed, cfg)
    shape = fitted["hazard_logit"].shape[:2]
    q = quantities(model, flat(fitted["latent_state"]), flat(fitted["indicator_eta"]),
                   flat(fitted["hazard_logit"]), data, world.as_of, world.horizon)
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
            "p_reduced": probabilities(fc), "p_psis": probabilities(after),
            "divergences": diag.divergences, "rhat_max": diag.r_hat,
            "ess_bulk_min": diag.ess_bulk}

"""Worlds simulated from the prior: true latent paths, evidence, and what happened by the horizon.

The evidence is drawn from exactly the generative story the likelihood encodes: in an observed
cell a report reflects the true state with probability ``r`` (its reliability) and is otherwise
noise from the indicator's false-report distribution; every month up to ``as_of`` reveals whether
an outcome happened. Simulation-based calibration, simulated-world scoring and the
leave-future-out check all start here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from iamg_forecast.evidence.cells import model_data, observed_through
from iamg_forecast.evidence.items import Evidence
from iamg_forecast.likelihood import KIND_CODES
from iamg_forecast.model import ScenarioModel, hazard_rows

__all__ = ["EvidencePattern", "World", "seed_pattern", "simulate_worlds", "outcome_truth"]


@dataclass(frozen=True)
class EvidencePattern:
    """Which (indicator, month) cells are observed, with which reliability, and ``as_of``.

    ``cells`` maps ``(indicator index, month index)`` to the reliability of the report there.
    """

    cells: dict[tuple[int, int], float]
    as_of: dt.date
    horizon: dt.date


@dataclass(frozen=True)
class World:
    """One simulated world: the truth, the data an analyst would see, and the outcomes."""

    index: int
    seed: int
    data: dict[str, np.ndarray]
    latent_state: np.ndarray      # (latent, month), true
    indicator_eta: np.ndarray     # (indicator, month), true
    hazard_logit: np.ndarray      # (hazard, month), true
    happened: np.ndarray          # (outcome,) bool: happened by the horizon
    resolved: np.ndarray          # (outcome,) bool: already known on as_of
    as_of: dt.date
    horizon: dt.date


def seed_pattern(model: ScenarioModel, items: Iterable[Evidence], *, as_of: dt.date | None = None,
                 horizon: dt.date | None = None, monitored_share: float = 0.15,
                 monitored_reliability: str = "B2", seed: int = 0) -> EvidencePattern:
    """The seed's indicators at the seed's months, plus randomly monitored months.

    Parameters
    ----------
    model : ScenarioModel
    items : iterable of Evidence
        Real evidence whose cells (and reliabilities) define the pattern.
    as_of, horizon : date, optional
        Default: the latest item's date and the spec's default horizon.
    monitored_share : float
        Share of the other (indicator, month) cells up to ``as_of`` that are monitored.
    monitored_reliability : str
        Admiralty grade of those monitored cells.
    seed : int
        Which cells are monitored.
    """
    spec = model.spec
    items = list(items)
    as_of = as_of or max(e.date for e in items)
    horizon = horizon or dt.date.fromisoformat(spec.scenario.default_horizon)
    d = model_data(spec, items, as_of)
    cells = {(int(i), int(m)): float(d["ind_rel"][i, m])
             for i, m in zip(*np.nonzero(d["ind_observed"]), strict=True)}
    rng = np.random.default_rng(seed)
    last = observed_through(spec, as_of)
    r_mon = spec.reliability.probability(monitored_reliability)
    for i in range(len(spec.indicators)):
        for m in range(last + 1):
            if (i, m) not in cells and rng.random() < monitored_share:
                cells[(i, m)] = r_mon
    return EvidencePattern(cells=cells, as_of=as_of, horizon=horizon)


def _report(kind: int, eta: float, r: float, ind, rng: np.random.Generator) -> float:
    true_report = rng.random() < r
    if kind == KIND_CODES["binary"]:
        p = 1.0 / (1.0 + np.exp(-eta)) if true_report else ind.false_report_rate.value
        return float(rng.random() < p)
    if kind == KIND_CODES["count"]:
        lam = float(np.exp(np.clip(eta, -30, 30))) if true_report else \
            ind.false_report_rate.value
        return float(rng.poisson(lam))
    if true_report:
        return float(rng.normal(eta, ind.obs_sd.value))
    return float(rng.normal(ind.baseline.mu, ind.false_report_sd.value))


def _first_event(logits: np.ndarray, rng: np.random.Generator) -> int:
    hits = rng.random(logits.shape[-1]) < 1.0 / (1.0 + np.exp(-logits))
    return int(np.argmax(hits)) if hits.any() else -1


def outcome_truth(model: ScenarioModel, hz: np.ndarray, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulate each outcome's month from true hazards ``hz`` (hazard, month).

    Returns ``(event_month, group_month, group_choice)`` for the whole month axis (-1: never).
    """
    spec = model.spec
    rows = hazard_rows(spec)
    events = [o.name for o in spec.outcomes if o.type == "event"]
    event_month = np.array([_first_event(hz[rows.index(e)], rng) for e in events],
                           dtype=np.int64)
    group_month = np.full(len(spec.competing_groups), -1, dtype=np.int64)
    group_choice = np.full(len(spec.competing_groups), -1, dtype=np.int64)
    for g_i, g in enumerate(spec.competing_groups):
        m = _first_event(hz[rows.index(g.name)], rng)
        if m < 0:
            continue
        choices = [c for c in spec.group_members(g.name)[:-1] if c != g.reference]
        logits = np.append([hz[rows.index(c), m] for c in choices], 0.0)
        probs = np.exp(logits - logits.max())
        group_month[g_i] = m
        group_choice[g_i] = int(rng.choice(len(probs), p=probs / probs.sum()))
    return event_month, group_month, group_choice


def _happened_by(model: ScenarioModel, months: tuple, limit: int) -> np.ndarray:
    """Per outcome (spec order), whether it happened at or before month ``limit``."""
    spec = model.spec
    event_month, group_month, group_choice = months
    events = [o.name for o in spec.outcomes if o.type == "event"]
    out = np.zeros(len(spec.outcome_names), dtype=bool)
    for j, e in enumerate(events):
        out[spec.outcome_names.index(e)] = 0 <= event_month[j] <= limit
    for g_i, g in enumerate(spec.competing_groups):
        choices = [c for c in spec.group_members(g.name)[:-1] if c != g.reference]
        ordered = choices + [g.reference]
        formed = 0 <= group_month[g_i] <= limit
        if formed:
            out[spec.outcome_names.index(ordered[group_choice[g_i]])] = True
        else:
            out[spec.outcome_names.index(g.none_outcome)] = True
    return out


def _resolved_on(model: ScenarioModel, months: tuple, last: int) -> np.ndarray:
    """Per outcome, whether its answer is known at month ``last``.

    Known means the event happened, or its group's event happened (settling every member).
    """
    spec = model.spec
    out = _happened_by(model, months, last)
    for g_i, g in enumerate(spec.competing_groups):
        formed = 0 <= months[1][g_i] <= last
        for name in spec.group_members(g.name):
            out[spec.outcome_names.index(name)] = formed
    return out


def simulate_worlds(model: ScenarioModel, pattern: EvidencePattern, n: int, seed: int = 0,
                    prior: dict[str, np.ndarray] | None = None) -> list[World]:
    """Draw ``n`` worlds from the prior and the evidence an analyst would see in each.

    Parameters
    ----------
    model : ScenarioModel
    pattern : EvidencePattern
        Observed cells and their reliabilities, ``as_of`` and ``horizon``.
    n : int
        Number of worlds.
    seed : int
        World ``k`` uses ``numpy.random.default_rng([seed, k])`` so worlds do not depend on
        ``n`` or on how they are split among workers.
    prior : dict, optional
        Prior draws (``latent_state``, ``indicator_eta``, ``hazard_logit``; first axis draws);
        drawn with :meth:`ScenarioModel.sample_prior` when omitted.

    Returns
    -------
    list of World
    """
    spec = model.spec
    if prior is None:
        ds = model.sample_prior(draws=n, seed=seed,
                                var_names=("latent_state", "indicator_eta", "hazard_logit"))
        prior = {k: ds[k].values.reshape((-1,) + ds[k].shape[2:]) for k in ds.data_vars}
    kinds = model.indicator_constants["kind"]
    last = observed_through(spec, pattern.as_of)
    h_idx = spec.month_index(pattern.horizon)
    base = model.data((), pattern.as_of)
    worlds = []
    for k in range(n):
        rng = np.random.default_rng([seed, k])
        eta, hz = prior["indicator_eta"][k], prior["hazard_logit"][k]
        data = {key: np.array(v, copy=True) for key, v in base.items()}
        for (i, m), r in sorted(pattern.cells.items()):
            data["ind_observed"][i, m] = 1.0
            data["ind_rel"][i, m] = r
            data["ind_value"][i, m] = _report(int(kinds[i]), float(eta[i, m]), r,
                                              spec.indicators[i], rng)
        months = outcome_truth(model, hz, rng)
        ev, gm, gc = months
        data["event_month"] = np.where((ev >= 0) & (ev <= last), ev, -1).astype(np.int64)
        known = (gm >= 0) & (gm <= last)
        data["group_month"] = np.where(known, gm, -1).astype(np.int64)
        data["group_choice"] = np.where(known, gc, -1).astype(np.int64)
        worlds.append(World(
            index=k, seed=seed, data=data, latent_state=prior["latent_state"][k],
            indicator_eta=eta, hazard_logit=hz,
            happened=_happened_by(model, months, h_idx),
            resolved=_resolved_on(model, months, last),
            as_of=pattern.as_of, horizon=pattern.horizon))
    return worlds

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

from iamg_forecast.evidence.cells import Step, history_data, model_data, observed_through
from iamg_forecast.evidence.items import Evidence
from iamg_forecast.kinds import kind_at
from iamg_forecast.model import ScenarioModel, hazard_rows
from iamg_forecast.spec import STAGE_ROWS

__all__ = ["EvidencePattern", "World", "seed_pattern", "simulate_worlds", "outcome_truth",
           "Truth"]


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
    steps: tuple = ()             # per competing group, its steps known on as_of


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


def draw_report(kind: int, eta: float, r: float, ind, rng: np.random.Generator) -> float:
    """One report of indicator ``ind`` (of kind ``kind``, its position in the registry) graded
    ``r``: true with probability ``r``, else drawn from the kind's false-report distribution.
    """
    entry = kind_at(kind)
    c = entry.constants(ind)
    if rng.random() < r:
        return entry.draw_true(eta, c, rng)
    return entry.draw_false(c, rng)


def _first_event(logits: np.ndarray, u: np.ndarray) -> int:
    """The first month whose uniform ``u`` falls below the hazard (-1: none)."""
    hits = u < 1.0 / (1.0 + np.exp(-logits))
    return int(np.argmax(hits)) if hits.any() else -1


@dataclass(frozen=True)
class Truth:
    """What happened in a simulated world: each event's month (-1: never) and each competing
    group's dated steps (:class:`~iamg_forecast.evidence.cells.Step`, whole month axis).
    """

    event_month: np.ndarray
    steps: list[list[Step]]

    def formation(self, g: int) -> Step | None:
        """Group ``g``'s event step, if it happened."""
        return next((s for s in self.steps[g] if s.kind == "formation"), None)

    def known(self, last: int) -> list[list[Step]]:
        """Each group's steps up to month ``last``."""
        return [[s for s in st if s.month <= last] for st in self.steps]


def _softmax_draw(logits: np.ndarray, rng: np.random.Generator) -> int:
    p = np.exp(logits - logits.max())
    return int(rng.choice(len(p), p=p / p.sum()))


def _group_steps(spec, g: int, hz: np.ndarray, rng: np.random.Generator) -> list[Step]:
    """One group's process over the month axis, with the transitions of
    :func:`iamg_forecast.likelihood.group_cumulative`.
    """
    group = spec.competing_groups[g]
    rows = hazard_rows(spec)
    choice_rows = [rows.index(c) for c in spec.choices(group.name)]
    a = _sigmoid(hz[rows.index(group.name)])
    steps: list[Step] = []
    if group.stages is None:
        for m in range(hz.shape[-1]):
            if rng.random() < a[m]:
                return [Step(m, "formation", _softmax_draw(hz[choice_rows, m], rng))]
        return steps
    b, v, vs, f = (_sigmoid(hz[rows.index(f"{group.name}:{r}")]) for r in STAGE_ROWS)
    state = 0 if group.stages.initial == "election" else 1
    for m in range(hz.shape[-1]):
        named = False
        if state == 0 and rng.random() < a[m]:
            steps.append(Step(m, "president"))
            state = 1
        if state == 1 and rng.random() < b[m]:
            c = _softmax_draw(hz[choice_rows, m], rng)
            steps.append(Step(m, "designation", c))
            state, named = 2 + c, True
        if state >= 2:
            c = state - 2
            if rng.random() < (vs[m] if named else v[m]):
                steps.append(Step(m, "formation", c))
                return steps
            if not named and rng.random() < f[m]:
                steps.append(Step(m, "failure"))
                state = 1
    return steps


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def outcome_truth(model: ScenarioModel, hz: np.ndarray, rng: np.random.Generator) -> Truth:
    """Simulate each outcome from true hazards ``hz`` (hazard, month) over the month axis."""
    spec = model.spec
    rows = hazard_rows(spec)
    events = [o.name for o in spec.outcomes if o.type == "event"]
    draws = [rng.random(hz.shape[-1]) for _ in events]
    event_month = np.array([_first_event(hz[rows.index(e)], u) for e, u in zip(events, draws,
                                                                                strict=True)],
                           dtype=np.int64)
    steps = [_group_steps(spec, g, hz, rng) for g in range(len(spec.competing_groups))]
    truth = Truth(event_month, steps)
    months = np.arange(hz.shape[-1])
    for j, e in enumerate(events):   # outcomes that move once another has happened
        after = [(p, sign, row) for c, p, sign, row in spec.outcome_effects if c == e]
        if after:
            logit = hz[rows.index(e)] + sum(
                sign * hz[rows.index(row)] * (months > _month_of(spec, truth, p))
                for p, sign, row in after)
            event_month[j] = _first_event(logit, draws[j])
    return truth


def _month_of(spec, truth: Truth, outcome: str) -> int:
    """The month an outcome happened in a simulated world (a large number: never)."""
    o = spec.outcome(outcome)
    never = 10 ** 6
    if o.type == "event":
        m = int(truth.event_month[[x.name for x in spec.outcomes if x.type == "event"]
                                  .index(outcome)])
        return m if m >= 0 else never
    g = [x.name for x in spec.competing_groups].index(o.group)
    done = truth.formation(g)
    chosen = done is not None and done.choice == spec.choices(o.group).index(outcome)
    return done.month if chosen else never


def _happened_by(model: ScenarioModel, truth: Truth, limit: int) -> np.ndarray:
    """Per outcome (spec order), whether it happened at or before month ``limit``."""
    spec = model.spec
    events = [o.name for o in spec.outcomes if o.type == "event"]
    out = np.zeros(len(spec.outcome_names), dtype=bool)
    for j, e in enumerate(events):
        out[spec.outcome_names.index(e)] = 0 <= truth.event_month[j] <= limit
    for g_i, g in enumerate(spec.competing_groups):
        done = truth.formation(g_i)
        if done is not None and done.month <= limit:
            out[spec.outcome_names.index(spec.choices(g.name)[done.choice])] = True
        else:
            out[spec.outcome_names.index(g.none_outcome)] = True
    return out


def _resolved_on(model: ScenarioModel, truth: Truth, last: int) -> np.ndarray:
    """Per outcome, whether its answer is known at month ``last``.

    Known means the event happened, or its group's event happened (settling every member).
    """
    spec = model.spec
    out = _happened_by(model, truth, last)
    for g_i, g in enumerate(spec.competing_groups):
        done = truth.formation(g_i)
        formed = done is not None and done.month <= last
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
            data["ind_value"][i, m] = draw_report(int(kinds[i]), float(eta[i, m]), r,
                                              spec.indicators[i], rng)
        truth = outcome_truth(model, hz, rng)
        ev = truth.event_month
        data["event_month"] = np.where((ev >= 0) & (ev <= last), ev, -1).astype(np.int64)
        data.update(history_data(spec, truth.known(last), last))
        worlds.append(World(
            index=k, seed=seed, data=data, latent_state=prior["latent_state"][k],
            indicator_eta=eta, hazard_logit=hz,
            happened=_happened_by(model, truth, h_idx),
            resolved=_resolved_on(model, truth, last),
            as_of=pattern.as_of, horizon=pattern.horizon,
            steps=tuple(tuple(st) for st in truth.known(last))))
    return worlds

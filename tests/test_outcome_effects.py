"""Outcome-to-outcome effects (``after`` in the outcomes' YAML): an event's hazard moves once
another outcome has happened. The forecast follows every combination of the parents exactly;
these tests check it against simulation, the known-parent shortcut and the graph.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from iamg_forecast.errors import SpecError
from iamg_forecast.likelihood import NP, dependent_cumulative, event_cumulative
from iamg_forecast.model import PACKED_DATA, ScenarioModel
from iamg_forecast.spec import Spec, load_spec

CHILD = "us_aid_cut_or_sanctions"


def _effect(parent, sign="+", sigma=1.0):
    return {"outcome": parent, "sign": sign,
            "effect": {"dist": "HalfNormal", "sigma": sigma, "rationale": "test effect"}}


def spec_with(after, child=CHILD):
    """The bundled spec with ``after`` on ``child`` as the only outcome-to-outcome effects."""
    data = copy.deepcopy(load_spec().to_dict())
    for o in data["outcomes"]:
        o.pop("after", None)
        if o["name"] == child:
            o["after"] = after
    return Spec.from_mapping(data)


@pytest.fixture(scope="module")
def effect_spec():
    return spec_with([_effect("uncoordinated_attack"), _effect("maliki_confirmed"),
                      _effect("verifiable_disarmament_step", "-")])


def test_spec_names_the_effects_and_their_rows(effect_spec):
    rows = effect_spec.hazard_rows
    assert rows[-3:] == [f"{CHILD}:after:uncoordinated_attack", f"{CHILD}:after:maliki_confirmed",
                         f"{CHILD}:after:verifiable_disarmament_step"]
    assert [e[2] for e in effect_spec.outcome_effects] == [1, 1, -1]
    assert effect_spec.hazard_prior(rows[-1]).sigma == 1.0


@pytest.mark.parametrize("after,child,fragment", [
    ([_effect("no_such")], CHILD, "expected another event or choice outcome"),
    ([_effect(CHILD)], CHILD, "expected another event or choice outcome"),
    ([_effect("deadlock_persists")], CHILD, "expected another event or choice outcome"),
    ([_effect("maliki_confirmed"), _effect("sudani_return")], CHILD, "at most one choice"),
    ([_effect("militia_fragmentation")] * 2, CHILD, "named more than once"),
    ([_effect("militia_fragmentation")], "maliki_confirmed", "only an event outcome"),
    ([{**_effect("militia_fragmentation"), "effect": {"dist": "Normal", "mu": 0, "sigma": 1,
                                                     "rationale": "signed"}}], CHILD,
     "positive prior"),
])
def test_bad_effects_are_named(after, child, fragment):
    with pytest.raises(SpecError, match=fragment):
        spec_with(after, child)


def test_a_parent_cannot_depend_on_outcomes_itself():
    data = copy.deepcopy(load_spec().to_dict())
    for o in data["outcomes"]:
        if o["name"] == CHILD:
            o["after"] = [_effect("uncoordinated_attack")]
        if o["name"] == "uncoordinated_attack":
            o["after"] = [_effect("militia_fragmentation")]
    with pytest.raises(SpecError, match="cannot itself depend"):
        Spec.from_mapping(data)


def test_forecast_matches_simulation_of_two_parents():
    """Exact recursion against 400,000 simulated paths: two event parents with their own
    hazards, effects +2 and -1.5, a child with a rising hazard; months 0-1 are observed."""
    rng = np.random.default_rng(0)
    n_m, obs = 8, 1
    child = np.linspace(-4.0, -2.5, n_m)
    parents = [np.full(n_m, -2.0), np.linspace(-3.0, -1.0, n_m)]
    effects = [2.0, -1.5]
    cum_p = [event_cumulative(p[None], obs)[0] for p in parents]
    got = dependent_cumulative(child, [np.full(n_m, e) for e in effects], cum_p, [0, 0], obs,
                               n_m)
    n = 400_000
    sig = 1 / (1 + np.exp(-np.array(parents)))
    p_month = np.full((2, n), n_m)   # month each parent happens (n_m: not in the window)
    for m in range(obs + 1, n_m):
        for j in range(2):
            hit = (p_month[j] == n_m) & (rng.random(n) < sig[j, m])
            p_month[j, hit] = m
    c_month = np.full(n, n_m)
    for m in range(obs + 1, n_m):
        logit = child[m] + sum(e * (p_month[j] < m) for j, e in enumerate(effects))
        hit = (c_month == n_m) & (rng.random(n) < 1 / (1 + np.exp(-logit)))
        c_month[hit] = m
    sim = np.array([(c_month <= m).mean() for m in range(n_m)])
    mcse = np.sqrt(sim * (1 - sim) / n)
    assert np.all(np.abs(got - sim) <= 4 * mcse + 1e-12), (got, sim)
    # and the dependence matters here: without the effects the answer is clearly different
    plain = event_cumulative(child[None], obs)[0]
    assert abs(plain[-1] - sim[-1]) > 20 * mcse[-1]


def _hz(model, seed=0):
    """Hazard logits (1, rows, months) from a prior draw of every row."""
    rng = np.random.default_rng(seed)
    rows = model.spec.hazard_rows
    hz = rng.normal(-2.0, 0.5, (1, len(rows), len(model.spec.months)))
    for k, r in enumerate(rows):
        if ":after:" in r:
            hz[0, k] = 1.0 + 0.5 * k % 3   # positive sizes, constant over months
    return hz


def test_known_parents_enter_the_hazard_from_the_month_after(effect_spec):
    from iamg_forecast.evidence import Evidence
    model = ScenarioModel(effect_spec)
    hz = _hz(model)
    rows = effect_spec.hazard_rows
    item = Evidence(indicator="uncoordinated_attack", date="2026-01-10", source="t",
                    reliability="A1")
    data = model.data([item], as_of="2026-03-31")
    ll, cum = model._outcome_terms(hz, data, ops=NP)
    j = effect_spec.outcome_names.index(CHILD)
    # the other parents cannot happen (hazard -inf) so the attack's effect alone counts
    stopped = hz.copy()
    for name in ("verifiable_disarmament_step",):
        stopped[0, rows.index(name)] = -50.0
    stopped[0, rows.index("pm_selection")] = -50.0
    _, cum_s = model._outcome_terms(stopped, data, ops=NP)
    size = stopped[0, rows.index(f"{CHILD}:after:uncoordinated_attack")]
    expect = event_cumulative(stopped[:, rows.index(CHILD)] + size, int(data["obs_through"]))
    assert np.allclose(cum_s[0, j], expect[0], atol=1e-9)
    # the likelihood of the months known without a cut: January without the effect, February
    # and March with it
    m = np.arange(len(effect_spec.months))
    jan = effect_spec.month_index("2026-01-10")
    logit = stopped[0, rows.index(CHILD)] + size * (m > jan)
    plain_spec = spec_with([])
    ll_plain, _ = ScenarioModel(plain_spec)._outcome_terms(
        stopped[:, [rows.index(r) for r in plain_spec.hazard_rows]], data, ops=NP)
    ll_s, _ = model._outcome_terms(stopped, data, ops=NP)
    obs = int(data["obs_through"])
    diff = np.sum(np.log1p(-1 / (1 + np.exp(-logit[:obs + 1])))) - np.sum(
        np.log1p(-1 / (1 + np.exp(-stopped[0, rows.index(CHILD), :obs + 1]))))
    assert float(ll_s[0] - ll_plain[0]) == pytest.approx(diff, abs=1e-9)
    assert np.isfinite(ll).all() and np.all(np.diff(cum[0, j]) >= -1e-12)


def test_graph_and_numpy_agree(model):
    """The PyMC graph's ``outcome_cum`` equals the NumPy computation at a point (the bundled
    spec has effects; the kernel's agreement with the graph when parents have happened is
    ``tests/test_kernel.py::test_resolved_outcomes_and_groups``)."""
    import pytensor

    from iamg_forecast.evidence import Evidence
    assert model.spec.outcome_effects
    item = Evidence(indicator="verifiable_disarmament_step", date="2026-02-03", source="t",
                    reliability="A1")
    data = model.data([item], as_of="2026-02-28")
    pmm = model.pymc_model
    fn = pytensor.function(pmm.value_vars, [pmm["hazard_logit"], pmm["outcome_cum"]],
                           on_unused_input="ignore")
    point = pmm.initial_point(random_seed=3)
    pmm[PACKED_DATA].set_value(model.graph_data(data)[PACKED_DATA])
    hz, cum_graph = fn(*[point[v.name] for v in pmm.value_vars])
    _, cum_np = model._outcome_terms(hz[None], data, ops=NP)
    assert np.allclose(cum_graph, cum_np[0], atol=1e-10)


def test_simulated_worlds_match_the_forecast(effect_spec):
    """The simulator (``calibration.simulate.outcome_truth``) draws the parents, the PM choice
    included, then the child with the effects; its frequencies match the exact forecast."""
    from iamg_forecast.calibration.simulate import outcome_truth
    model = ScenarioModel(effect_spec)
    rows = effect_spec.hazard_rows
    hz = _hz(model, seed=4)[0]
    hz[rows.index("pm_selection")] = 0.0          # the group moves within the window
    hz[rows.index(CHILD)] = -4.5                  # a rare child: the effects decide its chance
    for k, r in enumerate(rows):
        if ":after:" in r:
            hz[k] = 2.5
    _, cum = model._outcome_terms(hz[None], model.data(), ops=NP)
    j = effect_spec.outcome_names.index(CHILD)
    ev = [o.name for o in effect_spec.outcomes if o.type == "event"].index(CHILD)
    rng = np.random.default_rng(1)
    n = 20_000
    months = np.array([outcome_truth(model, hz, rng).event_month[ev] for _ in range(n)])
    for m in (5, 12, len(effect_spec.months) - 1):
        sim = np.mean((months >= 0) & (months <= m))
        mcse = np.sqrt(sim * (1 - sim) / n)
        assert abs(sim - cum[0, j, m]) <= 4 * mcse, (m, sim, cum[0, j, m])
    without = hz.copy()
    without[[k for k, r in enumerate(rows) if ":after:" in r]] = 0.0
    _, plain = model._outcome_terms(without[None], model.data(), ops=NP)
    assert abs(plain[0, j, -1] - cum[0, j, -1]) > 0.1   # the effects matter in this check

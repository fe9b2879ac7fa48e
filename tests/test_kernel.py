"""The hand-written kernel against the PyMC model it mirrors: log density and gradient agree.

The PyMC model is the definition; the kernel is what the sampler runs. Agreement is checked at
random points of the unconstrained space (with Jacobians), for the default model with the seed
evidence, with an intervention, with every prior family and with a resolved competing group.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil

import numpy as np
import pytest
import yaml

import iamg_forecast as iaf
from iamg_forecast.evidence import Evidence
from iamg_forecast.inference import STORED_VARS, CompileCache
from iamg_forecast.kernel import KernelUnsupported, compile_kernel, kernel_layout
from iamg_forecast.spec import default_priors_dir

# Sums of a few hundred terms of size ~1e2: agreement to 1e-9 is float64 rounding, while any
# missing or wrong term (a Jacobian, a constant, one cell) moves the log density by > 1e-3.
TOL = 1e-9


def _keep(model):
    return [*STORED_VARS, *(rv.name for rv in model.pymc_model.free_RVs)]


@contextlib.contextmanager
def _graph_data(model, packed):
    """The PyMC model's evidence vector set to ``packed`` for the block, then restored (the
    model is shared by the session's tests)."""
    (shared,) = [v for v in model.pymc_model.data_vars if v.name == "evidence_slots"]
    before = shared.get_value()
    shared.set_value(packed)
    try:
        yield
    finally:
        shared.set_value(before)


def _pymc_functions(model):
    pmm = model.pymc_model
    return pmm.compile_logp(jacobian=True), pmm.compile_dlogp(jacobian=True)


def _assert_agrees(model, data, n_points=4, scale=0.8, seed=0):
    model = model.fitted_to(data)
    compiled = compile_kernel(model, _keep(model))
    layout = kernel_layout(model, _keep(model))
    packed = model.graph_data(data)["evidence_slots"]
    logp, dlogp = _pymc_functions(model)
    rng = np.random.default_rng(seed)
    for _ in range(n_points):
        x = rng.normal(size=layout.n_dim) * scale
        point = {name: x[sl].reshape(shape) for name, sl, shape in
                 zip(layout.value_names, layout.slices, layout.shapes, strict=False)}
        ours, grad = compiled.logp_func(x, packed)
        with _graph_data(model, packed):
            theirs, their_grad = logp(point), dlogp(point)
        assert abs(ours - theirs) < TOL * max(1.0, abs(ours)), (ours, theirs)
        np.testing.assert_allclose(grad, their_grad, rtol=0, atol=TOL * 100)
    return compiled, layout, packed


def _trace_vector(model, compiled, layout, packed, x):
    """The kernel's expanded trace vector and the PyMC model's values, by variable."""
    (out,) = compiled.expand_func(x, packed)
    pmm = model.pymc_model
    point = {name: x[sl].reshape(shape) for name, sl, shape in
             zip(layout.value_names, layout.slices, layout.shapes, strict=False)}
    names = layout.names[len(layout.value_names):]
    outputs = pmm.replace_rvs_by_values([pmm[n] for n in names])
    fn = pmm.compile_fn(outputs, inputs=pmm.value_vars, point_fn=False)
    with _graph_data(model, packed):
        values = fn(**point)
    return {n: out[sl].reshape(shape) for n, sl, shape in
            zip(layout.names, layout.slices, layout.shapes, strict=True)}, dict(
        zip(names, values, strict=True))


def test_seed_evidence_logp_and_gradient(model, seed_items):
    _assert_agrees(model, model.data(seed_items))


def test_intervention_and_as_of(model, seed_items):
    held = model.do("iran_domestic_crisis", 1.5, start="2026-03")
    _assert_agrees(held, held.data(seed_items, dt.date(2026, 1, 20)), seed=1)


def test_trace_variables_match_the_graph(model, seed_items):
    held = model.do("us_iran_escalation", -1.0, start="2026-02")
    data = held.data(seed_items)
    compiled, layout, packed = _assert_agrees(held, data, n_points=1)
    x = np.random.default_rng(5).normal(size=layout.n_dim)
    ours, theirs = _trace_vector(held.fitted_to(data), compiled, layout, packed, x)
    assert set(theirs) >= set(STORED_VARS)
    for name, value in theirs.items():
        np.testing.assert_allclose(ours[name], value, rtol=1e-12, atol=1e-12, err_msg=name)


@pytest.fixture(scope="module")
def families_model(tmp_path_factory):
    """The default spec with every prior family, mixed inside blocks."""
    path = tmp_path_factory.mktemp("families")
    for f in default_priors_dir().glob("*.yaml"):
        shutil.copy(f, path / f.name)
    sc = yaml.safe_load((path / "scenario.yaml").read_text())
    sc["latents"][0]["initial"] = {"dist": "StudentT", "nu": 4, "mu": 0.2, "sigma": 0.7,
                                   "rationale": "test"}
    sc["latents"][1]["initial"] = {"dist": "Beta", "alpha": 2, "beta": 3, "rationale": "test"}
    sc["links"][0]["effect"] = {"dist": "Gamma", "alpha": 2, "beta": 3, "rationale": "test"}
    sc["links"][1]["effect"] = {"dist": "LogNormal", "mu": -1, "sigma": 0.5,
                                "rationale": "test"}
    (path / "scenario.yaml").write_text(yaml.safe_dump(sc))
    ind = yaml.safe_load((path / "indicators.yaml").read_text())
    ind["indicators"][0]["loadings"][0]["prior"] = {"dist": "Exponential", "lam": 2,
                                                    "rationale": "test"}
    ind["indicators"][1]["baseline"] = {"dist": "Beta", "alpha": 1.5, "beta": 4,
                                        "rationale": "test"}
    ind["indicators"][2]["baseline"] = {"dist": "StudentT", "nu": 3, "mu": -1, "sigma": 1,
                                        "rationale": "test"}
    (path / "indicators.yaml").write_text(yaml.safe_dump(ind))
    return iaf.load_model(path)


def test_every_prior_family(families_model, seed_items):
    dists = {p.dist for _, _, priors in families_model.parameter_blocks().values()
             for p in priors}
    assert dists == {"Normal", "HalfNormal", "LogNormal", "Gamma", "Exponential", "Beta",
                     "StudentT"}
    _assert_agrees(families_model, families_model.data(seed_items), seed=2)


def test_families_trace_variables(families_model, seed_items):
    data = families_model.data(seed_items)
    compiled, layout, packed = _assert_agrees(families_model, data, n_points=1, seed=3)
    x = np.random.default_rng(6).normal(size=layout.n_dim)
    ours, theirs = _trace_vector(families_model.fitted_to(data), compiled, layout, packed, x)
    for name, value in theirs.items():
        np.testing.assert_allclose(ours[name], value, rtol=1e-12, atol=1e-12, err_msg=name)


def test_resolved_outcomes_and_groups(model, seed_items):
    """Logged events and a resolved competing group (the choice term) agree too; all three
    are parents of outcome-to-outcome effects in the bundled spec, so their effects on the
    outcomes they move (from the month after) agree as well."""
    extra = [Evidence(indicator="maliki_confirmed", date=dt.date(2026, 1, 25), value=1,
                      source="test", reliability="A1"),
             Evidence(indicator="uncoordinated_attack", date=dt.date(2026, 1, 10), value=1,
                      source="test", reliability="A1"),
             Evidence(indicator="verifiable_disarmament_step", date=dt.date(2025, 12, 10),
                      value=1, source="test", reliability="A1")]
    parents = {p for _, p, _, _ in model.spec.outcome_effects}
    assert parents == {e.indicator for e in extra}
    data = model.data([*seed_items, *extra], as_of=dt.date(2026, 3, 31))
    assert (data["group_month"] >= 0).any() and (data["event_month"] >= 0).any()
    _assert_agrees(model, data, seed=4)


def _item(name, day, value=1.0, grade="A1"):
    return Evidence(indicator=name, date=day, value=value, source="test", reliability=grade)


def test_staged_formation_and_counts(model, seed_items):
    """Every step of the staged formation (president, a designate who withdraws, a new
    designate and the vote, some in one month) and negative-binomial counts in the thousands
    agree too."""
    steps = [_item("president_elected", "2025-12-20"), _item("sudani_designated", "2025-12-28"),
             _item("designate_withdraws", "2026-01-20"), _item("other_designated", "2026-01-20"),
             _item("iamg_attacks_count", "2025-12-31", 300.0, "B2"),
             _item("iamg_attacks_count", "2026-01-31", 2000.0, "B2")]
    assert model.spec.indicator("iamg_attacks_count").dispersion is not None
    data = model.data([*seed_items, *steps], dt.date(2026, 1, 31))
    assert int(data["choice_on"].sum()) == 2 and int(data["group_state"][0]) == 4
    _assert_agrees(model, data, seed=8)
    data = model.data([*seed_items, *steps, _item("other_pm", "2026-01-30")])
    assert int(data["group_month"][0]) == 2
    _assert_agrees(model, data, seed=9)


def test_poisson_counts_without_dispersion(tmp_path, seed_items):
    for f in default_priors_dir().glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    ind = yaml.safe_load((tmp_path / "indicators.yaml").read_text())
    for row in ind["indicators"]:
        row.pop("dispersion", None)
    (tmp_path / "indicators.yaml").write_text(yaml.safe_dump(ind))
    poisson = iaf.load_model(tmp_path)
    assert poisson.indicator_constants["obs_sd"][
        poisson.spec.indicator_names.index("iamg_attacks_count")] == 0.0
    data = poisson.data([*seed_items, _item("iamg_attacks_count", "2026-01-31", 25.0, "B2")])
    _assert_agrees(poisson, data, seed=10)


def test_unsupported_model_falls_back(model, monkeypatch):
    """A model the kernel cannot mirror is compiled from the PyMC graph instead."""
    import iamg_forecast.kernel as kernel

    def refuse(*args, **kwargs):
        raise KernelUnsupported("test")

    monkeypatch.setattr(kernel, "compile_kernel", refuse)
    calls = []
    import nutpie

    monkeypatch.setattr(nutpie, "compile_pymc_model",
                        lambda pmm, var_names: calls.append(var_names) or "compiled")
    assert CompileCache().get(model) == "compiled"
    assert calls and "latent_state" in calls[0]


def test_backend_is_validated():
    with pytest.raises(ValueError, match="backend must be one of"):
        CompileCache(backend="jax")


@pytest.mark.slow
def test_pytensor_backend_agrees_and_samples(model, seed_items):
    """The documented alternative: nutpie's build of the PyMC graph, end to end."""
    from iamg_forecast.inference import sample_posterior

    cache = CompileCache(backend="pytensor")
    compiled = cache.get(model)
    assert cache.backend_of(model) == "pytensor"
    kern = compile_kernel(model, _keep(model))
    packed = model.graph_data(model.data(seed_items))["evidence_slots"]
    rng = np.random.default_rng(7)
    for _ in range(3):
        x = rng.normal(size=kern.n_dim) * 0.8
        with _graph_data(model, packed):   # what nutpie's PyTensor function reads
            graph_lp, graph_grad = compiled.logp_func(x)
        lp, grad = kern.logp_func(x, packed)
        assert abs(lp - graph_lp) < TOL * max(1.0, abs(lp))
        np.testing.assert_allclose(grad, graph_grad, rtol=0, atol=TOL * 100)
    tree = sample_posterior(model, model.data(seed_items), seed=1, draws=200, tune=200,
                            chains=2, cache=cache)
    assert tree.attrs["sampler_backend"] == "pytensor"
    assert set(tree["posterior"].data_vars) >= set(STORED_VARS)


def test_layout_names_and_initial_points_are_pymcs(model, families_model):
    """The kernel reads the trace's names without cloning the graph and builds the chains'
    initial points with its own compile of PyMC's recipe (both for cold-start speed): both must
    stay equal to what PyMC gives, for the bundled model and one with every prior family."""
    from pymc.initial_point import make_initial_point_fn

    from iamg_forecast import kernel

    for m in (model, families_model):
        pmm = m.pymc_model
        assert kernel._trace_names(pmm) == [v.name for v in pmm.unobserved_value_vars]
        ours = kernel._initial_point_fn(pmm)
        theirs = make_initial_point_fn(model=pmm, jitter_rvs=set(pmm.free_RVs),
                                       return_transformed=True)
        for seed in (0, 7, 2**31 - 1):
            a, b = ours(seed), theirs(seed)
            assert list(a) == list(b)
            for name in a:
                np.testing.assert_array_equal(a[name], b[name])

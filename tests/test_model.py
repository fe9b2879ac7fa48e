"""Spec -> PyMC model: dims, prior predictive, competing risks, extension without code."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import yaml

import iamg_forecast as iaf
from iamg_forecast.likelihood import NP
from iamg_forecast.model import PACKED_DATA
from iamg_forecast.spec import default_priors_dir

PM = ["maliki_confirmed", "sudani_return", "other_pm", "deadlock_persists"]


def test_model_has_named_dims_and_data_slots(model):
    m = model.pymc_model
    for dim in ("month", "latent", "outcome", "indicator", "hazard"):
        assert dim in m.coords
    assert len(m.coords["month"]) == len(model.spec.months)
    # one packed pm.Data vector; the slots are views into it
    assert [d.name for d in m.data_vars] == [PACKED_DATA]
    names = [row[0] for row in model.slot_layout]
    assert {"cells0_ind", "cells0_value", "cells0_log_rel", "cells0_on", "window",
            "obs_through", "do_mask"} <= set(names)
    ends = [start + int(np.prod(shape)) for _, start, shape, _ in model.slot_layout]
    assert [row[1] for row in model.slot_layout][1:] == ends[:-1]  # contiguous, no overlap
    assert m[PACKED_DATA].get_value().size == ends[-1]


def test_packed_data_round_trips_and_rejects_wrong_shapes(model, seed_items):
    data = model.data(seed_items)
    packed = model.graph_data(data)[PACKED_DATA]
    slots = model.slot_values(data)
    for name, start, shape, is_int in model.slot_layout:
        view = packed[start:start + int(np.prod(shape))].reshape(shape)
        np.testing.assert_array_equal(view.astype(int) if is_int else view, slots[name])
    bad = {**data, "event_month": np.zeros(len(data["event_month"]) + 1, dtype=np.int64)}
    with pytest.raises(ValueError, match="event_month.*expects"):
        model.graph_data(bad)
    with pytest.raises(ValueError, match="unknown \\['surplus'\\]"):
        model.graph_data({**data, "surplus": np.zeros(2)})


def test_prior_predictive_samples_and_pm_outcomes_sum_to_one(model):
    cum = model.sample_prior(draws=300, seed=3, var_names=("outcome_cum",))["outcome_cum"]
    assert np.isfinite(cum.values).all()
    total = cum.sel(outcome=PM).sum("outcome").values
    np.testing.assert_allclose(total, 1.0, atol=1e-9, rtol=0)


def test_numpy_and_graph_agree_on_outcome_probabilities(seed_forecast):
    """The graph's deterministic and the NumPy recomputation are one function; check it.

    Both come from ``likelihood.py``, so this checks the wiring; the formula itself is checked
    by simulation in tests/test_likelihood_formulas.py.

    Fits store hazards only (``inference.STORED_VARS``); forecasts recompute the outcome
    probabilities in NumPy. Evaluate the graph's ``outcome_cum`` at a few posterior points.
    """
    import nutpie
    import pymc as pm
    import pytensor

    from iamg_forecast.inference import COMPILED, derived_vars, posterior_tree

    model = seed_forecast.model.fitted_to(seed_forecast.data)
    pmm = model.pymc_model
    free = list(pmm.free_RVs)
    fn = pytensor.function(free, [pmm["outcome_cum"], pmm["hazard_logit"]],
                           on_unused_input="ignore")
    assert "outcome_cum" not in seed_forecast.idata["posterior"]
    # A fit converts only the stored variables; convert the free ones too, from one short run.
    swapped = COMPILED.get(model).with_data(**model.graph_data(seed_forecast.data))
    raw = nutpie.sample(swapped, draws=150, tune=60, chains=1, seed=4, progress_bar=False,
                        return_raw_trace=True)
    post = posterior_tree(raw, COMPILED.get(model),
                          derive=lambda p: derived_vars(p, model))["posterior"]
    with pmm:
        pm.set_data(model.graph_data(seed_forecast.data))
        for draw in (0, 17, 123):
            cum_graph, hz = fn(*(post[rv.name].values[0, draw] for rv in free))
            np.testing.assert_allclose(hz, post["hazard_logit"].values[0, draw], atol=1e-9)
            _, cum = model._outcome_terms(hz[None], seed_forecast.data, ops=NP)
            np.testing.assert_allclose(cum[0], cum_graph, atol=1e-9)
        pm.set_data(model.graph_data(model.data()))


def test_intervention_is_data_not_a_rebuild(model):
    m2 = model.do("iran_domestic_crisis", 2.0, start="2026-02")
    assert m2.hash == model.hash
    mask = m2.intervention_data()["do_mask"]
    li = model.spec.latent_order.index("iran_domestic_crisis")
    assert mask[li].sum() == len(model.spec.months) - model.spec.month_index("2026-02-01")
    with pytest.raises(KeyError, match="did you mean"):
        model.do("iran_domestic_crisi", 1.0)
    bad = {("high", None): (TypeError, "must be a number on the logit scale, got 'high'"),
           (True, None): (TypeError, "must be a number"),
           (float("nan"), None): (ValueError, "must be finite, got nan"),
           (1.0, "2035-01"): (ValueError, "start '2035-01' is outside the model's months"),
           (1.0, "2026-13"): (ValueError, "start '2026-13' is not a month")}
    for (value, start), (error, message) in bad.items():
        with pytest.raises(error, match=re.escape(message)):
            model.do("iran_domestic_crisis", value, start=start)


def syrian_extension(dest):
    """Add the seed's closing development in YAML only (used by the test and notebook 04)."""
    extra = {
        "latents": [{
            "name": "syrian_army_pressure_north", "role": "driver",
            "description": "Pressure from advancing Syrian Army forces in northern Iraq.",
            "quote": "advancing Syrian Army forces created a fresh challenge to manage in "
                     "Northern Iraq",
            "initial": {"dist": "Normal", "mu": 1.0, "sigma": 0.5,
                        "rationale": "The seed reports the advance as under way (test)."},
            "innovation_sd": {"value": 0.2, "rationale": "Moves with the front line."},
        }],
        "links": [{
            "parent": "syrian_army_pressure_north", "child": "militia_cohesion", "sign": "-",
            "effect": {"dist": "HalfNormal", "sigma": 1.0,
                       "rationale": "A second front strains the factions' cohesion."},
        }],
        "indicators": [{
            "name": "syrian_army_advance_north_reported", "kind": "binary",
            "description": "Reports of Syrian Army advances near the Iraqi border.",
            "baseline": {"dist": "Normal", "mu": -3, "sigma": 1, "rationale": "Rare event."},
            "loadings": [{"latent": "syrian_army_pressure_north", "sign": "+",
                          "prior": {"dist": "HalfNormal", "sigma": 1, "rationale": "Direct."}}],
            "false_report_rate": {"value": 0.05, "rationale": "Front-line claims are noisy."},
        }],
    }
    (dest / "syria.yaml").write_text(yaml.safe_dump(extra, sort_keys=False))


@pytest.mark.slow
def test_extension_in_yaml_only_compiles_and_shifts_prior(tmp_path):
    dest = tmp_path / "priors"
    shutil.copytree(default_priors_dir(), dest)
    syrian_extension(dest)
    base = iaf.prior_check(iaf.load_model(), draws=4000, seed=11)
    ext_model = iaf.load_model(dest)
    assert "syrian_army_pressure_north" in ext_model.spec.latent_order
    ext = iaf.prior_check(ext_model, draws=4000, seed=11)
    p0 = base.table.set_index("outcome").loc["militia_fragmentation", "prior_p"]
    p1 = ext.table.set_index("outcome").loc["militia_fragmentation", "prior_p"]
    # Monte Carlo standard error of a mean of per-draw probabilities (sd <= 0.5, n = 4000) is
    # below 0.008 for each; demand a shift well beyond 3 combined standard errors.
    assert p1 - p0 > 0.035, (p0, p1)


def test_prior_check_table(model):
    pc = iaf.prior_check(model, draws=400, seed=1)
    assert list(pc.table["outcome"]) == model.spec.outcome_names
    assert set(pc.formation_pit["formation"]) == {"2006", "2010", "2014", "2018", "2022"}
    assert pc.formation_pit["pit"].between(0, 1).all()
    assert "reference" in pc.to_text()


def test_elicit_round_trip():
    e = iaf.elicit(0.02, 0.10, mass=0.9)
    lo, hi = np.log(0.02 / 0.98), np.log(0.10 / 0.90)
    from scipy import stats

    mass = stats.norm.cdf(hi, e.prior.mu, e.prior.sigma) - stats.norm.cdf(lo, e.prior.mu,
                                                                          e.prior.sigma)
    assert abs(mass - 0.9) < 0.01
    again = yaml.safe_load(e.yaml)
    assert again["dist"] == "Normal" and "PreliZ" in again["rationale"]
    with pytest.raises(ValueError, match="lower must be below upper"):
        iaf.elicit(0.5, 0.1)


@pytest.mark.slow
def test_priors_ship_in_the_wheel(tmp_path):
    """pip install . into a fresh location, run from another directory: load_model works."""
    root = default_priors_dir().parent
    wheel_dir, target, elsewhere = tmp_path / "w", tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(wheel_dir), str(root)], check=True, capture_output=True)
    wheel = next(wheel_dir.glob("*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    code = textwrap.dedent("""
        import iamg_forecast as iaf
        from iamg_forecast.spec import default_priors_dir
        assert "site" in str(default_priors_dir()), default_priors_dir()
        m = iaf.load_model()
        assert iaf.seed_evidence_path().exists()
        print(m.spec.hash)
    """)
    out = subprocess.run([sys.executable, "-I", "-c",
                          f"import sys; sys.path.insert(0, {str(target)!r}); " + code.replace(
                              "\n", "; ").strip("; ").replace(";  ", "; ")],
                         cwd=elsewhere, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == iaf.load_spec().hash


def test_cell_weight_is_the_same_in_graph_and_numpy(model, seed_items):
    """``ind_observed`` is each cell's likelihood weight on both sides (2 = counted twice).

    Wiring (both sides use ``likelihood.py``); the mixture itself is checked against scipy in
    tests/test_likelihood_formulas.py."""
    import pymc as pm

    data = model.data(seed_items)
    twice = {k: np.array(v, copy=True) for k, v in data.items()}
    i, mo = (int(x[0]) for x in np.nonzero(data["ind_observed"]))
    twice["ind_observed"][i, mo] = 2.0
    pmm = model.pymc_model
    outs = pmm.replace_rvs_by_values([pmm["evidence"], pmm["indicator_eta"]])
    fn = pmm.compile_fn(outs, inputs=pmm.value_vars, on_unused_input="ignore")
    point = pmm.initial_point(random_seed=1)
    values, etas = [], []
    with pmm:
        for d in (data, twice):
            pm.set_data(model.graph_data(d))
            graph_ll, eta = fn(point)
            values.append(float(graph_ll))
            etas.append(eta)
        pm.set_data(model.graph_data(data))
    np.testing.assert_array_equal(etas[0], etas[1])
    hz = np.zeros((1, 1, 1))  # unused without the outcome term
    np_ll = [float(model.loglik(etas[0][None], hz, d, outcomes=False)[0]) for d in (data, twice)]
    np.testing.assert_allclose(values, np_ll, rtol=1e-10)
    # counted twice: the difference is exactly that cell's term once more
    one = np.zeros_like(data["ind_observed"])
    one[i, mo] = 1.0
    cell = float(model.loglik(etas[0][None], hz, data, cells=one, outcomes=False)[0])
    assert values[1] - values[0] == pytest.approx(cell, rel=1e-10)
    assert cell != 0.0


def test_windowed_graph_likelihood_equals_the_full_numpy_likelihood(model, seed_items):
    """The graph evaluates the likelihood on the first ``window`` months only; NumPy on all.

    At random points (including an intervention, which changes the paths) the two agree.
    Wiring, as above; the formulas: tests/test_likelihood_formulas.py.
    """
    import pymc as pm
    import pytensor

    from iamg_forecast.model import likelihood_window

    for m in (model, model.do("iran_domestic_crisis", 1.5, start="2025-12")):
        data = m.data(seed_items)
        fitted = m.fitted_to(data)
        assert 1 <= likelihood_window(data) < len(m.spec.months)
        pmm = fitted.pymc_model
        outs = pmm.replace_rvs_by_values([pmm["evidence"] + pmm["outcomes_known"],
                                          pmm["indicator_eta"], pmm["hazard_logit"]])
        fn = pytensor.function(pmm.value_vars, outs, on_unused_input="ignore")
        rng = np.random.default_rng(5)
        shapes = {k: np.shape(v) for k, v in pmm.initial_point(0).items()}
        with pmm:
            pm.set_data(fitted.graph_data(data))
            for _ in range(3):
                point = [rng.normal(size=shapes[v.name]) for v in pmm.value_vars]
                ll, eta, hz = fn(*point)
                np.testing.assert_allclose(ll, m.loglik(eta[None], hz[None], data)[0],
                                           rtol=1e-10)
            pm.set_data(fitted.graph_data(fitted.data()))


def test_derived_paths_equal_the_graph(model, seed_items):
    """``indicator_eta`` and ``hazard_logit`` recomputed in NumPy equal the graph's, at random
    points, with and without an intervention (which changes the latent paths)."""
    import pytensor

    from iamg_forecast.inference import PARAMETER_BLOCKS

    for m in (model, model.do("iran_domestic_crisis", 1.5, start="2025-12")):
        pmm = m.pymc_model
        names = ["latent_state", *[b for b in PARAMETER_BLOCKS if b in pmm.named_vars],
                 "indicator_eta", "hazard_logit"]
        fn = pytensor.function(pmm.value_vars,
                               pmm.replace_rvs_by_values([pmm[n] for n in names]),
                               on_unused_input="ignore")
        shapes = {k: np.shape(v) for k, v in pmm.initial_point(0).items()}
        rng = np.random.default_rng(11)
        draws = [dict(zip(names, fn(*[rng.normal(size=shapes[v.name])
                                      for v in pmm.value_vars]), strict=True))
                 for _ in range(4)]
        batch = {k: np.stack([d[k] for d in draws]).reshape((2, 2) + draws[0][k].shape)
                 for k in names}
        derived = m.derived_paths(batch)
        for k in ("indicator_eta", "hazard_logit"):
            np.testing.assert_allclose(derived[k], batch[k], rtol=1e-12, atol=1e-12)

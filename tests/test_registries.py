"""The kind and family registries: a kind or family added at test time, without editing any
library module, reaches every layer; the kernel refuses it by name and inference falls back to
the PyMC graph, saying why.

The toy kind is a measured value with Laplace noise (scale ``obs_sd``) and Normal false
reports: close enough to ``continuous`` to reuse the spec's fields, different enough that a
layer still using the Normal formula gives different numbers.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import stats

import iamg_forecast as iaf
from iamg_forecast import families, kernel, kinds
from iamg_forecast.calibration import leave_future_out as lfo
from iamg_forecast.calibration.simulate import EvidencePattern, simulate_worlds
from iamg_forecast.errors import SpecError
from iamg_forecast.evidence import Evidence
from iamg_forecast.evidence.items import check_against_spec
from iamg_forecast.families import PriorFamily
from iamg_forecast.inference import STORED_VARS
from iamg_forecast.kernel import KernelUnsupported, kernel_layout
from iamg_forecast.kinds import IndicatorKind, ReportConstants, normal_logpdf
from iamg_forecast.model import PARAMETER_BLOCKS

from .small_specs import event, indicator, latent, prior, small_model, small_spec

TOY = "toy_laplace"


class ToyLaplace(IndicatorKind):
    """A measured value with Laplace noise; false reports Normal around the baseline."""

    name = TOY
    link = "identity"
    required = ("obs_sd", "false_report_sd")
    discrete = False
    absence = False
    capacity = 8

    def loglik(self, eta, y, scale, ops):
        d = y - eta
        return -ops.sign(d) * d / scale - ops.log(2.0 * scale)

    def false_loglik(self, y, c):
        return normal_logpdf(y, c.false_mu, c.false_sd, np)

    def true_dist(self, eta, c):
        return stats.laplace(eta, c.scale)

    def false_dist(self, c):
        return stats.norm(c.false_mu, c.false_sd)

    def draw_true(self, eta, c, rng):
        return float(rng.laplace(eta, c.scale))

    def draw_false(self, c, rng):
        return float(rng.normal(c.false_mu, c.false_sd))

    def constants(self, ind):
        return ReportConstants(scale=ind.obs_sd.value, false_sd=ind.false_report_sd.value,
                               false_mu=ind.baseline.mu)

    def accepted_range(self, ind):
        return (-100.0, 100.0)

    def value_problem(self, value, lo, hi):
        return None if lo <= value <= hi else f"{TOY} indicator: expected {lo:g} to {hi:g}"


@pytest.fixture(scope="module")
def toy():
    entry = kinds.register_kind(ToyLaplace())
    yield entry
    kinds.unregister_kind(TOY)


@pytest.fixture(scope="module")
def toy_model(toy, tmp_path_factory):
    """One latent; a toy indicator (index 0) and a binary one; one event outcome."""
    return small_model(
        tmp_path_factory.mktemp("toy"),
        latents=[latent("x", prior("Normal", mu=0.0, sigma=1.0))],
        indicators=[indicator("meter", TOY, prior("Normal", mu=1.0, sigma=1.0),
                              [("x", "+", prior("HalfNormal"))]),
                    indicator("flag", "binary", prior("Normal", mu=-1.0, sigma=1.0),
                              [("x", "+", prior("HalfNormal"))])],
        outcomes=[event("happens", prior("Normal", mu=-2.0, sigma=0.5),
                        [("x", "+", prior("HalfNormal"))])])


def _items():
    values = [2.5, -0.5, 1.0, 4.0]
    return [Evidence(indicator="meter", date=dt.date(2024, m + 1, 15), value=v, source="test",
                     reliability=grade)
            for m, (v, grade) in enumerate(zip(values, ["A1", "B2", "C3", "B2"], strict=True))]


def _mixture_logpdf(y, eta, r, c: ReportConstants):
    """The toy cell's likelihood from SciPy: an independent statement of the same mixture."""
    r = np.clip(r, 1e-6, 1 - 1e-6)
    return np.log(r * stats.laplace.pdf(y, eta, c.scale)
                  + (1 - r) * stats.norm.pdf(y, c.false_mu, c.false_sd))


# ---- the spec and the evidence --------------------------------------------------------------
def test_spec_and_items_read_the_registry(toy, toy_model, tmp_path):
    ind = toy_model.spec.indicator("meter")
    assert ind.kind == TOY and ind.accepted_range == (-100.0, 100.0)
    assert toy_model.kinds == (kinds.get_kind("binary"), toy)
    bad = Evidence(indicator="meter", date="2024-02-10", value=500, source="t", reliability="B2")
    assert [p.message for p in check_against_spec(bad, toy_model.spec)] == [
        f"{TOY} indicator: expected -100 to 100"]
    absent = Evidence(indicator="meter", date="2024-02-10", value=0, source="t",
                      reliability="B2", monitored_absent=True)
    assert "measured, not absent" in check_against_spec(absent, toy_model.spec)[0].message
    # a kind reads only its own fields: a count's dispersion is refused here
    parts = {"latents": [latent("x", prior("Normal"))],
             "outcomes": [event("happens", prior("Normal"))]}
    odd = indicator("meter", TOY, prior("Normal"), [("x", "+", prior("HalfNormal"))],
                    dispersion=2.0)
    with pytest.raises(SpecError, match=f"dispersion is not read by a {TOY} indicator"):
        iaf.load_spec(small_spec(tmp_path / "odd", indicators=[odd], **parts))


def test_an_unregistered_kind_is_refused_with_a_hint(tmp_path):
    parts = {"latents": [latent("x", prior("Normal"))],
             "outcomes": [event("happens", prior("Normal"))]}
    ind = indicator("meter", "binar", prior("Normal"), [("x", "+", prior("HalfNormal"))])
    ind["false_report_rate"] = {"value": 0.1, "rationale": "test constant"}
    with pytest.raises(SpecError, match="unknown indicator kind 'binar'; did you mean 'binary'"):
        iaf.load_spec(small_spec(tmp_path, indicators=[ind], **parts))


# ---- the likelihood: the PyMC graph and NumPy ---------------------------------------------
def test_graph_and_numpy_likelihood_use_the_entry(toy_model):
    model = toy_model
    data = model.data(_items(), dt.date(2024, 4, 30))
    pmm = model.pymc_model
    outs = pmm.replace_rvs_by_values([pmm["indicator_eta"], *pmm.potentials[:1]])
    assert pmm.potentials[0].name == "evidence"
    fn = pmm.compile_fn(outs, inputs=pmm.value_vars, point_fn=False, on_unused_input="ignore")
    (shared,) = pmm.data_vars
    shared.set_value(model.graph_data(data)["evidence_slots"])
    rng = np.random.default_rng(3)
    c = kinds.get_kind(TOY).constants(model.spec.indicator("meter"))
    for _ in range(3):
        point = {k: rng.normal(size=np.shape(v)) * 0.7 for k, v in pmm.initial_point().items()}
        eta, graph_ll = fn(**point)
        rows, months = np.nonzero(data["ind_observed"])
        assert set(rows) == {0}
        expected = sum(_mixture_logpdf(data["ind_value"][0, m], eta[0, m],
                                       data["ind_rel"][0, m], c) for m in months)
        assert graph_ll == pytest.approx(expected, rel=1e-12)
        numpy_ll = model.loglik(eta[None], np.zeros((1, 1, eta.shape[1])), data,
                                outcomes=False)
        assert numpy_ll[0] == pytest.approx(expected, rel=1e-12)


# ---- simulation, leave-future-out, surprise ------------------------------------------------
def test_simulation_draws_reports_from_the_entry(toy, toy_model, monkeypatch):
    model = toy_model
    drawn = []

    def spy(eta, c, rng):
        drawn.append(ToyLaplace.draw_true(toy, eta, c, rng))
        return drawn[-1]

    monkeypatch.setattr(toy, "draw_true", spy)
    cells = {(0, m): 0.999 for m in range(4)}
    pattern = EvidencePattern(cells=cells, as_of=dt.date(2024, 4, 30),
                              horizon=dt.date(2024, 8, 31))
    shapes = {"latent_state": (1, 8), "indicator_eta": (2, 8),
              "hazard_logit": (len(model.spec.hazard_rows), 8)}
    prior = {k: np.full((2, *s), 0.5) for k, s in shapes.items()}
    worlds = simulate_worlds(model, pattern, n=2, seed=4, prior=prior)
    # reliability 0.999: every report of these seeded worlds is a true one, drawn by the entry
    assert [float(v) for w in worlds for v in w.data["ind_value"][0, :4]] == drawn


def test_leave_future_out_reads_the_entry(toy, toy_model):
    eta = np.array([0.0, 1.5, 3.0])
    w = np.array([0.2, 0.5, 0.3])
    c = toy.constants(toy_model.spec.indicator("meter"))
    pit, score = lfo._predictive(toy_model, eta, w, 0, 2.0, 0.8, 0.5)
    cdf = w @ (0.8 * stats.laplace.cdf(2.0, eta, c.scale)
               + 0.2 * stats.norm.cdf(2.0, c.false_mu, c.false_sd))
    assert pit == pytest.approx(cdf, rel=1e-12)
    assert score == pytest.approx(np.log(w @ np.exp(_mixture_logpdf(2.0, eta, 0.8, c))),
                                  rel=1e-12)


@pytest.fixture(scope="module")
def toy_forecast(toy_model):
    return iaf.forecast(toy_model, _items(), as_of="2024-04-30", horizon="2024-08-31", seed=5,
                        draws=200, tune=200, chains=2)


@pytest.mark.slow
def test_a_kind_without_kernel_code_samples_through_pytensor_and_says_why(toy_forecast):
    fc = toy_forecast
    assert fc.provenance["sampler_backend"] == "pytensor"
    reason = fc.idata.attrs["sampler_backend_reason"]
    assert f"indicator kind {TOY!r} has no kernel implementation" in reason
    assert np.isfinite(fc.table()["p"]).all()


@pytest.mark.slow
def test_surprise_reads_the_entry(toy, toy_model, toy_forecast):
    fc = toy_forecast
    item = Evidence(indicator="meter", date="2024-05-10", value=9.0, source="t",
                    reliability="B2")
    tail = float(fc.surprise([item])["tail_probability"].iloc[0])
    eta = fc.draws["indicator_eta"][:, :, 0, 4].reshape(-1)
    c = toy.constants(toy_model.spec.indicator("meter"))
    r = toy_model.spec.reliability.probability("B2")
    cdf = fc.weights @ (r * stats.laplace.cdf(9.0, eta, c.scale)
                        + (1 - r) * stats.norm.cdf(9.0, c.false_mu, c.false_sd))
    assert tail == pytest.approx(2 * min(cdf, 1 - cdf), rel=1e-12)


# ---- the kernel refuses what it does not mirror --------------------------------------------
def _keep(model):
    return [*STORED_VARS, *(rv.name for rv in model.pymc_model.free_RVs)]


def test_the_kernel_refuses_a_kind_it_does_not_mirror(toy_model):
    with pytest.raises(KernelUnsupported, match=f"indicator kind {TOY!r} has no kernel"):
        kernel_layout(toy_model, _keep(toy_model))


def test_a_kernel_code_the_kernel_lacks_is_refused(toy_model, monkeypatch):
    """An entry claiming a code the kernel does not implement is refused, not misread."""
    class Claims(ToyLaplace):
        kernel_code = 99

    monkeypatch.setitem(kinds.KINDS, TOY, Claims())
    model = iaf.ScenarioModel(toy_model.spec)
    with pytest.raises(KernelUnsupported, match=f"indicator kind {TOY!r}"):
        kernel_layout(model, _keep(model))


class Cauchy(PriorFamily):
    """A prior family with no kernel mirror (PyMC's Cauchy(alpha, beta))."""

    name = "Cauchy"
    params = {"alpha": "real", "beta": "scale"}
    support = "real"


def test_a_family_without_kernel_code_builds_and_is_refused(tmp_path):
    families.register_family(Cauchy())
    try:
        model = small_model(
            tmp_path, latents=[latent("x", prior("Normal"))],
            indicators=[indicator("flag", "binary",
                                  {"dist": "Cauchy", "alpha": -1.0, "beta": 0.5,
                                   "rationale": "test prior"},
                                  [("x", "+", prior("HalfNormal"))])],
            outcomes=[event("happens", prior("Normal"))])
        pmm = model.pymc_model
        assert "baseline_cauchy" in [rv.name for rv in pmm.free_RVs]
        point = pmm.initial_point()
        ll = pmm.compile_logp(vars=[pmm["baseline_cauchy"]], jacobian=True)(point)
        value = point["baseline_cauchy"]
        assert ll == pytest.approx(stats.cauchy.logpdf(value, -1.0, 0.5).sum())
        with pytest.raises(KernelUnsupported, match="prior family 'Cauchy' has no kernel"):
            kernel_layout(model, _keep(model))
    finally:
        families.unregister_family("Cauchy")


# ---- what the kernel mirrors matches the registries ---------------------------------------
def test_kernel_codes_match_the_registries():
    for table, registry in ((kernel.KERNEL_KINDS, kinds.KINDS),
                            (kernel.KERNEL_FAMILIES, families.FAMILIES)):
        declared = {e.kernel_code: name for name, e in registry.items()
                    if e.kernel_code is not None}
        assert declared == table
    assert kernel.COUNT_ETA_LIMIT == kinds.COUNT_ETA_LIMIT
    assert kernel.BINARY_RATE_FLOOR == kinds.BINARY_RATE_FLOOR
    assert set(kernel.KERNEL_BLOCKS) == set(PARAMETER_BLOCKS)


def test_built_in_entries_cannot_be_replaced_or_removed():
    with pytest.raises(ValueError, match="already registered"):
        kinds.register_kind(kinds.get_kind("count"))
    with pytest.raises(ValueError, match="built-in"):
        kinds.unregister_kind("count")
    with pytest.raises(ValueError, match="built-in"):
        families.unregister_family("Normal")

    class Clash(ToyLaplace):
        name = "clash"
        kernel_code = 1

    with pytest.raises(ValueError, match="kernel code 1 is 'count'"):
        kinds.register_kind(Clash())

"""Property-based equality of the hand-written kernel and the PyMC graph it mirrors.

Hypothesis generates small specs (one to three latents, with or without links; one kind or
mixed kinds, counts with and without dispersion; every prior family in every block that takes
it; event outcomes; no competing group, a plain one or a staged one) and, for each, evidence
(observed cells of every kind with random grades, monitored absences), resolved outcomes and
group steps, an ``as_of``, an intervention, and random points of the unconstrained space. At
each point the kernel's log density and gradient must equal PyMC's (with Jacobians).

Tolerance: the log density is a sum of a few hundred float64 terms of size up to ~1e2, so
rounding differs by ~1e-13; we allow 1e-9 relative on the log density and 1e-7 absolute on
each gradient entry, the tolerance of ``tests/test_kernel.py``. A wrong or missing term (a
Jacobian, a constant, a cell, a family's parameter) moves the log density by far more.

Cost: each generated spec compiles PyMC's log density and gradient once (PyTensor's Python
linker, about 2 to 4 s on a 2-core machine); evidence and points then cost milliseconds. The
structures test runs 6 generated specs, the evidence test 10 draws on each of 3 explicit specs
(every family; one kind and no links; a staged group with mixed kinds), compiled once each.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pymc  # noqa: F401  (importing PyMC raises the recursion limit: do it before Hypothesis)
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytensor import scalar as ps
from pytensor.graph.rewriting.basic import in2out, node_rewriter
from pytensor.graph.rewriting.utils import rewrite_graph
from pytensor.tensor.elemwise import Elemwise

import iamg_forecast as iaf
from iamg_forecast.evidence import Evidence
from iamg_forecast.inference import STORED_VARS
from iamg_forecast.kernel import kernel_layout, logp_grad

from .small_specs import (
    FAMILY_DEFAULTS,
    event,
    group,
    indicator,
    latent,
    prior,
    small_spec,
)
from .test_kernel import _graph_data as graph_data

TOL_LOGP, TOL_GRAD = 1e-9, 1e-7
FAMILIES = sorted(FAMILY_DEFAULTS)
POSITIVE = ["Exponential", "Gamma", "HalfNormal", "LogNormal"]
KINDS = ["binary", "count", "continuous"]
GRADES = ["A1", "B2", "C3", "D4", "E5", "F6"]
N_MONTHS = 8
CAPACITY = 32   # observed cells per kind: more than 8 months x 3 indicators


@dataclass(frozen=True)
class Structure:
    """A small spec's shape: families per prior, kinds, links, outcomes and group."""

    latents: tuple[str, ...]                          # initial family per latent
    links: tuple[tuple[int, int, str], ...]           # (parent, child, effect family)
    indicators: tuple[tuple[str, str, str, int, str, float | None], ...]
    # (kind, baseline family, loading family, latent, sign, dispersion)
    events: tuple[tuple[str, str | None, int], ...]   # (base family, driver family, latent)
    group: tuple[str, str, tuple[str, str], str, bool] | None = None
    # (plain or staged, hazard family, choice base families, driver family, trend)


@st.composite
def structures(draw) -> Structure:
    n_lat = draw(st.integers(1, 3))
    fam, pos = st.sampled_from(FAMILIES), st.sampled_from(POSITIVE)
    links = ()
    if n_lat > 1 and draw(st.booleans()):
        links = tuple((p, c, draw(pos)) for c in range(1, n_lat) for p in range(c)
                      if draw(st.booleans())) or ((0, 1, draw(pos)),)
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=3))
    inds = tuple((k, draw(fam), draw(pos), draw(st.integers(0, n_lat - 1)),
                  draw(st.sampled_from("+-")),
                  draw(st.sampled_from([None, 0.5, 3.0])) if k == "count" else None)
                 for k in kinds)
    events = tuple((draw(fam), draw(st.one_of(st.none(), pos)),
                    draw(st.integers(0, n_lat - 1))) for _ in range(draw(st.integers(0, 2))))
    grp = None
    how = draw(st.sampled_from([None, "plain", "staged"]))
    if how is not None or not events:   # the outcome set may not be empty
        grp = (how or "plain", draw(fam), (draw(fam), draw(fam)), draw(pos), draw(st.booleans()))
    return Structure(tuple(draw(fam) for _ in range(n_lat)), links, inds, events, grp)


EVERY_FAMILY = Structure(
    latents=("StudentT", "Beta", "Normal"),
    links=((0, 1, "Gamma"), (1, 2, "LogNormal"), (0, 2, "HalfNormal")),
    indicators=(("binary", "Beta", "Exponential", 2, "+", None),
                ("count", "StudentT", "HalfNormal", 1, "-", 2.0),
                ("continuous", "Gamma", "LogNormal", 0, "+", None)),
    events=(("Exponential", "Gamma", 2),),
    group=("plain", "LogNormal", ("Normal", "StudentT"), "Exponential", True))
ONE_KIND_NO_LINKS = Structure(
    latents=("Normal",), links=(),
    indicators=(("count", "Normal", "HalfNormal", 0, "+", None),
                ("count", "Normal", "Gamma", 0, "-", 0.7)),
    events=(("Normal", "HalfNormal", 0), ("StudentT", None, 0)))
STAGED_MIXED = Structure(
    latents=("Normal", "Normal"), links=((0, 1, "HalfNormal"),),
    indicators=(("binary", "Normal", "HalfNormal", 0, "+", None),
                ("continuous", "Normal", "HalfNormal", 1, "-", None),
                ("count", "Normal", "Exponential", 1, "+", 3.0)),
    events=(),
    group=("staged", "Normal", ("Normal", "Beta"), "HalfNormal", False))
EXPLICIT = (EVERY_FAMILY, ONE_KIND_NO_LINKS, STAGED_MIXED)


def _spec_parts(s: Structure) -> dict:
    names = [f"x{j}" for j in range(len(s.latents))]
    children = {c for _, c, _ in s.links}
    parts = {
        "latents": [latent(n, prior(f), role="mediator" if j in children else "driver")
                    for j, (n, f) in enumerate(zip(names, s.latents, strict=True))],
        "links": [{"parent": names[p], "child": names[c], "sign": "+", "effect": prior(f)}
                  for p, c, f in s.links],
        "indicators": [indicator(f"i{j}", k, prior(b), [(names[la], sg, prior(lf))],
                                 dispersion=disp)
                       for j, (k, b, lf, la, sg, disp) in enumerate(s.indicators)],
        "outcomes": [event(f"e{j}", prior(b), [] if d is None else [(names[la], "+", prior(d))])
                     for j, (b, d, la) in enumerate(s.events)],
    }
    if s.group is not None:
        how, hz, bases, drv, trend = s.group
        g, outs = group("g", [(f"c{j}", prior(b), [(names[-1], "+" if j else "-", prior(drv))])
                              for j, b in enumerate(bases)], prior(hz),
                        staged=how == "staged",
                        trend=prior("Normal", mu=0.1, sigma=0.05) if trend else None)
        parts["groups"] = [g]
        parts["outcomes"] += outs
    return parts


@dataclass
class Compiled:
    """A generated spec's model, kernel layout and PyMC log density and gradient."""

    model: iaf.ScenarioModel
    layout: object
    fn: object

    def point(self, x: np.ndarray) -> dict[str, np.ndarray]:
        lay = self.layout
        return {n: x[sl].reshape(sh) for n, sl, sh in
                zip(lay.value_names, lay.slices, lay.shapes, strict=False)}


_COMPILED: dict[Structure, Compiled] = {}


@node_rewriter([Elemwise])
def _narrow(fgraph, node):
    """Split an elementwise sum or product of more than 32 operands (NumPy's limit for the
    Python linker's ufuncs) into a sum of partial sums; the value is unchanged up to rounding."""
    if len(node.inputs) <= 32 or not isinstance(node.op.scalar_op, ps.Add | ps.Mul):
        return None
    parts = [node.op(*node.inputs[i:i + 16]) for i in range(0, len(node.inputs), 16)]
    return [node.op(*parts)]


def _logp_and_gradient(pmm):
    """PyMC's log density and gradient (with Jacobians) as one function of a point.

    The Python linker without graph rewrites compiles a small model in a few seconds (the C
    and numba backends take tens of seconds per model); it evaluates the graph as built.
    """
    from pytensor.compile.mode import Mode

    outs = rewrite_graph([pmm.logp(jacobian=True), pmm.dlogp(jacobian=True)], include=(),
                         custom_rewrite=in2out(_narrow))
    return pmm.compile_fn(outs, mode=Mode(linker="py", optimizer=None))


def compiled(s: Structure, root) -> Compiled:
    """The structure's model, compiled once per test session."""
    if s not in _COMPILED:
        spec = iaf.load_spec(small_spec(root / f"s{len(_COMPILED)}", **_spec_parts(s)))
        kinds = {k for k, *_ in s.indicators}
        model = iaf.ScenarioModel(spec, capacity=(CAPACITY,) * len(kinds))
        pmm = model.pymc_model
        keep = [*STORED_VARS, *(rv.name for rv in pmm.free_RVs)]
        _COMPILED[s] = Compiled(model, kernel_layout(model, keep), _logp_and_gradient(pmm))
    return _COMPILED[s]


def _day(model, m: int) -> dt.date:
    return dt.date.fromisoformat(f"{model.spec.months[m]}-15")


@st.composite
def evidence(draw, model: iaf.ScenarioModel):
    """Items (reports, absences, resolved outcomes, group steps), ``as_of`` and an
    intervention for ``model``'s spec."""
    spec = model.spec
    as_of_m = draw(st.integers(0, N_MONTHS - 1))
    items = []
    for ind in spec.indicators:
        for m in sorted(draw(st.sets(st.integers(0, as_of_m), max_size=4))):
            value = {"binary": st.sampled_from([0.0, 1.0]),
                     "count": st.sampled_from([0.0, 1.0, 4.0, 60.0, 2500.0]),
                     "continuous": st.floats(-6, 6, allow_nan=False)}[ind.kind]
            v = draw(value)
            absent = ind.kind != "continuous" and v == 0 and draw(st.booleans())
            # a binary cell may hold several distinct reports (up to one past the cap)
            n = draw(st.integers(1, 5)) if ind.kind == "binary" and v == 1 else 1
            items.extend(Evidence(indicator=ind.name, date=_day(model, m), value=v,
                                  monitored_absent=absent, source=f"test {j}",
                                  distinct_event=j > 0,
                                  reliability=draw(st.sampled_from(GRADES)))
                         for j in range(n))
    certain = {"source": "test", "reliability": "A1", "value": 1}
    for o in spec.outcomes:
        if o.type == "event" and draw(st.booleans()):
            items.append(Evidence(indicator=o.name, date=_day(model, draw(
                st.integers(0, as_of_m))), **certain))
    for g in spec.competing_groups:
        choices = spec.choices(g.name)
        month = draw(st.integers(0, as_of_m))
        if g.stages is not None and draw(st.booleans()):
            items.append(Evidence(indicator=g.stages.president_milestone,
                                  date=_day(model, month), **certain))
            c = draw(st.sampled_from(choices))
            if draw(st.booleans()):
                month = draw(st.integers(month, as_of_m))
                items.append(Evidence(indicator=g.stages.designation_milestones[c],
                                      date=_day(model, month), **certain))
                if draw(st.booleans()):
                    items.append(Evidence(indicator=c, date=_day(model, draw(
                        st.integers(month, as_of_m))), **certain))
        elif g.stages is None and draw(st.booleans()):
            items.append(Evidence(indicator=draw(st.sampled_from(choices)),
                                  date=_day(model, month), **certain))
    do = None
    if draw(st.booleans()):
        do = (draw(st.sampled_from(spec.latent_order)), draw(st.floats(-2, 2, allow_nan=False)),
              spec.months[draw(st.integers(0, N_MONTHS - 1))])
    return items, _day(model, as_of_m) + dt.timedelta(days=10), do


def _assert_agrees(c: Compiled, items, as_of, do, seed: int, n_points: int = 2) -> None:
    held = c.model if do is None else c.model.do(*do)
    data = held.data(items, as_of)
    packed = held.graph_data(data)["evidence_slots"]
    rng = np.random.default_rng(seed)
    for _ in range(n_points):
        x = rng.normal(size=c.layout.n_dim) * rng.choice([0.3, 1.0])
        ours, grad = logp_grad(x, packed, *c.layout.consts)
        with graph_data(c.model, packed):
            theirs, their_grad = c.fn(c.point(x))
        assert abs(ours - theirs) <= TOL_LOGP * max(1.0, abs(ours)), (ours, theirs)
        np.testing.assert_allclose(grad, their_grad, rtol=0, atol=TOL_GRAD)


_SETTINGS = {"deadline": None, "derandomize": True, "database": None,
             "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}


@settings(max_examples=6, **_SETTINGS)
@given(s=structures(), data=st.data())
def test_generated_specs_agree(tmp_path_factory, s, data):
    c = compiled(s, tmp_path_factory.getbasetemp())
    items, as_of, do = data.draw(evidence(c.model))
    _assert_agrees(c, items, as_of, do, seed=data.draw(st.integers(0, 2**16)))


@pytest.mark.parametrize("s", EXPLICIT, ids=["every_family", "one_kind_no_links",
                                             "staged_mixed"])
@settings(max_examples=10, **_SETTINGS)
@given(data=st.data())
def test_evidence_resolutions_and_interventions_agree(tmp_path_factory, s, data):
    c = compiled(s, tmp_path_factory.getbasetemp())
    items, as_of, do = data.draw(evidence(c.model))
    _assert_agrees(c, items, as_of, do, seed=data.draw(st.integers(0, 2**16)))


def test_the_generated_specs_cover_the_cases():
    """The explicit examples hold every family, no links, one kind only, mixed kinds and a
    staged group (the generated ones add more)."""
    used = {f for s in EXPLICIT for f in (*s.latents, *(x[2] for x in s.links),
                                          *(i[1] for i in s.indicators),
                                          *(i[2] for i in s.indicators))}
    assert used == set(FAMILIES)
    assert not ONE_KIND_NO_LINKS.links and ONE_KIND_NO_LINKS.group is None
    assert {i[0] for i in ONE_KIND_NO_LINKS.indicators} == {"count"}
    assert {i[0] for i in STAGED_MIXED.indicators} == set(KINDS)
    assert STAGED_MIXED.group[0] == "staged"

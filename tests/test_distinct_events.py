"""Several events of one binary indicator in one month (``distinct_event`` items).

The rule (``Binary.graded_loglik`` and ``evidence.cells``): the month's events are Poisson with
rate ``lambda = log(1 + e^eta)``, so ``P(at least one) = sigmoid(eta)`` and a cell with one
report is the mixture every kind uses. Each further distinct event ``t`` is its own graded
report, ``r * P(K >= t) / P(K >= t - 1) + (1 - r) * p_false``. Reports not marked distinct and
not linked by ``corroborates`` still count once.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from iamg_forecast import EvidenceLog, defaults, kernel
from iamg_forecast.errors import EvidenceError
from iamg_forecast.evidence import Evidence
from iamg_forecast.evidence.cells import model_data
from iamg_forecast.evidence.items import check_against_spec
from iamg_forecast.kinds import BINARY_RATE_FLOOR, cell_terms, get_kind
from iamg_forecast.likelihood import NP, PT

IND = "foreign_government_backs_outside"
AS_OF = "2026-02-28"
BINARY = get_kind("binary")


def rep(source, grade="B2", value=1, **kw):
    return Evidence(indicator=IND, date="2026-02-10", value=value, source=source,
                    reliability=grade, **kw)


def cell(spec, items):
    i, m = spec.indicator_names.index(IND), spec.month_index("2026-02-10")
    d = model_data(spec, items, AS_OF)
    return float(d["ind_value"][i, m]), round(float(d["ind_rel"][i, m]), 12)


# ---- the cell rule ----------------------------------------------------------------------------
def test_reports_count_once_unless_marked_distinct(spec):
    assert cell(spec, [rep("a"), rep("b")]) == (1.0, 0.83)
    assert cell(spec, [rep("a"), rep("b", distinct_event=True)]) == (2.0, 0.83)
    # marking the first report as well changes nothing: two events either way
    assert cell(spec, [rep("a", distinct_event=True), rep("b", distinct_event=True)]) == (
        2.0, 0.83)
    # an unmarked report beside two marked ones is a third event
    assert cell(spec, [rep("a"), rep("b", distinct_event=True),
                       rep("c", distinct_event=True)]) == (3.0, 0.83)


def test_a_corroborated_event_counts_once_and_the_count_is_capped(spec):
    first = rep("a", distinct_event=True)
    again = rep("b", "C3", corroborates=first.id)
    assert cell(spec, [first, again]) == (1.0, round(1 - 0.17 * 0.4, 12))
    many = [rep(f"s{k}", distinct_event=True) for k in range(defaults.MAX_DISTINCT_REPORTS + 2)]
    assert cell(spec, many) == (float(defaults.MAX_DISTINCT_REPORTS), 0.83)


def test_a_better_supported_denial_still_wins(spec):
    # the events reported are counted only when the cell's value is "it happened"
    assert cell(spec, [rep("a"), rep("b", distinct_event=True), rep("c", "A1", value=0)]) == (
        0.0, 0.97)


def test_misused_distinct_events_are_refused_by_name(spec):
    with pytest.raises(ValueError, match="distinct_event is a report that the event happened"):
        rep("a", value=0, distinct_event=True)
    with pytest.raises(ValueError, match="reports the same one"):
        rep("a", distinct_event=True, corroborates="x")
    count = Evidence(indicator="iamg_attacks_count", date="2026-02-10", value=1, source="s",
                     reliability="B2", distinct_event=True)
    problems = check_against_spec(count, spec)
    assert [p.path for p in problems] == ["distinct_event"]
    assert "binary" in problems[0].message


def test_the_flag_keeps_old_ids_and_round_trips_through_a_log(spec):
    plain = rep("a")
    assert "distinct_event" not in plain.content()   # ids of items without it are unchanged
    marked = rep("b", distinct_event=True)
    assert marked.content()["distinct_event"] is True
    assert Evidence(**marked.content()).id == marked.id
    with EvidenceLog.memory(spec) as log:
        log.add(marked.content())
        (back,) = log.current()
        assert back.distinct_event and back.id == marked.id
        with pytest.raises(EvidenceError, match="distinct_event"):
            log.add({**rep("c").content(), "distinct_event": "maybe"})
        assert [e.id for e in log.current()] == [marked.id]   # nothing half-written


# ---- the likelihood ---------------------------------------------------------------------------
ETA = np.linspace(-12.0, 12.0, 97)


def _graded(y, r=0.83, f=0.05, ops=NP, eta=ETA, n=ETA.size):
    lr, lf = cell_terms("binary", np.full(n, float(y)), np.full(n, r), np.full(n, f), np.ones(n),
                        np.zeros(n))
    return BINARY.graded_loglik(eta, np.full(n, float(y)), 1.0, lr, lf, ops)


@pytest.mark.parametrize("r,f", [(0.97, 0.02), (0.83, 0.05), (0.6, 0.2), (0.24, 0.05)])
def test_the_cell_is_the_documented_product_of_graded_reports(r, f):
    lam = np.logaddexp(0.0, ETA)
    first = np.log(r * special.expit(ETA) + (1 - r) * f)
    for y in range(1, defaults.MAX_DISTINCT_REPORTS + 1):
        want = first.copy()
        for t in range(2, y + 1):
            ratio = stats.poisson.sf(t - 1, lam) / stats.poisson.sf(t - 2, lam)
            want += np.log(r * ratio + (1 - r) * f)
        np.testing.assert_allclose(_graded(y, r, f), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("r,f", [(0.97, 0.02), (0.83, 0.05), (0.6, 0.2), (0.24, 0.05)])
def test_a_further_event_is_evidence_for_a_higher_state(r, f):
    """The likelihood ratio of one more event grows with ``eta``, so a second report can only
    move the indicator's state (and what loads on it) the way the first one did."""
    for y in range(2, defaults.MAX_DISTINCT_REPORTS + 1):
        ratio = _graded(y, r, f) - _graded(y - 1, r, f)
        assert np.all(np.diff(ratio) > 0), (y, r, f)


def test_numpy_pytensor_and_the_kernel_agree_on_further_events():
    import pytensor
    import pytensor.tensor as pt

    eta = np.array([-40.0, -23.0, -5.0, -0.5, 0.0, 1.7, 9.0, 40.0])
    x = pt.dvector("eta")
    for y in range(2, defaults.MAX_DISTINCT_REPORTS + 1):
        lr, lf = cell_terms("binary", np.full(eta.size, float(y)), np.full(eta.size, 0.66),
                            np.full(eta.size, 0.05), np.ones(eta.size), np.zeros(eta.size))
        expr = _graded(y, 0.66, 0.05, PT, x, eta.size)
        fn = pytensor.function([x], [expr, pytensor.grad(expr.sum(), x)])
        value, grad = fn(eta)
        np.testing.assert_allclose(_graded(y, 0.66, 0.05, NP, eta, eta.size), value,
                                   rtol=1e-12)
        for j, e in enumerate(eta):
            first, d_first = kernel.true_report(kernel.KIND_BINARY, e, float(y), 1.0)
            lse = np.logaddexp(lr[j] + first, lf[j])
            d = np.exp(lr[j] + first - lse) * d_first
            more, d_more = kernel.further_reports(e, float(y), lr[j], lf[j])
            assert lse + more == pytest.approx(value[j], rel=1e-12, abs=1e-12)
            # PyTensor's gammainc gradient carries a relative error of about 2e-8
            assert d + d_more == pytest.approx(grad[j], rel=1e-7, abs=1e-12)


def test_below_the_rate_floor_further_events_are_flat():
    lam = np.logaddexp(0.0, -40.0)
    assert lam < BINARY_RATE_FLOOR
    _, grad = kernel.further_reports(-40.0, 3.0, np.log(0.83), np.log(0.17 * 0.05))
    assert grad == 0.0

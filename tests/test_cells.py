"""The cell rule of ``evidence/cells.py``: what one (indicator, month) cell keeps when its
reports conflict.

``priors/reliability.yaml``: reports that corroborate one another combine as independent
sources, ``r = 1 - prod(1 - r_k)``; unlinked reports count once, at the strongest grade; a cell
whose reports disagree keeps the value whose group of reports is the most reliable.
"""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamg_forecast.evidence import Evidence
from iamg_forecast.evidence.cells import model_data

AS_OF = dt.date(2026, 2, 28)
# The grades used and their probabilities, read from priors/reliability.yaml's table by hand.
R = {"A1": 0.97, "B2": 0.83, "C3": 0.60, "D4": 0.24, "E5": 0.07, "B3": 0.66, "A2": 0.88}


def rep(value, grade, indicator="militia_public_rift", date="2026-02-10", source=None, **kw):
    return Evidence(indicator=indicator, date=date, value=value, reliability=grade,
                    source=source or f"{grade}-{value}-{date}", **kw)


def cell(spec, items, indicator="militia_public_rift", date="2026-02-10"):
    """(value, reliability, observed) of the cell, for every order of the items."""
    i, m = spec.indicator_names.index(indicator), spec.month_index(date)
    seen = set()
    for order in itertools.permutations(items):
        d = model_data(spec, list(order), AS_OF)
        seen.add((float(d["ind_value"][i, m]), round(float(d["ind_rel"][i, m]), 12),
                  float(d["ind_observed"][i, m])))
    assert len(seen) == 1, seen   # the order in which reports arrive never matters
    return seen.pop()


def test_grades_used_here_are_the_table(spec):
    for grade, r in R.items():
        assert spec.reliability.probability(grade) == r


def test_a_stronger_report_of_another_value_wins(spec):
    # 1 at B2 (0.83) against 0 at A1 (0.97): the cell holds 0, at A1's reliability
    assert cell(spec, [rep(1, "B2"), rep(0, "A1")]) == (0.0, 0.97, 1.0)
    # the other way round
    assert cell(spec, [rep(1, "A1"), rep(0, "B2")]) == (1.0, 0.97, 1.0)


def test_unlinked_reports_of_one_value_count_once_at_the_strongest_grade(spec):
    # not 1 - 0.17 * 0.4 = 0.932: unlinked reports may share an upstream source
    assert cell(spec, [rep(1, "C3"), rep(1, "B2")]) == (1.0, 0.83, 1.0)
    # so two unlinked C3 reports lose against one B2 report of the other value
    assert cell(spec, [rep(1, "C3"), rep(1, "C3", source="other"), rep(0, "B2")]) == (
        0.0, 0.83, 1.0)


def test_a_corroborating_chain_can_outweigh_a_stronger_single_report(spec):
    first = rep(1, "C3")
    second = rep(1, "C3", source="second outlet", corroborates=first.id)
    # 1 - 0.4^2 = 0.84 > 0.83
    assert cell(spec, [first, second, rep(0, "B2")]) == (1.0, 0.84, 1.0)
    # but not a single A1 report of the other value
    assert cell(spec, [first, second, rep(0, "A1")]) == (0.0, 0.97, 1.0)
    # the strongest chain counts, not the sum of chains: an unlinked B2 report of value 1
    # beside the chain leaves 0.84
    assert cell(spec, [first, second, rep(1, "B2"), rep(0, "B3")]) == (1.0, 0.84, 1.0)


def test_counts_and_continuous_values_follow_the_same_rule(spec):
    counts = [rep(3, "B2", "iamg_attacks_count"), rep(5, "A2", "iamg_attacks_count"),
              rep(5, "C3", "iamg_attacks_count")]
    assert cell(spec, counts, "iamg_attacks_count") == (5.0, 0.88, 1.0)
    rial = [rep(12.5, "C3", "rial_monthly_change_pct"), rep(-3.0, "B2", "rial_monthly_change_pct")]
    assert cell(spec, rial, "rial_monthly_change_pct") == (-3.0, 0.83, 1.0)


def test_reports_in_other_cells_do_not_interact(spec):
    items = [rep(1, "C3"), rep(0, "A1", date="2026-01-10"),
             rep(0, "A1", indicator="sistani_signals_opposition_to_maliki")]
    assert cell(spec, items) == (1.0, 0.60, 1.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0, 1]), st.sampled_from(sorted(R))), min_size=1,
                max_size=5))
def test_unlinked_conflicting_reports_keep_a_strongest_report(spec, reports):
    """Property: with no corroboration links, the cell's reliability is the largest grade of
    any report, and its value is the value of a report with that grade."""
    items = [rep(v, g, source=f"s{k}") for k, (v, g) in enumerate(reports)]
    i, m = spec.indicator_names.index("militia_public_rift"), spec.month_index("2026-02-10")
    d = model_data(spec, items, AS_OF)
    best = max(R[g] for _, g in reports)
    assert d["ind_rel"][i, m] == pytest.approx(best, abs=1e-12)
    assert d["ind_value"][i, m] in {v for v, g in reports if R[g] == best}
    assert d["ind_observed"].sum() == 1 and np.count_nonzero(d["ind_value"]) <= 1

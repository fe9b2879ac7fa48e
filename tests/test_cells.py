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


# ---- counts over periods and running totals (cells.count_cells) ------------------------------

ATT = "iamg_attacks_count"


def part(value, grade, start, end, **kw):
    return rep(value, grade, ATT, date=end, period_start=start, source=f"{grade}-{start}-{end}",
               **kw)


def total(value, grade, day, start="2026-01-17"):
    return part(value, grade, start, day, running_total=True)


def counts_by_month(spec, items):
    i = spec.indicator_names.index(ATT)
    d = model_data(spec, items, AS_OF)
    return {spec.months[m]: (float(d["ind_value"][i, m]), round(float(d["ind_rel"][i, m]), 12))
            for m in np.nonzero(d["ind_observed"][i])[0]}


def test_disjoint_parts_of_a_month_add_up_at_the_weakest_grade(spec):
    items = [part(3, "A1", "2026-02-01", "2026-02-09"), part(4, "B2", "2026-02-10", "2026-02-20"),
             part(2, "C3", "2026-02-21", "2026-02-28")]
    assert cell(spec, items, ATT) == (9.0, 0.60, 1.0)


def test_a_whole_month_report_outranks_overlapping_parts(spec):
    # the month's own total covers every part: it is kept, the parts are not added to it
    items = [part(3, "A1", "2026-02-01", "2026-02-09"), rep(7, "C3", ATT)]
    assert cell(spec, items, ATT) == (7.0, 0.60, 1.0)
    # overlapping parts: the longer period counts, a part disjoint from it adds
    items = [part(3, "A1", "2026-02-01", "2026-02-09"), part(5, "B2", "2026-02-01", "2026-02-15"),
             part(1, "B2", "2026-02-20", "2026-02-22")]
    assert cell(spec, items, ATT) == (6.0, 0.83, 1.0)


def test_a_running_total_amends_and_differences_give_the_months(spec):
    items = [total(13, "B2", "2026-01-20"), total(23, "B2", "2026-01-26"),
             total(40, "A2", "2026-02-10"), total(50, "B2", "2026-02-28")]
    # January: the latest total (23), not 13 + 23; February: 50 - 23 at the weaker grade
    assert counts_by_month(spec, items) == {"2026-01": (23.0, 0.83), "2026-02": (27.0, 0.83)}


def test_running_totals_that_cannot_be_placed_are_refused_by_name(spec):
    from iamg_forecast.errors import EvidenceError
    # no total in December: the part of February's total that falls in January is unknown
    with pytest.raises(EvidenceError, match="running_total.*has no total in 2026-01"):
        model_data(spec, [total(40, "B2", "2026-02-10", start="2025-12-20"),
                          total(10, "B2", "2025-12-31", start="2025-12-20")], AS_OF)
    with pytest.raises(EvidenceError, match="value: a running total cannot fall"):
        model_data(spec, [total(30, "B2", "2026-01-31"), total(20, "B2", "2026-02-10")], AS_OF)


def test_periods_are_checked_against_the_indicator(spec):
    from iamg_forecast.evidence.items import check_against_spec
    wrong_kind = rep(1, "B2", date="2026-02-10", period_start="2026-02-01")
    assert [p.path for p in check_against_spec(wrong_kind, spec)] == ["period_start"]
    across = part(5, "B2", "2026-01-20", "2026-02-10")
    assert "within one calendar month" in str(check_against_spec(across, spec)[0])
    assert check_against_spec(total(5, "B2", "2026-02-10"), spec) == []   # totals may span
    with pytest.raises(ValueError, match="running_total needs period_start"):
        rep(5, "B2", ATT, running_total=True)
    with pytest.raises(ValueError, match="after the item's date"):
        part(5, "B2", "2026-02-11", "2026-02-10")


def test_items_without_periods_keep_their_ids():
    # fields at their default are left out of the content the id hashes, so items written
    # before periods existed keep their ids: this one's id was computed by the code before
    assert rep(1, "B2").id == "37efc5683f15c995"
    assert "period_start" not in rep(1, "B2").content()
    assert part(1, "B2", "2026-02-01", "2026-02-10").content()["period_start"] == "2026-02-01"

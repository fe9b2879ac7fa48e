"""The backtest machinery on one real case at reduced size: ledger rows, scores recomputed by
hand, direction bookkeeping, report and errors. The scores' values are not asserted: they are
the model's measure, recorded in docs/backtests.md by ``make backtest``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest

import iamg_forecast as iaf
from iamg_forecast.backtest import list_cases, load_case
from iamg_forecast.backtest.cases import Fact, cases_dir, designates
from iamg_forecast.backtest.run import _baselines, _seed, score_dates
from iamg_forecast.calibration.ledger import climatology
from iamg_forecast.errors import SpecError

CASE = "formation_2014"
SIZES = {"draws": 150, "tune": 150, "chains": 2}


@pytest.fixture(scope="module")
def result():
    return iaf.backtest(CASE, seed=3, **SIZES)


def test_every_bundled_case_loads_with_sources():
    names = list_cases()
    assert {"formation_2010", "formation_2014", "formation_2018", "replacement_2019_20",
            "formation_2021_22", "attack_wave_2023_24"} <= set(names)
    for name in names:
        case = load_case(name)
        assert case.facts, name
        assert all(f.url.startswith(("http://", "https://")) for f in case.facts)
        assert (case.path / "README.md").is_file()
        if case.info.kind == "formation":
            # the questions are settled after every forecast date, inside the horizon
            dates = case.forecast_dates()
            assert dates and dates[-1] < case.info.resolution.date <= case.horizon


def test_ledger_holds_every_month_end_forecast_as_a_hindcast(result):
    r = result[CASE]
    case = r.case
    dates = [d.isoformat() for d in case.forecast_dates()]
    assert dates == ["2014-04-30", "2014-05-31", "2014-06-30", "2014-07-31", "2014-08-31"]
    rows = r.ledger.resolved(include_hindcasts=True)
    assert rows["hindcast"].all()
    # every recorded forecast is resolved for all nine outcomes? only the PM group resolves
    members = case.spec.group_members("pm_selection")
    assert set(rows["outcome"]) == set(members)
    # one forecast per (date, fitted variant); dates with no fact yet are one shared fit
    n_items_by_date = {d: len([i for i in case.items if i.date.isoformat() <= d])
                       for d in dates}
    expected = sum(1 if n_items_by_date[d] == 0 else 2 for d in dates)
    assert rows["forecast_id"].nunique() == expected
    res = r.ledger.resolutions()
    vote = res[res["implied_by"].isna()]
    assert vote[["outcome", "happened", "date"]].values.tolist() == [
        ["other_pm", True, "2014-09-08"]]


def test_scores_recomputed_by_hand_for_one_date(result):
    r = result[CASE]
    case = r.case
    d = "2014-07-31"
    members = case.spec.group_members("pm_selection")
    fc = r.forecasts[(r.forecasts["variant"] == "model") & (r.forecasts["as_of"] == d)]
    p = fc.set_index("outcome")["p"].reindex(members).to_numpy()
    y = np.array([m == "other_pm" for m in members], dtype=float)
    row = r.per_date[(r.per_date["variant"] == "model") & (r.per_date["as_of"] == d)].iloc[0]
    assert row["realised"] == "other_pm"
    assert row["log_score"] == pytest.approx(-math.log(p[members.index("other_pm")]), rel=1e-12)
    assert row["brier"] == pytest.approx(float(((p - y) ** 2).sum()), rel=1e-12)
    clim = np.array([climatology(case.spec, m, d, case.horizon.isoformat()) for m in members])
    clim = clim / clim.sum()
    row = r.per_date[(r.per_date["variant"] == "climatology") & (r.per_date["as_of"] == d)]
    assert row["log_score"].iloc[0] == pytest.approx(-math.log(clim[members.index("other_pm")]))
    # the incumbent's role was vacant in 2014 (Maliki was the front-runner): three members
    assert members == ["maliki_confirmed", "other_pm", "deadlock_persists"]
    row = r.per_date[(r.per_date["variant"] == "uniform") & (r.per_date["as_of"] == d)]
    assert row["log_score"].iloc[0] == pytest.approx(math.log(3))
    assert row["brier"].iloc[0] == pytest.approx(2 / 3)
    # the pooled table is the mean over dates of these rows
    pooled = result.pooled
    assert pooled.loc["model", "log_score"] == pytest.approx(
        r.per_date[r.per_date["variant"] == "model"]["log_score"].mean())
    assert list(pooled.index) == ["model", "no_evidence", "climatology", "uniform"]


def test_score_dates_needs_exactly_one_realised_member():
    rows = pd.DataFrame({"variant": "v", "as_of": "2020-01-31", "outcome": ["a", "b"],
                         "p": [0.5, 0.5], "y": [0, 0]})
    with pytest.raises(iaf.ForecastError, match="exactly one realised member"):
        score_dates(rows)


def test_direction_is_the_change_at_the_facts_date(result):
    r = result[CASE]
    case = r.case
    d = r.directions
    fact = next(f for f in case.facts if f.id == "f2014-06")   # Sistani's sermon, seen
    sub = d[d["fact"] == fact.id].set_index("target")
    # recompute the change by hand with the same seeds
    model = iaf.ScenarioModel(case.spec)
    known = [i for i in case.items if i.date <= fact.date]
    s = _seed(3, case.name, fact.date, "fact")
    kw = {"as_of": fact.date, "horizon": case.horizon, "seed": s, **SIZES}
    with_it = iaf.forecast(model, known, **kw)
    without = iaf.forecast(model, [i for i in known if i.id != fact.id], **kw)
    change = with_it["maliki_confirmed"].p - without["maliki_confirmed"].p
    assert sub.loc["frontrunner", "change"] == pytest.approx(change, abs=1e-12)
    # verdicts follow the threshold and the expected sign
    judged = d[d["expected"].notna() & (d["verdict"] != "unseen")]
    for row in judged.itertuples():
        beyond = abs(row.change) > row.threshold
        sign = 1 if row.expected == "up" else -1
        want = "flat" if not beyond else ("right" if np.sign(row.change) == sign else "wrong")
        assert row.verdict == want
    # unseen facts cannot move the forecast and are counted as such
    unseen = d[d["verdict"] == "unseen"]
    assert set(unseen["fact"]) <= {f.id for f in case.unseen}
    assert (unseen["change"] == 0).all()
    summary = result.direction_summary.set_index("case").loc["all"]
    assert summary["expectations"] == int(d["expected"].notna().sum())
    assert summary[["right", "wrong", "flat", "unseen"]].sum() == summary["expectations"]


def test_noise_is_measured_from_replicate_fits(result):
    r = result[CASE]
    rep = r.replicates
    # one replicate per month-end date and role: the same data fitted with another seed
    assert len(rep) == len(r.case.outcomes) * len(r.case.forecast_dates())
    d = r.case.forecast_dates()[-1]
    model = iaf.ScenarioModel(r.case.spec)
    known = [i for i in r.case.items if i.date <= d]
    kw = {"as_of": d, "horizon": r.case.horizon, **SIZES}
    s = _seed(3, CASE, d, "month")
    first, second = (iaf.forecast(model, known, seed=k, **kw) for k in (s, s + 1))
    got = rep[(rep["as_of"] == d.isoformat()) & (rep["target"] == "other")]["replicate"]
    assert got.iloc[0] == pytest.approx(second["other_pm"].p - first["other_pm"].p, abs=1e-12)
    noise = result.noise
    assert noise.loc["other", "sd"] == pytest.approx(
        rep[rep["target"] == "other"]["replicate"].std(ddof=1))
    assert (noise["threshold"] == 2.0 * noise["sd"]).all()


def test_report_and_json(result, tmp_path):
    out = result.report(tmp_path / "bt.html")
    html = out.read_text()
    for anchor in ("pooled-table", "by-case-table", "direction-summary", f"case-{CASE}"):
        assert f'id="{anchor}"' in html
    assert "data:image/png;base64," in html
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["cases"][CASE]["per_date"]
    assert data["pooled"][0]["variant"] == "model"


def test_cli_lists_cases(tmp_path):
    from typer.testing import CliRunner

    from iamg_forecast.cli import _mount_optional, app

    _mount_optional()
    got = CliRunner().invoke(app, ["backtest", "--list"])
    assert got.exit_code == 0, got.output
    assert "formation_2014:" in got.output


def test_bad_case_files_list_every_problem(tmp_path):
    shutil.copy(cases_dir() / "events.yaml", tmp_path / "events.yaml")
    folder = tmp_path / "bad_case"
    folder.mkdir()
    (folder / "case.yaml").write_text(
        "case:\n  name: bad_case\n  title: t\n  kind: formation\n  start: '2014-04-30'\n"
        "  roles: {frontrunner: A, incumbent: null}\n"
        "  resolution: {role: other, person: C, date: '2014-09-08', source: s, "
        "url: 'https://example.org'}\n")
    fact = ("  - {{id: {id}, date: '{date}', event: {event}, role: frontrunner, summary: s, "
            "source: s, url: 'https://example.org', reliability: B2}}\n")
    (folder / "facts.yaml").write_text(
        "facts:\n" + fact.format(id="a", date="2014-05-01", event="no_such_event")
        + fact.format(id="a", date="2014-05-02", event="speaker_elected")
        + fact.format(id="b", date="2013-01-01", event="speaker_elected")
        + fact.format(id="c", date="2014-05-03", event="party_opposes").replace(
            "role: frontrunner", "role: incumbent, expect: {incumbent: down}"))
    with pytest.raises(SpecError) as err:
        load_case(folder, root=tmp_path)
    text = str(err.value)
    assert "facts[0].event: unknown event type" in text
    assert "facts[1].id: duplicate id" in text
    assert "facts[2].date: outside the case" in text
    # the incumbent's role is null in this case: nobody held it, so no fact can name it
    assert "facts[3].role: a role nobody held on the start day" in text
    assert "facts[3].expect: a role nobody held on the start day" in text
    with pytest.raises(SpecError, match="no backtest case there"):
        load_case("no_such_case")


def test_bundled_pm_priors_follow_the_reference_class_rule():
    """priors/outcomes.yaml's PM choice priors and reference rates are the rule of
    backtests/formations.yaml over every formation, to the three decimals written there."""
    from iamg_forecast.backtest.reference import pm_priors

    spec = iaf.load_spec()
    prior = pm_priors()
    roles = load_case(CASE).events.roles
    for role, name in roles.items():
        o = spec.outcome(name)
        if o.type == "choice":
            assert o.base.mu == pytest.approx(prior.mu[role], abs=5e-4), name
        assert o.reference_class.base_rate == pytest.approx(prior.rate(role), abs=5e-4), name
    # the shares are the Laplace rule on the counts written in the file: 0, 1 and 5 of 6
    assert prior.n == 6
    assert [prior.shares[r] for r in ("frontrunner", "incumbent", "other")] == pytest.approx(
        [1 / 9, 2 / 9, 6 / 9])


def test_bundled_stage_priors_follow_the_formations_rule():
    """The designation, vote, same-month vote and failure priors of priors/outcomes.yaml are
    the rule of backtests/formations.yaml over every formation; the counts are the ones the
    rationales state, recounted by hand from the dates in that file."""
    from iamg_forecast.backtest.reference import stage_priors

    p = stage_priors()
    stages = iaf.load_spec().group("pm_selection").stages
    for step in ("designation", "vote", "vote_same_month", "failure"):
        assert getattr(stages, step).mu == pytest.approx(p.mu[step], abs=5e-4), step
    # 2006, 2010, 2018, 2022: named in the presidency's month; 2014: July without, August
    # with; 2019-20: Nov, Dec, Jan without, Feb (Allawi), Mar (al-Zurfi), Apr (al-Kadhimi)
    assert (p.k["designation"], p.exposure["designation"]) == (8, 12)
    # the month after: 2006, 2010, 2014 and al-Kadhimi voted; Allawi and al-Zurfi withdrew
    assert (p.k["vote"], p.exposure["vote"]) == (4, 6)
    assert (p.k["failure"], p.exposure["failure"]) == (2, 2)
    # voted in the month of the designation: 2018 and 2022 of the eight designates
    assert (p.k["vote_same_month"], p.exposure["vote_same_month"]) == (2, 8)
    assert p.mu["failure"] == pytest.approx(math.log(3 / 1))


def test_a_case_takes_its_stage_priors_from_earlier_formations_only():
    """2010 knows only 2006 (named and voted the month after, nobody failed): Laplace gives
    2/3, 2/3, 1/3 and 1/2."""
    stages = load_case("formation_2010").spec.group("pm_selection").stages
    assert [stages.designation.mu, stages.vote.mu, stages.vote_same_month.mu,
            stages.failure.mu] == pytest.approx([math.log(2), math.log(2), -math.log(2), 0.0],
                                                abs=5e-4)
    assert "1 formation(s) completed before 2010-03-07" in stages.failure.rationale


@pytest.mark.parametrize("case", ["formation_2010", "formation_2014", "formation_2018",
                                  "replacement_2019_20", "formation_2021_22"])
def test_the_formation_steps_agree_with_the_case_facts(case):
    """formations.yaml's dates of a formation with a case folder are that case's facts."""
    from iamg_forecast.backtest.reference import load_formations

    c = load_case(case)
    f = next(f for f in load_formations() if f.start == c.info.start)
    facts = {(x.event, x.date) for x in c.facts}
    assert f.approved == c.info.resolution.date
    assert f.initial_stage == c.info.initial_stage
    if f.president is not None:
        assert ("president_elected", f.president) in facts
    for d in f.designations:
        assert ("pm_designated", d.date) in facts
        if d.fails is not None:
            assert ("designate_fails", d.fails) in facts
    assert len(f.designations) == sum(x.event == "pm_designated" for x in c.facts)


def test_formation_steps_out_of_order_are_refused():
    from pydantic import ValidationError

    from iamg_forecast.backtest.reference import Formation

    row = {"name": "x", "start": "2010-03-07", "approved": "2010-12-21", "winner": "M",
           "winner_role": "incumbent", "president": "2010-11-11", "sources": ["u"],
           "designations": [{"date": "2010-11-25", "role": "incumbent"}]}
    assert Formation.model_validate(row).steps()[-1].kind == "formation"
    for bad, what in (({"president": "2011-01-01"}, "not in order"),
                      ({"president": None}, "needs the day the presidency"),
                      ({"designations": [{"date": "2010-11-25", "role": "other"}]},
                       "must be the winner's"),
                      ({"designations": [{"date": "2010-11-20", "role": "other"},
                                         {"date": "2010-11-25", "role": "incumbent"}]},
                       "needs the day it failed")):
        with pytest.raises(ValidationError, match=what):
            Formation.model_validate({**row, **bad})


def test_a_vacant_role_is_no_choice_for_any_variant():
    case = load_case("formation_2018")   # Sairoon, the largest list, named no candidate
    assert case.info.vacant_roles == ["frontrunner"]
    assert list(case.outcomes) == ["incumbent", "other", "none"]
    spec = case.spec
    assert spec.group_members("pm_selection") == ["sudani_return", "other_pm",
                                                  "deadlock_persists"]
    assert "maliki_confirmed" not in spec.group("pm_selection").stages.designation_milestones
    # outcome effects that named the vacant choice are gone with it; the others stay
    bundled = {o.name: [a.outcome for a in (o.after or [])] for o in iaf.load_spec().outcomes}
    for o in spec.outcomes:
        assert [a.outcome for a in (o.after or [])] == [
            a for a in bundled[o.name] if a != "maliki_confirmed"]
    assert any("maliki_confirmed" in v for v in bundled.values())
    # the baselines spread over the same three members
    base = _baselines(case, case.forecast_dates()[:1])
    assert sorted(base.loc[base["variant"] == "uniform", "outcome"]) == sorted(
        spec.group_members("pm_selection"))
    assert base.loc[base["variant"] == "uniform", "p"].tolist() == pytest.approx([1 / 3] * 3)


def test_protests_are_read_by_whom_they_target():
    case = load_case("formation_2021_22")
    logged = {e.id: e.indicator for e in case.items}
    # the Sadrists storming parliament against Sudani's nomination (role other) is a rejection
    # of that nominee; protests against the election results (role none) are anti-government
    assert logged["f2021-19"] == logged["f2021-20"] == "bloc_rejects_outside"
    assert logged["f2021-03"] == "mass_antigovernment_protests"
    incumbent = load_case("formation_2018")   # Basra, September 2018: against the government
    assert {e.id: e.indicator for e in incumbent.items}["f2018-12"] == \
        "mass_antigovernment_protests"


def test_refusals_of_a_designate_have_their_own_indicator():
    """A refusal (or protest) naming the PM-designate in place on its date is logged as the
    designate's rejection; one naming a candidate who is not (yet, or any longer) designate
    stays the ordinary refusal."""
    case = load_case("replacement_2019_20")
    logged = {e.id: e.indicator for e in case.items}
    on = dict(zip((f.id for f in case.facts), designates(case.facts), strict=True))
    # Allawi (designated 1 Feb 2020): the protest that day and the refusal of 27 Feb
    assert logged["f2019-15"] == logged["f2019-17"] == "bloc_rejects_designate_outside"
    # Kataib Hezbollah against al-Kadhimi on 2 March, before his designation on 9 April
    assert on["f2019-21"] is None and logged["f2019-21"] == "bloc_rejects_outside"
    # al-Zurfi withdrew and al-Kadhimi was designated on 9 April: the end comes first
    assert on["f2019-27"] == on["f2019-28"] == "Mustafa al-Kadhimi"
    assert logged["f2019-30"] == "bloc_rejects_designate_outside"
    # a refusal naming someone other than the designate in place is not his rejection
    events = case.events
    fact = case.facts[[f.id for f in case.facts].index("f2019-30")]
    assert events.entry(fact, "Adnan al-Zurfi").indicator == "bloc_rejects_outside"
    assert events.entry(fact, None).indicator == "bloc_rejects_outside"
    assert events.entry(fact, " mustafa AL-KADHIMI ").indicator == \
        "bloc_rejects_designate_outside"
    # 2022: the Sadrists' protests against Sudani's nomination came before his designation,
    # their refusal of 15 October after it
    later = {e.id: e.indicator for e in load_case("formation_2021_22").items}
    assert later["f2021-19"] == "bloc_rejects_outside"
    assert later["f2021-27"] == "bloc_rejects_designate_outside"


def test_a_designation_ends_on_the_day_it_fails_or_is_voted():
    base = dict(summary="s", source="x", url="https://example.org", reliability="B2")
    facts = [Fact(id="a", date="2020-01-01", event="pm_designated", role="other", person="X",
                  **base),
             Fact(id="b", date="2020-01-05", event="party_opposes", role="other", person="X",
                  **base),
             Fact(id="c", date="2020-01-09", event="designate_fails", role="other", person="X",
                  **base),
             Fact(id="d", date="2020-01-09", event="party_opposes", role="other", person="X",
                  **base),
             Fact(id="e", date="2020-02-01", event="pm_designated", role="other", person="Y",
                  **base),
             Fact(id="f", date="2020-02-03", event="designate_fails", role="other", person="X",
                  **base),
             Fact(id="g", date="2020-02-20", event="cabinet_approved", role="other",
                  person="Y", **base)]
    # a failure naming someone else (X, already gone) does not end Y's designation
    assert designates(facts) == ["X", "X", None, None, "Y", "Y", None]


def test_a_case_knows_only_the_formations_before_it():
    spec = load_case(CASE).spec   # 2014: the 2006 (other) and 2010 (incumbent) formations
    shares = {"frontrunner": 1 / 5, "incumbent": 2 / 5, "other": 2 / 5}
    centre = sum(math.log(v) for v in shares.values()) / 3
    assert spec.outcome("other_pm").base.mu == pytest.approx(math.log(2 / 5) - centre,
                                                            abs=5e-4)
    assert spec.outcome("deadlock_persists").reference_class.base_rate == pytest.approx(1 / 4)
    assert load_case("replacement_2019_20").spec.group("pm_selection").stages.initial == \
        "president"


def test_count_case_logs_running_totals_by_the_evidence_rule():
    """The Pentagon's running totals become monthly counts by differencing month-end totals;
    a total that cannot be placed in a month stays unseen."""
    import numpy as np

    from iamg_forecast.evidence.cells import model_data
    case = load_case("attack_wave_2023_24")
    d = model_data(case.spec, case.items, case.info.last_day)
    i = case.spec.indicator_names.index("iamg_attacks_count")
    months = {case.spec.months[m]: float(d["ind_value"][i, m])
              for m in np.nonzero(d["ind_observed"][i])[0]}
    # 27 (17-31 Oct); 61 - 27; 78 - 61; 140 - 78 (better graded than ACLED's ~80); ACLED's 17
    # against 170 - 140 at the same grade (the smaller value); 2 (21-22 April)
    assert months == {"2023-10": 27.0, "2023-11": 34.0, "2023-12": 17.0, "2024-01": 62.0,
                      "2024-02": 17.0, "2024-04": 2.0}
    # the OIG quarterly (1 Oct - 31 Dec, 134) is its series' only total: no month to place
    quarterly = next(f for f in case.facts if f.value == 134)
    assert quarterly.running_total and quarterly in case.unseen


def test_a_bad_formations_file_names_each_row_and_field(tmp_path, monkeypatch):
    """Every bad row of formations.yaml is reported by its place, and nothing is returned."""
    from iamg_forecast.backtest import reference

    (tmp_path / "formations.yaml").write_text(
        "formations:\n"
        "  - {name: a, start: '2010-03-07', approved: '2010-12-21', winner: M,\n"
        "     winner_role: incumbent, sources: [u],\n"
        "     designations: [{date: '2010-11-25', role: incumbent}]}\n"
        "  - {name: b, start: '2014-04-30', approved: '2014-09-08', winner: A,\n"
        "     winner_role: someone, president: '2014-07-24', sources: [u],\n"
        "     designations: [{date: '2014-08-11', role: other}]}\n")
    monkeypatch.setattr(reference, "bundled_dir", lambda name: tmp_path)
    with pytest.raises(SpecError) as err:
        reference.load_formations()
    text = str(err.value)
    assert "formations[0]: " in text and "needs the day the presidency was filled" in text
    assert "formations[1].winner_role" in text


def test_bundled_trend_prior_follows_the_formations_rule():
    """The presidency's trend prior of priors/outcomes.yaml is the rule of
    backtests/formations.yaml over every formation; the waits are the ones its rationale
    states, counted by hand (Dec 2005 -> Apr 2006, Mar -> Nov 2010, Apr -> Jul 2014,
    May -> Oct 2018, Oct 2021 -> Oct 2022)."""
    from iamg_forecast.backtest.reference import trend_prior

    p = trend_prior()
    trend = iaf.load_spec().group("pm_selection").hazard_trend
    assert p.months == (4, 8, 3, 5, 12)
    assert (trend.mu, trend.sigma) == pytest.approx((p.mu, p.sigma), abs=5e-4)
    assert "months 4, 8, 3, 5 and 12" in trend.rationale


def test_trend_rule_grid_agrees_with_direct_integration():
    """The grid posterior of the trend for one formation (2006: a president in month 4)
    equals a direct numerical integration of the same posterior; with no formation it is
    the reference prior itself (to the grid's resolution)."""
    from scipy import integrate
    from scipy.special import log_expit

    from iamg_forecast.backtest.reference import load_trend_rule, trend_prior

    rule = load_trend_rule()
    base = iaf.load_spec().group("pm_selection").hazard
    mb, sb = base.params["mu"], base.params["sigma"]

    def density(t, b, power):
        lp = (-0.5 * ((b - mb) / sb) ** 2 - 0.5 * ((t - rule.mu) / rule.sigma) ** 2
              + sum(log_expit(-(b + t * m)) for m in range(4)) + log_expit(b + t * 4))
        return t ** power * math.exp(lp)

    lim = (mb - 8 * sb, mb + 8 * sb, rule.mu - 8 * rule.sigma, rule.mu + 8 * rule.sigma)
    z, m1, m2 = (integrate.dblquad(density, *lim, args=(k,), epsabs=1e-12)[0]
                 for k in (0, 1, 2))
    p = trend_prior(dt.date(2010, 1, 1))
    assert p.n == 1 and p.months == (4,)
    assert p.mu == pytest.approx(m1 / z, abs=1e-3)
    assert p.sigma == pytest.approx(math.sqrt(m2 / z - (m1 / z) ** 2), abs=1e-3)
    empty = trend_prior(dt.date(2006, 1, 1))
    assert (empty.n, empty.mu, empty.sigma) == pytest.approx((0, rule.mu, rule.sigma),
                                                             abs=1e-3)


def test_a_case_takes_its_trend_prior_from_earlier_formations_only():
    """2010 knows only 2006; 2021-22 knows the four formations that started at an election
    before it (2019-20 started at a resignation)."""
    from iamg_forecast.backtest.reference import trend_prior

    for case, start, waits in (("formation_2010", dt.date(2010, 3, 7), (4,)),
                               ("formation_2021_22", dt.date(2021, 10, 10), (4, 8, 3, 5))):
        trend = load_case(case).spec.group("pm_selection").hazard_trend
        p = trend_prior(start)
        assert p.months == waits
        assert (trend.mu, trend.sigma) == pytest.approx((p.mu, p.sigma), abs=5e-4)
        assert f"completed before {start}" in trend.rationale


def test_a_missing_trend_rule_is_named(tmp_path, monkeypatch):
    """formations.yaml without its trend rule is refused with the field named."""
    from iamg_forecast.backtest import reference

    (tmp_path / "formations.yaml").write_text("trend_rule: {mu: 0.0, sigma: -1}\n"
                                              "formations: []\n")
    monkeypatch.setattr(reference, "bundled_dir", lambda name: tmp_path)
    with pytest.raises(SpecError) as err:
        reference.load_trend_rule()
    assert "trend_rule.sigma" in str(err.value) and "trend_rule.rationale" in str(err.value)

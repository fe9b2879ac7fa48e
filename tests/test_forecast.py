"""Forecast: tables, queries, what-if, determinism, persistence, gates."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import iamg_forecast as iaf
from iamg_forecast.errors import ForecastError
from iamg_forecast.evidence import Evidence
from iamg_forecast.forecast import Forecast

from .conftest import SMALL, mcse

PM = ["maliki_confirmed", "sudani_return", "other_pm", "deadlock_persists"]
NEW = dict(indicator="sistani_signals_opposition_to_maliki", date="2026-02-03", value=1,
           source="Reuters", reliability="B2", note="Friday sermon")


def test_table_columns_and_gate(seed_forecast):
    t = seed_forecast.table()
    assert list(t.columns) == ["outcome", "question", "p", "lo80", "hi80", "lo95", "hi95",
                               "term", "reliable"]
    assert (t["lo95"] <= t["lo80"]).all() and (t["lo80"] <= t["p"] + 1e-12).all()
    assert (t["p"] <= t["hi80"] + 1e-12).all() and (t["hi80"] <= t["hi95"]).all()
    assert t.attrs["diagnostics_ok"] == seed_forecast.ok
    assert seed_forecast.provenance["spec_hash"] == seed_forecast.spec.hash
    for key in ("evidence_hash", "seed", "versions", "as_of", "horizon", "draws", "created"):
        assert key in seed_forecast.provenance
    # the same seed gives the same draws only on the same sampler backend and numba
    assert seed_forecast.provenance["sampler_backend"] == "kernel"
    assert "numba" in seed_forecast.provenance["versions"]


def test_psis_answer_keeps_the_backend_of_its_draws(seed_forecast, tmp_path):
    new = Evidence(indicator="sistani_signals_opposition_to_maliki", date="2026-02-03",
                   value=1, source="test", reliability="B2")
    assert seed_forecast.what_if(new, refit="never").provenance["sampler_backend"] == "kernel"
    seed_forecast.save(tmp_path / "fc")
    loaded = iaf.Forecast.load(tmp_path / "fc")
    assert loaded.provenance["sampler_backend"] == "kernel"
    assert loaded.what_if(new, refit="never").provenance["sampler_backend"] == "kernel"


def test_pm_outcomes_sum_to_one_per_draw(seed_forecast):
    p = seed_forecast.outcome_draws()
    idx = [seed_forecast.spec.outcome_names.index(o) for o in PM]
    np.testing.assert_allclose(p[:, idx].sum(axis=1), 1.0, atol=1e-9)


def test_default_as_of_is_latest_evidence(seed_forecast, seed_items):
    assert seed_forecast.as_of == max(e.date for e in seed_items)
    assert seed_forecast.horizon.isoformat() == seed_forecast.spec.scenario.default_horizon


def test_getitem_and_hint(seed_forecast):
    r = seed_forecast["sudani_return"]
    assert 0 <= r.p <= 1 and r.draws.shape[0] == SMALL["draws"] * SMALL["chains"]
    with pytest.raises(KeyError, match="did you mean 'sudani_return'"):
        seed_forecast["sudani_retrun"]


def test_latents_dataset(seed_forecast):
    ds = seed_forecast.latents()
    assert set(ds.data_vars) == {"mean", "lo80", "hi80", "lo95", "hi95"}
    assert ds.sizes["month"] == len(seed_forecast.spec.months)
    assert bool((ds["lo95"] <= ds["hi95"]).all())


def test_given_and_joint(seed_forecast):
    g = seed_forecast.given("maliki_confirmed", happened=True).set_index("outcome")
    assert g.loc["maliki_confirmed", "p_given"] == 1.0
    assert g.loc[["sudani_return", "other_pm", "deadlock_persists"], "p_given"].eq(0).all()
    assert seed_forecast.joint(["maliki_confirmed", "sudani_return"]) == 0.0
    p1 = seed_forecast.joint(["uncoordinated_attack"])
    assert p1 == pytest.approx(seed_forecast["uncoordinated_attack"].p, abs=1e-12)
    # P(A and B) + P(A and not B) = P(A)
    a, b = "uncoordinated_attack", "militia_fragmentation"
    total = seed_forecast.joint({a: True, b: True}) + seed_forecast.joint({a: True, b: False})
    assert total == pytest.approx(p1, abs=1e-12)
    none = seed_forecast.joint({o: False for o in PM[:3]})
    assert none == pytest.approx(seed_forecast["deadlock_persists"].p, abs=1e-12)


def test_duplicate_items_change_no_data(model, seed_items):
    as_of = dt.date(2026, 1, 31)
    base = model.data(seed_items, as_of)
    again = model.data(seed_items + seed_items[:3], as_of)
    dup = Evidence(**{**seed_items[0].content(), "note": "same event, other wording",
                      "duplicate_of": seed_items[0].id})
    with_dup = model.data(seed_items + [dup], as_of)
    for k in base:
        assert np.array_equal(base[k], again[k]) and np.array_equal(base[k], with_dup[k]), k


def test_duplicate_item_leaves_forecast_identical(model, seed_items, seed_forecast):
    dup = Evidence(**{**seed_items[2].content(), "note": "reworded", "duplicate_of":
                      seed_items[2].id})
    fc = iaf.forecast(model, seed_items + [dup], seed=7, **SMALL)
    pd.testing.assert_frame_equal(fc.table(), seed_forecast.table())
    assert fc.provenance["evidence_hash"] == seed_forecast.provenance["evidence_hash"]


def test_same_seed_same_table_in_process(model, seed_items, seed_forecast):
    again = iaf.forecast(model, seed_items, seed=7, **SMALL)
    pd.testing.assert_frame_equal(again.table(), seed_forecast.table(), check_exact=True)


@pytest.mark.slow
def test_same_seed_same_table_across_processes(seed_forecast):
    code = (
        "import json, yaml, iamg_forecast as iaf\n"
        "from iamg_forecast.evidence import Evidence\n"
        "raw = yaml.safe_load(iaf.seed_evidence_path().read_text())\n"
        "items = [Evidence(**r) for r in raw['evidence']]\n"
        f"fc = iaf.forecast(iaf.load_model(), items, seed=7, **{SMALL!r})\n"
        "print(json.dumps(fc.table().drop(columns=['question']).to_dict('list')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    theirs = json.loads(out.stdout.strip().splitlines()[-1])
    mine = json.loads(json.dumps(seed_forecast.table().drop(columns=["question"])
                                 .to_dict("list")))
    assert theirs == mine  # exact equality of every float


def test_save_load_round_trip(seed_forecast, tmp_path):
    path = seed_forecast.save(tmp_path / "fc")
    back = Forecast.load(path)
    pd.testing.assert_frame_equal(back.table(), seed_forecast.table(), check_exact=True)
    assert back.provenance == seed_forecast.provenance
    assert [e.id for e in back.items] == [e.id for e in seed_forecast.items]


def test_load_rejects_tampering_and_other_versions(seed_forecast, tmp_path):
    path = seed_forecast.save(tmp_path / "fc")
    meta = json.loads((path / "forecast.json").read_text())
    meta["spec"]["latents"][0]["initial"]["mu"] = 3.0
    (path / "forecast.json").write_text(json.dumps(meta))
    with pytest.raises(ForecastError, match="hash"):
        Forecast.load(path)
    meta["schema_version"] = 99
    (path / "forecast.json").write_text(json.dumps(meta))
    with pytest.raises(ForecastError, match="schema_version"):
        Forecast.load(path)
    with pytest.raises(ForecastError, match="not a saved forecast"):
        Forecast.load(tmp_path)


def test_save_never_destroys_other_files(seed_forecast, tmp_path):
    victim = tmp_path / "work"
    victim.mkdir()
    (victim / "iamg.sqlite").write_bytes(b"an evidence store")
    with pytest.raises(ForecastError, match=r"holds other files \(iamg.sqlite\)"):
        seed_forecast.save(victim)
    assert (victim / "iamg.sqlite").read_bytes() == b"an evidence store"
    assert sorted(p.name for p in victim.iterdir()) == ["iamg.sqlite"]
    with pytest.raises(ForecastError, match="it is a file"):
        seed_forecast.save(victim / "iamg.sqlite")
    # A previous save (or an empty directory) is replaced, and nothing is left beside it.
    path = seed_forecast.save(tmp_path / "fc")
    seed_forecast.save(path)
    (tmp_path / "empty").mkdir()
    seed_forecast.save(tmp_path / "empty")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "fc", "work"]
    assert Forecast.load(path).provenance == seed_forecast.provenance


def reseal(path):
    """Rewrite a save's manifest for its current files (what a forger would do)."""
    import hashlib

    manifest = json.loads((path / "manifest.json").read_text())
    for name in manifest["files"]:
        data = (path / name).read_bytes()
        manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(),
                                   "bytes": len(data)}
    (path / "manifest.json").write_text(json.dumps(manifest))


def test_load_reports_damaged_files(seed_forecast, tmp_path):
    path = seed_forecast.save(tmp_path / "fc")
    good = json.loads((path / "forecast.json").read_text())

    def load_with(meta):
        (path / "forecast.json").write_text(json.dumps(meta))
        reseal(path)  # as a forger would: the checks below go beyond the manifest
        with pytest.raises(ForecastError) as err:
            Forecast.load(path)
        return str(err.value)

    assert "expected a JSON object" in load_with([1, 2])
    assert "missing field(s) provenance" in load_with(
        {k: v for k, v in good.items() if k != "provenance"})
    assert "evidence does not have the recorded hash" in load_with(
        {**good, "items": good["items"][1:]})
    assert "horizon 2035-01-01 is after" in load_with({**good, "horizon": "2035-01-01"})
    assert "diagnostics in forecast.json do not match" in load_with(
        {**good, "diagnostics": {"r_hat": 1.0}})
    (path / "forecast.json").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(ForecastError, match="not valid JSON"):
        Forecast.load(path)


def test_queries_reject_wrong_types(seed_forecast):
    with pytest.raises(KeyError, match="named by strings"):
        seed_forecast[0]
    with pytest.raises(TypeError, match="happened must be True or False, got 'no'"):
        seed_forecast.given("maliki_confirmed", happened="no")
    with pytest.raises(TypeError, match=r"use \['maliki_confirmed'\]"):
        seed_forecast.joint("maliki_confirmed")
    with pytest.raises(TypeError, match="must be True or False, got 'false'"):
        seed_forecast.joint({"maliki_confirmed": "false"})
    with pytest.raises(ForecastError, match="must be Evidence items"):
        seed_forecast.what_if({"indicator": "x"})
    with pytest.raises(TypeError, match="takes another Forecast, got str"):
        seed_forecast.compare("x")
    for horizon in ("2035-01-01", "2025-06-30"):
        with pytest.raises(ForecastError, match="outside the model's months"):
            seed_forecast.outcome_draws(horizon)


def test_bad_arguments_are_clear(model, seed_items):
    with pytest.raises(ForecastError, match="is in the future"):
        iaf.forecast(model, seed_items, as_of=dt.date.today() + dt.timedelta(days=1), **SMALL)
    with pytest.raises(ForecastError, match="before the scenario starts"):
        iaf.forecast(model, seed_items, as_of="1990-01-01", **SMALL)
    with pytest.raises(ForecastError, match="horizon 2026-01-01 must be after as_of"):
        iaf.forecast(model, seed_items, horizon="2026-01-01", **SMALL)
    with pytest.raises(ForecastError, match="ISO date"):
        iaf.forecast(model, seed_items, as_of="soon", **SMALL)
    with pytest.raises(ForecastError, match="last month"):
        iaf.forecast(model, seed_items, horizon="2031-01-01", **SMALL)
    bad = Evidence(indicator="rial_sharp_depreciation", date="2026-01-02", value=3,
                   source="x", reliability="B2")
    with pytest.raises(iaf.EvidenceError, match="binary indicator"):
        iaf.forecast(model, [bad], **SMALL)


def test_what_if_psis_reports_k_and_path(seed_forecast):
    w = seed_forecast.what_if(Evidence(**NEW), refit="never")
    assert w.path == "psis" and "all" in w.pareto_k
    assert w.as_of == dt.date(2026, 2, 3)
    assert w.diagnostics.pareto_k == w.pareto_k["all"]
    assert np.isclose(w.weights.sum(), 1.0)
    assert not np.allclose(w.weights, seed_forecast.weights)   # the item was absorbed


def test_what_if_moves_the_expected_way(default_fit):
    """Sistani opposing Maliki lowers his chances against the same month monitored and empty
    (paired: the same draws reweighted two ways). At the default sizes the difference was
    -0.027 to -0.046 over sampler seeds 1-6 (sd about 0.007), so its sign is not noise."""
    report = default_fit.what_if(Evidence(**NEW), refit="never")
    empty = default_fit.what_if(Evidence(**{**NEW, "value": 0, "monitored_absent": True}),
                                  refit="never")
    assert report["maliki_confirmed"].p < empty["maliki_confirmed"].p


def test_surprise_tails_and_flags(seed_forecast):
    # attribution's numbers: tests/test_forecast_numbers.py
    sur = seed_forecast.surprise()
    assert sur["tail_probability"].between(0, 1).all()
    assert np.isfinite(sur["pareto_k"]).all()          # leave-one-out: each row has its k
    counts = [1, 3, 8, 20, 60]
    new = seed_forecast.surprise([Evidence(indicator="iamg_attacks_count", date="2026-02-10",
                                           value=v, source=f"x{v}", reliability="A1")
                                  for v in counts])
    tails = new["tail_probability"].to_numpy()
    assert (np.diff(tails) < 0).all()   # the further above the typical month, the rarer
    assert not new["flag"].iloc[0]      # one attack in a month is ordinary
    assert bool(new["flag"].iloc[-1])   # 60 attacks in a month is far outside expectations
    assert new["pareto_k"].isna().all()  # new items are judged under the forecast's own weights


def test_signposts_follow_the_report_model(default_fit):
    """Signposts are reweightings by the likelihood's own report model, and coherent."""
    s = default_fit.signposts(months=1, form="long")
    assert s["rank"].min() == 1 and s["p_reported"].between(0, 1).all()
    # a few hypothetical reports (a withdrawal, a designate's failure: strong loadings) move
    # the posterior too far for reweighting; the rest are reliable and checked below
    assert (s["pareto_k"] <= 0.7).mean() > 0.9
    s = s[s["pareto_k"] <= 0.7]
    # A report next month moves the outcomes (a hypothetical dated after as_of once
    # dropped out of the data and every shift was rounding noise, at most 2e-16).
    assert s["expected_abs_shift"].max() > 1e-3
    # Law of total expectation: p * shift_if_reported + (1 - p) * shift_if_absent = 0. It is
    # exact for raw importance weights, since the report is the complement of the monitored
    # absence draw by draw; only Pareto smoothing of the largest weights moves it (5e-5 to
    # 1.3e-4 at most on full-size fits with sampler seeds 1-6, against shifts up to 0.18).
    expected = (s["p_reported"] * s["shift_if_reported"]
                + (1 - s["p_reported"]) * s["shift_if_absent"])
    assert expected.abs().max() < 1e-3
    # The same report through what_if, dated inside the month so that the months observed
    # (and so the outcome window) stay as they are: the same numbers by another path.
    ind = "sistani_signals_opposition_to_maliki"
    rows = s[s["indicator"] == ind].set_index("outcome")
    w = default_fit.what_if(Evidence(indicator=ind, date="2026-02-27", value=1, source="x",
                                       reliability=iaf.defaults.SIGNPOST_RELIABILITY),
                              refit="never")
    for outcome, row in rows.iterrows():
        assert abs(w[outcome].p - default_fit[outcome].p - row["shift_if_reported"]) < 1e-9
    # Over sampler seeds 1-6 these were -0.024 to -0.040 and +0.0030 to +0.0053.
    assert rows.loc["maliki_confirmed", "shift_if_reported"] < 0
    assert rows.loc["maliki_confirmed", "shift_if_absent"] > 0


def test_compare(seed_forecast):
    w = seed_forecast.what_if(Evidence(**NEW), refit="never")
    diff = w.compare(seed_forecast)
    assert diff["added"]["id"].tolist() == [Evidence(**NEW).id] and diff["removed"].empty
    moved = diff["outcomes"].set_index("outcome")
    assert set(moved.columns) == {"p_before", "p_after", "change"}
    pd.testing.assert_series_equal(moved["p_before"], seed_forecast.table().set_index(
        "outcome")["p"], check_names=False)
    pd.testing.assert_series_equal(moved["p_after"], w.table().set_index("outcome")["p"],
                                   check_names=False)
    assert (moved["change"] == moved["p_after"] - moved["p_before"]).all()
    back = seed_forecast.compare(w)
    assert back["removed"]["id"].tolist() == [Evidence(**NEW).id] and back["added"].empty


def test_do_intervention_moves_outcomes(model, seed_items, seed_forecast):
    high = iaf.forecast(model.do("militia_cohesion", -6.0, start="2026-02"), seed_items,
                        seed=7, **SMALL)
    assert high.provenance["interventions"][0]["latent"] == "militia_cohesion"
    # The intervention raised the probability by 0.31 with a combined Monte Carlo error of
    # 0.019 (see conftest.mcse): a 0.1 margin is met with room and still fails if it did nothing.
    assert high["militia_fragmentation"].p > seed_forecast["militia_fragmentation"].p + 0.1




@pytest.mark.slow
def test_default_model_passes_gates(default_fit):
    assert default_fit.sizes == {"draws": 1000, "tune": iaf.defaults.TUNE, "chains": 4}
    assert default_fit.ok, default_fit.diagnostics.problems


@pytest.mark.slow
def test_psis_what_if_matches_refit(default_fit, model, seed_items):
    item = Evidence(**NEW)
    w = default_fit.what_if(item, refit="never")
    assert w.pareto_k["all"] < 0.7
    refit = iaf.forecast(model, seed_items + [item], as_of=w.as_of, seed=11)
    diff = (w.table().set_index("outcome")["p"] - refit.table().set_index("outcome")["p"]).abs()
    diff = diff.reindex(model.spec.outcome_names)   # the order of outcome_draws' columns
    assert diff.max() < 0.03, diff   # the acceptance bound
    # The two estimates are independent; each has Monte Carlo error. Within 3.1 combined
    # standard errors per outcome (two-sided 0.2% each, about 2% over the 9 outcomes). Here
    # the largest difference is 0.015 (us_aid_cut_or_sanctions), 1.97 combined errors; from
    # base seeds 21, 31 and 41 the largest are 1.53, 1.25 and 1.91 of them (docs/backtests.md).
    se = np.sqrt(mcse(w) ** 2 + mcse(refit) ** 2)
    assert (diff.to_numpy() < 3.1 * se).all(), pd.DataFrame({"diff": diff, "se": se})


def test_reliability_banner_state(seed_forecast):
    bad = dataclasses.replace(seed_forecast, diagnostics=dataclasses.replace(
        seed_forecast.diagnostics, divergences=3))
    assert not bad.ok and any("divergent" in p for p in bad.diagnostics.problems)
    assert bad.table()["reliable"].eq(False).all()
    assert "NOT RELIABLE" in bad._repr_html_()


@pytest.mark.parametrize("case", ["iid", "ar1", "shifted_chain", "ties", "odd_draws", "many"])
def test_gate_statistics_match_arviz_stats(case):
    """The vectorised gate diagnostics equal arviz-stats' rank R-hat, bulk and tail ESS."""
    from arviz_stats.base import array_stats

    from iamg_forecast.diagnostics import gate_statistics

    rng = np.random.default_rng(5)

    def ar1(q, chains, n, rho):
        x = np.zeros((q, chains, n))
        e = rng.normal(size=(q, chains, n))
        for t in range(1, n):
            x[..., t] = rho[:, None] * x[..., t - 1] + e[..., t]
        return x

    x = {"iid": lambda: rng.normal(size=(12, 4, 400)),
         "ar1": lambda: ar1(12, 4, 400, np.linspace(0.0, 0.99, 12)),
         "shifted_chain": lambda: rng.normal(size=(4, 4, 300))
         + np.array([0.0, 0.0, 0.0, 1.0])[None, :, None],
         "ties": lambda: rng.integers(0, 4, size=(6, 4, 300)).astype(float),
         "odd_draws": lambda: ar1(5, 2, 301, np.linspace(0.1, 0.95, 5)),
         # enough quantities for the threaded path
         "many": lambda: ar1(70, 4, 200, np.linspace(0.0, 0.95, 70))}[case]()
    rhat, ess_b, ess_t = gate_statistics(x, prob=(0.05, 0.95))
    kw = {"chain_axis": -2, "draw_axis": -1}
    np.testing.assert_allclose(rhat, array_stats.rhat(x, **kw), rtol=1e-10)
    np.testing.assert_allclose(ess_b, array_stats.ess(x, method="bulk", **kw), rtol=1e-10)
    np.testing.assert_allclose(ess_t, array_stats.ess(x, method="tail", prob=(0.05, 0.95), **kw),
                               rtol=1e-10)
    if case == "shifted_chain":
        assert rhat.min() > 1.01  # the gate would fire
    if case == "many":
        from iamg_forecast.diagnostics import _gate_block

        for threaded, single in zip((rhat, ess_b, ess_t), _gate_block(x, (0.05, 0.95)),
                                    strict=True):
            np.testing.assert_array_equal(threaded, single)


def test_posterior_tree_equals_nutpie_conversion(model, seed_items):
    """Our conversion of the raw trace gives nutpie's arrays, dims and coordinates."""
    import nutpie

    from iamg_forecast.inference import (
        COMPILED,
        DERIVED_VARS,
        STORED_VARS,
        posterior_tree,
        sample_posterior,
        with_derived,
    )

    data = model.data(seed_items, dt.date(2026, 1, 31))
    fitted = model.fitted_to(data)
    compiled = COMPILED.get(fitted)
    swapped = compiled.with_data(**fitted.graph_data(data))
    kw = {"draws": 60, "tune": 40, "chains": 2, "cores": 2, "seed": 3, "progress_bar": False}
    ours = posterior_tree(nutpie.sample(swapped, return_raw_trace=True, **kw), compiled)
    theirs = nutpie.sample(swapped, save_warmup=False, **kw)
    # A fit keeps the stored variables and adds the derived paths (checked against the graph
    # in tests/test_model.py), built straight into the tree: the same as adding them after.
    full = sample_posterior(fitted, data, seed=3, draws=60, tune=40, chains=2)
    assert set(full["posterior"].data_vars) == set(STORED_VARS) | set(DERIVED_VARS)
    assert set(ours["posterior"].data_vars) > set(STORED_VARS)   # the free variables too
    kept = posterior_tree(nutpie.sample(swapped, return_raw_trace=True, **kw), compiled,
                          keep=STORED_VARS)
    after = with_derived(kept, fitted)
    for var in full["posterior"].data_vars:
        assert full["posterior"][var].dims == after["posterior"][var].dims, var
        np.testing.assert_array_equal(full["posterior"][var].values,
                                      after["posterior"][var].values, err_msg=var)
    assert set(ours.children) == {"posterior", "sample_stats"}
    for group in ("posterior", "sample_stats"):
        a, b = ours[group].to_dataset(), theirs[group].to_dataset()
        assert set(a.data_vars) == set(b.data_vars)
        for var in a.data_vars:
            assert a[var].dims == b[var].dims, var
            assert a[var].dtype == b[var].dtype, var
            if a[var].dtype != object:
                np.testing.assert_array_equal(a[var].values, b[var].values, err_msg=var)
            for dim in a[var].dims:
                np.testing.assert_array_equal(a[dim].values, b[dim].values)


def test_items_after_the_knowledge_date_are_counted_not_silently_dropped(model, seed_items):
    early = min(e.date for e in seed_items)
    fc = iaf.forecast(model, seed_items, as_of=early, seed=3, draws=50, tune=50, chains=2)
    later = sum(e.date > early for e in seed_items)
    know = fc.knowledge()
    assert later > 0 and know.after_as_of == later
    assert f"{later} item(s) dated after it are not used" in know.statement
    assert know.to_dict()["after_as_of"] == later

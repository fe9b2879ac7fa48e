"""The calibration suite end to end at toy sizes: HTML and JSON written, verdicts wired to --strict.

The sizes here (6 worlds, 3 with the what-if path, no power check) exercise the plumbing only;
the statistical verdicts are asserted at meaningful sizes in test_sbc.py and test_worlds.py.
"""

from __future__ import annotations

import inspect
import json
import re

import html5lib
import pytest

from iamg_forecast.calibration import InlineExecutor, run_calibration
from iamg_forecast.calibration.suite import failed_checks


@pytest.fixture(scope="module")
def suite_run(model, tmp_path_factory):
    out = tmp_path_factory.mktemp("calibration") / "calibration.html"
    summary = run_calibration(out, n_sims=6, n_worlds=6, n_whatif=3, power_repeats=0,
                              model=model, executor=InlineExecutor(), draws=200, tune=200,
                              thin_to=50, lfo_histories=2, progress=False)
    return out, summary


@pytest.mark.slow
def test_report_is_valid_self_contained_html(suite_run):
    out, summary = suite_run
    text = out.read_text(encoding="utf-8")
    html5lib.HTMLParser(strict=True).parse(text)
    # no external resource of any kind: every src is an inline data URI
    assert re.findall(r"src='(?!data:)", text) == []
    assert "http://" not in text and "https://" not in text
    assert "<h2>Verdicts</h2>" in text and "Simulation-based calibration" in text
    assert all(re.search(r"<img alt='[^']+'", tag) for tag in re.findall(r"<img[^>]*>", text))
    # every SBC quantity appears in the report's table
    for q in summary["sbc"]["per_quantity"]:
        assert q in text


@pytest.mark.slow
def test_summary_json_matches_return_value(suite_run):
    out, summary = suite_run
    on_disk = json.loads(out.with_suffix(".json").read_text())
    assert on_disk["sbc"]["n_sims"] == 6 and on_disk["worlds"]["n_worlds"] == 6
    assert on_disk["worlds"]["n_whatif"] == 3
    assert on_disk["failed_checks"] == summary["failed_checks"]
    assert on_disk["power"] is None
    assert on_disk["settings"]["spec_hash"] == summary["settings"]["spec_hash"]
    assert set(on_disk["wall_seconds"]) >= {"simulations_and_fits", "total"}


def _summary(sbc="pass", skill="skilful", calib="calibration not rejected",
             lfo="uniform (not rejected)"):
    paths = [{"path": p, "skill_verdict": skill, "calibration_verdict": calib}
             for p in ("fit", "psis")]
    paths.append({"path": "true", "skill_verdict": "skill not shown",
                  "calibration_verdict": "calibration rejected"})
    return {"sbc": {"verdict": sbc}, "worlds": {"paths": paths}, "lfo": {"pit_verdict": lfo}}


def test_failed_checks_names_each_failure():
    assert failed_checks(_summary()) == []  # the unattainable 'true' path is never a failure
    assert failed_checks(_summary(sbc="fail")) == [
        "SBC: a quantity's ranks are not uniform (Holm, family-wise 5%)"]
    assert len(failed_checks(_summary(skill="skill not shown"))) == 2
    assert failed_checks(_summary(calib="calibration rejected"))[0].startswith("worlds/fit")
    assert failed_checks(_summary(lfo="non-uniform (rejected)")) == [
        "LFO: simulated months' PITs are not uniform"]


def test_cli_rejects_bad_sizes_before_any_work():
    from typer.testing import CliRunner

    from iamg_forecast.cli import app

    res = CliRunner().invoke(app, ["calibrate", "--n-sims", "1"])
    assert res.exit_code == 2
    assert "--n-sims must be at least 2, got 1" in res.output
    res = CliRunner().invoke(app, ["calibrate", "--lfo-histories", "0"])
    assert res.exit_code == 2
    assert "--lfo-histories must be at least 1, got 0" in res.output
    with pytest.raises(ValueError, match="lfo_histories must be at least 1, got 0"):
        run_calibration("unused.html", lfo_histories=0)


def test_cli_defaults_are_the_full_sizes(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from iamg_forecast.calibration import suite
    from iamg_forecast.cli import app

    seen: list[dict] = []

    def fake_run(out, **kwargs):
        seen.append(kwargs)
        return {"failed_checks": []}

    monkeypatch.setattr(suite, "run_calibration", fake_run)
    out = str(tmp_path / "c.html")
    assert CliRunner().invoke(app, ["calibrate", "--out", out, "--quiet"]).exit_code == 0
    # The sizes docs/calibration.md reports for ``make calibrate``: SBC with 500 simulations,
    # 1,000 simulated worlds, 3 power-check runs per bug of 200 simulations for the two strong
    # bugs and 800 for the double-counted item, 10 simulated histories for the LFO check.
    documented = {"n_sims": 500, "n_worlds": 1000, "power_repeats": 3,
                  "power_sims": {"half_likelihood": 200, "doubled_prior_initial": 200,
                                 "double_counted_item": 800}, "lfo_histories": 10}
    assert {k: seen[0][k] for k in documented} == documented
    assert suite.FULL_SIZES == documented
    # Fits of 2 chains x 400 draws after 300 tuning steps, thinned to at most 100 draws: the
    # CLI leaves them to run_calibration's defaults.
    assert not {"draws", "tune", "chains", "thin_to"} & set(seen[0])
    params = inspect.signature(run_calibration).parameters
    assert {k: params[k].default for k in ("draws", "tune", "chains", "thin_to")} == {
        "draws": 400, "tune": 300, "chains": 2, "thin_to": 100}
    # --power-sims sets one size for every bug
    assert CliRunner().invoke(app, ["calibrate", "--out", out, "--quiet",
                                    "--power-sims", "40"]).exit_code == 0
    assert seen[1]["power_sims"] == 40


@pytest.mark.slow
def test_cli_calibrate_runs_for_real_and_strict_exits_3(tmp_path):
    """``iamg-forecast calibrate`` in a child process, as a user runs it: the default executor
    (a spawn process pool), the default fit sizes, the LFO check; 2 worlds, no power check.

    Two worlds cannot show skill (the Brier skill CI includes 0), so the checks fail: with
    ``--strict`` the command exits 3 and names them on stderr, after writing both reports.
    (Exit 0 without ``--strict`` and the sizes the CLI passes:
    ``test_cli_defaults_are_the_full_sizes``; ``forecast --strict``: tests/test_cli.py.)
    """
    import subprocess
    import sys

    out, store = tmp_path / "c.html", tmp_path / "store"
    args = [sys.executable, "-m", "iamg_forecast", "calibrate", "--out", str(out),
            "--n-sims", "2", "--n-worlds", "2", "--power-repeats", "0", "--store", str(store),
            "--lfo-histories", "2", "--quiet"]
    strict = subprocess.run([*args, "--strict"], capture_output=True, text=True,
                            cwd=tmp_path, timeout=600)
    assert strict.returncode == 3, strict.stderr
    summary = json.loads(out.with_suffix(".json").read_text())
    # The LFO check runs at its own sizes on two simulated histories (seeds 0 and 1): its
    # verdict is a statistical finding (seed 0's history alone is rejected, p 0.017, seed 1's
    # is not, p 0.62; docs/calibration.md), so it is checked for being reported, not for its
    # value.
    lf = summary["lfo"]
    assert lf["histories"] == 2 and lf["seed"] == [0, 1] and len(lf["history_pvalues"]) == 2
    assert summary["settings"]["lfo_histories"] == 2
    lfo_failed = lf["pit_verdict"].startswith("non-uniform")
    assert summary["failed_checks"] == [
        "worlds/fit: Brier skill CI does not exclude 0",
        "worlds/psis: Brier skill CI does not exclude 0",
        *(["LFO: simulated months' PITs are not uniform"] if lfo_failed else [])]
    assert "calibration checks failed: worlds/fit: Brier skill CI" in strict.stderr
    assert ("LFO: simulated months" in strict.stderr) == lfo_failed
    assert json.loads(strict.stdout)["failed_checks"] == summary["failed_checks"]
    assert summary["settings"] | {"power_sims": None} == {
        **summary["settings"], "n_sims": 2, "n_worlds": 2, "power_repeats": 0, "draws": 400,
        "tune": 300, "chains": 2, "thin_to": 100, "power_sims": None, "lfo_histories": 2}
    assert summary["sbc"]["n_sims"] == 2 and summary["power"] is None
    assert summary["lfo"]["n_items"] > 0
    html5lib.HTMLParser(strict=True).parse(out.read_text(encoding="utf-8"))
    sims = sorted(p.name for p in (store / "main" / "sims").iterdir())
    assert sims == ["full_000000.json", "full_000001.json", "whatif_000000.json",
                    "whatif_000001.json"]


def test_lfo_histories_are_tested_together_with_the_seed_reports_once(suite_run, model):
    _, summary = suite_run
    lf = summary["lfo"]
    assert lf["histories"] == 2 and lf["seed"] == [0, 1]
    assert len(lf["history_pvalues"]) == 2
    # every history starts with the same real seed reports: they count once (the doctest of
    # combine_lfo checks the rule row by row)
    by = lf["by_source"]
    assert by["seed"]["n"] + by["simulated"]["n"] == lf["n_cells"]
    from iamg_forecast.evidence.io import seed_evidence

    items = seed_evidence()
    seed_cells = model.data(items, max(e.date for e in items))["ind_observed"].sum()
    assert by["seed"]["n"] == seed_cells

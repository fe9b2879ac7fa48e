"""The command line: help texts, exit codes, JSON output, reports from saved forecasts."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from iamg_forecast.cli import _mount_optional, app

_mount_optional()
runner = CliRunner()
COMMANDS = [["forecast"], ["report"], ["priors", "check"], ["priors", "elicit"], ["resolve"],
            ["score"], ["calibrate"], ["evidence", "add"], ["evidence", "list"],
            ["evidence", "retract"], ["evidence", "amend"], ["evidence", "history"],
            ["evidence", "import"], ["evidence", "export"], ["indicators"]]


@pytest.mark.parametrize("cmd", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_has_help_with_an_example(cmd):
    out = runner.invoke(app, [*cmd, "--help"])
    assert out.exit_code == 0 and "Example" in out.output


def test_bad_input_exits_2_with_one_line(tmp_path):
    out = runner.invoke(app, ["evidence", "add", "--indicator", "nope", "--date", "2026-01-02",
                              "--source", "x", "--reliability", "B2", "--db",
                              str(tmp_path / "e.sqlite")])
    assert out.exit_code == 2
    assert "unknown indicator" in out.output and "Traceback" not in out.output


def test_forecast_strict_json_save_and_report(tmp_path, monkeypatch):
    # tiny draws cannot pass the ESS gate: --strict must exit 3, and say why
    monkeypatch.setenv("IAMG_TUNE", "100")
    monkeypatch.setenv("IAMG_CHAINS", "2")
    db, fc_dir = tmp_path / "w.sqlite", tmp_path / "fc"
    out = runner.invoke(app, ["forecast", "--db", str(db), "--import-seed", "--draws", "50",
                              "--json", "--strict", "--save", str(fc_dir), "--record",
                              "--quiet"])
    assert out.exit_code == 3, out.output
    payload = json.loads(out.stdout[out.stdout.index("{"):out.stdout.rindex("}") + 1])
    assert payload["diagnostics"]["ok"] is False
    assert len(payload["outcomes"]) == 9
    # --strict withholds a failed forecast from the saved files and the ledger
    assert "not saved or recorded" in out.output
    assert not fc_dir.exists()
    from iamg_forecast.calibration.ledger import Ledger

    with Ledger.open(db) as ledger:
        assert ledger.history().empty
    # without --strict it is saved, and says what it is
    out = runner.invoke(app, ["forecast", "--db", str(db), "--draws", "50", "--save",
                              str(fc_dir), "--quiet"])
    assert out.exit_code == 0 and fc_dir.is_dir() and "WARNING" in out.output
    md = runner.invoke(app, ["report", str(fc_dir), "--format", "md"])
    assert md.exit_code == 0 and "NOT RELIABLE" in md.stdout
    js = runner.invoke(app, ["report", str(fc_dir), "--format", "json"])
    assert json.loads(js.stdout)["schema_version"] == 1
    html = tmp_path / "r.html"
    assert runner.invoke(app, ["report", str(fc_dir), "--out", str(html)]).exit_code == 0
    assert html.read_text().startswith("<!DOCTYPE html>")
    bad = runner.invoke(app, ["report", str(fc_dir), "--format", "pdf"])
    assert bad.exit_code == 2
    listing = runner.invoke(app, ["evidence", "list", "--db", str(db), "--json"])
    assert len(json.loads(listing.stdout)) == 17


def test_unreadable_paths_and_bad_sizes_exit_2_with_one_line(tmp_path):
    db = str(tmp_path / "w.sqlite")
    cases = {
        "a directory to import": (["evidence", "import", str(tmp_path), "--db", db],
                                  "directory"),
        "a report path that is a directory": (["forecast", "--db", db, "--out", str(tmp_path),
                                               "--quiet"], "is a directory"),
        "negative draws": (["forecast", "--db", db, "--draws", "-5", "--quiet"],
                           "draws must be a positive integer, got -5"),
        "negative seed": (["forecast", "--db", db, "--seed", "-1", "--quiet"],
                          "seed must be an integer from 0"),
    }
    for name, (args, message) in cases.items():
        out = runner.invoke(app, args)
        assert out.exit_code == 2, (name, out.output)
        assert message in out.output and "Traceback" not in out.output, (name, out.output)
    assert not list(tmp_path.glob("*.tmp"))


def test_reading_commands_never_create_a_store(tmp_path):
    missing = tmp_path / "typo.sqlite"
    for args in (["evidence", "list", "--db", str(missing)],
                 ["forecast", "--db", str(missing), "--quiet"]):
        out = runner.invoke(app, args)
        assert out.exit_code == 2 and "no evidence store" in out.output, out.output
    assert not missing.exists()


def test_add_errors_are_one_clean_line_each(tmp_path):
    out = runner.invoke(app, ["evidence", "add", "--indicator", "rial_sharp_depreciation",
                              "--date", "2026-01-02", "--source", "x", "--reliability", "Q9",
                              "--db", str(tmp_path / "e.sqlite")])
    assert out.exit_code == 2 and "reliability" in out.output and "Q9" in out.output
    assert "input_value" not in out.output and "pydantic" not in out.output, out.output


def test_priors_commands():
    out = runner.invoke(app, ["priors", "elicit", "0.02", "0.10"])
    assert out.exit_code == 0 and "dist: Normal" in out.output
    check = runner.invoke(app, ["priors", "check", "--draws", "300"])
    assert check.exit_code == 0 and "reference" in check.output


def test_resolve_and_score(tmp_path, monkeypatch):
    monkeypatch.setenv("IAMG_TUNE", "100")
    monkeypatch.setenv("IAMG_CHAINS", "2")
    db = str(tmp_path / "l.sqlite")
    rec = runner.invoke(app, ["forecast", "--db", db, "--import-seed", "--draws", "50",
                              "--record", "--quiet"])
    assert rec.exit_code == 0, rec.output
    out = runner.invoke(app, ["resolve", "sudani_return", "--happened", "--date", "2026-05-01",
                              "--source", "test", "--db", db])
    assert out.exit_code == 0
    bad = runner.invoke(app, ["resolve", "sudani_retrun", "--happened", "--date", "2026-05-01",
                              "--source", "test", "--db", db])
    assert bad.exit_code == 2 and "did you mean" in bad.output
    future = runner.invoke(app, ["resolve", "other_pm", "--not-happened", "--date", "2099-05-01",
                                 "--source", "test", "--db", db])
    assert future.exit_code == 2 and "after today" in future.output
    score = runner.invoke(app, ["score", "--db", db, "--json"])
    assert score.exit_code == 0
    rows = {r["outcome"]: r for r in json.loads(score.stdout)}
    # Recorded today, after the question settled: a hindcast, which scoring leaves out.
    assert all(r["n"] == 0 for r in rows.values())
    from iamg_forecast.calibration.ledger import Ledger

    with Ledger.open(db) as ledger:
        p = ledger.history().set_index("outcome")["p"]
        res = ledger.resolved(include_hindcasts=True).set_index("outcome")["y"]
        table = ledger.score(include_hindcasts=True).set_index("outcome")
    # Sudani returning settles his competitors: they did not happen.
    assert res.to_dict() == {"sudani_return": 1, "maliki_confirmed": 0, "other_pm": 0,
                             "deadlock_persists": 0}
    for outcome, y in res.items():
        assert table.loc[outcome, "n"] == 1
        assert table.loc[outcome, "n_unreliable"] == 1   # 50 draws fail the gates
        assert abs(table.loc[outcome, "brier"] - (p[outcome] - y) ** 2) < 1e-12


def test_priors_check_strict_exits_3_only_when_a_prior_is_flagged(tmp_path):
    """The bundled priors pass (exit 0 with --strict); a copy whose plausible range for
    maliki_confirmed excludes its prior probability (about 0.35) is flagged: exit 3 with
    --strict, exit 0 without, and the flag is printed either way."""
    import shutil

    from iamg_forecast.spec import default_priors_dir

    ok = runner.invoke(app, ["priors", "check", "--draws", "300", "--strict"])
    assert ok.exit_code == 0 and "FLAGGED" not in ok.output, ok.output
    priors = tmp_path / "priors"
    shutil.copytree(default_priors_dir(), priors)
    path = priors / "outcomes.yaml"
    text = path.read_text()
    assert text.count("plausible: [0.02, 0.8]") >= 1
    path.write_text(text.replace("plausible: [0.02, 0.8]", "plausible: [0.9, 0.99]", 1))
    for strict, code in ((["--strict"], 3), ([], 0)):
        out = runner.invoke(app, ["priors", "check", "--draws", "300", "--spec", str(priors),
                                  *strict])
        assert out.exit_code == code, out.output
        assert "FLAGGED (prior outside plausible range): maliki_confirmed" in out.output


def test_add_a_running_total_and_a_bad_period(tmp_path):
    db = str(tmp_path / "t.sqlite")
    base = ["evidence", "add", "--indicator", "iamg_attacks_count", "--source", "x",
            "--reliability", "B2", "--db", db]
    ok = runner.invoke(app, [*base, "--date", "2026-01-26", "--value", "23",
                             "--period-start", "2026-01-17", "--running-total"])
    assert ok.exit_code == 0, ok.output
    listing = json.loads(runner.invoke(app, ["evidence", "list", "--db", db, "--json"]).stdout)
    assert listing[0]["running_total"] is True and listing[0]["period_start"] == "2026-01-17"
    bad = runner.invoke(app, [*base, "--date", "2026-02-10", "--value", "5",
                              "--period-start", "2026-01-20"])
    assert bad.exit_code == 2 and "period_start" in bad.output and "2026-01-20" in bad.output
    assert "Traceback" not in bad.output, bad.output

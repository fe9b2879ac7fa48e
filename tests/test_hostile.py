"""Hostile and accidental input (issue 18): every reproducer of the issue, as a test.

Each case must end in one clean error (exit 2 on the command line) that quotes at most a short
prefix of the bad value, or in correct behaviour; nothing may hang, crash deep inside a
library, change a store on rejection, or be silently misread.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

import iamg_forecast as iaf
from iamg_forecast.calibration.ledger import Ledger
from iamg_forecast.cli import _mount_optional, app
from iamg_forecast.errors import (
    EvidenceError,
    FileRefusedError,
    ForecastError,
    LedgerError,
    SpecError,
)
from iamg_forecast.evidence import Evidence
from iamg_forecast.evidence.io import csv_escape, read_evidence_file, write_evidence_file
from iamg_forecast.files import read_bounded, write_atomic
from iamg_forecast.forecast import Forecast
from iamg_forecast.spec import _find_cycle, _topological, load_spec, parse_date

_mount_optional()
runner = CliRunner()
ROW = {"indicator": "rial_sharp_depreciation", "date": "2026-01-15", "value": 1,
       "source": "Bonbast", "reliability": "B2"}
HEADER = "indicator,date,value,source,reliability\n"


def cli(*args: str):
    out = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in out.output
    return out


def one_line_error(out, fragment: str) -> None:
    assert out.exit_code == 2, out.output
    assert fragment in out.output, out.output
    assert len(out.output) < 2000, out.output[:300]


def no_hang(fn, seconds: float = 60.0):
    """Run ``fn`` in a thread; fail (instead of hanging the suite) if it does not return."""
    box: dict[str, object] = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as err:  # noqa: BLE001 - handed back to the test
            box["error"] = err

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"{fn} did not return within {seconds} s"
    if "error" in box:
        raise box["error"]
    return box.get("value")


def copy_priors(tmp_path: Path) -> Path:
    d = tmp_path / "priors"
    d.mkdir()
    for f in Path(iaf.spec.default_priors_dir()).glob("*.yaml"):
        (d / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    return d


# ---- crashes and hangs ------------------------------------------------------------------------
def test_deeply_nested_yaml_is_refused(spec, tmp_path):
    deep = "evidence:\n- id: " + "[" * 5000 + "]" * 5000 + "\n"
    (tmp_path / "e.yaml").write_text(deep)
    with pytest.raises(EvidenceError, match="nest"):
        read_evidence_file(tmp_path / "e.yaml", spec)
    (tmp_path / "e.yaml").write_text("evidence:\n- id: " + "[" * 40 + "]" * 40 + "\n")
    with pytest.raises(EvidenceError, match="nested more than 32 levels"):
        read_evidence_file(tmp_path / "e.yaml", spec)
    priors = copy_priors(tmp_path)
    (priors / "deep.yaml").write_text("latents: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(SpecError, match="nest"):
        load_spec(priors)


def test_alias_bomb_in_an_id_is_refused_before_expansion(spec, tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    bomb = "\n".join(lines)
    (tmp_path / "e.yaml").write_text(
        bomb + "\nevidence:\n- {indicator: rial_sharp_depreciation, date: 2026-01-15, "
               "source: x, reliability: B2, id: *i}\n")
    with pytest.raises(EvidenceError, match="aliases and anchors"):
        no_hang(lambda: read_evidence_file(tmp_path / "e.yaml", spec))
    # priors may use aliases, but not ones that expand beyond the limit
    priors = copy_priors(tmp_path)
    (priors / "bomb.yaml").write_text(bomb + "\n")
    with pytest.raises(SpecError, match="expands to"):
        no_hang(lambda: load_spec(priors))


def test_csv_field_over_the_csv_limit_is_an_evidence_error(spec, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text(HEADER.strip() + ",note\n"
                    "rial_sharp_depreciation,2026-01-15,1,x,B2,\"" + "n" * 140_000 + "\"\n")
    with pytest.raises(EvidenceError) as err:
        read_evidence_file(path, spec)
    assert "line" in str(err.value) and len(str(err.value)) < 1000


def test_dev_zero_symlink_and_fifo_are_refused_without_reading(spec, tmp_path):
    for name in ("zero.csv", "zero.yaml"):
        (tmp_path / name).symlink_to("/dev/zero")
        with pytest.raises(EvidenceError, match="character device; expected a regular file"):
            no_hang(lambda n=name: read_evidence_file(tmp_path / n, spec))
    priors = copy_priors(tmp_path)
    (priors / "zero.yaml").symlink_to("/dev/zero")
    with pytest.raises(SpecError, match="character device"):
        no_hang(lambda: load_spec(priors))
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(EvidenceError, match="FIFO"):
        no_hang(lambda: read_evidence_file(fifo, spec))
    out = no_hang(lambda: cli("evidence", "import", fifo, "--db", tmp_path / "s.sqlite"))
    one_line_error(out, "FIFO")
    with pytest.raises(FileRefusedError, match="larger than the limit"):
        read_bounded(priors / "scenario.yaml", 10)


def test_long_mediator_chain_and_huge_scenarios_are_spec_errors(tmp_path):
    names = [f"m{i}" for i in range(5000)]
    edges = list(zip(names, names[1:], strict=False))
    assert _topological(names[::-1], edges) == names      # no RecursionError
    assert _find_cycle(names, edges + [(names[-1], names[0])])[0] == names[0]
    priors = copy_priors(tmp_path)
    text = (priors / "scenario.yaml").read_text()
    import yaml

    data = yaml.safe_load(text)
    key = "scenario" if "scenario" in data else None
    assert key
    data["scenario"]["end_month"] = "9999-12"
    (priors / "scenario.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match="at most 600 are supported"):
        load_spec(priors)
    out = cli("priors", "check", "--spec", priors)
    one_line_error(out, "end_month")
    chain = {"latents": [{"name": f"m{i}", "role": "mediator", "description": "x",
                          "initial": {"dist": "Normal", "mu": 0, "sigma": 1, "rationale": "r r"},
                          "innovation_sd": {"value": 0.1, "rationale": "r r"}}
                         for i in range(1500)]}
    (priors / "chain.yaml").write_text(yaml.safe_dump(chain))
    with pytest.raises(SpecError, match="entries; at most"):
        no_hang(lambda: load_spec(priors))


def test_huge_continuous_value_is_refused(tmp_path):
    out = cli("evidence", "add", "--indicator", "rial_monthly_change_pct", "--date",
              "2026-01-15", "--value", "1e308", "--source", "x", "--reliability", "B2",
              "--db", tmp_path / "s.sqlite")
    one_line_error(out, "continuous indicator: expected a value from")
    with pytest.raises(EvidenceError, match="count indicator"):
        with iaf.EvidenceLog.memory() as log:
            count = next(i.name for i in log.spec.indicators if i.kind == "count")
            log.add({**ROW, "indicator": count, "value": 1e12})


def test_mathtext_in_an_id_does_not_break_reports(seed_forecast, tmp_path):
    first = seed_forecast.items[0]
    odd = Evidence(**{**first.content(), "note": "$\\frac{$"}, id="$\\frac{$")
    fc = dataclasses.replace(seed_forecast, items=(odd,) + seed_forecast.items[1:])
    assert fc.report(tmp_path / "r.html").exists()
    assert "frac" in fc.to_markdown()
    assert "frac" in fc.to_json()


def test_api_arguments_are_checked_with_library_errors(seed_forecast, model, monkeypatch):
    with pytest.raises(ForecastError, match="Admiralty code"):
        seed_forecast.signposts(reliability="Z9")
    with pytest.raises(ForecastError, match="months must be an integer from 1"):
        seed_forecast.signposts(months=0)
    with pytest.raises(ForecastError, match="model must be a ScenarioModel"):
        iaf.forecast("model", [])
    with pytest.raises(ForecastError, match="Evidence items"):
        seed_forecast.surprise([{}])

    def no_fit(*args, **kwargs):
        raise AssertionError("sampled before checking the arguments")

    import sys

    monkeypatch.setattr(sys.modules["iamg_forecast.forecast"], "sample_posterior", no_fit)
    with pytest.raises(ForecastError, match="language must be one of"):
        iaf.forecast(model, [], language="klingon")


def test_priors_check_with_zero_draws_is_exit_2(model):
    one_line_error(cli("priors", "check", "--draws", "0"), "draws must be a positive integer")
    with pytest.raises(ForecastError, match="draws must be an integer from 1"):
        iaf.prior_check(model, draws=0)


# ---- silently wrong ---------------------------------------------------------------------------
def test_blank_value_cell_is_refused(spec, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text(HEADER + "rial_sharp_depreciation,2026-01-15,,x,B2\n")
    with pytest.raises(EvidenceError, match="line 2: value: blank cell"):
        read_evidence_file(path, spec)
    (tmp_path / "e.yaml").write_text("evidence:\n- {indicator: rial_sharp_depreciation, "
                                     "date: 2026-01-15, value: , source: x, reliability: B2}\n")
    with pytest.raises(EvidenceError, match="value"):
        read_evidence_file(tmp_path / "e.yaml", spec)


def test_duplicate_keys_and_columns_and_extra_cells_are_refused(spec, tmp_path):
    (tmp_path / "e.yaml").write_text(
        "evidence:\n- indicator: rial_sharp_depreciation\n  date: 2026-01-15\n  value: 1\n"
        "  value: 0\n  source: x\n  reliability: B2\n  reliability: F6\n")
    with pytest.raises(EvidenceError, match="duplicate key 'value'"):
        read_evidence_file(tmp_path / "e.yaml", spec)
    (tmp_path / "e.csv").write_text(HEADER + "rial_sharp_depreciation,2026-01-15,1,x,B2,extra\n")
    with pytest.raises(EvidenceError, match="more than the 5 columns"):
        read_evidence_file(tmp_path / "e.csv", spec)
    (tmp_path / "e.csv").write_text(HEADER.strip() + ",value\n"
                                    "rial_sharp_depreciation,2026-01-15,1,x,B2,0\n")
    with pytest.raises(EvidenceError, match=r"\['value'\] appear more than once"):
        read_evidence_file(tmp_path / "e.csv", spec)
    priors = copy_priors(tmp_path)
    text = (priors / "scenario.yaml").read_text()
    (priors / "scenario.yaml").write_text(text.replace("scenario:\n", "scenario:\n  name: a\n", 1))
    with pytest.raises(SpecError, match="duplicate key"):
        load_spec(priors)


@pytest.mark.parametrize("bad", [".nan", ".inf", "yes", "-.inf"])
def test_prior_numbers_must_be_finite_numbers(tmp_path, bad):
    priors = copy_priors(tmp_path)
    text = (priors / "indicators.yaml").read_text()
    assert "    sigma: 3.0\n" in text
    (priors / "indicators.yaml").write_text(text.replace("    sigma: 3.0\n",
                                                         f"    sigma: {bad}\n", 1))
    with pytest.raises(SpecError) as err:
        load_spec(priors)
    assert "sigma" in str(err.value)
    one_line_error(cli("priors", "check", "--spec", priors), "sigma")


def test_whitespace_rationale_is_refused(tmp_path):
    priors = copy_priors(tmp_path)
    text = (priors / "indicators.yaml").read_text()
    marker = "    rationale: 'Chronic inflation"
    assert marker in text
    start = text.index(marker)
    end = text.index("\n  loadings:", start)
    (priors / "indicators.yaml").write_text(text[:start] + "    rationale: '     '" + text[end:])
    with pytest.raises(SpecError, match="rationale must say why"):
        load_spec(priors)


@pytest.mark.parametrize("bad", ["2026-W03-1", "20260115", "2026-01-15T00:00", " 2026-1-5"])
def test_one_strict_date_parser_everywhere(bad, tmp_path, seed_forecast):
    with pytest.raises(ValueError, match="expected an ISO date"):
        parse_date(bad)
    with pytest.raises(EvidenceError, match="date"):
        with iaf.EvidenceLog.memory() as log:
            log.add({**ROW, "date": bad})
    with pytest.raises(LedgerError, match="ISO date"):
        with Ledger.memory() as ledger:
            ledger.resolve("other_pm", False, bad, "x")
    with pytest.raises(ForecastError, match="ISO date"):
        seed_forecast.outcome_draws(bad)


def test_cli_monitored_absent_with_value_1_is_refused(tmp_path):
    db = tmp_path / "s.sqlite"
    out = cli("evidence", "add", "--indicator", "rial_sharp_depreciation", "--date", "2026-01-15",
              "--source", "x", "--reliability", "B2", "--monitored-absent", "--value", "1",
              "--db", db)
    one_line_error(out, "monitored_absent items must have value 0")
    ok = cli("evidence", "add", "--indicator", "rial_sharp_depreciation", "--date", "2026-01-15",
             "--source", "x", "--reliability", "B2", "--monitored-absent", "--db", db)
    assert ok.exit_code == 0, ok.output


def test_resolution_before_the_scenario_is_refused(tmp_path):
    db = tmp_path / "s.sqlite"
    out = cli("resolve", "other_pm", "--not-happened", "--date", "2020-01-01", "--source", "x",
              "--db", db)
    one_line_error(out, "before the scenario starts")
    assert not db.exists()


def test_read_commands_never_create_or_adopt_a_store(tmp_path):
    missing = tmp_path / "missing.sqlite"
    one_line_error(cli("score", "--db", missing), "no such ledger")
    assert not missing.exists()
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    out = cli("evidence", "add", "--indicator", "rial_sharp_depreciation", "--date",
              "2026-01-15", "--source", "x", "--reliability", "B2", "--db", empty)
    one_line_error(out, "not a database")
    assert empty.read_bytes() == b""
    # a rejected resolution leaves an existing store exactly as it was
    store = tmp_path / "store.sqlite"
    with iaf.EvidenceLog.open(store) as log:
        log.add(ROW)
    before = store.read_bytes()
    with sqlite3.connect(store) as conn:
        tables = conn.execute("SELECT name FROM sqlite_master ORDER BY name").fetchall()
    one_line_error(cli("resolve", "no_such_outcome", "--happened", "--date", "2026-02-01",
                       "--source", "x", "--db", store), "unknown outcome")
    with sqlite3.connect(store) as conn:
        assert conn.execute("SELECT name FROM sqlite_master ORDER BY name").fetchall() == tables
    assert store.read_bytes() == before


def test_ids_and_texts_have_limits_and_errors_stay_short():
    with iaf.EvidenceLog.memory() as log:
        with pytest.raises(EvidenceError, match="at most 128 characters") as err:
            log.add({**ROW, "id": "x" * 1_000_000})
        assert len(str(err.value)) < 600
        with pytest.raises(EvidenceError) as err:
            log.add({**ROW, "note": "n" * 5_000_000})
        assert "at most 100000 characters" in str(err.value) and len(str(err.value)) < 600
        ids = log.add(ROW)
        log.retract(ids[0], reason="wrong")
        with pytest.raises(EvidenceError, match="names a retracted item"):
            log.add({**ROW, "date": "2026-01-16", "duplicate_of": ids[0]})
        with pytest.raises(EvidenceError, match="names a retracted item"):
            log.add({**ROW, "date": "2026-01-17", "corroborates": ids[0]})


ODD_TEXT = ["a\rb", "\r", "x\r\ny\rz\n", "=HYPERLINK(\"http://x\",\"y\")", "=cmd|' /C calc'!A0",
            "@SUM(1+1)", "+cmd", "-2+3", "'=already", "''", "'", "\tTAB", "\uff1dfull"]


def test_csv_round_trip_keeps_carriage_returns_and_defuses_formulas(spec, tmp_path):
    items = [Evidence(**{**ROW, "date": f"2026-01-{i + 1:02d}", "note": t,
                         "source": t if t.strip() else "src",
                         "quote": t}, id=f"r{i}") for i, t in enumerate(ODD_TEXT)]
    path = write_evidence_file(items, tmp_path / "e.csv")
    back = read_evidence_file(path, spec)
    assert [e.model_dump() for e in back] == [e.model_dump() for e in items]
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r", "\uff1d")
                and not _is_number(c)]
    assert csv_escape("=1") == "'=1"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_markdown_note_with_bare_cr_stays_in_its_cell(seed_forecast):
    first = seed_forecast.items[0]
    odd = Evidence(**{**first.content(), "note": "x\r# Injected\r- item"}, id=first.id)
    md = dataclasses.replace(seed_forecast, items=(odd,) + seed_forecast.items[1:]).to_markdown()
    lines = md.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    assert not [ln for ln in lines if ln.startswith("# Injected") or ln.startswith("- item")]


# ---- files and paths --------------------------------------------------------------------------
def test_writes_use_unique_temp_names_and_refuse_odd_targets(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    out = tmp_path / "r.md"
    (tmp_path / "r.md.tmp").symlink_to(victim)
    (tmp_path / "other.md.tmp").write_text("unrelated")
    write_atomic(out, "# report", suffixes=(".md",))
    assert victim.read_text() == "keep" and out.read_text() == "# report"
    assert (tmp_path / "r.md.tmp").is_symlink()
    assert (tmp_path / "other.md.tmp").read_text() == "unrelated"
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    with pytest.raises(FileRefusedError, match="FIFO"):
        write_atomic(fifo, "x", suffixes=(".md",))
    assert fifo.is_fifo()
    with pytest.raises(FileRefusedError, match="ending in .md"):
        write_atomic(tmp_path / "store.sqlite", "x", suffixes=(".md",))
    link = tmp_path / "link.md"
    link.symlink_to(victim)
    with pytest.raises(FileRefusedError, match="symbolic link"):
        write_atomic(link, "x", suffixes=(".md",))
    assert victim.read_text() == "keep"
    os.mkfifo(tmp_path / "p.csv")
    with pytest.raises(EvidenceError, match="FIFO"):
        write_evidence_file([], tmp_path / "p.csv")


def test_report_command_refuses_wrong_targets(seed_forecast, tmp_path, monkeypatch):
    saved = seed_forecast.save(tmp_path / "fc")
    store = tmp_path / "store.sqlite"
    with iaf.EvidenceLog.open(store) as log:
        log.add(ROW)
    before = store.read_bytes()
    one_line_error(cli("report", saved, "--format", "md", "--out", store), "ending in .md")
    assert store.read_bytes() == before
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    one_line_error(no_hang(lambda: cli("report", saved, "--format", "md", "--out", fifo)),
                   "FIFO")
    assert fifo.is_fifo()
    monkeypatch.chdir(tmp_path)
    Path("report.html").write_text("an earlier report")
    one_line_error(cli("report", saved), "report.html already exists")
    assert Path("report.html").read_text() == "an earlier report"
    one_line_error(cli("forecast", "--db", store, "--out", store, "--quiet"),
                   "a report is written to a file ending in")
    assert store.read_bytes() == before


def test_save_never_deletes_what_it_did_not_write(seed_forecast, tmp_path):
    lookalike = tmp_path / "notmine"
    lookalike.mkdir()
    (lookalike / "forecast.json").write_text("{}")
    (lookalike / "draws.nc").write_bytes(b"precious")
    with pytest.raises(ForecastError, match=r"holds other files \(draws.nc, forecast.json\)"):
        seed_forecast.save(lookalike)
    assert (lookalike / "draws.nc").read_bytes() == b"precious"
    target = tmp_path / "real"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(ForecastError, match="symbolic link"):
        seed_forecast.save(link)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".fc-")]


def test_save_cleans_up_after_a_killed_save(seed_forecast, tmp_path):
    import socket
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    stale = tmp_path / ".fc-killed"
    stale.mkdir()
    (stale / ".iamg-save").write_text(json.dumps({"written_by": "iamg_forecast", "pid": pid,
                                                  "host": socket.gethostname()}))
    (stale / "draws.nc").write_bytes(b"half")
    foreign = tmp_path / ".fc-someone-else"
    foreign.mkdir()
    (foreign / "data").write_text("not ours")
    seed_forecast.save(tmp_path / "fc")
    assert not stale.exists()
    assert (foreign / "data").read_text() == "not ours"


# ---- tampering --------------------------------------------------------------------------------
def reseal(path: Path) -> None:
    """Rewrite the manifest for the current files, as a forger would."""
    manifest = json.loads((path / "manifest.json").read_text())
    for name in manifest["files"]:
        data = (path / name).read_bytes()
        manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(),
                                   "bytes": len(data)}
    (path / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture()
def saved(seed_forecast, tmp_path):
    return seed_forecast.save(tmp_path / "fc")


def edit_meta(path: Path, fn) -> None:
    meta = json.loads((path / "forecast.json").read_text())
    fn(meta)
    (path / "forecast.json").write_text(json.dumps(meta))


def edit_draws(path: Path, fn) -> None:
    with xr.open_dataset(path / "draws.nc", engine="h5netcdf") as ds:
        ds = ds.load()
    ds = fn(ds)
    (path / "draws.nc").unlink()
    ds.to_netcdf(path / "draws.nc", engine="h5netcdf")


def test_round_trip_recomputes_the_same_verdict(seed_forecast, saved):
    back = Forecast.load(saved)
    assert back.diagnostics == seed_forecast.diagnostics
    assert back.ok == seed_forecast.ok
    assert np.allclose(back.table()["p"], seed_forecast.table()["p"], rtol=0, atol=0)


def passing(meta):
    meta["diagnostics"].update(r_hat=1.0, ess_bulk=5000.0, ess_tail=5000.0, divergences=0,
                               bfmi=1.0)


TAMPERING = {
    "diagnostics edited to pass": (lambda p: edit_meta(p, passing), "diagnostics"),
    "horizon edited": (lambda p: edit_meta(p, lambda m: m.update(horizon="2026-09-30")),
                       "horizon"),
    "hazard_logit + 2": (lambda p: edit_draws(p, lambda ds: ds.assign(
        hazard_logit=ds["hazard_logit"] + 2)), "hazard_logit does not follow"),
    "log_weights injected": (lambda p: edit_draws(p, lambda ds: ds.assign(
        log_weights=(("chain", "draw"), np.log(np.full(ds["hazard_logit"].shape[:2],
                                                        1.0 / np.prod(ds["hazard_logit"]
                                                                      .shape[:2])))))),
                             "unexpected: ['log_weights']"),
    "NaN draws": (lambda p: edit_draws(p, lambda ds: ds.assign(
        latent_state=ds["latent_state"].where(ds["latent_state"] > 1e9))), "non-finite"),
}


@pytest.mark.parametrize("name", list(TAMPERING))
def test_tampered_saves_do_not_load(saved, name):
    edit, fragment = TAMPERING[name]
    edit(saved)
    with pytest.raises(ForecastError, match="content hash"):
        Forecast.load(saved)          # caught by the manifest
    reseal(saved)
    with pytest.raises(ForecastError) as err:
        Forecast.load(saved)          # and by the checks behind it, when the manifest is forged
    assert fragment in str(err.value)


def test_swapped_forecast_json_does_not_load(seed_forecast, tmp_path):
    a = seed_forecast.save(tmp_path / "a")
    other = dataclasses.replace(seed_forecast, items=seed_forecast.items[1:])._with_provenance()
    b = other.save(tmp_path / "b")
    (a / "forecast.json").write_bytes((b / "forecast.json").read_bytes())
    with pytest.raises(ForecastError, match="forecast.json: does not match its content hash"):
        Forecast.load(a)


def test_ledger_with_dropped_triggers_fails_verify_and_is_not_scored(tmp_path):
    path = tmp_path / "l.sqlite"
    with Ledger.open(path) as ledger:
        ledger.resolve("other_pm", False, "2026-03-01", "x")
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER ledger_rows_no_update")
    conn.close()
    ledger = Ledger(sqlite3.connect(path), where=str(path))
    ledger._conn.execute("DROP TRIGGER IF EXISTS ledger_rows_no_update")
    result = ledger.verify()
    assert not result.ok and "trigger ledger_rows_no_update is missing" in result.problems[0]
    with pytest.raises(LedgerError, match="refusing to score"):
        ledger.score()
    ledger.close()


def test_what_if_save_load_recomputes_the_weights(seed_forecast, tmp_path):
    new = Evidence(indicator="iran_mass_unrest_reported", date="2026-02-10", value=1,
                   source="x", reliability="B2")
    wi = seed_forecast.what_if(new, refit="never")
    back = Forecast.load(wi.save(tmp_path / "wi"))
    assert back.path == "psis" and back.log_weights is not None
    assert np.allclose(back.log_weights, wi.log_weights)
    assert back.diagnostics.pareto_k == pytest.approx(wi.diagnostics.pareto_k)
    assert np.allclose(back.table()["p"], wi.table()["p"])


def test_rejected_input_never_creates_a_store(tmp_path):
    db = tmp_path / "new.sqlite"
    (tmp_path / "bad.csv").write_text(HEADER + "rial_sharp_depreciation,2026-01-15,,x,B2\n")
    one_line_error(cli("evidence", "import", tmp_path / "bad.csv", "--db", db), "blank cell")
    one_line_error(cli("evidence", "add", "--indicator", "nope", "--date", "2026-01-15",
                       "--source", "x", "--reliability", "B2", "--db", db), "unknown indicator")
    assert not db.exists() and not list(tmp_path.glob("new.sqlite*"))

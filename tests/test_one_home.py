"""Concepts with one home: one date parser, one climatology, one atomic-write helper.

Each test makes the places that share a concept disagree if one of them grows its own copy.
"""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

import iamg_forecast as iaf
from iamg_forecast.calibration import ledger as ledger_module
from iamg_forecast.calibration.ledger import ForecastEntry, Ledger
from iamg_forecast.errors import EvidenceError, ForecastError, LedgerError
from iamg_forecast.evidence import Evidence
from iamg_forecast.forecast_settings import forecast_dates
from iamg_forecast.model import ScenarioModel
from iamg_forecast.priorcheck import climatology
from iamg_forecast.spec import Spec, parse_date

ROOT = Path(iaf.__file__).resolve().parent
ITEM = {"indicator": "sistani_signals_opposition_to_maliki", "value": 1, "source": "x",
        "reliability": "B2"}


def entry(as_of: str) -> ForecastEntry:
    table = pd.DataFrame([{"outcome": "other_pm", "question": "?", "p": 0.3, "lo80": 0.2,
                           "hi80": 0.4, "lo95": 0.1, "hi95": 0.5, "term": "unlikely"}])
    prov = {"spec_hash": "s", "evidence_hash": "e", "as_of": as_of, "horizon": "2026-12-31",
            "seed": 1, "draws": 10, "chains": 2, "versions": {},
            "created": "2026-01-15T10:00:00+00:00"}
    return ForecastEntry(table, prov, ok=True)


# ---- one date parser ------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["20260131", " 2026-01-31", "2026-01-31 ", "2026-1-31",
                                  "2026-01-31T00:00", "2026-W05-6"])
def test_every_date_input_refuses_what_the_parser_refuses(text, spec, model, monkeypatch):
    monkeypatch.setattr(ledger_module, "_today", lambda: dt.date(2026, 12, 31))
    with pytest.raises(ValueError, match="expected an ISO date"):
        parse_date(text)
    with pytest.raises(ValueError, match="expected an ISO date"):
        spec.month_index(text)
    with pytest.raises(ValueError, match="date\n.*expected an ISO date"):
        Evidence(**ITEM, date=text)
    with iaf.EvidenceLog.memory() as log, pytest.raises(EvidenceError, match="date"):
        log.add({**ITEM, "date": text})
    with pytest.raises(ForecastError, match="as_of must be an ISO date"):
        iaf.forecast(model, [], as_of=text)   # refused before any sampling
    with pytest.raises(ForecastError, match="horizon must be an ISO date"):
        forecast_dates(spec, [], "2026-01-31", text)
    with Ledger.memory() as ledger:
        with pytest.raises(LedgerError, match="date must be an ISO date"):
            ledger.resolve("other_pm", False, text, "x", spec=spec)
        with pytest.raises(LedgerError, match="provenance.as_of must be an ISO date"):
            ledger.record(entry(text))
        assert len(ledger) == 0


def test_every_date_input_reads_an_iso_date_alike(spec, model, monkeypatch):
    monkeypatch.setattr(ledger_module, "_today", lambda: dt.date(2026, 12, 31))
    text, day = "2026-01-31", dt.date(2026, 1, 31)
    assert parse_date(text) == day
    assert spec.month_index(text) == spec.month_index(day)
    assert Evidence(**ITEM, date=text).date == day
    assert forecast_dates(spec, [], text, None)[0] == day
    with Ledger.memory() as ledger:
        assert ledger.resolve("other_pm", False, text, "x", spec=spec)[0]["date"] == text
        ledger.record(entry(text))
        assert ledger.history()["as_of"].tolist() == [text]


# ---- one climatology -------------------------------------------------------------------------
def test_prior_check_and_ledger_share_one_climatology(spec):
    """A none-outcome with a per-month rate: the survival of its group's event, (1 - r)^m."""
    assert ledger_module.climatology is climatology
    d = spec.to_dict()
    for o in d["outcomes"]:
        if o["name"] == "deadlock_persists":
            o["reference_class"].update(per="month", base_rate=0.05)
    monthly = Spec.from_mapping(d, where="<per-month none-outcome>")
    start, horizon = f"{monthly.scenario.start_month}-01", monthly.scenario.default_horizon
    months = (dt.date.fromisoformat(horizon) - dt.date.fromisoformat(start)).days / (365.25 / 12)
    expected = 0.95 ** months                      # no formation in any of the months
    assert climatology(monthly, "deadlock_persists", start, horizon) == pytest.approx(
        expected, rel=1e-12)
    table = iaf.prior_check(ScenarioModel(monthly), draws=50, seed=0).table
    reference = table.set_index("outcome")["reference"]
    assert reference["deadlock_persists"] == pytest.approx(expected, rel=1e-12)
    # the event outcomes' per-month rates follow the same function
    for name in ("uncoordinated_attack", "militia_fragmentation"):
        assert reference[name] == pytest.approx(climatology(monthly, name, start, horizon),
                                                rel=1e-12)


# ---- one atomic-write helper ----------------------------------------------------------------
WRITES = {"replace", "rename", "write_text", "write_bytes"}


def _writes(path: Path) -> list[str]:
    """Calls in ``path`` that write or move a file by hand: ``os.replace``, ``.rename()``,
    ``.write_text()``, ``.write_bytes()``, and ``open()`` in a writing mode.
    """
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr in WRITES:
            if f.attr == "replace" and not (isinstance(f.value, ast.Name) and f.value.id == "os"):
                continue   # str.replace, date.replace, dataclasses.replace
            out.append(f"{path.name}:{node.lineno} .{f.attr}()")
        if isinstance(f, ast.Name) and f.id == "open":
            modes = [a.value for a in node.args[1:2] + [k.value for k in node.keywords
                                                         if k.arg == "mode"]
                     if isinstance(a, ast.Constant)]
            if any(set(str(m)) & set("wax+") for m in modes):
                out.append(f"{path.name}:{node.lineno} open()")
    return out


def test_every_file_is_written_through_files_py():
    """Writes go through :func:`iamg_forecast.files.write_atomic` (or, for a folder,
    :func:`~iamg_forecast.files.save_folder`, whose writer fills a fresh temporary folder);
    only files.py moves or writes files itself."""
    found = {str(p.relative_to(ROOT)): _writes(p) for p in sorted(ROOT.rglob("*.py"))}
    assert found.pop("files.py")            # the helper itself
    # the one writer handed to save_folder: forecast.json, in the temporary folder
    assert [w.split()[1] for w in found.pop("saved_forecast.py")] == [".write_text()"]
    assert {k: v for k, v in found.items() if v} == {}


def test_the_writes_check_sees_each_kind_of_write(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import os\nos.replace(a, b)\np.rename(q)\np.write_text('x')\n"
                     "p.write_bytes(b'')\nopen(p, 'w')\nopen(p, mode='ab')\nopen(p)\n"
                     "'a'.replace('a', 'b')\nd.replace(day=1)\n")
    assert [w.split()[1] for w in _writes(probe)] == [
        ".replace()", ".rename()", ".write_text()", ".write_bytes()", "open()", "open()"]


def test_simulation_records_are_written_atomically(tmp_path, monkeypatch):
    from iamg_forecast.calibration import sim_store

    written = []
    real = sim_store.write_atomic
    monkeypatch.setattr(sim_store, "write_atomic",
                        lambda path, text, **kw: written.append(Path(path).name)
                        or real(path, text, **kw))
    st = sim_store.SimulationStore(tmp_path, {"seed": 0})
    st.save("full", 1, {"k": 1})
    assert written == ["config.json", "full_000001.json"]
    assert st.load("full", 1) == {"k": 1}


# ---- one topological order (graphlib) ---------------------------------------------------------
def test_latent_order_is_parents_first_then_file_order(spec):
    from iamg_forecast.spec import _find_cycle, _topological

    # the shipped scenario is written parents first: its order is the file order
    assert spec.latent_order == spec.latent_names
    # otherwise each latent waits for its parents and the rest keep their file order
    assert _topological(["c", "a", "b", "d"], [("b", "c"), ("d", "b")]) == ["a", "d", "b", "c"]
    # the same error on a cycle: a ValueError naming a latent on it
    with pytest.raises(ValueError) as err:
        _topological(["a", "b", "c"], [("a", "b"), ("b", "c"), ("c", "b")])
    assert str(err.value) in {"b", "c"}
    assert _find_cycle(["a", "b", "c"], [("a", "b"), ("b", "c"), ("c", "b")]) in (
        ["b", "c", "b"], ["c", "b", "c"])
    assert _find_cycle(["a", "b"], [("a", "b")]) is None

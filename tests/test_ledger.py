"""The forecast ledger: hash chain, tamper detection, resolution rules, scoring views."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import shutil
import sqlite3
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest
import yaml

from iamg_forecast.calibration import ledger as ledger_module
from iamg_forecast.calibration.ledger import (
    GENESIS,
    LEDGER_SCHEMA_VERSION,
    ForecastEntry,
    Ledger,
    canonical_json,
    climatology,
    row_hash,
)
from iamg_forecast.calibration.scores import ALL, corp
from iamg_forecast.diagnostics import Diagnostics
from iamg_forecast.errors import LedgerError
from iamg_forecast.spec import default_priors_dir

matplotlib.use("Agg")

#: The unpinned "today" of the ledger, saved before the autouse fixture replaces it.
REAL_TODAY = ledger_module._today
#: The "today" tests run on: after every resolution date the tests use.
TODAY = dt.date(2027, 1, 31)

EVENTS = ["uncoordinated_attack", "militia_fragmentation", "verifiable_disarmament_step",
          "us_aid_cut_or_sanctions", "illicit_revenue_shift"]
PM = ["maliki_confirmed", "sudani_return", "other_pm", "deadlock_persists"]


def fake(probs: dict[str, float] | None = None, day: int = 0, *, as_of: str | None = None,
         horizon: str = "2026-12-31", created: str | None = None,
         prior_p: dict[str, float] | None = None, reliable: bool | None = True
         ) -> ForecastEntry:
    """The entry of a forecast made ``day`` days after 2026-01-15 (its seed), with these
    probabilities. ``reliable=None``: an entry that says nothing about its diagnostics."""
    base = dt.date(2026, 1, 15) + dt.timedelta(days=day)
    probs = probs or {o: 0.1 + 0.1 * i for i, o in enumerate(EVENTS)}
    provenance = {
        "schema_version": 1, "spec_hash": "s" * 64, "evidence_hash": "e" * 64,
        "as_of": as_of or base.isoformat(), "horizon": horizon, "seed": day, "draws": 300,
        "chains": 2, "versions": {"pymc": "6.4"},
        "created": created or f"{base.isoformat()}T10:00:00+00:00",
    }
    table = pd.DataFrame([
        {"outcome": o, "question": f"Will {o} happen?", "p": p, "lo80": p / 2,
         "hi80": (1 + p) / 2, "lo95": p / 3, "hi95": (2 + p) / 3, "term": "unlikely"}
        for o, p in probs.items()])
    return ForecastEntry(table=table, provenance=provenance, prior_p=prior_p, ok=reliable)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """Record rows on 2026-01-10 unless a test moves the clock: before every test resolution,
    so that scoring tests are not hindcasts whatever today's date is. "Today" (the latest date
    a resolution may carry) is pinned to TODAY, after every test resolution."""
    now = {"t": dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC)}
    monkeypatch.setattr(ledger_module, "_utcnow", lambda: now["t"])
    monkeypatch.setattr(ledger_module, "_today", lambda: TODAY)
    return now


def n_rows(led: Ledger) -> int:
    """Rows in the ledger's table, counted by SQL (not through the class)."""
    return led._conn.execute("SELECT COUNT(*) FROM ledger_rows").fetchone()[0]


def with_diagnostics(fc: ForecastEntry, diag: Diagnostics) -> ForecastEntry:
    """``fc`` with the diagnostic gates of ``diag``, as ``ForecastEntry.of`` takes them."""
    return dataclasses.replace(fc, ok=diag.ok, problems=tuple(diag.problems))


GOOD = Diagnostics(r_hat=1.001, ess_bulk=900, ess_tail=800, divergences=0, bfmi=0.9)
BAD = Diagnostics(r_hat=1.08, ess_bulk=120, ess_tail=800, divergences=3, bfmi=0.9)


@pytest.fixture()
def ledger():
    with Ledger.memory() as led:
        yield led


# ---- schema and storage ----------------------------------------------------------------------
def test_open_creates_shared_schema_and_respects_other_components(tmp_path):
    path = tmp_path / "sub" / "iamg.sqlite"
    path.parent.mkdir()
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE schema_version (component TEXT PRIMARY KEY, version INTEGER)")
    raw.execute("INSERT INTO schema_version VALUES ('evidence', 3)")
    raw.commit()
    raw.close()
    with Ledger.open(path) as led:
        led.record(fake())
        assert led._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert led._conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    raw = sqlite3.connect(path)
    assert dict(raw.execute("SELECT component, version FROM schema_version")) == {
        "evidence": 3, "ledger": LEDGER_SCHEMA_VERSION}
    tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"ledger_rows", "ledger_anchors", "schema_version"} <= tables
    raw.close()
    with Ledger.open(path) as led:  # reopening keeps everything
        assert len(led) == 5 and led.verify().ok


def test_newer_schema_version_is_refused(tmp_path):
    path = tmp_path / "x.sqlite"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE schema_version (component TEXT PRIMARY KEY, version INTEGER)")
    raw.execute("INSERT INTO schema_version VALUES ('ledger', 99)")
    raw.commit()
    raw.close()
    with pytest.raises(LedgerError, match="schema version 99"):
        Ledger.open(path)


def test_rows_are_append_only(ledger):
    ledger.record(fake())
    for sql in ("UPDATE ledger_rows SET payload = '{}' WHERE seq = 1",
                "DELETE FROM ledger_rows WHERE seq = 1",
                "DELETE FROM ledger_anchors WHERE seq = 1"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            ledger._conn.execute(sql)
    assert ledger.verify().ok


def test_row_hash_and_payload_follow_the_documented_recipe(ledger):
    fc = fake(prior_p={"uncoordinated_attack": 0.05})
    fid = ledger.record(fc)
    prov_text = json.dumps(fc.provenance, sort_keys=True, separators=(",", ":"))
    assert fid == hashlib.sha256(prov_text.encode()).hexdigest()[:16]
    rows = ledger._conn.execute("SELECT seq, kind, payload, recorded_at, prev_hash, hash "
                                "FROM ledger_rows ORDER BY seq").fetchall()
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0][4] == GENESIS == "0" * 64
    prev = GENESIS
    for seq, kind, text, at, prev_hash, h in rows:
        payload = json.loads(text)
        assert text == json.dumps(payload, sort_keys=True, separators=(",", ":"))
        body = json.dumps([seq, kind, payload, at], sort_keys=True, separators=(",", ":"))
        assert prev_hash == prev
        assert h == hashlib.sha256((prev_hash + body).encode()).hexdigest()
        prev = h
    first = json.loads(rows[0][2])
    assert first["forecast_id"] == fid and first["outcome"] == "uncoordinated_attack"
    assert first["prior_p"] == 0.05 and json.loads(rows[1][2])["prior_p"] is None
    assert first["intervals"] == {"lo80": 0.05, "hi80": 0.55, "lo95": 0.1 / 3,
                                  "hi95": 2.1 / 3}
    assert first["as_of"] == "2026-01-15" and first["horizon"] == "2026-12-31"
    assert first["provenance"] == fc.provenance
    assert ledger.head() == (5, rows[-1][5])


def test_record_is_idempotent_and_validates(ledger):
    fc = fake()
    assert ledger.record(fc) == ledger.record(fc)
    assert len(ledger) == 5
    bad = fake({"uncoordinated_attack": 1.5}, day=1)
    with pytest.raises(LedgerError, match=r"p must be in \[0, 1\]"):
        ledger.record(bad)
    nan = fake({"uncoordinated_attack": float("nan")}, day=2)
    with pytest.raises(LedgerError, match=r"p must be in \[0, 1\]"):
        ledger.record(nan)
    short = fake(day=3)
    del short.provenance["evidence_hash"]
    with pytest.raises(LedgerError, match="evidence_hash"):
        ledger.record(short)
    assert len(ledger) == 5  # failed records write nothing


# ---- tamper detection: 100 rows x (alter, delete, swap) ------------------------------------
@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    path = tmp_path_factory.mktemp("ledger") / "pristine.sqlite"
    with Ledger.open(path) as led:
        for day in range(19):  # 19 forecasts x 5 outcomes = 95 rows
            led.record(fake(day=day))
        for i, o in enumerate(EVENTS):  # + 5 resolutions = 100 rows
            led.resolve(o, happened=bool(i % 2), date=f"2026-0{i + 2}-10", source="test")
        assert len(led) == 100 and led.verify().ok
        head = led.head()
    return path, head


def tamper(src, sql: list[tuple[str, tuple]]) -> sqlite3.Connection:
    """An in-memory copy of ``src`` edited by raw SQL (triggers dropped first, as an attacker
    would); the Ledger wrapping it recreates the triggers, so only the chain can tell."""
    disk = sqlite3.connect(src)
    mem = sqlite3.connect(":memory:", isolation_level=None)
    disk.backup(mem)
    disk.close()
    mem.execute("DROP TRIGGER ledger_rows_no_update")
    mem.execute("DROP TRIGGER ledger_rows_no_delete")
    for stmt, args in sql:
        mem.execute(stmt, args)
    return mem


def row(path, seq):
    raw = sqlite3.connect(path)
    got = raw.execute("SELECT kind, payload, recorded_at, prev_hash, hash FROM ledger_rows "
                      "WHERE seq = ?", (seq,)).fetchone()
    raw.close()
    return got


def alter(src, seq):
    _, text, *_ = row(src, seq)
    payload = json.loads(text)
    key = "p" if "p" in payload else "date"
    payload[key] = 0.123456 if key == "p" else "2026-12-01"
    return tamper(src, [("UPDATE ledger_rows SET payload = ? WHERE seq = ?",
                         (canonical_json(payload), seq))])


def delete(src, seq):
    return tamper(src, [("DELETE FROM ledger_rows WHERE seq = ?", (seq,))])


def swap(src, seq):
    other = seq + 1 if seq < 100 else seq - 1
    a, b = row(src, seq), row(src, other)
    set_all = ("UPDATE ledger_rows SET kind = ?, payload = ?, recorded_at = ?, prev_hash = ?, "
               "hash = ? WHERE seq = ?")
    return tamper(src, [(set_all, (*b, seq)), (set_all, (*a, other))])


@pytest.mark.parametrize("how", [alter, delete, swap], ids=["alter", "delete", "swap"])
def test_every_single_row_tampering_is_detected(pristine, how):
    src, _ = pristine
    missed = []
    for seq in range(1, 101):
        with Ledger(how(src, seq)) as led:
            res = led.verify()
        if res.ok or not any(p.startswith(f"seq {seq}:") for p in res.problems):
            missed.append((seq, res.problems))
    assert not missed, missed[:3]


def test_inserted_rows_are_detected(pristine):
    src, _ = pristine
    kind, text, at, _, h = row(src, 100)
    # a forged row at the end with a correct chain hash but no anchor
    fh = row_hash(h, 101, "resolution", {"outcome": "x"}, at)
    insert = "INSERT INTO ledger_rows VALUES (?, ?, ?, ?, ?, ?)"
    with Ledger(tamper(src, [(insert, (101, "resolution", '{"outcome":"x"}', at, h, fh))])
                ) as led:
        res = led.verify()
    assert not res.ok and any(p.startswith("seq 101:") for p in res.problems)
    # a row squeezed in before the first one
    with Ledger(tamper(src, [(insert, (0, kind, text, at, GENESIS, h))])) as led:
        res = led.verify()
    assert not res.ok and any(p.startswith("seq 0:") for p in res.problems)


def test_self_consistent_rewrite_is_caught_by_a_published_head(pristine, tmp_path):
    src, head = pristine
    dst = tmp_path / "rewrite.sqlite"
    shutil.copy(src, dst)
    raw = sqlite3.connect(dst)
    for t in ("ledger_rows", "ledger_anchors"):
        for op in ("update", "delete"):
            raw.execute(f"DROP TRIGGER {t}_no_{op}")
    raw.execute("DELETE FROM ledger_rows WHERE seq = 100")
    raw.execute("DELETE FROM ledger_anchors WHERE seq = 100")
    raw.commit()
    raw.close()
    with Ledger.open(dst) as led:
        assert led.verify().ok  # nothing inside the file can tell
        res = led.verify(head=head)
        assert not res.ok and res.problems[0].startswith("seq 100:")
        assert not led.verify(head=head[1]).ok
        assert led.verify(head=led.head()).ok


def test_two_connections_see_each_others_rows(tmp_path):
    path = tmp_path / "shared.sqlite"
    with Ledger.open(path) as a, Ledger.open(path) as b:
        for day in range(4):
            (a if day % 2 else b).record(fake(day=day))
        a.resolve("other_pm", False, "2026-03-01", "x")
        assert len(a) == len(b) == 21
        assert a.verify().ok and b.verify().ok


@pytest.mark.slow
def test_two_processes_writing_at_once_keep_one_chain(tmp_path):
    """Two processes record forecasts into one ledger at the same time (released together
    after both opened it): no write is lost or refused, their rows interleave, and the hash
    chain verifies."""
    import subprocess
    import sys
    from pathlib import Path

    worker = Path(__file__).resolve().parent / "helpers" / "ledger_worker.py"
    path = tmp_path / "shared.sqlite"
    n = 150
    with Ledger.open(path):
        pass
    procs = [subprocess.Popen([sys.executable, str(worker), str(path), str(tag), str(n)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for tag in (0, 1)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    with Ledger.open(path) as led:
        assert len(led) == 2 * n * 2
        assert led.verify().ok
        seeds = [json.loads(r)["provenance"]["seed"] for (r,) in led._conn.execute(
            "SELECT payload FROM ledger_rows ORDER BY seq")]
    writer = [s // n for s in seeds]
    # the writers really overlapped: rows of each come both before and after the other's
    # (measured: the writer changed 87 and 130 times along the chain in two runs)
    switches = sum(a != b for a, b in zip(writer, writer[1:], strict=False))
    assert switches >= 2, switches


# ---- resolutions -----------------------------------------------------------------------------
def test_choice_happening_resolves_its_competitors(ledger, spec):
    rows = ledger.resolve("sudani_return", happened=True, date="2026-05-01", source="Reuters",
                          spec=spec)
    got = {r["outcome"]: (r["happened"], r["implied_by"], r["final"]) for r in rows}
    assert got == {"sudani_return": (True, None, False),
                   "maliki_confirmed": (False, "sudani_return", True),
                   "other_pm": (False, "sudani_return", True),
                   "deadlock_persists": (False, "sudani_return", False)}
    assert {r["date"] for r in rows} == {"2026-05-01"} and {r["source"] for r in rows} == {
        "Reuters"}
    # repeating is harmless; contradicting is refused and writes nothing
    assert ledger.resolve("sudani_return", True, "2026-05-01", "AP", spec=spec) == []
    n = len(ledger)
    with pytest.raises(LedgerError, match=r"cannot record maliki_confirmed happened on "
                       r"2026-06-01: it contradicts .* seq 2: maliki_confirmed not happened "
                       r"for good on 2026-05-01 \(implied by sudani_return\) \(source: Reuters"):
        ledger.resolve("maliki_confirmed", True, "2026-06-01", "x", spec=spec)
    with pytest.raises(LedgerError, match="contradicts .* seq 1: sudani_return happened"):
        ledger.resolve("sudani_return", False, "2026-06-01", "x", spec=spec)
    with pytest.raises(LedgerError, match="contradicts .* seq 1: sudani_return happened"):
        ledger.resolve("sudani_return", True, "2026-05-02", "x", spec=spec)
    with pytest.raises(LedgerError, match="deadlock_persists happened on 2026-06-01.* seq 4"):
        ledger.resolve("deadlock_persists", True, "2026-06-01", "x", spec=spec)
    assert len(ledger) == n


def test_none_outcome_happening_resolves_choices_as_not_happened(ledger, spec):
    rows = ledger.resolve("deadlock_persists", True, dt.date(2026, 6, 30), "parliament",
                          spec=spec)
    assert [(r["outcome"], r["happened"], r["implied_by"]) for r in rows] == [
        ("deadlock_persists", True, None), ("maliki_confirmed", False, "deadlock_persists"),
        ("sudani_return", False, "deadlock_persists"),
        ("other_pm", False, "deadlock_persists")]
    # a PM confirmed before that date contradicts it; after it is fine
    with pytest.raises(LedgerError, match="contradicts .* seq 4: other_pm not happened on "
                                          "2026-06-30 \\(implied by deadlock_persists"):
        ledger.resolve("other_pm", True, "2026-06-01", "x", spec=spec)
    ledger.resolve("other_pm", True, "2026-08-01", "x", spec=spec)
    assert ledger.verify().ok


def test_not_a_database_is_a_ledger_error(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("this is not SQLite, " * 100)
    with pytest.raises(LedgerError, match="cannot open the ledger"):
        Ledger.open(path)


def test_unknown_outcome_suggests_a_name(ledger, spec):
    with pytest.raises(LedgerError, match="did you mean 'sudani_return'"):
        ledger.resolve("sudani_retrun", True, "2026-05-01", "x", spec=spec)
    with pytest.raises(LedgerError, match="ISO date"):
        ledger.resolve("other_pm", True, "May 2026", "x", spec=spec)
    with pytest.raises(LedgerError, match="True or False"):
        ledger.resolve("other_pm", "yes", "2026-05-01", "x", spec=spec)
    with pytest.raises(LedgerError, match="source"):
        ledger.resolve("other_pm", True, "2026-05-01", " ", spec=spec)
    assert len(ledger) == 0


def test_event_resolution_rule_by_horizon(ledger, spec):
    h_early, h_late = "2026-03-31", "2026-12-31"
    for horizon in (h_early, h_late):
        ledger.record(fake(horizon=horizon))
    ledger.resolve("uncoordinated_attack", True, "2026-06-10", "AP", spec=spec)
    ledger.resolve("militia_fragmentation", False, "2026-06-30", "monitor", spec=spec)
    ledger.resolve("verifiable_disarmament_step", False, "2026-12-31", "monitor", spec=spec)
    got = ledger.resolved().set_index(["outcome", "horizon"])["y"].to_dict()
    assert got == {
        ("uncoordinated_attack", h_early): 0,  # first happened after H
        ("uncoordinated_attack", h_late): 1,  # happened on or before H
        ("militia_fragmentation", h_early): 0,  # not by 06-30 >= H
        # ("militia_fragmentation", h_late): not by 06-30 < H -> unresolved
        ("verifiable_disarmament_step", h_early): 0,
        ("verifiable_disarmament_step", h_late): 0,
    }


def test_pm_resolution_rule_and_forecasts_made_after_the_fact(ledger, spec):
    probs = {"maliki_confirmed": 0.4, "sudani_return": 0.2, "other_pm": 0.25,
             "deadlock_persists": 0.15}
    ledger.record(fake(probs, horizon="2026-03-31"))
    ledger.record(fake(probs, day=1, horizon="2026-12-31"))
    late = fake(probs, day=200, horizon="2026-12-31")  # as_of 2026-08-03, after the event
    ledger.record(late)
    ledger.resolve("maliki_confirmed", True, "2026-05-01", "parliament", spec=spec)
    df = ledger.resolved()
    got = df.set_index(["outcome", "horizon"])["y"].to_dict()
    assert got == {
        ("maliki_confirmed", "2026-03-31"): 0, ("sudani_return", "2026-03-31"): 0,
        ("other_pm", "2026-03-31"): 0, ("deadlock_persists", "2026-03-31"): 1,
        ("maliki_confirmed", "2026-12-31"): 1, ("sudani_return", "2026-12-31"): 0,
        ("other_pm", "2026-12-31"): 0, ("deadlock_persists", "2026-12-31"): 0,
    }
    # made after the outcome was known: not scored
    assert late.provenance["as_of"] not in set(df["as_of"])
    assert set(df["settled_on"]) == {"2026-03-31", "2026-05-01"}
    assert not df["hindcast"].any()
    every = ledger.resolved(include_hindcasts=True)
    assert len(every) == 12 and every["hindcast"].sum() == 4
    assert set(every.loc[every["hindcast"], "as_of"]) == {late.provenance["as_of"]}


def test_forecasts_recorded_after_settlement_are_hindcasts(ledger, spec, clock):
    ledger.record(fake({"other_pm": 0.3}, horizon="2026-12-31"))  # recorded 2026-01-10
    clock["t"] = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    # evidence cut in January, but written into the ledger in June, after the event
    ledger.record(fake({"other_pm": 0.9}, day=1, horizon="2026-12-31"))
    ledger.resolve("other_pm", True, "2026-05-01", "parliament", spec=spec)
    df = ledger.resolved()
    assert df["p"].tolist() == [0.3] and df["recorded_at"].iloc[0].startswith("2026-01-10")
    assert ledger.resolved(include_hindcasts=True)["hindcast"].tolist() == [False, True]
    assert ledger.score(spec)["n"].tolist() == [1, 1]
    assert ledger.score(spec, include_hindcasts=True)["n"].tolist() == [2, 2]


def test_score_and_reliability_diagram(ledger, spec):
    from matplotlib.figure import Figure

    rng = np.random.default_rng(0)
    for day in range(30):
        ledger.record(fake({o: float(rng.uniform(0.05, 0.6)) for o in EVENTS}, day=day,
                           prior_p={o: 0.2 for o in EVENTS}))
    for i, o in enumerate(EVENTS):
        ledger.resolve(o, happened=i < 2, date="2026-11-30" if i < 2 else "2026-12-31",
                       source="test", spec=spec)
    t = ledger.score(spec, n_boot=200)
    assert t["outcome"].tolist() == EVENTS + [ALL]
    assert t["n"].tolist() == [30] * 5 + [150]
    assert t["n_events"].tolist() == [30, 30, 0, 0, 0, 60]
    assert (t["climatology"] == "reference class").all()
    assert t["calibrated_claim"].iloc[0] == "insufficient (n=30, need ≥ 100)"
    # The pooled claim is the MCB bootstrap test of CORP on the 150 resolved forecasts (same
    # seed and resamples), at the 5% level. Two outcomes always happen and three never do,
    # whatever their forecasts of 0.05-0.6: no resample under calibration has an MCB as large,
    # so p is at its floor 1 / (1 + 200) and calibration is rejected.
    df = ledger.resolved()
    res = corp(df["p"].to_numpy(float), df["y"].to_numpy(float), n_boot=200, seed=0)
    row = t.iloc[-1]
    assert row["mcb_pvalue"] == res.mcb_pvalue == 1 / 201
    assert row["mcb"] == pytest.approx(res.mcb)
    assert row["calibrated_claim"] == "calibration rejected (MCB bootstrap p=0.00498 < 0.05, n=150)"
    assert (t["n_prior"] == t["n"]).all()
    assert row["brier"] == pytest.approx(row["mcb"] - row["dsc"] + row["unc"], abs=1e-9)
    fig = ledger.reliability_diagram(n_boot=50)
    assert isinstance(fig, Figure)
    # The PAV curve has one point per distinct forecast value, at the recalibrated probability.
    diagram = corp(df["p"].to_numpy(float), df["y"].to_numpy(float), n_boot=50, seed=0)
    curve = [ln for ln in fig.axes[0].lines if ln.get_label() == "PAV-recalibrated (CORP)"]
    assert len(curve) == 1 and len(curve[0].get_xdata()) == diagram.x.size == len(set(df["p"]))
    np.testing.assert_array_equal(curve[0].get_xdata(), diagram.x)
    np.testing.assert_array_equal(curve[0].get_ydata(), diagram.cep)
    # the histogram inset counts every resolved forecast
    assert sum(b.get_height() for b in fig.axes[0].child_axes[0].patches) == len(df) == 150


def test_empty_ledger_views(ledger):
    assert ledger.resolved().empty and ledger.history().empty and ledger.score().empty
    ledger.record(fake())  # recorded but unresolved: still nothing to score
    assert ledger.resolved().empty and ledger.score().empty
    fig = ledger.reliability_diagram()
    assert fig.axes[0].texts[0].get_text() == "no resolved forecasts yet"


def test_history_and_previous(ledger):
    ledger.record(fake({"other_pm": 0.2}, day=0))
    ledger.record(fake({"other_pm": 0.3}, day=10))
    ledger.record(fake({"other_pm": 0.5}, day=20, horizon="2026-06-30"))
    h = ledger.history("other_pm")
    assert h["p"].tolist() == [0.2, 0.3, 0.5] and h["seq"].tolist() == [1, 2, 3]
    assert ledger.history("maliki_confirmed").empty
    last = h["created"].iloc[-1]
    assert ledger.previous("other_pm", last) == 0.3
    assert ledger.previous("other_pm", last, horizon="2026-06-30") is None
    assert ledger.previous("other_pm", "2030-01-01T00:00:00+00:00") == 0.5
    assert ledger.previous("other_pm", h["created"].iloc[0]) is None
    assert ledger.previous("other_pm", dt.datetime(2026, 1, 30, tzinfo=dt.UTC)) == 0.3


def test_climatology_conversions(spec):
    # A per-month rate is a constant monthly hazard: simulate 12 monthly Bernoulli trials at the
    # rate written in priors/outcomes.yaml and count the years with an event. 200,000 years
    # give a standard error of 0.0011; the tolerance is 4 of them.
    raw = yaml.safe_load((default_priors_dir() / "outcomes.yaml").read_text())
    rate = {o["name"]: o["reference_class"]["base_rate"] for o in raw["outcomes"]
            if o.get("reference_class")}
    rng = np.random.default_rng(0)
    for o in ("uncoordinated_attack", "us_aid_cut_or_sanctions"):
        freq = (rng.random((200_000, 12)) < rate[o]).any(axis=1).mean()
        assert abs(climatology(spec, o, "2026-01-01", "2027-01-01") - freq) < 4 * 0.0011, o
    # Constant hazards: the chance of no event over a window is the product over its parts,
    # for per-month and per-horizon rates (and the none-outcome is itself that survival).
    a, b, c = "2026-01-01", "2026-05-01", "2027-01-01"
    for o in ("uncoordinated_attack", "sudani_return", "other_pm"):
        whole = 1 - climatology(spec, o, a, c)
        parts = (1 - climatology(spec, o, a, b)) * (1 - climatology(spec, o, b, c))
        assert whole == pytest.approx(parts, rel=1e-12), o
    none = [climatology(spec, "deadlock_persists", x, y) for x, y in ((a, c), (a, b), (b, c))]
    assert none[0] == pytest.approx(none[1] * none[2], rel=1e-12)
    # per-horizon rates hold over the scenario start -> default horizon window
    for o in PM:
        rc = spec.outcome(o).reference_class.base_rate
        assert climatology(spec, o, "2025-11-01", spec.scenario.default_horizon) == \
            pytest.approx(rc, abs=1e-12)
    assert climatology(spec, "deadlock_persists", "2026-06-01", "2026-06-01") == 1.0
    assert np.isnan(climatology(spec, "not_an_outcome", "2026-01-01", "2026-02-01"))


def test_verify_result_html(ledger):
    assert "intact" in ledger.verify()._repr_html_()


# ---- strict dates ----------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["2026-05-01garbage", "2026-05-01T00:00", "2026-5-1",
                                 "2026-02-30", " 2026-05-01", "20260501", "01/05/2026",
                                 20260501, None])
def test_resolution_dates_are_parsed_strictly(ledger, spec, bad):
    ledger.resolve("other_pm", False, "2026-03-01", "x", spec=spec)
    n = n_rows(ledger)
    with pytest.raises(LedgerError) as err:
        ledger.resolve("other_pm", True, bad, "x", spec=spec)
    msg = str(err.value)
    assert msg.startswith("date must be an ISO date YYYY-MM-DD") and repr(bad) in msg
    assert n_rows(ledger) == n
    assert ledger.resolve("other_pm", True, dt.date(2026, 5, 1), "x", spec=spec)


def test_resolution_dates_after_today_are_refused_and_write_nothing(ledger, spec):
    ledger.record(fake({"other_pm": 0.3}))
    n = n_rows(ledger)
    for happened, date in ((False, "2099-05-01"), (True, "2099-05-01"),
                           (False, TODAY + dt.timedelta(days=1))):
        with pytest.raises(LedgerError) as err:
            ledger.resolve("other_pm", happened, date, "x", spec=spec)
        shown = date if isinstance(date, str) else date.isoformat()
        assert str(err.value).startswith(f"date must not be after today ({TODAY}), got "
                                         f"'{shown}'")
        assert n_rows(ledger) == n
    # the refused future date does not block the true resolution; today itself is fine
    assert ledger.resolve("other_pm", True, "2026-05-01", "parliament", spec=spec)
    assert ledger.resolve("militia_fragmentation", False, TODAY, "x", spec=spec)
    assert ledger.verify().ok


def test_today_is_the_local_date(ledger, spec, monkeypatch):
    monkeypatch.setattr(ledger_module, "_today", REAL_TODAY)
    today = dt.date.today()
    assert REAL_TODAY() == today
    with pytest.raises(LedgerError, match=f"after today \\({today}\\)"):
        ledger.resolve("other_pm", False, today + dt.timedelta(days=1), "x", spec=spec)
    assert n_rows(ledger) == 0
    assert ledger.resolve("other_pm", False, today, "x", spec=spec)


def test_provenance_dates_are_parsed_strictly(ledger):
    with pytest.raises(LedgerError, match=r"provenance\.as_of must be an ISO date YYYY-MM-DD, "
                                          r"got '2026-01-15garbage'"):
        ledger.record(fake(as_of="2026-01-15garbage"))
    with pytest.raises(LedgerError, match=r"provenance\.horizon .* got '2026-12'"):
        ledger.record(fake(horizon="2026-12"))
    assert n_rows(ledger) == 0


# ---- reliability -----------------------------------------------------------------------------
def payloads(led: Ledger) -> list[dict[str, Any]]:
    return [json.loads(t) for (t,) in led._conn.execute(
        "SELECT payload FROM ledger_rows WHERE kind = 'forecast' ORDER BY seq")]


def test_record_stores_whether_the_forecast_passed_its_diagnostics(ledger):
    ledger.record(with_diagnostics(fake({"other_pm": 0.3}, day=0), GOOD))
    ledger.record(with_diagnostics(fake({"other_pm": 0.4}, day=1), BAD))
    ledger.record(fake({"other_pm": 0.5}, day=2, reliable=False))  # failed, no problems named
    ledger.record(fake({"other_pm": 0.6}, day=3, reliable=None))  # says nothing
    got = [pl.get("diagnostics") for pl in payloads(ledger)]
    assert got == [{"ok": True, "problems": []},
                   {"ok": False, "problems": ["max R-hat 1.080 > 1.01",
                                              "min bulk ESS 120 < 400",
                                              "3 divergent transitions after warm-up"]},
                   {"ok": False, "problems": []},
                   None]
    assert "diagnostics" not in payloads(ledger)[3]  # the same payload as older rows
    h = ledger.history("other_pm")
    assert h["reliable"].tolist() == [True, False, False, None]
    assert h["problems"].tolist() == [[], BAD.problems, [], None]
    assert ledger.verify().ok


def test_rows_without_diagnostics_still_verify_and_count_as_unknown(ledger, spec):
    """A row in the format written before diagnostics were stored, appended by hand."""
    old = {"forecast_id": "0" * 16, "outcome": "other_pm", "question": "?", "p": 0.3,
           "intervals": {"lo80": 0.2, "hi80": 0.4, "lo95": 0.1, "hi95": 0.5},
           "term": "unlikely", "as_of": "2026-01-15", "horizon": "2026-12-31",
           "prior_p": None, "provenance": fake().provenance}
    with ledger._tx() as c:
        ledger._append(c, "forecast", [old])
    ledger.record(with_diagnostics(fake({"other_pm": 0.4}, day=1), GOOD))
    ledger.resolve("other_pm", True, "2026-05-01", "parliament", spec=spec)
    assert ledger.verify().ok
    assert ledger.resolved()["reliable"].tolist() == [None, True]
    t = ledger.score(spec, n_boot=10)
    assert t["n_unknown_reliability"].tolist() == [1, 1]
    assert t["n_unreliable"].tolist() == [0, 0]
    only = ledger.score(spec, n_boot=10, reliable_only=True)
    assert only["n"].tolist() == [1, 1]
    assert only.attrs == {"excluded_unreliable": 0, "excluded_unknown_reliability": 1}


def test_score_counts_unreliable_forecasts_and_can_leave_them_out(ledger, spec):
    from matplotlib.figure import Figure

    ledger.record(with_diagnostics(fake(day=0), GOOD))
    ledger.record(with_diagnostics(fake(day=1), BAD))
    ledger.record(with_diagnostics(fake(day=2), BAD))
    ledger.record(fake(day=3, reliable=None))
    for i, o in enumerate(EVENTS):
        ledger.resolve(o, happened=i < 2, date="2026-11-30" if i < 2 else "2026-12-31",
                       source="test", spec=spec)
    df = ledger.resolved()
    assert df.loc[df["outcome"] == EVENTS[0], "reliable"].tolist() == [True, False, False,
                                                                         None]
    t = ledger.score(spec, n_boot=10)  # default: everything recorded is scored
    assert t["outcome"].tolist() == EVENTS + [ALL]
    assert t["n"].tolist() == [4] * 5 + [20]
    assert t["n_unreliable"].tolist() == [2] * 5 + [10]
    assert t["n_unknown_reliability"].tolist() == [1] * 5 + [5]
    assert list(t.columns[1:4]) == ["n", "n_unreliable", "n_unknown_reliability"]
    assert t.attrs == {"excluded_unreliable": 0, "excluded_unknown_reliability": 0}
    only = ledger.score(spec, n_boot=10, reliable_only=True)
    assert only["n"].tolist() == [1] * 5 + [5]
    assert only["n_unreliable"].tolist() == only["n_unknown_reliability"].tolist() == [0] * 6
    assert only.attrs == {"excluded_unreliable": 10, "excluded_unknown_reliability": 5}
    kept = ledger.resolved(reliable_only=True)
    assert len(kept) == 5 and kept["reliable"].tolist() == [True] * 5
    assert isinstance(ledger.reliability_diagram(n_boot=10, reliable_only=True), Figure)


def test_empty_score_has_the_reliability_columns(ledger):
    t = ledger.score()
    assert t.empty and {"n_unreliable", "n_unknown_reliability"} <= set(t.columns)
    assert "reliable" in ledger.resolved().columns


def test_malformed_diagnostics_are_refused(ledger):
    odd = dataclasses.replace(fake(day=2), ok="yes")
    with pytest.raises(LedgerError, match="ok must be True or False, got 'yes'"):
        ledger.record(odd)
    text = dataclasses.replace(fake(day=3), ok=False, problems="3 divergent transitions")
    with pytest.raises(LedgerError, match="problems must be a list of strings"):
        ledger.record(text)
    assert n_rows(ledger) == 0


# ---- wrong arguments -------------------------------------------------------------------------
def test_record_of_something_else_is_a_type_error(ledger):
    from types import SimpleNamespace

    entry = fake()
    cases = [
        (object(), "record expects a Forecast or a ForecastEntry, got object"),
        ("forecast.json", "record expects a Forecast or a ForecastEntry, got str"),
        # an object with the attributes of an entry is not one: no duck typing
        (SimpleNamespace(**vars(entry)), "record expects a Forecast or a ForecastEntry, got "
                                         "SimpleNamespace"),
        (dataclasses.replace(entry, table=[1, 2]),
         "entry.table must be a pandas DataFrame, got list"),
        (dataclasses.replace(entry, provenance=["as_of"]),
         "entry.provenance must be a mapping, got list"),
        (dataclasses.replace(entry, prior_p=[0.1]), "entry.prior_p must be a mapping .* got list"),
    ]
    for fc, message in cases:
        with pytest.raises(TypeError, match=message):
            ledger.record(fc)
    assert n_rows(ledger) == 0


def test_open_a_directory_is_a_ledger_error(tmp_path):
    with pytest.raises(LedgerError, match=f"{tmp_path}: cannot open the ledger: it is a "
                                          f"directory; expected a SQLite file") as err:
        Ledger.open(tmp_path)
    assert err.value.__cause__ is None and err.value.__context__ is None
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(LedgerError, match="cannot open the ledger") as err:
        Ledger.open(blocker / "iamg.sqlite")
    assert err.value.__suppress_context__


def test_not_sqlite_names_what_was_expected(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("this is not SQLite, " * 100)
    with pytest.raises(LedgerError, match="expected a SQLite database file") as err:
        Ledger.open(path)
    assert not isinstance(err.value, sqlite3.Error) and err.value.__suppress_context__

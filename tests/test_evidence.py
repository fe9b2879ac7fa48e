"""Evidence log: validation, append-only store, history, files, crash safety, concurrency."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import iamg_forecast as iaf
from iamg_forecast.errors import EvidenceError
from iamg_forecast.evidence import Evidence, EvidenceLog, read_evidence_file

WORKER = Path(__file__).resolve().parent / "helpers" / "import_worker.py"
GOOD = dict(indicator="rial_sharp_depreciation", date="2026-01-15", value=1, source="x",
            reliability="B2")


@pytest.fixture()
def log(spec):
    with EvidenceLog.memory(spec) as lg:
        lg.import_file(iaf.seed_evidence_path())
        yield lg


def test_content_hash_id_makes_reentry_one_item(log):
    before = (log.rows(), log.digest())
    log.add(Evidence(**GOOD))
    after_one = (log.rows(), log.digest())
    log.add(Evidence(**GOOD))
    assert log.rows() == after_one[0] == before[0] + 1 and log.digest() == after_one[1]


def test_reentering_items_leaves_model_data_unchanged(log):
    base = log.model_data(dt.date(2026, 1, 31))
    log.import_file(iaf.seed_evidence_path())
    again = log.model_data(dt.date(2026, 1, 31))
    assert all(np.array_equal(base[k], again[k]) for k in base)


def test_retract_amend_history_as_known_on(log):
    rows0 = log.rows()
    item = "seed-rial-fall"
    log.retract(item, reason="figure in doubt")
    assert item not in {e.id for e in log.current()}
    with pytest.raises(EvidenceError, match="already retracted"):
        log.retract(item, reason="again")
    new = log.amend("seed-fighters-to-iran", note="updated count", reliability="B2")
    assert new.id == "seed-fighters-to-iran" and new.note == "updated count"
    hist = log.history("seed-fighters-to-iran")
    assert list(hist["action"]) == ["add", "amend"]
    assert log.rows() == rows0 + 2  # nothing deleted or overwritten
    assert log.as_known_on(dt.date(2000, 1, 1)) == []
    past = log.as_known_on(dt.datetime.fromisoformat(hist["recorded_at"][0]))
    assert {e.id for e in past} >= {"seed-rial-fall"}
    with pytest.raises(EvidenceError, match="did you mean 'seed-rial-fall'"):
        log.retract("seed-rial-fal", reason="typo")


def test_file_round_trip_yaml_csv_verbatim(log, tmp_path, spec):
    odd = Evidence(indicator="iran_mass_unrest_reported", date="2026-01-10", value=1,
                   source='Ünïcødé "quotes", commas; <script>alert(1)</script>',
                   reliability="C3", note="line1\nline2\t" + "x" * 10_000,
                   quote="« il a dit » ‘quote’ — dash", url="https://example.org/a?b=1&c=2")
    log.add(odd)
    for suffix in (".yaml", ".csv"):
        out = log.export(tmp_path / f"e{suffix}")
        again = read_evidence_file(out, spec)
        assert [(e.id, e.content()) for e in again] == [(e.id, e.content())
                                                        for e in log.current()]
    back = {e.id: e for e in read_evidence_file(tmp_path / "e.csv", spec)}[odd.id]
    assert back.source == odd.source and back.note == odd.note and back.quote == odd.quote


def test_import_is_all_or_nothing_with_every_bad_row(spec, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("indicator,date,value,source,reliability\n"
                    "rial_sharp_depreciation,2026-01-15,1,x,B2\n"
                    "rial_sharp_depreciation,2026-13-01,1,x,B2\n"
                    "nope,2026-01-15,1,x,B2\n"
                    "iamg_attacks_count,2026-01-15,2.5,x,Z9\n")
    with EvidenceLog.memory(spec) as lg:
        with pytest.raises(EvidenceError) as info:
            lg.import_file(path)
        assert lg.rows() == 0
    text = str(info.value)
    for fragment in ("line 3: date", "line 4: indicator", "line 5: reliability"):
        assert fragment in text, text


# ---- property tests: >= 1,000 generated invalid items and files -------------------------------
BAD_FIELDS = st.sampled_from(["indicator", "date", "value", "source", "reliability", "url",
                              "monitored_absent"])
BAD_VALUES = {
    "indicator": st.text(min_size=1, max_size=20).filter(
        lambda s: s not in iaf.load_spec().indicator_names + iaf.load_spec().outcome_names),
    "date": st.one_of(st.text(max_size=12), st.dates(min_value=dt.date(1900, 1, 1),
                                                     max_value=dt.date(2025, 10, 31)),
                      st.dates(min_value=dt.date.today() + dt.timedelta(days=1))),
    "value": st.one_of(st.floats(min_value=2, max_value=1e9), st.just(float("nan")),
                       st.just(float("inf")), st.just(-1.0), st.just(0.5)),
    "source": st.text(alphabet=" \t\n", max_size=5),
    "reliability": st.text(max_size=4).filter(
        lambda s: not (len(s.strip()) == 2 and s.strip()[0].upper() in "ABCDEF"
                       and s.strip()[1] in "123456")),
    "url": st.text(min_size=1, max_size=30).filter(
        lambda s: not s.startswith(("http://", "https://"))),
    "monitored_absent": st.just(True),  # with value 1: inconsistent
}


@st.composite
def invalid_item(draw):
    field = draw(BAD_FIELDS)
    return field, {**GOOD, field: draw(BAD_VALUES[field])}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with EvidenceLog.open(tmp_path_factory.mktemp("prop") / "p.sqlite") as lg:
        lg.import_file(iaf.seed_evidence_path())
        yield lg


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invalid_item())
def test_invalid_items_rejected_naming_the_field(store, case):
    field, row = case
    before = (store.rows(), store.digest())
    with pytest.raises((ValidationError, EvidenceError)) as info:
        store.add(Evidence(**row))
    assert field in str(info.value) or (field == "monitored_absent" and "monitored_absent"
                                        in str(info.value))
    assert (store.rows(), store.digest()) == before


@settings(max_examples=450, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(invalid_item(), st.integers(min_value=0, max_value=5), st.sampled_from([".csv", ".yaml"]))
def test_invalid_files_import_nothing(store, tmp_path, case, position, suffix):
    import csv
    import io

    import yaml

    field, row = case
    rows = [{**GOOD, "source": f"ok-{k}"} for k in range(5)]
    rows.insert(position, row)
    path = tmp_path / f"f{suffix}"
    if suffix == ".yaml":
        path.write_text(yaml.safe_dump({"evidence": [{k: (str(v) if isinstance(v, dt.date)
                                                          else v) for k, v in r.items()}
                                                     for r in rows]}))
    else:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(GOOD) + ["url", "monitored_absent"])
        w.writeheader()
        for r in rows:
            w.writerow(r)
        path.write_text(buf.getvalue())
    before = (store.rows(), store.digest())
    with pytest.raises(EvidenceError) as info:
        store.import_file(path)
    assert field in str(info.value) or "monitored_absent" in str(info.value) or \
        field == "value" and "value" in str(info.value)
    assert (store.rows(), store.digest()) == before


# ---- crash and concurrency ---------------------------------------------------------------------
def big_file(tmp_path: Path, n: int = 5000) -> Path:
    lines = ["indicator,date,value,source,reliability"]
    lines += [f"rial_sharp_depreciation,2026-01-15,1,crash-{k},B2" for k in range(n)]
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow
def test_sigkill_during_import_leaves_all_or_nothing(tmp_path):
    path = big_file(tmp_path)
    rng = np.random.default_rng(20)
    # measure one undisturbed import to spread kill times across it
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(WORKER), "import", str(tmp_path / "probe.sqlite"),
                    str(path)], check=True, capture_output=True)
    duration = time.perf_counter() - t0
    outcomes = []
    for k in range(20):
        db = tmp_path / f"crash{k}.sqlite"
        proc = subprocess.Popen([sys.executable, str(WORKER), "import", str(db), str(path)],
                                stdout=subprocess.PIPE)
        time.sleep(float(rng.uniform(0.2, 1.1)) * duration)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
        with EvidenceLog.open(db) as lg:
            n = lg.rows()
        assert n in (0, 5000), n
        outcomes.append(n)
    assert len(outcomes) == 20


@pytest.mark.slow
def test_two_processes_append_concurrently(tmp_path):
    db = tmp_path / "c.sqlite"
    with EvidenceLog.open(db):
        pass
    procs = [subprocess.Popen([sys.executable, str(WORKER), "append", str(db), tag, "1000"],
                              stderr=subprocess.PIPE, text=True) for tag in ("a", "b")]
    errs = [p.communicate()[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errs
    assert not any("locked" in e for e in errs)
    with EvidenceLog.open(db) as lg:
        assert len(lg) == 2000

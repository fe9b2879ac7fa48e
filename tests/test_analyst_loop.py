"""The analyst's weekly loop through the command line, end to end, entering everything once.

Import the seed evidence, forecast and record; add two items and a resolution; forecast again;
score with hindcasts. The second report shows each change with its causes, the resolved outcome
at 0 or 1 and the history chart, and no fact was entered or counted twice.
"""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

import iamg_forecast as iaf
from iamg_forecast.cli import _mount_optional, app

_mount_optional()


def cli(*args: str, code: int = 0) -> str:
    res = CliRunner().invoke(app, list(args))
    assert res.exit_code == code, res.output[-3000:]
    return res.output


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    for name, value in (("IAMG_DRAWS", "150"), ("IAMG_TUNE", "150"), ("IAMG_CHAINS", "2")):
        mp.setenv(name, value)
    ws = tmp_path_factory.mktemp("loop")
    db = str(ws / "iamg.sqlite")
    out: dict = {"ws": ws, "db": db}
    out["first"] = cli("forecast", "--db", db, "--import-seed", "--as-of", "2026-02-28",
                       "--save", str(ws / "fc1"), "--quiet", "--stale-after", "20")
    cli("evidence", "add", "--db", db, "--indicator", "sistani_signals_opposition_to_maliki",
        "--date", "2026-03-06", "--value", "1", "--source", "Reuters $AP$",
        "--reliability", "B2", "--note", "Friday sermon <b>")
    cli("evidence", "add", "--db", db, "--indicator", "iamg_attacks_count", "--date",
        "2026-03-12", "--value", "4", "--source", "ACLED", "--reliability", "B2")
    out["resolve"] = cli("resolve", "maliki_confirmed", "--happened", "--date", "2026-03-20",
                         "--source", "Parliament vote", "--db", db)
    # entered again, the same way and as evidence: nothing new, nothing counted twice
    out["again"] = cli("resolve", "maliki_confirmed", "--happened", "--date", "2026-03-20",
                       "--source", "Parliament vote", "--db", db)
    out["second"] = cli("forecast", "--db", db, "--as-of", "2026-03-31", "--save",
                        str(ws / "fc2"), "--out", str(ws / "r2.html"), "--quiet")
    out["md"] = cli("report", str(ws / "fc2"), "--format", "md", "--db", db)
    out["json"] = json.loads(cli("report", str(ws / "fc2"), "--format", "json", "--db", db))
    out["html"] = (ws / "r2.html").read_text()
    out["score_plain"] = CliRunner().invoke(app, ["score", "--db", db])
    out["score"] = cli("score", "--db", db, "--include-hindcasts", "--json")
    yield out
    mp.undo()


def test_forecasts_are_recorded_by_default(session):
    with iaf.Ledger.open(session["db"]) as ledger:
        assert ledger.history()["forecast_id"].nunique() == 2
        assert ledger.verify().ok


def test_the_resolution_reaches_the_forecast_once(session):
    assert "logged as an outcome item" in session["resolve"]
    assert "already recorded, nothing added" in session["again"]
    with iaf.EvidenceLog.open(session["db"]) as log:
        logged = [e for e in log.current() if e.indicator == "maliki_confirmed"]
    with iaf.Ledger.open(session["db"]) as ledger:
        res = ledger.resolutions()
    assert len(logged) == 1                             # one outcome item
    assert (res["outcome"] == "maliki_confirmed").sum() == 1   # one ledger statement
    fc = iaf.Forecast.load(session["ws"] / "fc2")
    assert fc["maliki_confirmed"].p == pytest.approx(1.0, abs=1e-9)
    assert fc["sudani_return"].p == 0.0 and fc["deadlock_persists"].p == 0.0  # exactly


def test_second_report_shows_changes_with_their_causes(session):
    js = session["json"]
    prev = js["changes"]["previous"]
    assert prev is not None and prev["as_of"] == "2026-02-28"
    new = {it["indicator"] for it in js["changes"]["items"]}
    assert new == {"sistani_signals_opposition_to_maliki", "iamg_attacks_count",
                   "maliki_confirmed"}
    rows = {r["outcome"]: r for r in js["headline"]}
    assert rows["maliki_confirmed"]["p"] == pytest.approx(1.0, abs=1e-9)
    assert rows["other_pm"]["p"] == 0.0
    assert rows["maliki_confirmed"]["change"] > 0.3     # it was far from certain before
    assert rows["maliki_confirmed"]["resolved"] == "happened"
    by = {o["outcome"]: o for o in js["changes"]["outcomes"]}
    assert by["maliki_confirmed"]["resolved_by"]
    # an event outcome's change names at least one of the new items as a cause
    causes = [c["indicator"] for o in js["changes"]["outcomes"] for c in o["causes"]]
    assert {"sistani_signals_opposition_to_maliki", "iamg_attacks_count"} & set(causes)
    md, html = session["md"], session["html"]
    for text in (md, html):
        assert "Compared with the forecast of 2026-02-28" in text
        assert "resolved: happened" in text and "pp" in text
    assert 'id="history"' in html and "Small multiples" in html   # the history chart
    assert "<polyline" in html                                    # the sparklines
    # analyst text stays text: no tag in the HTML, no markup in the Markdown
    assert "Friday sermon &lt;b&gt;" in html and "<b>" not in md


def test_score_explains_hindcasts_and_scores_them_on_request(session):
    plain = session["score_plain"]
    assert plain.exit_code == 0
    assert re.search(r"all of them hindcasts.*--include-hindcasts", plain.output, re.S)
    rows = json.loads(session["score"])
    assert {r["outcome"] for r in rows} >= {"maliki_confirmed", "sudani_return"}


def test_knowledge_date_and_staleness_are_stated(session):
    first, second = session["first"], session["second"]
    assert "Knowledge date 2026-02-28; newest evidence 2026-01-31" in first
    # the seed evidence ends on 2026-01-31: 28 days before the knowledge date, over 20
    assert re.search(r"WARNING: STALE: the newest evidence \(2026-01-31\) is 28 days older "
                     r"than the knowledge date", first)
    assert "Knowledge date 2026-03-31" in second and "STALE" not in second

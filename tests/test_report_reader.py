"""What a reader gets: readable charts, stated knowledge dates and staleness, tables people read,
plain-text Markdown, one place for resolutions, and the small CLI courtesies."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import iamg_forecast as iaf
from iamg_forecast.calibration.resolutions import sync_resolutions
from iamg_forecast.cli import _mount_optional, app
from iamg_forecast.errors import LedgerError
from iamg_forecast.evidence import Evidence
from iamg_forecast.report import build_context
from iamg_forecast.report.charts import (
    attribution_figure,
    curve_figure,
    latent_figure,
    overlapping_labels,
)

_mount_optional()


# ---- charts ------------------------------------------------------------------------------
def test_no_two_axis_labels_overlap_in_any_report_chart(seed_forecast):
    fc = seed_forecast
    ledger = iaf.Ledger.memory()
    ledger.record(dataclasses.replace(fc, provenance={**fc.provenance,
                                                      "created": "2026-01-01T00:00:00+00:00"}))
    ledger.record(fc)
    ledger.resolve("other_pm", False, "2026-02-01", "monitoring")
    figures = {"latents": latent_figure(fc), "curve": curve_figure(fc.outcome_curve()),
               "attribution": attribution_figure(fc.attribution(refit=False, form="long"),
                                                 fc.usable),
               "history": ledger.plot_history(horizon=fc.horizon)}
    for name, fig in figures.items():
        assert overlapping_labels(fig) == [], name
    # the check has teeth: month labels at every month of a narrow axis collide
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 1))
    ax = fig.subplots()
    ax.set_xticks(range(26), [f"2026-{m:02d}" for m in range(1, 27)])
    assert overlapping_labels(fig)


def test_chart_labels_are_in_the_analysts_terms(seed_forecast):
    fig = latent_figure(seed_forecast)
    labels = {ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()}
    assert labels == {"state relative to usual"}
    ticks = [t.get_text() for t in fig.axes[-1].get_xticklabels() if t.get_text()]
    assert ticks and all(re.fullmatch(r"[A-Z][a-z]{2}( \d{4})?", t) for t in ticks), ticks


def test_analyst_text_in_charts_is_never_mathtext(seed_forecast):
    """An item id with dollar signs would be parsed as TeX math (or fail) if not plain."""
    item = Evidence(id="cost $5$ and $\\frac{a}{b}$", indicator="rial_sharp_depreciation",
                    date="2026-01-20", value=1, source="x", reliability="B2")
    att = pd.DataFrame([{"item": item.id, "indicator": "$x^2$", "outcome": "other_pm",
                         "shift": 0.1}])
    fig = attribution_figure(att, [item])
    labels = [t for t in fig.axes[0].get_yticklabels() if t.get_text()]
    assert labels and all(not t.get_parse_math() and not t.get_usetex() for t in labels)
    assert overlapping_labels(fig) == []   # drawing it works


# ---- knowledge date and staleness ------------------------------------------------------
def test_knowledge_date_rule_and_staleness(seed_forecast):
    fc = seed_forecast   # as_of defaulted to the newest seed item (2026-01-31)
    k = fc.knowledge(max_age_days=10_000)
    assert k.as_of_rule == "the newest evidence" and not k.stale and k.warning is None
    assert "set to the newest evidence" in k.statement
    made = dt.date.fromisoformat(fc.provenance["created"][:10])
    k = fc.knowledge(max_age_days=30)
    assert k.reference == made and k.gap_days == (made - dt.date(2026, 1, 31)).days
    assert k.stale and f"{k.gap_days} days" in k.warning
    # every indicator without a report in the last 30 days is named
    assert set(k.unmonitored) == set(fc.spec.indicator_names)
    given = dataclasses.replace(fc, as_of_rule="given")
    k = given.knowledge(max_age_days=45)
    assert k.reference == fc.as_of and k.gap_days == 0 and not k.stale


def test_staleness_reaches_report_and_cli_json(seed_forecast):
    ctx = build_context(seed_forecast, stale_after_days=30, charts=False)
    assert ctx.knowledge["stale"] and ctx.bottom_line[1 - ctx.reliable].startswith(
        "The evidence is stale")
    md = seed_forecast.to_markdown(stale_after_days=30)
    assert "STALE" in md and "Knowledge date 2026-01-31" in md
    fresh = build_context(seed_forecast, stale_after_days=100_000, charts=False)
    assert fresh.knowledge["warning"] is None


# ---- tables people read ----------------------------------------------------------------
def test_attribution_is_wide_sorted_with_ids_and_notes(seed_forecast):
    wide = seed_forecast.attribution(refit=False)
    assert list(wide["item"]) == sorted(wide["item"], key=lambda i: -abs(
        wide.set_index("item").loc[i, "largest_shift"]))
    assert {"item", "note", "source", "largest_for", *seed_forecast.spec.outcome_names} <= \
        set(wide.columns)
    assert len(wide) == len(seed_forecast.usable)
    long = seed_forecast.attribution(refit=False, form="long")
    assert len(long) == len(wide) * len(seed_forecast.spec.outcome_names)
    one = long[long["item"] == wide["item"].iloc[0]].set_index("outcome")["shift"]
    assert wide.iloc[0][list(one.index)].astype(float).to_numpy() == pytest.approx(one.values)
    with pytest.raises(ValueError, match="form"):
        seed_forecast.attribution(refit=False, form="tall")


def test_signposts_are_wide_and_ranked(seed_forecast):
    wide = seed_forecast.signposts()
    assert wide["expected_abs_shift"].is_monotonic_decreasing
    assert "description" in wide and wide["description"].str.len().min() > 5
    assert len(wide) == wide["indicator"].nunique()
    assert f"{seed_forecast.spec.outcome_names[0]} if reported" in wide


def test_saved_forecast_restores_idata(seed_forecast, tmp_path):
    back = iaf.Forecast.load(seed_forecast.save(tmp_path / "fc"))
    post = back.idata["posterior"]
    assert set(post.data_vars) == {"latent_state", "indicator_eta", "hazard_logit"}
    np.testing.assert_array_equal(post["latent_state"].values,
                                  seed_forecast.draws["latent_state"])
    assert back.as_of_rule == seed_forecast.as_of_rule
    import arviz as az

    assert len(az.summary(back.idata, var_names=["hazard_logit"])) > 0


# ---- Markdown readable as text -----------------------------------------------------------
def test_markdown_reads_as_plain_text(seed_forecast):
    md = seed_forecast.to_markdown()
    assert "\\(" not in md and "\\_" not in md     # no escapes where none are needed
    assert "sudani_return" in md and "1.004662" not in md
    assert re.search(r"\| [+−±]\d+\.\d pp \|", md) or "—" in md
    from iamg_forecast.report.render import md_escape

    assert md_escape("[x](javascript:alert(1))") == "\\[x\\]\\(javascript:alert(1))"
    assert md_escape("# heading\nnext") == "\\# heading next"


def test_diagnostics_and_provenance_are_tables_of_rounded_values(seed_forecast):
    ctx = build_context(seed_forecast, charts=False)
    values = [d["value"] for d in ctx.diagnostics_table]
    assert all(len(v.split(".")[-1]) <= 4 for v in values if re.fullmatch(r"[\d,.]+", v))
    fields = {p["field"] for p in ctx.provenance_table}
    assert any(f.startswith("versions: ") for f in fields)
    assert not any("{" in p["value"] for p in ctx.provenance_table)


def test_surprising_items_only_when_surprising(seed_forecast):
    ctx = build_context(seed_forecast, charts=False)
    flagged = [s for s in ctx.surprises if s["flag"]]
    md = seed_forecast.to_markdown()
    section = md[md.index("## Surprising items"):md.index("## Underlying drivers")]
    if flagged:
        assert all(s["item"] in section for s in flagged)
    else:
        assert "None: every item is within what the model expected" in section
    unflagged = [s["item"] for s in ctx.surprises if not s["flag"]]
    assert not any(f"| {i} |" in section for i in unflagged)


# ---- one place for what happened ----------------------------------------------------------
def test_sync_both_ways_and_never_twice():
    log, ledger = iaf.EvidenceLog.memory(), iaf.Ledger.memory()
    ledger.resolve("sudani_return", True, "2026-02-10", "Reuters")
    log.add(Evidence(indicator="uncoordinated_attack", date="2026-02-12", value=1,
                     source="AFP", reliability="A2"))
    res = sync_resolutions(log, ledger)
    assert {e.indicator for e in log.current()} == {"sudani_return", "uncoordinated_attack"}
    assert [r["outcome"] for r in res.resolutions_added] == ["uncoordinated_attack"]
    n_log, n_ledger = len(log), len(ledger)
    assert not sync_resolutions(log, ledger)
    assert (len(log), len(ledger)) == (n_log, n_ledger)
    # the model reads the outcome once however often it is logged
    model = iaf.load_model()
    d = model.data(log.current(), dt.date(2026, 3, 31))
    assert int((d["group_month"] >= 0).sum()) == 1


def test_sync_refuses_a_contradiction():
    log, ledger = iaf.EvidenceLog.memory(), iaf.Ledger.memory()
    ledger.resolve("sudani_return", True, "2026-02-10", "Reuters")
    log.add(Evidence(indicator="maliki_confirmed", date="2026-02-11", value=1, source="AFP",
                     reliability="A2"))
    with pytest.raises(LedgerError, match="contradicts"):
        sync_resolutions(log, ledger)


# ---- CLI courtesies -------------------------------------------------------------------------
def test_indicators_lists_indicators_and_outcomes():
    table = iaf.indicators()
    assert set(table["type"]) == {"indicator", "outcome"}
    assert len(table) == len(iaf.load_spec().indicator_names) + len(iaf.load_spec().outcomes)
    out = CliRunner().invoke(app, ["indicators", "--json"])
    assert out.exit_code == 0
    rows = json.loads(out.output)
    assert {"rial_sharp_depreciation", "sudani_return"} <= {r["name"] for r in rows}


def test_unknown_names_get_suggestions(tmp_path):
    db = str(tmp_path / "x.sqlite")
    out = CliRunner().invoke(app, ["resolve", "sudani_retrun", "--happened", "--date",
                                   "2026-02-01", "--source", "x", "--db", db])
    assert out.exit_code == 2 and "did you mean 'sudani_return'" in out.output
    with iaf.Ledger.memory() as ledger:
        with pytest.raises(LedgerError, match="did you mean 'other_pm'"):
            ledger.resolve("other_pn", False, "2026-02-01", "x")
        ledger.resolve("other_pm", False, "2026-02-01", "x")
        with pytest.raises(LedgerError, match="did you mean 'other_pm'"):
            ledger.plot_history("other_pn")


def test_help_shows_no_bool_placeholder_for_flags():
    import typer

    from iamg_forecast.cli.common import hide_flag_placeholders

    command = typer.main.get_command(app)
    hide_flag_placeholders(command)
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit):
        command(["forecast", "--help"], prog_name="iamg-forecast")
    text = buf.getvalue()
    assert "--record" in text and "<bool>" not in text and "<int>" in text


def test_score_on_an_empty_ledger_says_why(tmp_path):
    db = tmp_path / "e.sqlite"
    iaf.EvidenceLog.open(db).close()
    out = CliRunner().invoke(app, ["score", "--db", str(db)])
    assert out.exit_code == 0 and "Nothing to score: the ledger holds no forecasts" in out.output


def test_model_repr_is_short():
    text = repr(iaf.load_model())
    assert len(text) < 200 and "9 outcomes" in text


def test_bottom_line_names_a_cause_only_when_it_pushed_the_same_way(seed_forecast):
    from iamg_forecast.report.context import _bottom_line

    ctx = build_context(seed_forecast, charts=False)
    rows = [{**r, "resolved": None} for r in ctx.headline]
    name = rows[0]["outcome"]

    def line(shift: float, change: float) -> str:
        changes = {"previous": {"as_of": "2026-01-15"}, "outcomes": [
            {"outcome": name, "change": change, "before": rows[0]["p"] - change,
             "resolved_by": [], "rest": change - shift,
             "causes": [{"indicator": "iamg_attacks_count", "date": "2026-01-20",
                         "shift": shift}]}]}
        return next(s for s in _bottom_line(seed_forecast, rows, changes, {})
                    if "since the forecast" in s)

    assert "mainly because of iamg_attacks_count" in line(0.04, 0.05)
    opposite = line(-0.04, 0.05)   # the item pushed the other way: never "because of" it
    assert "iamg_attacks_count" not in opposite and "not because of a single" in opposite
    assert "partly because of" in line(0.01, 0.05)

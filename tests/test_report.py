"""Reports: one context, three formats that agree, escaping, validity, the banner."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import html5lib
import pandas as pd
import pytest
from markupsafe import escape

from iamg_forecast.evidence import Evidence
from iamg_forecast.report import build_context, render_html

PAYLOADS = {
    "source": '<script>window.__pwned=1</script>"><img src=x onerror=alert(1)>',
    "note": "[x](javascript:alert(1)) <b>bold</b> | pipe",
    "quote": "</td></tr></table><script>alert('q')</script>",
    "url": "javascript:alert(1)",
}


def hostile(fc):
    bad = Evidence(indicator="rial_sharp_depreciation", date="2026-01-20", value=1,
                   reliability="C3", source=PAYLOADS["source"], note=PAYLOADS["note"],
                   quote=PAYLOADS["quote"])
    link = Evidence(indicator="iran_mass_unrest_reported", date="2026-01-21", value=1,
                    reliability="C3", source="ok", url="https://example.org/x?a=<b>")
    js = bad.model_copy(update={"url": None})
    return dataclasses.replace(fc, items=fc.items + (bad, link, js))


@pytest.fixture(scope="module")
def hostile_fc(seed_forecast):
    return hostile(seed_forecast)


@pytest.fixture(scope="module")
def outputs(hostile_fc, tmp_path_factory):
    path = hostile_fc.report(tmp_path_factory.mktemp("rep") / "report.html")
    return {"html": path.read_text(), "md": hostile_fc.to_markdown(),
            "json": json.loads(hostile_fc.to_json()), "path": path}


def test_html_is_valid_and_self_contained(outputs, hostile_fc):
    text = outputs["html"]
    html5lib.HTMLParser(strict=True).parse(text)
    # every src is a data URI; the only hrefs are the http(s) links of the evidence items (the
    # seed's sources and the hostile item's), escaped; never the javascript: one
    assert all(s.startswith("data:") for s in re.findall(r'src="([^"]*)"', text))
    links = {str(escape(e.url)) for e in hostile_fc.items
             if e.url and e.url.startswith(("http://", "https://"))}
    hrefs = re.findall(r'href="([^"]*)"', text)
    assert hrefs and set(hrefs) <= links, set(hrefs) - links
    assert "https://example.org/x?a=&lt;b&gt;" in hrefs
    assert "Content-Security-Policy" in text
    assert "<link" not in text and "@import" not in text and "<script" not in text.lower()


def test_every_table_has_headers_and_every_chart_alt_text(outputs):
    text = outputs["html"]
    assert text.count("<table") == text.count("<thead>") and "<th" in text
    imgs = re.findall(r"<img [^>]*>", text)
    assert imgs and all(re.search(r'alt="[^"]{20,}"', i) for i in imgs)


SECTIONS = ["Bottom line", "Headline", "What changed since last time and why",
            "What the numbers say", "Probability by horizon date", "Attribution", "Signposts",
            "Surprising items", "Underlying drivers over time", "Assumptions", "Evidence",
            "Diagnostics", "Provenance"]


def test_sections_in_order(outputs):
    """The HTML and the Markdown carry the same sections in the same order."""
    headings = re.findall(r"<h2[^>]*>([^<]*)</h2>", outputs["html"])
    md_headings = re.findall(r"^## (.*)$", outputs["md"], flags=re.M)
    for found in (headings, md_headings):
        assert [next(i for i, h in enumerate(found) if h.startswith(s)) for s in SECTIONS] == \
            sorted(next(i for i, h in enumerate(found) if h.startswith(s)) for s in SECTIONS)
    assert headings == md_headings   # no ledger here, so no history section in either


def test_analyst_text_is_escaped_everywhere(outputs):
    html_text, md = outputs["html"], outputs["md"]
    assert "window.__pwned" in html_text  # present as text...
    assert "<script>window" not in html_text and "<img src=x" not in html_text
    assert "&lt;script&gt;" in html_text
    assert 'href="javascript' not in html_text
    assert "](javascript" not in md and "<script>" not in md and "<b>" not in md
    assert 'rel="noopener noreferrer"' in html_text


def test_formats_agree(outputs, hostile_fc):
    js = outputs["json"]
    assert js["schema_version"] == 1
    from iamg_forecast.report.context import pct

    for row in js["headline"]:
        shown = f"{row['question']} | {pct(row['p'])} |"   # the Markdown headline row
        assert shown in outputs["md"].replace("\\", ""), row["outcome"]
        assert f">{pct(row['p'])}<span class=\"bar\"" in outputs["html"], row["outcome"]
        assert f"{100 * row['p']:.1f}%" in outputs["html"]   # one decimal on hover
        assert row["p"] == pytest.approx(hostile_fc[row["outcome"]].p, abs=0)


def test_json_matches_schema(outputs):
    import jsonschema

    schema = json.loads((Path(__file__).resolve().parent.parent / "docs" /
                         "report_schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(outputs["json"], schema, cls=jsonschema.Draft202012Validator)
    # the validator is not vacuous: a report without its headline, or with a string p, fails
    broken = {k: v for k, v in outputs["json"].items() if k != "headline"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)
    bad_p = json.loads(json.dumps(outputs["json"]))
    bad_p["headline"][0]["p"] = "high"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad_p, schema, cls=jsonschema.Draft202012Validator)


def test_banner_only_when_unreliable(seed_forecast):
    good = dataclasses.replace(seed_forecast, diagnostics=dataclasses.replace(
        seed_forecast.diagnostics, r_hat=1.0, ess_bulk=5000, ess_tail=5000, divergences=0,
        bfmi=1.0))
    bad = dataclasses.replace(good, diagnostics=dataclasses.replace(good.diagnostics,
                                                                    divergences=5))
    assert 'id="reliability-banner"' not in render_html(build_context(good))
    text = render_html(build_context(bad))
    assert 'id="reliability-banner"' in text
    assert text.index("reliability-banner") < text.index("<h1>")
    assert "5 divergent transitions" in text
    assert "NOT RELIABLE" in bad.to_markdown().splitlines()[0]


def test_phia_language(seed_forecast):
    ctx = build_context(seed_forecast, language="phia")
    assert ctx.language == "phia"
    assert {b["term"] for b in ctx.bands} >= {"remote chance", "realistic possibility"}


def test_narrative_names_only_reliable_attributions(seed_forecast):
    """An item whose leave-one-out is unreliable (high Pareto k) is never named as the mover."""
    from iamg_forecast.report.context import _narrative

    table = seed_forecast.table()
    first = table["outcome"].iloc[0]
    rows = pd.DataFrame([
        {"item": "shaky", "indicator": "ind_a", "outcome": first, "shift": 0.30,
         "pareto_k": 1.2, "method": "psis", "reliable": False},
        {"item": "solid", "indicator": "ind_b", "outcome": first, "shift": 0.02,
         "pareto_k": 0.1, "method": "psis", "reliable": True}])
    text = _narrative(seed_forecast, table, rows)[0]["text"]
    assert "solid" in text and "shaky" not in text

"""One context object for every report format, so HTML, Markdown and JSON never disagree."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from iamg_forecast import defaults
from iamg_forecast.language import ICD203_BANDS, PHIA_BANDS, term

__all__ = ["ReportContext", "build_context", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ReportContext:
    """Plain data behind a report (JSON-able except the chart SVG strings)."""

    schema_version: int
    title: str
    language: str
    reliable: bool
    problems: list[str]
    headline: list[dict[str, Any]]
    narrative: list[dict[str, str]]
    curve: list[dict[str, Any]]
    attribution: list[dict[str, Any]]
    signposts: list[dict[str, Any]]
    surprises: list[dict[str, Any]]
    assumptions: list[dict[str, Any]]
    bands: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    diagnostics: dict[str, Any]
    provenance: dict[str, Any]
    charts: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON payload (charts left out: they are renderings of the data here)."""
        out = {k: v for k, v in vars(self).items() if k != "charts"}
        return out


def _priors(spec) -> list[dict[str, Any]]:
    rows = []

    def add(where: str, p) -> None:
        params = ", ".join(f"{k}={v:g}" for k, v in p.params.items())
        rows.append({"where": where, "prior": f"{p.dist}({params})", "rationale": p.rationale,
                     "source": p.source or p.quote or ""})

    for lat in spec.latents:
        add(f"latent {lat.name}: initial level", lat.initial)
    for lk in spec.links:
        add(f"edge {lk.parent} -> {lk.child} ({'+' if lk.sign > 0 else '-'})", lk.effect)
    for ind in spec.indicators:
        add(f"indicator {ind.name}: baseline", ind.baseline)
        for ld in ind.loadings:
            add(f"indicator {ind.name}: loading on {ld.latent}", ld.prior)
    for g in spec.competing_groups:
        add(f"{g.name}: monthly hazard", g.hazard)
    for o in spec.outcomes:
        if o.base is not None:
            add(f"outcome {o.name}: base", o.base)
        for d in o.drivers:
            add(f"outcome {o.name}: driver {d.latent}", d.prior)
    return rows


def _records(df) -> list[dict[str, Any]]:
    """Rows of ``df`` as plain dicts: dates as ISO strings, NaN as None (valid JSON)."""
    def plain(v: Any) -> Any:
        if isinstance(v, dt.date):
            return str(v)
        if isinstance(v, float) and v != v:
            return None
        return v

    return [{k: plain(v) for k, v in row.items()} for row in df.to_dict("records")]


def _narrative(fc, table, attribution) -> list[dict[str, str]]:
    out = []
    for r in table.itertuples():
        o = fc.spec.outcome(r.outcome)
        drivers = [d.latent for d in o.drivers]
        if o.group:
            drivers += [d.latent for d in fc.spec.group(o.group).drivers]
        # rows whose leave-one-out is unreliable (high Pareto k) do not name an item
        moved = (attribution[(attribution["outcome"] == r.outcome) & attribution["reliable"]]
                 if len(attribution) else None)
        top = ""
        if moved is not None and len(moved):
            best = moved.reindex(moved["shift"].abs().sort_values(ascending=False).index).iloc[0]
            if abs(best["shift"]) >= 0.005:
                top = (f" The evidence that moved it most is {best['indicator']} "
                       f"({best['item']}, {best['shift']:+.1%}).")
        text = (f"{o.question} We judge it {r.term} ({r.p:.0%}).{top}"
                + (f" Its modelled drivers are {', '.join(drivers)}." if drivers else ""))
        out.append({"outcome": r.outcome, "text": text})
    return out


def build_context(fc, ledger: Any = None, language: str | None = None) -> ReportContext:
    """Compute everything a report shows from a :class:`~iamg_forecast.Forecast`.

    Parameters
    ----------
    fc : Forecast
    ledger : Ledger, optional
        When given, the headline table shows the change since the previous recorded forecast
        of the same question.
    language : {"icd203", "phia"}, optional
        Estimative language (default: the forecast's).
    """
    from iamg_forecast.report.charts import attribution_chart, curve_chart, latent_charts

    language = language or fc.language
    table = fc.table()
    created = fc.provenance.get("created")
    headline = []
    for r in table.itertuples():
        prev = None
        if ledger is not None:
            prev = ledger.previous(r.outcome, created, horizon=fc.horizon.isoformat())
        headline.append({"outcome": r.outcome, "question": r.question, "p": float(r.p),
                         "term": term(r.p, language), "lo80": float(r.lo80),
                         "hi80": float(r.hi80),
                         "change": None if prev is None else float(r.p - prev)})
    attribution = fc.attribution(refit=False, form="long")
    signposts = fc.signposts(months=1, form="long")
    top_signposts = []
    if len(signposts):
        best = signposts.sort_values("expected_abs_shift", ascending=False).drop_duplicates(
            "indicator").head(8)
        top_signposts = [{"indicator": s.indicator, "month": s.month,
                          "p_reported": float(s.p_reported), "outcome": s.outcome,
                          "shift_if_reported": float(s.shift_if_reported),
                          "shift_if_absent": float(s.shift_if_absent),
                          "pareto_k": float(s.pareto_k)}
                         for s in best.itertuples()]
    surprise = fc.surprise()
    bands = PHIA_BANDS if language == "phia" else ICD203_BANDS
    diag = fc.diagnostics.to_dict()
    curve = fc.outcome_curve()
    ctx = ReportContext(
        schema_version=SCHEMA_VERSION,
        title=fc.spec.scenario.title,
        language=language,
        reliable=fc.ok,
        problems=list(fc.diagnostics.problems),
        headline=headline,
        narrative=_narrative(fc, table, attribution),
        curve=curve.to_dict("records"),
        attribution=_records(attribution),
        signposts=top_signposts,
        surprises=_records(surprise),
        assumptions=_priors(fc.spec),
        bands=[{"lower": lo, "upper": hi, "term": w} for lo, hi, w in bands],
        evidence=[{"id": e.id, **e.content()} for e in fc.usable],
        diagnostics={k: v for k, v in diag.items()},
        provenance={**fc.provenance, "report_generated":
                    dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "interval_probabilities": list(defaults.INTERVALS)},
        charts={"latents": latent_charts(fc), "curve": curve_chart(curve),
                "attribution": attribution_chart(attribution)},
    )
    return ctx

"""One context object for every report format, so HTML, Markdown and JSON never disagree.

:func:`build_context` computes every number a report shows once; the templates only lay them
out. Charts are drawn only for HTML (``charts=True``): Markdown and JSON never pay for them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from iamg_forecast import defaults
from iamg_forecast.evidence.cells import usable_items
from iamg_forecast.language import ICD203_BANDS, PHIA_BANDS, term

__all__ = ["ReportContext", "build_context", "SCHEMA_VERSION", "pp", "pct"]

SCHEMA_VERSION = 1

# A change smaller than this (in probability) is "no real change" in words and tables.
NOTABLE_CHANGE = 0.01


def pct(p: float | None) -> str:
    """A probability rounded for reading: ``"62%"``, ``"<1%"``, ``">99%"``, ``"0%"``/``"100%"``.

    Examples
    --------
    >>> pct(0.6234), pct(0.004), pct(1.0), pct(None)
    ('62%', '<1%', '100%', '—')
    """
    if p is None:
        return "—"
    if p <= 0:
        return "0%"
    if p >= 1:
        return "100%"
    if p < 0.01:
        return "<1%"
    if p > 0.99:
        return ">99%"
    return f"{100 * p:.0f}%"


def pp(change: float | None) -> str:
    """A change of probability in percentage points, signed: ``"+4.2 pp"``, ``"−0.3 pp"``.

    Examples
    --------
    >>> pp(0.0421), pp(-0.003), pp(None)
    ('+4.2 pp', '−0.3 pp', '—')
    """
    if change is None:
        return "—"
    v = 100 * change
    return ("+" if v >= 0.05 else "−" if v <= -0.05 else "±") + f"{abs(v):.1f} pp"


@dataclass(frozen=True)
class ReportContext:
    """Plain data behind a report (JSON-able except the chart data URIs)."""

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
    knowledge: dict[str, Any] = field(default_factory=dict)
    bottom_line: list[str] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    top_attribution: list[dict[str, Any]] = field(default_factory=list)
    diagnostics_table: list[dict[str, Any]] = field(default_factory=list)
    provenance_table: list[dict[str, str]] = field(default_factory=list)
    latent_summary: list[dict[str, Any]] = field(default_factory=list)
    charts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON payload (charts left out: they are renderings of the data here)."""
        return {k: v for k, v in vars(self).items() if k != "charts"}

    @property
    def history_by_date(self) -> list[dict[str, Any]]:
        """The recorded forecasts as rows ``{as_of, created, p: {outcome: p}}``, oldest first."""
        rows: dict[str, dict[str, Any]] = {}
        for h in self.history:
            row = rows.setdefault(h["forecast_id"], {"as_of": h["as_of"],
                                                     "created": h["created"], "p": {}})
            row["p"][h["outcome"]] = h["p"]
        return list(rows.values())

    @property
    def curve_by_month(self) -> list[dict[str, Any]]:
        """The curve as rows ``{month, p: {outcome: p}}``."""
        rows: dict[str, dict[str, Any]] = {}
        for r in self.curve:
            rows.setdefault(r["month"], {"month": r["month"], "p": {}})["p"][r["outcome"]] = \
                r["p"]
        return list(rows.values())

    @property
    def flagged_surprises(self) -> list[dict[str, Any]]:
        """The surprising items only (tail probability below the alpha)."""
        return [s for s in self.surprises if s["flag"]]


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


def _plain(v: Any) -> Any:
    if isinstance(v, dt.date):
        return str(v)
    if isinstance(v, float) and v != v:
        return None
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        return v.item()
    return v


def _records(df) -> list[dict[str, Any]]:
    """Rows of ``df`` as plain dicts: dates as ISO strings, NaN as None (valid JSON)."""
    return [{k: _plain(v) for k, v in row.items()} for row in df.to_dict("records")]


def _question(fc, outcome: str) -> str:
    """The outcome's question with "the horizon" replaced by the date."""
    q = fc.spec.outcome(outcome).question
    when = fc.horizon.strftime("%-d %b %Y")
    return q.replace("by the horizon", f"by {when}").replace("at the horizon", f"on {when}")


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
                       f"({best['item']}, {pp(best['shift'])}).")
        resolved = _resolution_of(fc, r.outcome)
        if resolved:
            out.append({"outcome": r.outcome, "text": f"{o.question} Resolved: it {resolved}."})
            continue
        text = (f"{o.question} We judge it {r.term} ({pct(r.p)}).{top}"
                + (f" Its modelled drivers are {', '.join(drivers)}." if drivers else ""))
        out.append({"outcome": r.outcome, "text": text})
    return out


def _history(fc, ledger) -> pd.DataFrame:
    """Recorded forecasts of the same horizon, oldest first (empty without a ledger)."""
    cols = ["forecast_id", "outcome", "p", "as_of", "created"]
    if ledger is None:
        return pd.DataFrame(columns=cols)
    h = ledger.history()
    h = h[h["horizon"] == fc.horizon.isoformat()]
    return h[cols].sort_values(["created", "forecast_id"], kind="stable").reset_index(drop=True)


def _previous(fc, history: pd.DataFrame) -> dict[str, Any] | None:
    """The latest recorded forecast of the same horizon created before ``fc`` (not ``fc``)."""
    created = str(fc.provenance.get("created") or "")
    earlier = history[history["created"].astype(str) < created] if created else history
    if earlier.empty:
        return None
    last = earlier.iloc[-1]
    rows = earlier[earlier["forecast_id"] == last["forecast_id"]]
    return {"forecast_id": str(last["forecast_id"]), "as_of": str(last["as_of"]),
            "created": str(last["created"]),
            "p": {r.outcome: float(r.p) for r in rows.itertuples()}}


def _new_items(fc, prev: dict[str, Any], log) -> tuple[list, list]:
    """Items used now but not by the previous forecast, and items it used that are gone.

    With the evidence log, the previous forecast's items are the log as it stood when that
    forecast was made, up to its as-of date; without it, items dated after its as-of date
    count as new.
    """
    prev_as_of = dt.date.fromisoformat(prev["as_of"])
    if log is not None:
        try:
            before = usable_items(log.as_known_on(prev["created"]), prev_as_of)
        except Exception:  # noqa: BLE001 - an unreadable timestamp falls back to dates
            before = None
        if before is not None:
            known = {e.id for e in before}
            now = {e.id for e in fc.usable}
            return ([e for e in fc.usable if e.id not in known],
                    [e for e in before if e.id not in now])
    return [e for e in fc.usable if e.date > prev_as_of], []


def _changes(fc, headline, prev, log, attribution) -> dict[str, Any]:
    if prev is None:
        return {"previous": None, "outcomes": [], "items": [], "removed": [], "resolved": []}
    added, removed = _new_items(fc, prev, log)
    effects: dict[str, dict[str, float]] = {}
    for r in attribution.itertuples():
        effects.setdefault(r.item, {})[r.outcome] = float(r.shift)
    items = []
    for e in added:
        eff = effects.get(e.id, {})
        top = max(eff, key=lambda o: abs(eff[o])) if eff else None
        is_outcome = e.indicator in fc.spec.outcome_names
        items.append({"id": e.id, "indicator": e.indicator, "date": str(e.date),
                      "value": e.value, "source": e.source, "note": e.note or "",
                      "reliability": e.reliability, "outcome_item": is_outcome,
                      "top_outcome": top, "top_shift": None if top is None else eff[top],
                      "shifts": eff})
    items.sort(key=lambda x: -abs(x["top_shift"] or (1.0 if x["outcome_item"] else 0.0)))
    outcomes = []
    for r in headline:
        if r["change"] is None:
            continue
        causes = sorted(((it["shifts"].get(r["outcome"], 0.0), it) for it in items
                         if it["shifts"].get(r["outcome"]) is not None),
                        key=lambda t: -abs(t[0]))
        named = [{"id": it["id"], "indicator": it["indicator"], "date": it["date"],
                  "shift": s} for s, it in causes[:3] if abs(s) >= 0.005]
        resolved_by = [it for it in items if it["outcome_item"]
                       and (it["indicator"] == r["outcome"]
                            or (fc.spec.outcome(r["outcome"]).group is not None
                                and fc.spec.outcome(it["indicator"]).group
                                == fc.spec.outcome(r["outcome"]).group))]
        outcomes.append({"outcome": r["outcome"], "before": r["prev_p"], "after": r["p"],
                         "change": r["change"], "causes": named,
                         "resolved_by": [it["id"] for it in resolved_by],
                         "rest": r["change"] - sum(c["shift"] for c in named)})
    outcomes.sort(key=lambda x: -abs(x["change"]))
    return {"previous": {k: prev[k] for k in ("forecast_id", "as_of", "created")},
            "outcomes": outcomes, "items": items,
            "removed": [{"id": e.id, "indicator": e.indicator, "date": str(e.date)}
                        for e in removed]}


def _resolution_of(fc, outcome: str) -> str | None:
    """``"happened"`` or ``"did not happen"`` when an outcome item settles it, else None."""
    logged = {e.indicator: e for e in fc.usable if e.indicator in fc.spec.outcome_names}
    if outcome in logged:
        return "happened"
    o = fc.spec.outcome(outcome)
    if o.group and any(fc.spec.outcome(n).group == o.group for n in logged):
        return "did not happen"
    return None


def _bottom_line(fc, headline, changes, know) -> list[str]:
    out = []
    if not fc.ok:
        out.append("The computation checks failed: do not publish these numbers.")
    if know.get("warning"):
        out.append(f"The evidence is stale: the newest item is {know['gap_days']} days old."
                   if know.get("gap_days") is not None else "There is no evidence at all.")
    by = {r["outcome"]: r for r in headline}
    big = [c for c in changes.get("outcomes", []) if abs(c["change"]) >= NOTABLE_CHANGE][:3]
    prev = changes.get("previous")
    for c in big:
        r = by[c["outcome"]]
        # name an item only when it pushed the same way and explains more than the rest
        same = [k for k in c["causes"] if k["shift"] * c["change"] > 0]
        if same and abs(same[0]["shift"]) >= abs(c["rest"]):
            cause = f", mainly because of {same[0]['indicator']} ({same[0]['date']})"
        elif same:
            cause = (f", partly because of {same[0]['indicator']} ({same[0]['date']}); the "
                     "rest is not from a single new item (months passing, sampling)")
        else:
            cause = ", not because of a single new item (months passing, sampling)"
        if r["resolved"]:
            out.append(f"{r['question']} Resolved: it {r['resolved']} (the forecast of "
                       f"{prev['as_of']} gave {pct(c['before'])}).")
            continue
        out.append(f"{r['question']} Now {r['term']} ({pct(r['p'])}), "
                   f"{'up' if c['change'] > 0 else 'down'} {pp(abs(c['change']))[1:]} since "
                   f"the forecast of {prev['as_of']}{cause}.")
    shown = {c["outcome"] for c in big}
    rest = []
    for g in fc.spec.competing_groups:
        members = [by[n] for n in fc.spec.group_members(g.name) if n not in shown]
        if members:
            rest.append(max(members, key=lambda r: r["p"]))
    events = sorted((r for r in headline if fc.spec.outcome(r["outcome"]).group is None
                     and r["outcome"] not in shown), key=lambda r: -r["p"])
    for r in (rest + events)[: max(0, 5 - len(big))]:
        if r["resolved"]:
            out.append(f"{r['question']} Resolved: it {r['resolved']}.")
        else:
            out.append(f"{r['question']} {r['term'].capitalize()} ({pct(r['p'])}).")
    return out


def _spark(points: list[float], width: int = 90, height: int = 18) -> str:
    """SVG polyline points for a sparkline of probabilities (0 at the bottom, 1 at the top)."""
    if not points:
        return ""
    if len(points) == 1:
        points = points * 2
    n = len(points) - 1
    return " ".join(f"{2 + i * (width - 4) / n:.1f},{2 + (1 - p) * (height - 4):.1f}"
                    for i, p in enumerate(points))


def _diagnostics_table(fc) -> list[dict[str, Any]]:
    d = fc.diagnostics
    rows = [("Largest R-hat (chains agree)", d.r_hat, f"≤ {defaults.RHAT_MAX}",
             d.r_hat <= defaults.RHAT_MAX, 4),
            ("Smallest bulk ESS (effective draws)", d.ess_bulk, f"≥ {defaults.ESS_MIN}",
             d.ess_bulk >= defaults.ESS_MIN, 0),
            ("Smallest tail ESS", d.ess_tail, f"≥ {defaults.ESS_MIN}",
             d.ess_tail >= defaults.ESS_MIN, 0),
            ("Divergent transitions", d.divergences, "0", d.divergences == 0, 0),
            ("Smallest E-BFMI", d.bfmi, f"≥ {defaults.BFMI_MIN}", d.bfmi >= defaults.BFMI_MIN,
             2)]
    if d.pareto_k is not None:
        rows.append(("Pareto k of the reweighting", d.pareto_k, f"≤ {defaults.PARETO_K_MAX}",
                     d.pareto_k <= defaults.PARETO_K_MAX, 2))
    out = []
    for label, v, limit, ok, digits in rows:
        shown = f"{v:,.{digits}f}" if isinstance(v, float) else f"{v:,}"
        out.append({"check": label, "value": shown, "limit": limit,
                    "passed": "yes" if ok else "NO"})
    out.append({"check": "Method", "value": d.method, "limit": "", "passed": ""})
    return out


def _latent_summary(fc, ds) -> list[dict[str, Any]]:
    """Each latent's posterior mean at the knowledge date and at the horizon."""
    desc = {x.name: x.description for x in fc.spec.latents}
    now = min(max(fc.spec.month_index(fc.as_of), 0), len(fc.spec.months) - 1)
    hz = min(fc.spec.month_index(fc.horizon), len(fc.spec.months) - 1)
    return [{"latent": lat, "description": desc.get(lat, ""),
             "now": float(ds["mean"].sel(latent=lat).values[now]),
             "horizon": float(ds["mean"].sel(latent=lat).values[hz])}
            for lat in fc.spec.latent_order]


def _provenance_table(prov: dict[str, Any]) -> list[dict[str, str]]:
    rows = []
    for k, v in prov.items():
        if isinstance(v, dict):
            for kk, vv in v.items():
                rows.append({"field": f"{k}: {kk}", "value": str(vv)})
        elif isinstance(v, (list, tuple)):
            rows.append({"field": k, "value": ", ".join(str(x) for x in v) or "none"})
        else:
            rows.append({"field": k, "value": str(v)})
    return rows


def build_context(fc, ledger: Any = None, language: str | None = None, *, log: Any = None,
                  stale_after_days: int | None = None, charts: bool = True) -> ReportContext:
    """Compute everything a report shows from a :class:`~iamg_forecast.Forecast`.

    Parameters
    ----------
    fc : Forecast
    ledger : Ledger, optional
        When given, the report shows the change since the previous recorded forecast of the
        same question (same horizon), the items that caused it, and the history of the
        recorded forecasts (a sparkline per outcome and, in HTML, a chart).
    language : {"icd203", "phia"}, optional
        Estimative language (default: the forecast's).
    log : EvidenceLog, optional
        With the ledger: which items were known when the previous forecast was made (without
        it, items dated after the previous forecast's as-of date count as new).
    stale_after_days : int, optional
        Staleness threshold (default :func:`iamg_forecast.defaults.stale_after_days`).
    charts : bool, default True
        Draw the charts (HTML only; Markdown and JSON leave them out).
    """
    language = language or fc.language
    table = fc.table()
    history = _history(fc, ledger)
    prev = _previous(fc, history)
    headline = []
    for r in table.itertuples():
        before = None if prev is None else prev["p"].get(r.outcome)
        past = [float(p) for p in history.loc[history["outcome"] == r.outcome, "p"]]
        if not past or str(history.loc[history["outcome"] == r.outcome, "created"].iloc[-1]
                           ) != str(fc.provenance.get("created")):
            past.append(float(r.p))   # this forecast, when not recorded (yet)
        headline.append({"outcome": r.outcome, "question": _question(fc, r.outcome),
                         "p": float(r.p), "term": term(r.p, language),
                         "lo80": float(r.lo80), "hi80": float(r.hi80),
                         "change": None if before is None else float(r.p - before),
                         "prev_p": before, "p_text": pct(r.p),
                         "interval_text": f"{pct(r.lo80)}–{pct(r.hi80)}",
                         "change_text": pp(None if before is None else r.p - before),
                         "resolved": _resolution_of(fc, r.outcome),
                         "spark": _spark(past), "n_history": len(past),
                         "history_text": " → ".join(pct(p) for p in past[-5:])
                         if len(past) > 1 else "first forecast"})
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
                          "pareto_k": float(s.pareto_k),
                          "description": fc.spec.indicator(s.indicator).description}
                         for s in best.itertuples()]
    top_att = []
    if len(attribution):
        by_id = {e.id: e for e in fc.usable}
        ranked = attribution[attribution["reliable"]].reindex(
            attribution["shift"].abs().sort_values(ascending=False).index).dropna(
            subset=["shift"]).head(10)
        top_att = [{"item": a.item, "indicator": a.indicator, "date": str(a.date),
                    "outcome": a.outcome, "shift": float(a.shift),
                    "note": by_id[a.item].note or "" if a.item in by_id else "",
                    "source": by_id[a.item].source if a.item in by_id else ""}
                   for a in ranked.itertuples()]
    surprise = fc.surprise()
    bands = PHIA_BANDS if language == "phia" else ICD203_BANDS
    know = fc.knowledge(stale_after_days).to_dict()
    changes = _changes(fc, headline, prev, log, attribution)
    curve = fc.outcome_curve()
    latents = fc.latents()
    drawn: dict[str, Any] = {}
    if charts:
        from iamg_forecast.report.charts import (
            attribution_chart,
            curve_chart,
            history_chart,
            latent_charts,
        )

        drawn = {"latents": latent_charts(fc, latents), "curve": curve_chart(curve),
                 "attribution": attribution_chart(attribution, fc.usable),
                 "history": (history_chart(ledger, fc) if ledger is not None and len(history)
                             else None)}
    prov = {**fc.provenance,
            "report_generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "interval_probabilities": list(defaults.INTERVALS)}
    return ReportContext(
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
        diagnostics=dict(fc.diagnostics.to_dict()),
        provenance=prov,
        knowledge=know,
        bottom_line=_bottom_line(fc, headline, changes, know),
        changes=changes,
        history=_records(history),
        top_attribution=top_att,
        diagnostics_table=_diagnostics_table(fc),
        provenance_table=_provenance_table(prov),
        latent_summary=_latent_summary(fc, latents),
        charts=drawn,
    )

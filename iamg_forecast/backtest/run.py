"""Replay a backtest case month by month, record every forecast as a hindcast, and score it.

For each case: a forecast at every month end from the case's start to the day before it
resolved, (a) with the evidence known on that date and (b) with none; both are recorded in a
ledger and scored there against the resolution, next to (c) the spec's reference-class
climatology and (d) a uniform forecast. Each fact the spec can see is also measured on its own:
the forecast on its date with it minus the forecast on the same date without it, so that the
passing of time is separated from the news; a second fit without it, with another seed,
measures the sampler's noise.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iamg_forecast.backtest.cases import EXPECTABLE_LATENTS as EXPECTABLE
from iamg_forecast.backtest.cases import Case, list_cases, load_case
from iamg_forecast.calibration.ledger import Ledger
from iamg_forecast.calibration.scores import CLIP
from iamg_forecast.errors import ForecastError
from iamg_forecast.evidence import Evidence
from iamg_forecast.forecast import Forecast, forecast
from iamg_forecast.model import ScenarioModel
from iamg_forecast.priorcheck import climatology

__all__ = ["backtest", "CaseResult", "BacktestResult", "VARIANTS", "score_dates", "md_table",
           "to_markdown"]

#: The forecasts compared on every date: the model with and without evidence, then the
#: baselines that need no fit.
VARIANTS = ("model", "no_evidence", "climatology", "uniform")
#: A change counts as beyond Monte Carlo noise when it exceeds this many standard deviations
#: of the difference between two independent fits of the same data (measured per outcome).
NOISE_Z = 2.0


@dataclass
class CaseResult:
    """Everything one case's backtest measured.

    Attributes
    ----------
    case : Case
    forecasts : DataFrame
        One row per (variant, as_of, outcome): ``p``, ``lo80``, ``hi80``, ``reliable``.
    gates : DataFrame
        One row per fitted forecast: ``variant, as_of, reliable, problems, r_hat, ess_bulk,
        ess_tail, divergences``.
    per_date : DataFrame
        Formation cases: one row per (variant, as_of) with the realised role's probability,
        its log score and the multi-category Brier score.
    directions : DataFrame
        One row per (fact, target): the change the fact caused on its date, the expected
        direction (if any) and the verdict.
    latents : DataFrame
        Posterior mean and 80% interval of every latent in the as-of month, per date
        (model with evidence).
    ledger : Ledger
    replicates : DataFrame
        Per date and target: the month-end fit with evidence, repeated with another seed,
        minus the first (the sampler's noise).
    """

    case: Case
    forecasts: pd.DataFrame
    gates: pd.DataFrame
    per_date: pd.DataFrame
    directions: pd.DataFrame
    latents: pd.DataFrame
    ledger: Ledger = field(repr=False)
    replicates: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def scores(self) -> pd.DataFrame:
        """Mean log score and Brier score per variant over the case's forecast dates."""
        return summarise(self.per_date)


@dataclass
class BacktestResult:
    """The backtest of several cases. Index by case name; see :meth:`summary`.

    Examples
    --------
    >>> res = backtest("formation_2014", draws=100, tune=100, chains=2)  # doctest: +SKIP
    >>> res.pooled  # doctest: +SKIP
    """

    cases: dict[str, CaseResult]
    settings: dict[str, Any]
    noise: pd.DataFrame

    def __getitem__(self, name: str) -> CaseResult:
        return self.cases[name]

    @property
    def per_date(self) -> pd.DataFrame:
        """Every formation case's per-date scores, with a ``case`` column."""
        frames = [r.per_date.assign(case=n) for n, r in self.cases.items() if len(r.per_date)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    @property
    def pooled(self) -> pd.DataFrame:
        """Scores over every forecast date of every formation case (each date weighs one)."""
        return summarise(self.per_date)

    @property
    def by_case(self) -> pd.DataFrame:
        """Mean log score per case (rows) and variant (columns), and which variant won."""
        df = self.per_date
        if df.empty:
            return pd.DataFrame()
        wide = df.pivot_table(index="case", columns="variant", values="log_score",
                              aggfunc="mean")[list(VARIANTS)]
        wide["model_wins"] = wide["model"] < wide[list(VARIANTS[1:])].min(axis=1)
        wide["n_dates"] = df[df["variant"] == "model"].groupby("case").size()
        return wide

    @property
    def directions(self) -> pd.DataFrame:
        """Every case's direction rows, with a ``case`` column."""
        frames = [r.directions.assign(case=n) for n, r in self.cases.items()
                  if len(r.directions)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    @property
    def direction_summary(self) -> pd.DataFrame:
        """Per case and overall: expectations, and how many moved that way beyond noise."""
        d = self.directions
        if d.empty:
            return pd.DataFrame()
        d = d[d["expected"].notna()]
        rows = []
        for name, sub in [*d.groupby("case"), ("all", d)]:
            counts = sub["verdict"].value_counts()
            n = len(sub)
            rows.append({"case": name, "expectations": n,
                         **{v: int(counts.get(v, 0)) for v in VERDICTS},
                         "share_right": counts.get("right", 0) / n if n else np.nan})
        return pd.DataFrame(rows)

    @property
    def gates(self) -> pd.DataFrame:
        """Every fitted forecast's gate verdict, with a ``case`` column."""
        return pd.concat([r.gates.assign(case=n) for n, r in self.cases.items()],
                         ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        """All numbers as plain JSON-able data."""
        def records(df: pd.DataFrame) -> list[dict[str, Any]]:
            return _jsonable(df.reset_index().to_dict("records")) if len(df) else []

        return {
            "settings": self.settings,
            "pooled": records(self.pooled),
            "by_case": records(self.by_case),
            "direction_summary": records(self.direction_summary),
            "noise": records(self.noise),
            "cases": {n: {"title": r.case.info.title, "kind": r.case.info.kind,
                          "scores": records(r.scores), "per_date": records(r.per_date),
                          "directions": records(r.directions), "gates": records(r.gates),
                          "latents": records(r.latents),
                          "forecasts": records(r.forecasts),
                          "unseen_facts": [f.id for f in r.case.unseen]}
                      for n, r in self.cases.items()},
        }

    def report(self, path: str | Path) -> Path:
        """Write the self-contained HTML report of the backtest."""
        from iamg_forecast.backtest.report import write_backtest_html

        return write_backtest_html(self, path)

    def _repr_html_(self) -> str:
        return ("<h4>Backtest, pooled formations</h4>" + self.pooled.to_html()
                + "<h4>By case (mean log score)</h4>" + self.by_case.to_html()
                + "<h4>Directions</h4>" + self.direction_summary.to_html())


VERDICTS = ("right", "wrong", "flat", "unseen")


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, (dt.date, pd.Timestamp)):
        return obj.isoformat()
    return obj


# ---- scoring --------------------------------------------------------------------------------
def score_dates(rows: pd.DataFrame) -> pd.DataFrame:
    """Score each (variant, as_of) of a competing group against its realised member.

    Parameters
    ----------
    rows : DataFrame
        Columns ``variant, as_of, outcome, p, y``: one row per group member, ``y`` 1 for the
        member that happened and 0 for the others.

    Returns
    -------
    DataFrame
        ``variant, as_of, realised, p_realised, log_score, brier``: the log score is
        ``-ln p`` of the realised member (probabilities clipped to ``[CLIP, 1 - CLIP]``;
        lower is better) and the Brier score is ``sum_k (p_k - y_k)^2`` over the members
        (0 to 2; lower is better).

    Examples
    --------
    >>> rows = pd.DataFrame({"variant": "uniform", "as_of": "2014-05-31",
    ...     "outcome": ["a", "b", "c", "d"], "p": 0.25, "y": [0, 0, 1, 0]})
    >>> score_dates(rows)[["log_score", "brier"]].round(4).values.tolist()
    [[1.3863, 0.75]]
    """
    out = []
    for (variant, as_of), sub in rows.groupby(["variant", "as_of"], sort=False):
        realised = sub[sub["y"] == 1]
        if len(realised) != 1:
            raise ForecastError(f"{variant} on {as_of}: expected exactly one realised member, "
                                f"got {len(realised)}")
        p_real = float(realised["p"].iloc[0])
        out.append({"variant": variant, "as_of": as_of,
                    "realised": realised["outcome"].iloc[0], "p_realised": p_real,
                    "log_score": float(-np.log(np.clip(p_real, CLIP, 1 - CLIP))),
                    "brier": float(((sub["p"] - sub["y"]) ** 2).sum())})
    return pd.DataFrame(out)


def summarise(per_date: pd.DataFrame) -> pd.DataFrame:
    """Mean log score and Brier score per variant, in :data:`VARIANTS` order."""
    if per_date.empty:
        return pd.DataFrame(columns=["n_dates", "log_score", "brier"])
    g = per_date.groupby("variant")
    out = pd.DataFrame({"n_dates": g.size(), "log_score": g["log_score"].mean(),
                        "brier": g["brier"].mean()})
    return out.reindex([v for v in VARIANTS if v in out.index])


def _baselines(case: Case, dates: list[dt.date]) -> pd.DataFrame:
    """Climatology (normalised over the group's members) and uniform forecasts per date."""
    spec = case.spec
    members = spec.group_members(spec.competing_groups[0].name)
    rows = []
    for d in dates:
        clim = np.array([climatology(spec, m, d.isoformat(), case.horizon.isoformat())
                         for m in members])
        clim = clim / clim.sum()
        for m, c in zip(members, clim, strict=True):
            rows.append({"variant": "climatology", "as_of": d.isoformat(), "outcome": m,
                         "p": float(c)})
            rows.append({"variant": "uniform", "as_of": d.isoformat(), "outcome": m,
                         "p": 1.0 / len(members)})
    return pd.DataFrame(rows)


# ---- fitting --------------------------------------------------------------------------------
def _seed(base: int, *parts: Any) -> int:
    """A seed derived from ``base`` and a label, the same on every run."""
    text = "|".join(str(p) for p in (base, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


class _Fitter:
    """Fits of one case, memoised on (as_of, item ids, seed) for the latest ``as_of`` only
    (dates are visited in order; a forecast's draws are large).
    """

    def __init__(self, case: Case, sizes: dict[str, int], tick: Callable[[], None]):
        self.case = case
        self.model = ScenarioModel(case.spec)
        self.sizes = sizes
        self.tick = tick
        self._memo: dict[tuple, Forecast] = {}

    def fit(self, as_of: dt.date, items: Sequence[Evidence], seed: int) -> Forecast:
        key = (as_of, frozenset(i.id for i in items), seed)
        if key not in self._memo:
            self._memo = {k: v for k, v in self._memo.items() if k[0] == as_of}
            self._memo[key] = forecast(self.model, list(items), as_of=as_of,
                                       horizon=self.case.horizon, seed=seed, **self.sizes)
            self.tick()
        return self._memo[key]


def _known(items: Sequence[Evidence], on: dt.date) -> list[Evidence]:
    return [i for i in items if i.date <= on]


def _gate_row(variant: str, as_of: dt.date, fc: Forecast) -> dict[str, Any]:
    d = fc.diagnostics
    return {"variant": variant, "as_of": as_of.isoformat(), "reliable": bool(fc.ok),
            "problems": "; ".join(d.problems), "r_hat": d.r_hat, "ess_bulk": d.ess_bulk,
            "ess_tail": d.ess_tail, "divergences": d.divergences}


def _latent_rows(as_of: dt.date, fc: Forecast) -> list[dict[str, Any]]:
    ds = fc.latents()
    month = fc.spec.months[fc.spec.month_index(as_of)]
    sub = ds.sel(month=month)
    return [{"as_of": as_of.isoformat(), "latent": lat, "mean": float(sub["mean"].sel(latent=lat)),
             "lo80": float(sub["lo80"].sel(latent=lat)),
             "hi80": float(sub["hi80"].sel(latent=lat))}
            for lat in fc.spec.latent_order]


def _latent_means(fc: Forecast, on: dt.date) -> dict[str, float]:
    ds = fc.latents()
    month = fc.spec.months[fc.spec.month_index(on)]
    return {lat: float(ds["mean"].sel(latent=lat, month=month)) for lat in fc.spec.latent_order}


def _targets(case: Case, fc: Forecast, on: dt.date) -> dict[str, float]:
    """What a fact is expected to move: each role's probability (formation cases) or each
    latent's posterior mean in the month of ``on`` (count cases).
    """
    if case.info.kind == "formation":
        return {role: fc[o].p for role, o in case.outcomes.items()}
    return _latent_means(fc, on)


def _monthly(case: Case, fitter: _Fitter, seed: int, ledger: Ledger
             ) -> tuple[pd.DataFrame, list[dict], list[dict], dict[str, list[str]], list[dict]]:
    """The month-end forecasts of both fitted variants, recorded in ``ledger``, and the
    sampler's noise: the fit with evidence repeated with another seed.

    Where no fact is known yet both variants are one fit, recorded once, scored for both.
    """
    rows, gates, latents, noise = [], [], [], []
    fids: dict[str, list[str]] = {}
    for d in case.forecast_dates():
        s = _seed(seed, case.name, d, "month")
        for variant, items in (("model", _known(case.items, d)), ("no_evidence", [])):
            fc = fitter.fit(d, items, s)
            fids.setdefault(ledger.record(fc), []).append(variant)
            gates.append(_gate_row(variant, d, fc))
            for r in fc.table().itertuples():
                rows.append({"variant": variant, "as_of": d.isoformat(), "outcome": r.outcome,
                             "p": r.p, "lo80": r.lo80, "hi80": r.hi80, "reliable": fc.ok})
            if variant == "model":
                latents += _latent_rows(d, fc)
                again = _targets(case, fitter.fit(d, items, s + 1), d)
                noise += [{"case": case.name, "as_of": d.isoformat(), "target": t,
                           "replicate": again[t] - v} for t, v in _targets(case, fc, d).items()]
    return pd.DataFrame(rows), gates, latents, fids, noise


def _ledger_rows(ledger: Ledger, fids: dict[str, list[str]], members: list[str]
                 ) -> pd.DataFrame:
    """The ledger's resolved rows of the group's members, labelled by variant."""
    df = ledger.resolved(include_hindcasts=True)
    df = df[df["forecast_id"].isin(fids) & df["outcome"].isin(members)].copy()
    df["variant"] = df["forecast_id"].map(fids)
    df = df.explode("variant", ignore_index=True)
    return df[["variant", "as_of", "outcome", "p", "y", "hindcast"]]


def _directions(case: Case, fitter: _Fitter, seed: int) -> list[dict[str, Any]]:
    """The change each seen fact caused on its date (same seed with and without it)."""
    rows: list[dict[str, Any]] = []
    items = {i.id: i for i in case.items}
    outcomes = list(case.outcomes.values())
    for fact in case.facts:
        item = items.get(fact.id)
        if item is None:
            rows += [{"fact": fact.id, "date": fact.date.isoformat(), "event": fact.event,
                      "role": fact.role, "target": t, "expected": e, "change": 0.0,
                      "verdict": "unseen"} for t, e in fact.expect.items()]
            continue
        if item.indicator in outcomes or fact.date > case.info.last_day:
            continue  # the resolution itself, or a fact after the last forecast date
        d = fact.date
        known = _known(case.items, d)
        without = [i for i in known if i.id != fact.id]
        s = _seed(seed, case.name, d, "fact")
        with_it = _targets(case, fitter.fit(d, known, s), d)
        without_it = _targets(case, fitter.fit(d, without, s), d)
        for target, w in with_it.items():
            rows.append({"fact": fact.id, "date": d.isoformat(), "event": fact.event,
                         "role": fact.role, "target": target,
                         "expected": fact.expect.get(target), "change": w - without_it[target],
                         "verdict": None})
    return rows


def _judge(directions: pd.DataFrame, noise: pd.DataFrame) -> pd.DataFrame:
    """Fill each measured row's verdict from the pooled noise of its target."""
    if directions.empty:
        return directions
    thr = directions["target"].map(noise["threshold"]) if len(noise) else np.nan
    directions = directions.assign(threshold=thr)
    measured = directions["verdict"].isna() & directions["expected"].notna()
    sign = np.where(directions["expected"] == "up", 1.0, -1.0)
    beyond = directions["change"].abs() > directions["threshold"]
    right = beyond & (np.sign(directions["change"]) == sign)
    verdict = np.where(~beyond, "flat", np.where(right, "right", "wrong"))
    directions.loc[measured, "verdict"] = verdict[measured.to_numpy()]
    # changes nobody predicted are shown, not judged
    unjudged = directions["verdict"].isna()
    directions.loc[unjudged, "verdict"] = np.where(beyond[unjudged], "moved", "within noise")
    return directions


def noise_table(replicates: pd.DataFrame) -> pd.DataFrame:
    """Per target: the SD of seed-to-seed differences and the threshold ``NOISE_Z`` x SD.

    A replicate is the difference between two fits of the same data with different seeds, so
    its spread is that of a change under no news at all.

    Examples
    --------
    >>> rep = pd.DataFrame({"target": ["a", "a", "a"], "replicate": [0.01, -0.01, 0.0]})
    >>> noise_table(rep).round(3).values.tolist()
    [[3.0, 0.01, 0.02]]
    """
    rep = replicates.dropna(subset=["replicate"])
    if rep.empty:
        return pd.DataFrame(columns=["n", "sd", "threshold"])
    g = rep.groupby("target")["replicate"]
    out = pd.DataFrame({"n": g.size(), "sd": g.std(ddof=1)})
    out["threshold"] = NOISE_Z * out["sd"]
    return out


def _run_case(case: Case, sizes: dict[str, int], seed: int, ledger: Ledger, directions: bool,
              tick: Callable[[], None]) -> tuple[CaseResult, list[dict[str, Any]]]:
    fitter = _Fitter(case, sizes, tick)
    fc_rows, gates, latents, fids, noise = _monthly(case, fitter, seed, ledger)
    per_date = pd.DataFrame()
    if case.info.kind == "formation":
        res = case.info.resolution
        assert res is not None
        ledger.resolve(case.outcomes[res.role], True, res.date, source=res.url, spec=case.spec)
        members = case.spec.group_members(case.spec.competing_groups[0].name)
        fitted = _ledger_rows(ledger, fids, members)
        base = _baselines(case, case.forecast_dates())
        y = fitted.drop_duplicates("outcome").set_index("outcome")["y"]
        base["y"] = base["outcome"].map(y)
        per_date = score_dates(pd.concat([fitted.drop(columns="hindcast"), base],
                                         ignore_index=True))
    dir_rows = _directions(case, fitter, seed) if directions else []
    result = CaseResult(case=case, forecasts=fc_rows, gates=pd.DataFrame(gates),
                        per_date=per_date, directions=pd.DataFrame(dir_rows),
                        latents=pd.DataFrame(latents), ledger=ledger,
                        replicates=pd.DataFrame(noise))
    return result, noise


def backtest(cases: str | Path | Case | Sequence[str | Path | Case] | None = None, *,
             draws: int | None = None, tune: int | None = None, chains: int | None = None,
             seed: int = 0, directions: bool = True, ledger_dir: str | Path | None = None,
             progress: bool = False) -> BacktestResult:
    """Replay backtest cases month by month and score them against their baselines.

    Parameters
    ----------
    cases : str, Path, Case or a sequence of them, optional
        Bundled case names (:func:`~iamg_forecast.backtest.list_cases`), case folders or
        loaded cases; default every bundled case.
    draws, tune, chains : int, optional
        Sampler sizes of every fit (defaults as for :func:`~iamg_forecast.forecast`).
    seed : int
        Base seed; each fit's seed is derived from it, the case, the date and the variant,
        so a rerun reproduces every number.
    directions : bool
        Also measure each seen fact's own effect on its date (two fits per fact, one of
        them shared by the facts of the same day).
    ledger_dir : str or Path, optional
        Keep each case's ledger as ``<ledger_dir>/<case>.sqlite`` (default: in memory). An
        existing ledger is reused: recording the same forecast twice writes nothing.
    progress : bool
        Show a progress line per fit on stderr.

    Returns
    -------
    BacktestResult

    Examples
    --------
    >>> import iamg_forecast as iaf
    >>> res = iaf.backtest("formation_2014", draws=200, tune=200, chains=2)  # doctest: +SKIP
    >>> res.pooled  # doctest: +SKIP
    """
    if cases is None:
        cases = list_cases()
    if isinstance(cases, (str, Path, Case)):
        cases = [cases]
    loaded = [c if isinstance(c, Case) else load_case(c) for c in cases]
    if not loaded:
        raise ForecastError("no backtest cases given")
    sizes = {k: v for k, v in {"draws": draws, "tune": tune, "chains": chains}.items()
             if v is not None}
    tick = _progress(progress)
    results: dict[str, CaseResult] = {}
    replicates: list[dict[str, Any]] = []
    for case in loaded:
        if ledger_dir is not None:
            Path(ledger_dir).mkdir(parents=True, exist_ok=True)
            ledger = Ledger.open(Path(ledger_dir) / f"{case.name}.sqlite")
        else:
            ledger = Ledger.memory()
        res, rows = _run_case(case, sizes, seed, ledger, directions, tick)
        results[case.name] = res
        replicates += rows
    # the noise is pooled over every case of the run, per target
    noise = noise_table(pd.DataFrame(replicates, columns=["case", "as_of", "target",
                                                          "replicate"]))
    for res in results.values():
        res.directions = _judge(res.directions, noise)
    settings = {"seed": seed, "directions": directions, "noise_z": NOISE_Z,
                **{k: sizes.get(k) for k in ("draws", "tune", "chains")}}
    return BacktestResult(cases=results, settings=settings, noise=noise)


def _progress(show: bool) -> Callable[[], None]:
    if not show:
        return lambda: None
    import sys

    count = [0]

    def tick() -> None:
        count[0] += 1
        print(f"\rfits: {count[0]}", end="", file=sys.stderr, flush=True)

    return tick


# ---- plain-text tables ----------------------------------------------------------------------
def _md_cell(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        return "—" if not np.isfinite(v) else f"{v:.3f}"
    return str(v).replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def md_table(df: pd.DataFrame, index: bool = True) -> str:
    """A DataFrame as a GitHub Markdown table (floats to three decimals).

    Examples
    --------
    >>> print(md_table(pd.DataFrame({"a": [1.0], "b": ["x"]}), index=False))
    | a | b |
    |---|---|
    | 1.000 | x |
    """
    if df is None or len(df) == 0:
        return "(none)"
    df = df.reset_index() if index else df
    lines = ["| " + " | ".join(str(c) for c in df.columns) + " |",
             "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in df.to_numpy()]
    return "\n".join(lines)


def to_markdown(res: BacktestResult) -> str:
    """The backtest's result tables as Markdown: what ``iamg-forecast backtest`` prints."""
    s = res.settings
    parts = [f"Settings: draws {s['draws'] or 'default'}, tune {s['tune'] or 'default'}, "
             f"chains {s['chains'] or 'default'}, seed {s['seed']}, noise z {s['noise_z']}.",
             "", "Pooled over the formation cases (log score: -ln p of what happened; "
             "Brier over the case's roles; lower is better):", "", md_table(res.pooled), "",
             "Mean log score by case:", "", md_table(res.by_case), "",
             "Expected directions (a move beyond noise counts):", "",
             md_table(res.direction_summary, index=False), "",
             "Noise: SD of the difference between two fits of the same data:", "",
             md_table(res.noise), ""]
    g = res.gates
    gates = g.groupby("case").agg(fits=("reliable", "size"), passed=("reliable", "sum"))
    parts += ["Diagnostic gates per case:", "", md_table(gates), ""]
    failed = g[~g["reliable"].astype(bool)]
    if len(failed):
        parts += ["Forecasts that failed their gates:", "",
                  md_table(failed[["case", "variant", "as_of", "problems"]], index=False), ""]
    for name, r in res.cases.items():
        if r.case.info.kind == "count" and len(r.latents):
            lat = r.latents[r.latents["latent"].isin(sorted(EXPECTABLE))]
            wide = lat.pivot(index="as_of", columns="latent", values="mean")
            parts += [f"{name}: posterior mean of the latents the counts load on, in each "
                      "as-of month:", "", md_table(wide), ""]
    return "\n".join(parts)

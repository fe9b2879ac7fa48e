"""Forecasts: outcome probabilities by a horizon, with queries, what-if, attribution, signposts.

A :class:`Forecast` keeps the posterior draws of the latent paths, indicator predictors and
outcome hazards, optional importance log-weights (after a what-if), the evidence it used, its
diagnostics and provenance. Every probability it reports is recomputed from those draws by the
same functions that define the model's likelihood (:mod:`iamg_forecast.likelihood`). Its
settings are checked by :mod:`iamg_forecast.forecast_settings`, and it is saved and loaded by
:mod:`iamg_forecast.saved_forecast`.

Size: one class, ``Forecast``, whose queries all read the same draws and weights.
"""

from __future__ import annotations

import datetime as dt
import html
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from iamg_forecast import defaults
from iamg_forecast.diagnostics import Diagnostics, diagnose
from iamg_forecast.errors import ForecastError, short
from iamg_forecast.evidence.cells import evidence_hash, usable_items
from iamg_forecast.evidence.items import Evidence, check_against_spec
from iamg_forecast.forecast_settings import (
    check_model_args,
    check_seed,
    check_sizes,
    date_setting,
    forecast_dates,
)
from iamg_forecast.inference import (
    POSTERIOR_VARS,
    package_versions,
    psis_log_weights,
    sample_posterior,
    weighted_quantiles,
)
from iamg_forecast.kinds import get_kind, report_predictive, tail_probability
from iamg_forecast.language import term as estimative_term
from iamg_forecast.likelihood import NP
from iamg_forecast.model import PARAMETER_BLOCKS, ScenarioModel
from iamg_forecast.priorcheck import prior_outcome_probs
from iamg_forecast.saved_forecast import (
    GATE_STATS,
    SCHEMA_VERSION,
    SavedForecast,
    load_saved,
    write_saved,
)
from iamg_forecast.spec import Spec, month_end

__all__ = ["Forecast", "forecast", "OutcomeResult", "Knowledge", "SCHEMA_VERSION",
           "apply_resolutions"]


@dataclass(frozen=True)
class OutcomeResult:
    """One outcome's probability by the horizon: mean, intervals and the per-draw values."""

    outcome: str
    question: str
    p: float
    lo80: float
    hi80: float
    lo95: float
    hi95: float
    term: str
    draws: np.ndarray = field(repr=False)

    def _repr_html_(self) -> str:
        return (f"<b>{html.escape(self.outcome)}</b>: {self.p:.1%} ({html.escape(self.term)}); "
                f"80% interval {self.lo80:.1%}–{self.hi80:.1%}")


def _items_of(log: Any) -> list[Evidence]:
    if log is None:
        return []
    if hasattr(log, "current"):
        return list(log.current())
    items = list(log)
    bad = [type(x).__name__ for x in items if not isinstance(x, Evidence)]
    if bad:
        raise ForecastError(f"evidence must be Evidence items or an EvidenceLog, got {bad[0]}")
    return items


def _validate_items(spec: Spec, items: Sequence[Evidence]) -> None:
    from iamg_forecast.errors import EvidenceError

    problems = [p for it in items for p in check_against_spec(it, spec)]
    if problems:
        raise EvidenceError(problems)


# How ``as_of`` was set (``provenance["as_of_rule"]``), in words a reader sees beside the date.
AS_OF_GIVEN = "given"
AS_OF_LATEST = "the newest evidence"
AS_OF_START = "the scenario start (no evidence)"


@dataclass(frozen=True)
class Knowledge:
    """What a forecast knows and how fresh it is (see :meth:`Forecast.knowledge`).

    Attributes
    ----------
    as_of : date
        The knowledge date.
    as_of_rule : str
        How it was set: ``"given"``, ``"the newest evidence"``, ``"the scenario start (no
        evidence)"`` (or ``"unknown"`` for saves that did not record it).
    newest_evidence : date or None
        Date of the newest item used.
    reference : date
        The date the evidence's age is measured against: ``as_of`` when it was given, else the
        day the forecast was made.
    gap_days : int or None
        Days from the newest evidence to ``reference`` (None without evidence).
    max_age_days : int
        The threshold.
    stale : bool
        True when ``gap_days`` exceeds ``max_age_days`` (or there is no evidence).
    unmonitored : dict of str to date or None
        Indicators with no report within ``max_age_days`` before ``reference``, with the date
        of their last report (None: never).
    after_as_of : int
        Items of the log dated after ``as_of``: not used by this forecast.
    """

    as_of: dt.date
    as_of_rule: str
    newest_evidence: dt.date | None
    reference: dt.date
    gap_days: int | None
    max_age_days: int
    stale: bool
    unmonitored: dict[str, dt.date | None]
    after_as_of: int = 0

    @property
    def statement(self) -> str:
        """One sentence: the knowledge date and where it comes from (and how many items of
        the log it leaves out for being dated later).
        """
        rule = "" if self.as_of_rule == AS_OF_GIVEN else f" (set to {self.as_of_rule}"
        if rule:
            rule += "; pass as_of / --as-of to choose it)"
        newest = (f"; newest evidence {self.newest_evidence}" if self.newest_evidence
                  and self.newest_evidence != self.as_of else "")
        later = (f"; {self.after_as_of} item(s) dated after it are not used"
                 if self.after_as_of else "")
        return f"Knowledge date {self.as_of}{rule}{newest}{later}."

    @property
    def warning(self) -> str | None:
        """The staleness warning, or None when the evidence is fresh enough."""
        if not self.stale:
            return None
        names = list(self.unmonitored)
        shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        if self.newest_evidence is None:
            head = "STALE: no evidence at all; every probability is the prior's."
        else:
            against = ("the knowledge date" if self.as_of_rule == AS_OF_GIVEN
                       else "the day the forecast was made")
            head = (f"STALE: the newest evidence ({self.newest_evidence}) is {self.gap_days} "
                    f"days older than {against} ({self.reference}); the threshold is "
                    f"{self.max_age_days} days.")
            if self.as_of_rule == AS_OF_GIVEN:
                head += (" Months without evidence count as \"nothing reported\" and outcomes"
                         " not logged count as not happened.")
            else:
                head += (" The forecast is as of the newest evidence: anything after it is "
                         "unknown to the model.")
        tail = (f" Not reported in the last {self.max_age_days} days: {shown}." if names
                else "")
        return head + tail

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields plus ``statement`` and ``warning``."""
        return {"as_of": str(self.as_of), "as_of_rule": self.as_of_rule,
                "newest_evidence": None if self.newest_evidence is None
                else str(self.newest_evidence),
                "reference": str(self.reference), "gap_days": self.gap_days,
                "max_age_days": self.max_age_days, "stale": self.stale,
                "unmonitored": {k: None if v is None else str(v)
                                for k, v in self.unmonitored.items()},
                "after_as_of": self.after_as_of,
                "statement": self.statement, "warning": self.warning}


# Data slots that say what is known of the outcomes (as opposed to indicator reports).
_OUTCOME_KEYS = ("event_month", "group_month", "group_choice", "group_state", "hist_row",
                 "hist_month", "hist_sign", "hist_on", "choice_group", "choice_month",
                 "choice_index", "choice_on", "obs_through")


def _check_bool(value: Any, name: str) -> None:
    """Refuse truthy strings and numbers where a yes/no is meant ("no" is truthy)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")


def forecast(model: ScenarioModel, log: Any = None, *, as_of: Any = None, horizon: Any = None,
             seed: int | None = None, draws: int | None = None, chains: int | None = None,
             tune: int | None = None, progress: bool = False,
             language: str = "icd203") -> Forecast:
    """Fit the model to the evidence known on ``as_of`` and forecast the outcomes by ``horizon``.

    Parameters
    ----------
    model : ScenarioModel
        From :func:`iamg_forecast.load_model` (optionally with :meth:`ScenarioModel.do`).
    log : EvidenceLog or iterable of Evidence, optional
        The evidence. Items dated after ``as_of`` are ignored.
    as_of : date or ISO string, optional
        The forecast's knowledge date; defaults to the latest evidence date (the rule used is
        recorded as ``provenance["as_of_rule"]``; :meth:`Forecast.knowledge` warns when the
        newest evidence is old).
    horizon : date or ISO string, optional
        Outcomes are "by this date"; defaults to the spec's ``default_horizon``.
    seed : int, optional
        Sampler seed; a random one is drawn and recorded when omitted.
    draws, chains, tune : int, optional
        Defaults from :func:`iamg_forecast.defaults.sampling_defaults` (environment overrides
        ``IAMG_DRAWS``, ``IAMG_CHAINS``, ``IAMG_TUNE``).
    progress : bool
        Show nutpie's progress bar.
    language : {"icd203", "phia"}
        Estimative language of the terms.

    Returns
    -------
    Forecast

    Examples
    --------
    >>> import iamg_forecast as iaf
    >>> fc = iaf.forecast(iaf.load_model(), [], seed=1, draws=50, tune=50,
    ...                   chains=2)  # doctest: +SKIP
    >>> fc.table()[["outcome", "p", "term"]]  # doctest: +SKIP
    """
    check_model_args(model, language)
    items = _items_of(log)
    _validate_items(model.spec, items)
    as_of_d, hz = forecast_dates(model.spec, items, as_of, horizon)
    sizes = {**defaults.sampling_defaults(),
             **check_sizes(draws=draws, tune=tune, chains=chains)}
    draws, tune, chains = sizes["draws"], sizes["tune"], sizes["chains"]
    seed = int(secrets.randbits(31)) if seed is None else check_seed(seed)
    data = model.data(items, as_of_d)
    idata = sample_posterior(model, data, seed=seed, draws=draws, tune=tune, chains=chains,
                             progress=progress)
    rule = AS_OF_GIVEN if as_of is not None else (
        AS_OF_LATEST if usable_items(items) else AS_OF_START)
    return Forecast._from_fit(model, idata, items, as_of_d, hz, seed,
                              {"draws": draws, "tune": tune, "chains": chains}, language,
                              as_of_rule=rule)


@dataclass(frozen=True, eq=False)
class Forecast:
    """Posterior forecast of every outcome by a horizon. Create with :func:`forecast`.

    Attributes
    ----------
    model : ScenarioModel
    draws : dict of ndarray
        ``latent_state`` (chain, draw, latent, month), ``indicator_eta`` (chain, draw,
        indicator, month), ``hazard_logit`` (chain, draw, hazard, month).
    items : tuple of Evidence
        Every item given (including ones after ``as_of``; those are ignored).
    as_of, horizon : date
    log_weights : ndarray or None
        Normalised PSIS log-weights (chain, draw) after a what-if; None for a plain fit.
    diagnostics : Diagnostics
    provenance : dict
    path : str
        ``"fit"``, ``"psis"`` (what-if by reweighting) or ``"refit"``.
    pareto_k : dict
        Pareto k per what-if item (empty for a plain fit).
    """

    model: ScenarioModel
    draws: dict[str, np.ndarray] = field(repr=False)
    items: tuple[Evidence, ...]
    as_of: dt.date
    horizon: dt.date
    seed: int
    sizes: dict[str, int]
    diagnostics: Diagnostics
    provenance: dict[str, Any]
    log_weights: np.ndarray | None = field(default=None, repr=False)
    path: str = "fit"
    pareto_k: dict[str, float] = field(default_factory=dict)
    language: str = "icd203"
    idata: Any = field(default=None, repr=False)
    # parameter blocks and the sample stats the gates read (kept so that a save can be
    # re-checked on load); empty for forecasts built without them
    gate_data: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    as_of_rule: str = AS_OF_GIVEN

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def _from_fit(cls, model: ScenarioModel, idata, items, as_of, horizon, seed, sizes,
                  language, path: str = "fit", pareto_k=None,
                  as_of_rule: str = AS_OF_GIVEN) -> Forecast:
        post = idata["posterior"].to_dataset()
        draws = {k: np.asarray(post[k].values) for k in POSTERIOR_VARS}
        diag = diagnose(idata, model.spec.month_index(horizon))
        stats = idata["sample_stats"].to_dataset()
        gate_data = {k: np.asarray(post[k].values) for k in PARAMETER_BLOCKS if k in post}
        gate_data.update({k: np.asarray(stats[k].values) for k in GATE_STATS})
        fc = cls(model=model, draws=draws, items=tuple(items), as_of=as_of, horizon=horizon,
                 seed=seed, sizes=dict(sizes), diagnostics=diag, provenance={}, path=path,
                 pareto_k=dict(pareto_k or {}), language=language, idata=idata,
                 gate_data=gate_data, as_of_rule=as_of_rule)
        return fc._with_provenance()

    def _with_provenance(self) -> Forecast:
        prov = {
            "schema_version": SCHEMA_VERSION,
            "spec_hash": self.model.spec.hash,
            "evidence_hash": evidence_hash(self.items, self.as_of),
            "n_items": len(self.usable),
            "as_of": self.as_of.isoformat(),
            "as_of_rule": self.as_of_rule,
            "horizon": self.horizon.isoformat(),
            "seed": self.seed,
            **self.sizes,
            "interventions": [vars(iv) for iv in self.model.interventions],
            "path": self.path,
            # a PSIS answer reuses the draws of the fit it reweights, and their backend
            "sampler_backend": ((self.idata.attrs.get("sampler_backend")
                                 if self.idata is not None else None)
                                or self.provenance.get("sampler_backend", "unknown")),
            # why the PyMC graph was sampled when the kernel was asked for (None: it was not)
            "sampler_backend_reason": ((self.idata.attrs.get("sampler_backend_reason")
                                        if self.idata is not None else None)
                                       or self.provenance.get("sampler_backend_reason")),
            # the draws per chain sampled: more than asked when the gates failed at full size
            "draws_sampled": ((self.idata.attrs.get("draws_sampled")
                               if self.idata is not None else None)
                              or self.provenance.get("draws_sampled")),
            # NUTS's target acceptance: the default, or the retry's after divergences
            "target_accept": ((self.idata.attrs.get("target_accept")
                               if self.idata is not None else None)
                              or self.provenance.get("target_accept")),
            # the fit whose draws these are: a what-if reweights them to its own evidence
            **self._fit_origin(),
            "versions": package_versions(),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        }
        object.__setattr__(self, "provenance", prov)
        return self

    def _fit_origin(self) -> dict[str, Any]:
        """``fit_as_of`` and ``fit_n_items``: the evidence the draws were sampled under (the
        first ``fit_n_items`` items, known on ``fit_as_of``).
        """
        if self.path == "psis" and "fit_as_of" in self.provenance:
            return {k: self.provenance[k] for k in ("fit_as_of", "fit_n_items")}
        return {"fit_as_of": self.as_of.isoformat(), "fit_n_items": len(self.items)}

    def knowledge(self, max_age_days: int | None = None) -> Knowledge:
        """The knowledge date, where it comes from, and whether the evidence is stale.

        Parameters
        ----------
        max_age_days : int, optional
            Warn when the newest evidence is older than this many days before ``as_of`` (when
            ``as_of`` was given) or before the day the forecast was made (when ``as_of``
            defaulted to the newest evidence). Default
            :func:`iamg_forecast.defaults.stale_after_days` (45, ``IAMG_STALE_DAYS``).

        Returns
        -------
        Knowledge
            ``statement`` and ``warning`` are the sentences the CLI and reports print.
        """
        limit = defaults.stale_after_days() if max_age_days is None else int(max_age_days)
        if limit < 0:
            raise ForecastError(f"max_age_days must be >= 0, got {max_age_days!r}")
        used = [e for e in self.usable if e.indicator in self.spec.indicator_names]
        outcomes = [e for e in self.usable if e.indicator not in self.spec.indicator_names]
        newest = max((e.date for e in used + outcomes), default=None)
        if self.as_of_rule == AS_OF_GIVEN:
            ref = self.as_of
        else:
            created = str(self.provenance.get("created") or "")[:10]
            ref = dt.date.fromisoformat(created) if created else dt.date.today()
            ref = max(ref, self.as_of)
        last: dict[str, dt.date] = {}
        for e in used:
            last[e.indicator] = max(last.get(e.indicator, e.date), e.date)
        since = ref - dt.timedelta(days=limit)
        unmonitored = {n: last.get(n) for n in self.spec.indicator_names
                       if last.get(n) is None or last[n] < since}
        gap = None if newest is None else (ref - newest).days
        return Knowledge(as_of=self.as_of, as_of_rule=self.as_of_rule, newest_evidence=newest,
                         reference=ref, gap_days=gap, max_age_days=limit,
                         stale=gap is None or gap > limit, unmonitored=unmonitored,
                         after_as_of=sum(e.date > self.as_of for e in self.items))

    @cached_property
    def prior_p(self) -> dict[str, float]:
        """Each outcome's probability by the horizon under the prior alone (for skill scores)."""
        return prior_outcome_probs(self.model, self.as_of, self.horizon)

    # ---- basic views --------------------------------------------------------------------
    @property
    def spec(self) -> Spec:
        """The scenario spec."""
        return self.model.spec

    @property
    def ok(self) -> bool:
        """True when every diagnostic gate passes."""
        return self.diagnostics.ok

    @cached_property
    def usable(self) -> list[Evidence]:
        """Evidence that entered the model (known on ``as_of``, duplicates removed)."""
        return usable_items(self.items, self.as_of)

    @cached_property
    def data(self) -> dict[str, np.ndarray]:
        """The model data arrays this forecast conditions on."""
        return self.model.data(self.items, self.as_of)

    @property
    def weights(self) -> np.ndarray:
        """Normalised importance weights, flat over (chain, draw)."""
        shape = self.draws["hazard_logit"].shape[:2]
        if self.log_weights is None:
            return np.full(int(np.prod(shape)), 1.0 / np.prod(shape))
        return np.exp(self.log_weights).reshape(-1)

    def _flat(self, name: str) -> np.ndarray:
        a = self.draws[name]
        return a.reshape((-1,) + a.shape[2:])

    def outcome_draws(self, horizon: Any = None, data: dict | None = None) -> np.ndarray:
        """Per-draw probability of each outcome by ``horizon`` (flat draws × outcome)."""
        hz_date = date_setting(horizon, "horizon") or self.horizon
        data = self.data if data is None else data
        h_idx = self.spec.month_index(hz_date)
        if not 0 <= h_idx < len(self.spec.months):
            raise ForecastError(f"horizon {hz_date} is outside the model's months "
                                f"{self.spec.months[0]} to {self.spec.months[-1]}")
        _, cum = self._outcome_terms(data)
        p = cum[..., h_idx].copy()
        return apply_resolutions(self.spec, p, data, h_idx)

    def _outcome_terms(self, data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`ScenarioModel._outcome_terms` over the stored draws, cached by what ``data``
        says of the outcomes (the only slots it reads), so queries that change only evidence
        cells (attribution, surprise, the curve's months) compute it once.
        """
        key = b"".join(np.ascontiguousarray(data[k]).tobytes() for k in _OUTCOME_KEYS)
        cache = self.__dict__.setdefault("_outcome_cache", {})
        if key not in cache:
            if len(cache) >= 8:
                cache.pop(next(iter(cache)))
            ll, cum = self.model._outcome_terms(self._flat("hazard_logit"), data, ops=NP)
            cache[key] = (np.asarray(ll), np.asarray(cum))
        return cache[key]

    def outcome_curve(self) -> pd.DataFrame:
        """Probability of each outcome by every month-end from ``as_of`` to the horizon."""
        months = [m for m in self.spec.months
                  if self.spec.month_index(f"{m}-01") > int(self.data["obs_through"])
                  and f"{m}-01" <= self.horizon.isoformat()]
        rows = []
        w = self.weights
        for m in months:
            p = self.outcome_draws(month_end(m)) if month_end(m) > self.as_of else None
            if p is None:
                continue
            for j, o in enumerate(self.spec.outcome_names):
                rows.append({"month": m, "outcome": o, "p": float(w @ p[:, j])})
        return pd.DataFrame(rows)

    # ---- tables -------------------------------------------------------------------------
    def _summaries(self, p: np.ndarray, w: np.ndarray | None = None) -> list[OutcomeResult]:
        w = self.weights if w is None else w
        qs = weighted_quantiles(p, w, [0.1, 0.9, 0.025, 0.975], axis=0)
        out = []
        for j, name in enumerate(self.spec.outcome_names):
            # weights sum to one only up to rounding: keep the mean a probability
            mean = float(np.clip(w @ p[:, j], 0.0, 1.0))
            out.append(OutcomeResult(
                outcome=name, question=self.spec.outcome(name).question, p=mean,
                lo80=float(qs[0, j]), hi80=float(qs[1, j]), lo95=float(qs[2, j]),
                hi95=float(qs[3, j]), term=estimative_term(mean, self.language),
                draws=p[:, j]))
        return out

    @cached_property
    def _results(self) -> dict[str, OutcomeResult]:
        return {r.outcome: r for r in self._summaries(self.outcome_draws())}

    def __getitem__(self, outcome: str) -> OutcomeResult:
        """Result for one outcome, e.g. ``fc["sudani_return"].p``."""
        if not isinstance(outcome, str):
            raise KeyError(f"outcomes are named by strings, got {outcome!r} "
                           f"({type(outcome).__name__}); one of {list(self._results)}")
        if outcome not in self._results:
            import difflib

            hint = difflib.get_close_matches(outcome, list(self._results), n=1)
            raise KeyError(f"unknown outcome {outcome!r}" + (
                f"; did you mean {hint[0]!r}?" if hint else ""))
        return self._results[outcome]

    def table(self) -> pd.DataFrame:
        """One row per outcome: probability by the horizon, 80%/95% intervals, ICD 203 term.

        ``reliable`` repeats the diagnostic gate on every row (and in ``attrs``) so that a
        table copied out of context still says whether it can be trusted.
        """
        df = pd.DataFrame([{k: v for k, v in vars(r).items() if k != "draws"}
                           for r in self._results.values()])
        df["reliable"] = self.ok
        df.attrs.update(as_of=self.as_of.isoformat(), horizon=self.horizon.isoformat(),
                        diagnostics_ok=self.ok, problems=self.diagnostics.problems,
                        path=self.path)
        return df

    def latents(self) -> xr.Dataset:
        """Posterior mean and 80%/95% intervals of every latent over months."""
        x = self._flat("latent_state")
        w = self.weights
        q = weighted_quantiles(x, w, [0.1, 0.9, 0.025, 0.975], axis=0)
        dims = ("latent", "month")
        coords = {"latent": self.spec.latent_order, "month": self.spec.months}
        return xr.Dataset({
            "mean": (dims, np.tensordot(w, x, axes=1)),
            "lo80": (dims, q[0]), "hi80": (dims, q[1]),
            "lo95": (dims, q[2]), "hi95": (dims, q[3]),
        }, coords=coords)

    # ---- likelihood of evidence under the stored draws ---------------------------------
    def _loglik(self, data: dict[str, np.ndarray], cells: np.ndarray | None = None,
                outcomes: bool = False) -> np.ndarray:
        """Log-likelihood per flat draw of ``data`` (evidence cells, optionally outcomes)."""
        return self.model.loglik(self._flat("indicator_eta"), self._flat("hazard_logit"), data,
                                 cells=cells, outcomes=outcomes)

    def _outcome_loglik(self, data) -> np.ndarray:
        return self._outcome_terms(data)[0]

    def _log_ratio(self, new: dict[str, np.ndarray], old: dict[str, np.ndarray]) -> np.ndarray:
        """Log p(new data | draw) - log p(old data | draw), computed on changed cells only."""
        changed = ((new["ind_observed"] != old["ind_observed"])
                   | (new["ind_value"] != old["ind_value"])
                   | (new["ind_rel"] != old["ind_rel"]))
        lr = self._loglik(new, changed) - self._loglik(old, changed)
        if any(not np.array_equal(new[k], old[k]) for k in _OUTCOME_KEYS):
            lr = lr + self._outcome_loglik(new) - self._outcome_loglik(old)
        return lr

    def _reweighted(self, new_data: dict, base_lw: np.ndarray | None = None,
                    log_ratio: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        lr = self._log_ratio(new_data, self.data) if log_ratio is None else log_ratio
        base = np.log(self.weights) if base_lw is None else base_lw.reshape(-1)
        shape = self.draws["hazard_logit"].shape[:2]
        lw, k = psis_log_weights((lr + base + np.log(self.weights.size)).reshape(shape))
        return lw, k

    # ---- what-if ------------------------------------------------------------------------
    def what_if(self, *items: Evidence, refit: str = "auto", seed: int | None = None
                ) -> Forecast:
        """Absorb new evidence by Pareto-smoothed importance sampling over the stored draws.

        Parameters
        ----------
        *items : Evidence
            New items (their dates may move ``as_of`` forward).
        refit : {"auto", "never", "always"}
            ``"auto"`` refits with nutpie when Pareto k > 0.7 (the returned forecast's ``path``
            says which way it went).
        seed : int, optional
            Seed of a refit (defaults to this forecast's seed).

        Returns
        -------
        Forecast
            ``path`` is ``"psis"`` or ``"refit"``; ``pareto_k`` gives k per item and overall.
        """
        items = tuple(_items_of(items))
        _validate_items(self.spec, items)
        if refit not in ("auto", "never", "always"):
            raise ValueError(f"refit must be 'auto', 'never' or 'always', got {refit!r}")
        all_items = self.items + tuple(items)
        as_of = max([self.as_of] + [it.date for it in items])
        if as_of >= self.horizon:
            raise ForecastError(f"new evidence dated {as_of} is not before the horizon "
                                f"{self.horizon}")
        new_data = self.model.data(all_items, as_of)
        lw, k_all = self._reweighted(new_data)
        ks = {"all": k_all}
        for it in items:
            if len(items) == 1:
                ks[it.id] = k_all
                continue
            one = self.model.data(self.items + (it,), max(self.as_of, it.date))
            ks[it.id] = self._reweighted(one)[1]
        if refit == "always" or (refit == "auto" and k_all > defaults.PARETO_K_MAX):
            fc = forecast(self.model, all_items, as_of=as_of, horizon=self.horizon,
                          seed=self.seed if seed is None else seed, progress=False,
                          language=self.language, **self.sizes)
            return replace(fc, path="refit", pareto_k=ks,
                           as_of_rule=self.as_of_rule)._with_provenance()
        diag = replace(self.diagnostics, pareto_k=k_all, method="nuts+psis")
        out = replace(self, items=all_items, as_of=as_of, log_weights=lw, path="psis",
                      pareto_k=ks, diagnostics=diag)
        return out._with_provenance()

    # ---- queries ------------------------------------------------------------------------
    def given(self, outcome: str, happened: bool = True) -> pd.DataFrame:
        """Probabilities of the other outcomes given that ``outcome`` happens (or not) by the
        horizon. Draws are reweighted by the probability of the condition in each draw.
        """
        _check_bool(happened, "happened")
        j = self.spec.outcome_names.index(self[outcome].outcome)
        p = self.outcome_draws()
        cond = p[:, j] if happened else 1.0 - p[:, j]
        w = self.weights * cond
        total = w.sum()
        if total <= 0:
            raise ForecastError(f"the condition {outcome}={happened} has probability 0")
        w = w / total
        res = []
        members = self._group_of(outcome)
        for r in self._summaries(p, w):
            pr = r.p
            if r.outcome == outcome:
                pr = 1.0 if happened else 0.0
            elif happened and r.outcome in members:
                pr = 0.0
            res.append({"outcome": r.outcome, "p_given": pr, "p": self[r.outcome].p,
                        "change": pr - self[r.outcome].p})
        df = pd.DataFrame(res)
        df.attrs["condition"] = f"{outcome} {'happens' if happened else 'does not happen'}"
        return df

    def _group_of(self, outcome: str) -> set[str]:
        o = self.spec.outcome(outcome)
        return set(self.spec.group_members(o.group)) if o.group else {outcome}

    def joint(self, outcomes: Sequence[str] | dict[str, bool]) -> float:
        """Probability that every listed outcome happens (or, with a dict, happens/does not).

        Outcomes are independent given a latent path, except members of one competing group,
        which exclude each other.
        """
        if isinstance(outcomes, str):
            raise TypeError(f"joint() takes a list of outcome names or a dict of outcome -> "
                            f"bool, got the string {outcomes!r}; use [{outcomes!r}]")
        spec = outcomes if isinstance(outcomes, dict) else dict.fromkeys(outcomes, True)
        for name, want in spec.items():
            _check_bool(want, f"joint()[{name!r}]")
        p = self.outcome_draws()
        prob = np.ones(p.shape[0])
        groups: dict[str, list[tuple[str, bool]]] = {}
        for name, want in spec.items():
            j = self.spec.outcome_names.index(self[name].outcome)
            o = self.spec.outcome(name)
            if o.group:
                groups.setdefault(o.group, []).append((name, bool(want)))
                continue
            prob = prob * (p[:, j] if want else 1.0 - p[:, j])
        for members in groups.values():
            yes = [n for n, w in members if w]
            no = [n for n, w in members if not w]
            if len(yes) > 1:
                return 0.0
            if yes:
                if yes[0] in no:
                    return 0.0
                prob = prob * p[:, self.spec.outcome_names.index(yes[0])]
            else:
                idx = [self.spec.outcome_names.index(n) for n in no]
                prob = prob * (1.0 - p[:, idx].sum(axis=1))
        return float(self.weights @ prob)

    # ---- attribution and comparison -----------------------------------------------------
    def attribution(self, refit: bool = True, *, form: str = "wide") -> pd.DataFrame:
        """For each evidence item: how much each outcome's probability would change without it.

        Leave-one-out by PSIS over the stored draws; an item with Pareto k > 0.7 is refitted
        without it when ``refit`` is True (``method`` says which). A shift is the forecast
        minus the forecast without the item (a probability difference; multiply by 100 for
        percentage points), so a positive shift means the item raised it. ``reliable`` is
        False for an item whose reweighting has k > 0.7 (not refitted) or whose refit failed
        its diagnostics: its shifts should not be read as the item's effect.

        Parameters
        ----------
        refit : bool, default True
            Refit without an item whose reweighting is unreliable.
        form : {"wide", "long"}
            ``"wide"`` (default): one row per item, sorted by its largest absolute shift
            (``largest_shift``), with the item's ``id, indicator, date, value, source, note``,
            one column per outcome, and ``pareto_k, method, reliable``. ``"long"``: one row per
            (item, outcome) with columns ``item, indicator, date, outcome, shift, pareto_k,
            method, reliable``.
        """
        if form not in ("wide", "long"):
            raise ValueError(f"form must be 'wide' or 'long', got {form!r}")
        long = self._attribution_long(refit)
        return long if form == "long" else self._attribution_wide(long)

    def _attribution_wide(self, long: pd.DataFrame) -> pd.DataFrame:
        names = self.spec.outcome_names
        cols = ["item", "indicator", "date", "value", "source", "note", "largest_shift",
                "largest_for", *names, "pareto_k", "method", "reliable"]
        if long.empty:
            return pd.DataFrame(columns=cols)
        wide = long.pivot(index="item", columns="outcome", values="shift")[names]
        meta = long.drop_duplicates("item").set_index("item")
        by_id = {e.id: e for e in self.usable}
        out = pd.DataFrame({"item": wide.index})
        out["indicator"] = [by_id[i].indicator for i in wide.index]
        out["date"] = [by_id[i].date for i in wide.index]
        out["value"] = [by_id[i].value for i in wide.index]
        out["source"] = [by_id[i].source for i in wide.index]
        out["note"] = [by_id[i].note or "" for i in wide.index]
        absmax = wide.abs().idxmax(axis=1)
        out["largest_for"] = absmax.to_numpy()
        out["largest_shift"] = [wide.loc[i, o] for i, o in absmax.items()]
        for o in names:
            out[o] = wide[o].to_numpy()
        for c in ("pareto_k", "method", "reliable"):
            out[c] = meta.loc[wide.index, c].to_numpy()
        out = out.reindex(out["largest_shift"].abs().sort_values(ascending=False,
                                                                  kind="stable").index)
        return out[cols].reset_index(drop=True)

    def _attribution_long(self, refit: bool) -> pd.DataFrame:
        base = self.outcome_draws()
        w = self.weights
        p_full = w @ base
        rows = []
        for it in self.usable:
            rest = tuple(x for x in self.items if x.id != it.id)
            data = self.model.data(rest, self.as_of)
            lw, k = self._reweighted(data)
            method, reliable = "psis", bool(k <= defaults.PARETO_K_MAX)
            if not reliable and refit:
                alt = forecast(self.model, rest, as_of=self.as_of, horizon=self.horizon,
                               seed=self.seed, language=self.language, **self.sizes)
                p_wo = np.array([alt[o].p for o in self.spec.outcome_names])
                method, reliable = "refit", alt.ok
            else:
                p_wo = np.exp(lw).reshape(-1) @ self.outcome_draws(data=data)
            for j, o in enumerate(self.spec.outcome_names):
                rows.append({"item": it.id, "indicator": it.indicator, "date": it.date,
                             "outcome": o, "shift": float(p_full[j] - p_wo[j]),
                             "pareto_k": k, "method": method, "reliable": reliable})
        return pd.DataFrame(rows)

    def compare(self, other: Forecast) -> dict[str, pd.DataFrame]:
        """What changed from ``other`` to this forecast: items added/removed, outcomes moved."""
        if not isinstance(other, Forecast):
            raise TypeError(f"compare() takes another Forecast, got {type(other).__name__}")
        mine = {e.id: e for e in self.usable}
        theirs = {e.id: e for e in other.usable}
        added = [mine[i] for i in mine if i not in theirs]
        removed = [theirs[i] for i in theirs if i not in mine]
        t_new, t_old = self.table().set_index("outcome"), other.table().set_index("outcome")
        moved = pd.DataFrame({"p_before": t_old["p"], "p_after": t_new["p"]})
        moved["change"] = moved["p_after"] - moved["p_before"]
        cols = ["id", "indicator", "date", "value", "source", "reliability"]
        added_df = pd.DataFrame([{"id": e.id, **e.content()} for e in added], columns=cols)
        removed_df = pd.DataFrame([{"id": e.id, **e.content()} for e in removed], columns=cols)
        return {"added": added_df, "removed": removed_df,
                "outcomes": moved.reset_index()}

    # ---- signposts and surprise ----------------------------------------------------------
    def _with_report(self, item: Evidence) -> dict[str, np.ndarray]:
        """Return this forecast's data plus one report, possibly dated after ``as_of``.

        The report enters the likelihood; what is known of the outcomes (events logged, months
        observed) stays as of ``as_of``, so the difference to this forecast is the report's
        effect alone, not the passing of time.
        """
        data = self.model.data([*self.usable, item], max(self.as_of, item.date))
        return {**data, **{k: self.data[k] for k in _OUTCOME_KEYS}}

    def signposts(self, months: int = 1, reliability: str = defaults.SIGNPOST_RELIABILITY,
                  *, form: str = "wide") -> pd.DataFrame:
        """Indicators not yet seen, ranked by how much a report next month would move outcomes.

        ``form="wide"`` (default): one row per (indicator, month), ranked (``rank``) by the
        expected absolute shift, with the indicator's ``description``, ``p_reported``, the most
        affected outcome (``top_outcome``, ``top_if_reported``, ``top_if_absent``) and one
        column per outcome and case (``<outcome> if reported``, ``<outcome> if absent``).
        ``form="long"``: one row per (indicator, month, outcome), described below. Shifts are
        probability differences (multiply by 100 for percentage points).
        """
        if form not in ("wide", "long"):
            raise ValueError(f"form must be 'wide' or 'long', got {form!r}")
        long = self._signposts_long(months, reliability)
        return long if form == "long" else self._signposts_wide(long)

    def _signposts_wide(self, long: pd.DataFrame) -> pd.DataFrame:
        names = self.spec.outcome_names
        cols = (["rank", "indicator", "description", "month", "p_reported",
                 "expected_abs_shift", "top_outcome", "top_if_reported", "top_if_absent"]
                + [f"{o} if {c}" for o in names for c in ("reported", "absent")]
                + ["pareto_k"])
        if long.empty:
            return pd.DataFrame(columns=cols)
        rows = []
        for (ind, month), g in long.groupby(["indicator", "month"], sort=False):
            g = g.set_index("outcome")
            top = g["expected_abs_shift"].idxmax()
            row = {"rank": int(g["rank"].iloc[0]), "indicator": ind,
                   "description": self.spec.indicator(ind).description, "month": month,
                   "p_reported": float(g["p_reported"].iloc[0]),
                   "expected_abs_shift": float(g["expected_abs_shift"].max()),
                   "top_outcome": top, "top_if_reported": float(g.loc[top, "shift_if_reported"]),
                   "top_if_absent": float(g.loc[top, "shift_if_absent"]),
                   "pareto_k": float(g["pareto_k"].max())}
            for o in names:
                row[f"{o} if reported"] = float(g.loc[o, "shift_if_reported"])
                row[f"{o} if absent"] = float(g.loc[o, "shift_if_absent"])
            rows.append(row)
        df = pd.DataFrame(rows, columns=cols)
        return df.sort_values(["expected_abs_shift"], ascending=False,
                              kind="stable").reset_index(drop=True)

    def _signposts_long(self, months: int, reliability: str) -> pd.DataFrame:
        """Indicators not yet seen, ranked by how much a report next month would move outcomes.

        For each binary/count indicator and each of the next ``months`` months: the probability
        that a source graded ``reliability`` reports it (binary: the event; count: at least one
        event), and the shift of every outcome if it is reported or if it is monitored and found
        absent. Both come from the report model of the likelihood: the report is the complement
        of the monitored absence, so the probability-weighted shifts cancel (the forecast is a
        martingale) up to Pareto smoothing. Ranked by the expected absolute shift.

        A shift is the report's effect alone: the hypothetical report enters the likelihood
        while the outcomes stay as known on ``as_of`` (:meth:`what_if` also moves ``as_of``).
        ``pareto_k`` is the larger Pareto k of the two reweightings; above 0.7 the shifts of
        that row are unreliable.
        """
        if isinstance(months, bool) or not isinstance(months, int | np.integer) or not (
                1 <= months <= len(self.spec.months)):
            raise ForecastError(f"months must be an integer from 1 to {len(self.spec.months)}, "
                                f"got {short(months)}")
        try:
            self.spec.reliability.probability(reliability if isinstance(reliability, str)
                                              else "")
        except ValueError:
            raise ForecastError("reliability must be an Admiralty code: a letter A-F then a "
                                f"digit 1-6 (e.g. 'B2'), got {short(reliability)}") from None
        start = int(self.data["obs_through"]) + 1
        rows = []
        p_now = self.outcome_draws()   # the outcomes stay as known on ``as_of``
        base = np.array([self[o].p for o in self.spec.outcome_names])
        for m in range(start, min(start + months, len(self.spec.months))):
            month = self.spec.months[m]
            date = min(month_end(month), self.horizon - dt.timedelta(days=1))
            if date <= self.as_of:
                date = self.as_of
            for i, ind in enumerate(self.spec.indicators):
                if not get_kind(ind.kind).absence or self.data["ind_observed"][i, m] > 0:
                    continue
                # The report model of the likelihood gives, per draw, the probability that a
                # source graded ``reliability`` monitors the indicator and finds it absent; a
                # report (binary: the event; count: at least one) is the complement.
                absent = Evidence(indicator=ind.name, date=min(date, dt.date.today()), value=0,
                                  source="signpost", reliability=reliability,
                                  monitored_absent=True)
                data = self._with_report(absent)
                lr_absent = self._log_ratio(data, self.data)
                p_absent = np.exp(lr_absent)
                p_rep = 1.0 - float(self.weights @ p_absent)
                lr_rep = np.log(np.clip(1.0 - p_absent, np.finfo(float).tiny, None))
                shifts, ks = {}, []
                for label, lr in (("if_reported", lr_rep), ("if_absent", lr_absent)):
                    lw, k = self._reweighted(data, log_ratio=lr)
                    ks.append(k)
                    shifts[label] = np.exp(lw).reshape(-1) @ p_now
                for j, o in enumerate(self.spec.outcome_names):
                    up = float(shifts["if_reported"][j] - base[j])
                    down = float(shifts["if_absent"][j] - base[j])
                    rows.append({"indicator": ind.name, "month": month, "p_reported": p_rep,
                                 "outcome": o, "shift_if_reported": up,
                                 "shift_if_absent": down,
                                 "expected_abs_shift": p_rep * abs(up) + (1 - p_rep) * abs(down),
                                 "pareto_k": max(ks)})
        df = pd.DataFrame(rows)
        if df.empty:
            return df
        rank = df.groupby("indicator")["expected_abs_shift"].max().sort_values(ascending=False)
        df["rank"] = df["indicator"].map({n: r + 1 for r, n in enumerate(rank.index)})
        return df.sort_values(["rank", "expected_abs_shift"], ascending=[True, False]
                              ).reset_index(drop=True)

    def surprise(self, items: Iterable[Evidence] | None = None) -> pd.DataFrame:
        """Posterior-predictive tail probability of evidence items.

        With ``items`` given (new evidence), each is judged under this forecast. Without, each
        item already used is judged under the forecast without it (PSIS leave-one-out). Items
        with a tail probability below 0.05 are flagged: check the source or the model.
        ``pareto_k`` is the leave-one-out reweighting's k (NaN for new items, judged under the
        forecast's own weights); above 0.7 that row's tail probability is unreliable.
        """
        rows = []
        loo = items is None
        if not loo:
            if isinstance(items, Evidence | str | bytes) or not isinstance(items, Iterable):
                raise ForecastError("surprise() takes an iterable of Evidence items, got "
                                    f"{type(items).__name__}")
            items = _items_of(list(items))
            _validate_items(self.spec, items)
        for it in (self.usable if loo else list(items)):
            if it.indicator not in self.spec.indicator_names:
                continue
            k = float("nan")
            if loo:
                rest = tuple(x for x in self.items if x.id != it.id)
                lw, k = self._reweighted(self.model.data(rest, self.as_of))
                w = np.exp(lw).reshape(-1)
            else:
                w = self.weights
            tail = self._tail_probability(it, w)
            rows.append({"item": it.id, "indicator": it.indicator, "date": it.date,
                         "value": it.value, "reliability": it.reliability,
                         "tail_probability": tail,
                         "flag": tail < defaults.SURPRISE_ALPHA, "pareto_k": k})
        return pd.DataFrame(rows, columns=["item", "indicator", "date", "value", "reliability",
                                           "tail_probability", "flag", "pareto_k"])

    def _tail_probability(self, it: Evidence, w: np.ndarray) -> float:
        """The item's tail under the predictive of its kind's entry (:mod:`iamg_forecast.kinds`)."""
        i = self.spec.indicator_names.index(it.indicator)
        ind = self.spec.indicators[i]
        eta = self._flat("indicator_eta")[:, i, self.spec.month_index(it.date)]
        kind = get_kind(ind.kind)
        pred = report_predictive(kind, eta, kind.constants(ind),
                                 self.spec.reliability.probability(it.reliability))
        return tail_probability(pred, float(it.value), w)

    # ---- reports (the report layer renders; these are conveniences for notebooks) ----------
    def report(self, path: str | Path, *, ledger: Any = None, language: str | None = None,
               log: Any = None, stale_after_days: int | None = None) -> Path:
        """Write the self-contained HTML report to ``path`` (see :mod:`iamg_forecast.report`).

        With ``ledger`` (and ``log``, the evidence log) the report shows the change since the
        previous recorded forecast of the same questions, the items that caused it and the
        history of the recorded forecasts.
        """
        from iamg_forecast.report import write_html

        return write_html(self, path, ledger=ledger, language=language, log=log,
                          stale_after_days=stale_after_days)

    def to_markdown(self, *, ledger: Any = None, language: str | None = None,
                    log: Any = None, stale_after_days: int | None = None) -> str:
        """The report as Markdown (the same sections as :meth:`report`, without charts)."""
        from iamg_forecast.report import to_markdown

        return to_markdown(self, ledger=ledger, language=language, log=log,
                           stale_after_days=stale_after_days)

    def to_json(self, *, ledger: Any = None, language: str | None = None, log: Any = None,
                stale_after_days: int | None = None) -> str:
        """The report as JSON (versioned schema, see ``docs/report.md``)."""
        from iamg_forecast.report import to_json

        return to_json(self, ledger=ledger, language=language, log=log,
                       stale_after_days=stale_after_days)

    # ---- display and persistence --------------------------------------------------------
    def _repr_html_(self) -> str:
        t = self.table()
        banner = ("" if self.ok else
                  "<p style='color:#a00;font-weight:bold'>NOT RELIABLE: "
                  + html.escape("; ".join(self.diagnostics.problems)) + "</p>")
        rows = "".join(
            f"<tr><td>{html.escape(r.outcome)}</td><td>{r.p:.1%}</td>"
            f"<td>{html.escape(r.term)}</td><td>{r.lo80:.1%}–{r.hi80:.1%}</td></tr>"
            for r in t.itertuples())
        know = self.knowledge()
        stale = ("" if know.warning is None else
                 "<p style='color:#7a4b00;font-weight:bold'>" + html.escape(know.warning)
                 + "</p>")
        return (f"{banner}{stale}<p>Forecast as of {self.as_of} for {self.horizon} "
                f"({html.escape(self.path)}, {len(self.usable)} evidence items). "
                f"{html.escape(know.statement)}</p>"
                "<table><tr><th>outcome</th><th>p</th><th>term</th><th>80% interval</th></tr>"
                f"{rows}</table>")

    def __repr__(self) -> str:
        state = "reliable" if self.ok else "NOT reliable"
        know = self.knowledge()
        stale = "" if not know.stale else (
            f", STALE: newest evidence {know.gap_days} days old" if know.gap_days is not None
            else ", STALE: no evidence")
        return (f"Forecast(as_of={self.as_of}, horizon={self.horizon}, items={len(self.usable)},"
                f" path={self.path!r}, {state}{stale})")

    def save(self, path: str | Path) -> Path:
        """Save to a directory: ``draws.nc`` (netCDF), ``forecast.json``, a marker and a
        manifest of both files' SHA-256. No pickle (see :mod:`iamg_forecast.saved_forecast`).

        ``draws.nc`` holds the draws, the parameter blocks and the sample statistics the gates
        read, so that :meth:`load` recomputes the diagnostics instead of trusting them. The
        JSON holds the spec, the evidence, the provenance and a schema version. Writing goes
        to a temporary directory that is renamed at the end, so an interrupted save never
        leaves a half-written forecast (and the next save removes such leftovers). An existing
        ``path`` is replaced only when it is empty or holds a previous save (its marker,
        manifest and the files listed, nothing else); only those files are deleted.

        Raises
        ------
        ForecastError
            If ``path`` is a file or a link, a directory holding anything but a previous save,
            or the forecast lacks the sample statistics a load needs to re-check it.
        """
        return write_saved(path, SavedForecast(**{name: getattr(self, name)
                                                  for name in SavedForecast.field_names()}))

    @classmethod
    def load(cls, path: str | Path) -> Forecast:
        """Load a forecast saved by :meth:`save`, re-checking everything it says.

        Checks, in order: the manifest (every file present, nothing added, each file's
        SHA-256), the schema version and every field, that the stored spec and evidence have
        the hashes recorded in the provenance, that the provenance agrees with the rest
        (dates, sizes, path), that the draws are finite, have the shapes the spec and sizes
        imply and that the derived paths follow from the latent paths and parameters. The
        diagnostics (and with them the reliability verdict) are recomputed from the stored
        draws and sample statistics, the weights of a what-if from the evidence, and every
        probability from the draws: none is taken from the files. Any problem raises a
        :class:`ForecastError` naming the file and what does not match.
        """
        return load_saved(path, cls._from_saved)

    @classmethod
    def _from_saved(cls, saved: SavedForecast) -> Forecast:
        """The forecast a checked save holds; a what-if's weights recomputed from its evidence."""
        fc = cls(**saved.forecast_fields())
        if saved.path == "psis":
            fit = saved.model.data(saved.items[:saved.fit_n_items], saved.fit_as_of)
            shape = saved.draws["hazard_logit"].shape[:2]
            lw, k = psis_log_weights(fc._log_ratio(fc.data, fit).reshape(shape))
            object.__setattr__(fc, "log_weights", lw)
            object.__setattr__(fc, "diagnostics",
                               replace(fc.diagnostics, pareto_k=k, method="nuts+psis"))
            object.__setattr__(fc, "pareto_k", {**saved.pareto_k, "all": k})
        saved.check_diagnostics(fc.diagnostics)
        return fc


def apply_resolutions(spec: Spec, p: np.ndarray, data: dict, h_idx: int) -> np.ndarray:
    """Set resolved outcomes to certainty (1 for what happened, 0 for its competitors)."""
    names = spec.outcome_names
    events = [o.name for o in spec.outcomes if o.type == "event"]
    for j, e in enumerate(events):
        m = int(data["event_month"][j])
        if 0 <= m <= h_idx:
            p[:, names.index(e)] = 1.0
    for g_i, g in enumerate(spec.competing_groups):
        m = int(data["group_month"][g_i])
        if 0 <= m <= h_idx:
            chosen = spec.choices(g.name)[int(data["group_choice"][g_i])]
            for name in spec.group_members(g.name):
                p[:, names.index(name)] = 1.0 if name == chosen else 0.0
    return p

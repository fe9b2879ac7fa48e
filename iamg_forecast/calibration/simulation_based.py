"""Simulation-based calibration (SBC) of the whole fitting pipeline, and its power check.

Each simulation draws a world from the prior with the realistic evidence pattern
(:func:`~iamg_forecast.calibration.simulate.seed_pattern`), fits it with the production sampler
(:func:`~iamg_forecast.inference.sample_posterior`), thins the draws to roughly independent ones
and ranks the truth among them for every latent at the ``as_of`` month, every outcome's
probability by the horizon and the joint log-likelihood of the world's data. When the sampler,
the likelihood and the priors agree, every rank is uniform (Talts et al. 2018; Modrák et al.
2023 for data-dependent test quantities such as the log-likelihood).

Uniformity is judged per quantity with the simultaneous ECDF band of Säilynoja, Bürkner &
Vehtari (2022) and across quantities with Holm's step-down procedure, which controls the
family-wise error at ``alpha`` whatever the dependence between the quantities.

Reproducibility: simulation ``k`` depends only on ``(seed, k)``: its world is drawn with
``numpy.random.default_rng([seed, k])`` by :func:`simulate_worlds` (the prior draws are
prefix-stable in ``n``), and every other random choice uses ``SeedSequence([seed, k, tag])``.
Results are therefore identical whatever the executor or the chunking, and a run that stores its
simulations in ``store`` resumes where it stopped.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from iamg_forecast.calibration.simulate import (
    EvidencePattern,
    World,
    seed_pattern,
    simulate_worlds,
)
from iamg_forecast.evidence.items import Evidence
from iamg_forecast.model import Intervention, ScenarioModel

__all__ = [
    "InlineExecutor",
    "SBCResult",
    "PowerResult",
    "sbc",
    "power_check",
    "run_sims",
    "quantity_names",
    "uniformity_pvalue",
    "holm",
    "ALL_BUGS",
    "BUGS",
    "CONTROL",
    "planted_bug",
    "DropEveryOtherCell",
    "CountCellTwice",
    "DoubleCountCell",
    "doubled_prior_model",
    "default_pattern",
]

STORE_VERSION = 1
# Tags of the independent random streams of simulation k: SeedSequence([seed, k, tag]).
_TAG_FIT, _TAG_RANK, _TAG_HOLDOUT, _TAG_REDUCED_FIT = 1, 2, 3, 4


# ---- executors -----------------------------------------------------------------------------
class InlineExecutor(cf.Executor):
    """An :class:`~concurrent.futures.Executor` that runs each task at once, in this process.

    Useful when the model is already compiled here (a notebook, the test suite): no worker has
    to compile it again.

    Examples
    --------
    >>> InlineExecutor().submit(sum, [1, 2]).result()
    3
    """

    def submit(self, fn, /, *args, **kwargs):  # noqa: D102 - the Executor API
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as err:  # handed to the caller through the future
            fut.set_exception(err)
        return fut


def default_executor(chains: int = 2) -> cf.Executor:
    """A local process pool with ``max(1, cpu_count // chains)`` workers.

    Each fit already runs its chains on separate cores; on a 2-core machine two workers that
    each run 2 chains were measured 4x slower than one. Workers start with ``spawn`` (forking a
    process that holds sampler threads can deadlock) and each compiles the model once (~2 s
    once numba's cache holds the sampler kernel).
    """
    import multiprocessing as mp

    workers = max(1, (os.cpu_count() or 1) // max(1, chains))
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"))


# ---- planted bugs (for the power check) ------------------------------------------------------
@dataclass(frozen=True)
class DropEveryOtherCell:
    """Planted bug: the fit sees only every other observed evidence cell (half the likelihood).

    Cells are taken in (indicator, month) order; the 2nd, 4th, ... are dropped.

    Examples
    --------
    >>> d = {"ind_observed": np.ones((1, 4))}
    >>> DropEveryOtherCell()(d)["ind_observed"].tolist()
    [[1.0, 0.0, 1.0, 0.0]]
    """

    name: str = "half_likelihood"

    def __call__(self, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:  # noqa: D102
        out = dict(data)
        obs = np.array(data["ind_observed"], dtype=float, copy=True)
        cells = sorted(zip(*np.nonzero(obs), strict=True))
        for j, (i, m) in enumerate(cells):
            if j % 2 == 1:
                obs[i, m] = 0.0
        out["ind_observed"] = obs
        return out


@dataclass(frozen=True)
class CountCellTwice:
    """Planted bug: one evidence item counted twice (its log-likelihood term enters twice).

    The item is the most reliable observed report of the latest observed month (first in
    indicator order on ties): the one a duplicate would most likely come from. Its cell gets
    weight 2 in ``ind_observed``, which the model's likelihood uses as the cell's weight.

    Examples
    --------
    >>> d = {"ind_observed": np.array([[1.0, 1.0], [0.0, 1.0]]),
    ...      "ind_rel": np.array([[0.83, 0.66], [0.5, 0.83]])}
    >>> CountCellTwice()(d)["ind_observed"].tolist()
    [[1.0, 1.0], [0.0, 2.0]]
    """

    name: str = "double_counted_item"

    def __call__(self, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:  # noqa: D102
        out = dict(data)
        obs = np.array(data["ind_observed"], dtype=float, copy=True)
        cell = newest_report_cell(data)
        if cell is not None:
            obs[cell] = 2.0
        out["ind_observed"] = obs
        return out


def newest_report_cell(data: dict[str, np.ndarray]) -> tuple[int, int] | None:
    """``(indicator, month)`` of the newest report: the most reliable observed report of the
    latest observed month (first in indicator order on ties); None without observed cells.

    Examples
    --------
    >>> newest_report_cell({"ind_observed": np.array([[1.0, 1.0], [0.0, 1.0]]),
    ...                     "ind_rel": np.array([[0.83, 0.66], [0.5, 0.83]])})
    (1, 1)
    """
    obs = np.asarray(data["ind_observed"])
    cells = list(zip(*np.nonzero(obs), strict=True))
    if not cells:
        return None
    rel = data["ind_rel"]
    i, m = min(cells, key=lambda c: (-c[1], -rel[c], c[0]))
    return int(i), int(m)


@dataclass(frozen=True)
class DoubleCountCell:
    """Planted bug: one report counted twice, as if it corroborated itself.

    The observed cell with the lowest reliability ``r`` (first in (indicator, month) order on
    ties; the largest change) gets ``1 - (1 - r)**2``: what
    :func:`~iamg_forecast.evidence.cells.model_data` computes when a duplicate is wrongly marked
    as corroborating the original.

    Examples
    --------
    >>> d = {"ind_observed": np.ones((1, 2)), "ind_rel": np.array([[0.83, 0.66]])}
    >>> DoubleCountCell()(d)["ind_rel"].round(4).tolist()
    [[0.83, 0.8844]]
    """

    name: str = "duplicate_as_corroboration"

    def __call__(self, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:  # noqa: D102
        out = dict(data)
        rel = np.array(data["ind_rel"], dtype=float, copy=True)
        cells = sorted(zip(*np.nonzero(data["ind_observed"]), strict=True))
        if cells:
            i, m = min(cells, key=lambda c: (rel[c], c))
            rel[i, m] = 1.0 - (1.0 - rel[i, m]) ** 2
        out["ind_rel"] = rel
        return out


def doubled_prior_model(model: ScenarioModel, which: str = "innovation_sd",
                        factor: float = 2.0) -> ScenarioModel:
    """The same model with every latent's prior scale multiplied by ``factor`` (a planted bug).

    Parameters
    ----------
    model : ScenarioModel
    which : {"innovation_sd", "initial"}
        Scale the fixed random-walk step sizes, or the sigma of each latent's initial prior.
    factor : float

    Returns
    -------
    ScenarioModel
        Built from a modified ``spec.to_dict()`` (a different spec hash: compiled separately).

    Examples
    --------
    >>> from iamg_forecast import load_model
    >>> m = load_model()
    >>> m2 = doubled_prior_model(m)
    >>> m2.spec.latents[0].innovation_sd.value == 2 * m.spec.latents[0].innovation_sd.value
    True
    """
    from iamg_forecast.spec import Spec

    d = model.spec.to_dict()
    for lat in d["latents"]:
        if which == "innovation_sd":
            lat["innovation_sd"]["value"] = factor * lat["innovation_sd"]["value"]
        elif which == "initial":
            if "sigma" not in lat["initial"]:
                raise ValueError(f"latent {lat['name']}: initial prior has no sigma")
            lat["initial"]["sigma"] = factor * lat["initial"]["sigma"]
        else:
            raise ValueError(f"which must be 'innovation_sd' or 'initial', got {which!r}")
    spec = Spec.from_mapping(d, where=f"<{which} x{factor}>")
    return ScenarioModel(spec, model.interventions)


# ---- quantities ------------------------------------------------------------------------------
def quantity_names(model: ScenarioModel) -> list[str]:
    """Names of the ranked quantities: ``latent:<name>``, ``p:<outcome>``, ``loglik`` and
    ``loglik:newest_report``.

    Examples
    --------
    >>> from iamg_forecast import load_model
    >>> names = quantity_names(load_model())
    >>> names[0], names[-2:], len(names)
    ('latent:iran_domestic_crisis', ['loglik', 'loglik:newest_report'], 23)
    """
    s = model.spec
    return ([f"latent:{n}" for n in s.latent_order] + [f"p:{o}" for o in s.outcome_names]
            + ["loglik", "loglik:newest_report"])


def _outcome_probs(model: ScenarioModel, hz: np.ndarray, data: dict, h_idx: int) -> np.ndarray:
    """Per-draw probability of each outcome by month ``h_idx``: the forecast's own function."""
    from iamg_forecast.forecast import _apply_resolutions
    from iamg_forecast.likelihood import NP

    _, cum = model._outcome_terms(hz, data, ops=NP)
    p = np.array(cum[..., h_idx], copy=True)
    return _apply_resolutions(model.spec, p, data, h_idx)


def _quantities(model: ScenarioModel, lat: np.ndarray, eta: np.ndarray, hz: np.ndarray,
                data: dict, as_of: dt.date, horizon: dt.date) -> np.ndarray:
    """Test quantities ``(n, Q)`` from flat draws ``lat (n, L, M)``, ``eta``, ``hz``.

    The last one is the log-likelihood of the newest report alone (:func:`newest_report_cell`):
    the report an analyst has just logged, and the one whose weight errors (a report counted
    twice) the other quantities barely see.
    """
    s = model.spec
    m_as = s.month_index(as_of)
    h_idx = s.month_index(horizon)
    p = _outcome_probs(model, hz, data, h_idx)
    ll = model.loglik(eta, hz, data)
    newest = np.zeros(np.shape(data["ind_observed"]), bool)
    cell = newest_report_cell(data)
    if cell is not None:
        newest[cell] = True
    ll_new = model.loglik(eta, hz, data, cells=newest, outcomes=False)
    return np.concatenate([lat[:, :, m_as], p, ll[:, None], np.reshape(ll_new, (-1, 1))],
                          axis=1)


def _seed_of(*parts: int) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def _ess_rhat(q: np.ndarray) -> tuple[float, float]:
    """Minimum bulk ESS and maximum rank R-hat of ``q (chain, draw, Q)`` over varying columns."""
    from iamg_forecast.inference import gate_statistics

    arr = np.moveaxis(q, -1, 0)
    keep = np.ptp(arr.reshape(arr.shape[0], -1), axis=1) > 0
    n = q.shape[0] * q.shape[1]
    if not keep.any():
        return float(n), 1.0
    rhat, ess, _ = gate_statistics(arr[keep])
    return float(np.min(ess)), float(np.max(rhat)) if q.shape[0] > 1 else float("nan")


def _ranks(draws_q: np.ndarray, truth: np.ndarray, thin_to: int, rng: np.random.Generator
           ) -> dict[str, Any]:
    """Thin ``draws_q (chain, draw, Q)`` and rank ``truth (Q,)`` among the kept draws.

    The thinning step is ``max(ceil(N / ESS), ceil(N / thin_to))`` with ``N`` all draws and ESS
    the smallest bulk ESS of the varying quantities. Ties (e.g. a resolved outcome, probability
    1 in every draw) are broken uniformly at random, and ``pit = (rank + V) / (L + 1)`` with
    ``V ~ U(0, 1)`` is exactly uniform on (0, 1) for a correct model whatever ``L``.
    """
    n_chain, n_draw = draws_q.shape[:2]
    total = n_chain * n_draw
    ess, rhat = _ess_rhat(draws_q)
    step = max(math.ceil(total / max(ess, 1.0)), math.ceil(total / thin_to), 1)
    kept = draws_q[:, ::step, :].reshape(-1, draws_q.shape[-1])
    n_kept = kept.shape[0]
    less = (kept < truth[None, :]).sum(axis=0)
    equal = (kept == truth[None, :]).sum(axis=0)
    rank = less + rng.integers(0, equal + 1)
    pit = (rank + rng.random(rank.shape)) / (n_kept + 1)
    return {"rank": rank.astype(int).tolist(), "pit": pit.tolist(), "L": int(n_kept),
            "thin": int(step), "ess_min": float(ess), "rhat_max": float(rhat)}


# ---- the per-simulation worker ---------------------------------------------------------------
_MODELS: dict[str, ScenarioModel] = {}


def _model_key(model: ScenarioModel) -> str:
    ivs = json.dumps([vars(iv) for iv in model.interventions], sort_keys=True)
    return model.spec.hash + ":" + hashlib.sha256(ivs.encode()).hexdigest()[:12]


def _register(model: ScenarioModel) -> dict[str, Any]:
    """Make ``model`` available to in-process workers and describe it for remote ones."""
    key = _model_key(model)
    _MODELS.setdefault(key, model)
    return {"key": key, "spec": model.spec.to_dict(),
            "interventions": [vars(iv) for iv in model.interventions]}


def _resolve(ref: dict[str, Any]) -> ScenarioModel:
    """The model described by ``ref``: this process's copy, or rebuilt from the spec once."""
    model = _MODELS.get(ref["key"])
    if model is None:
        from iamg_forecast.spec import Spec

        spec = Spec.from_mapping(ref["spec"], where="<sbc worker>")
        model = ScenarioModel(spec, tuple(Intervention(**iv) for iv in ref["interventions"]))
        _MODELS[ref["key"]] = model
    return model


def _fit_draws(model: ScenarioModel, data: dict, seed: int, cfg: dict) -> tuple[dict, Any]:
    import warnings

    from iamg_forecast.inference import sample_posterior

    with warnings.catch_warnings():
        # Mass-matrix adaptation chatter of short warm-ups is not a result; divergences are
        # recorded per simulation instead.
        warnings.simplefilter("ignore", UserWarning)
        idata = sample_posterior(model, data, seed=seed, draws=cfg["draws"], tune=cfg["tune"],
                                 chains=cfg["chains"])
    post = idata["posterior"].to_dataset()
    draws = {k: np.asarray(post[k].values) for k in ("latent_state", "indicator_eta",
                                                     "hazard_logit")}
    return draws, idata


def _flat(a: np.ndarray) -> np.ndarray:
    return a.reshape((-1,) + a.shape[2:])


def _divergences(idata) -> int:
    stats = idata["sample_stats"].to_dataset()
    return int(stats["diverging"].sum()) if "diverging" in stats else 0


def _full_record(model: ScenarioModel, fit_model: ScenarioModel, world: World, cfg: dict,
                 fit_transform: Callable | None) -> dict[str, Any]:
    """Fit world ``world`` and rank its truth; also keep the forecast for world scoring."""
    seed, k = cfg["seed"], world.index
    data_fit = world.data if fit_transform is None else fit_transform(
        {key: np.array(v, copy=True) for key, v in world.data.items()})
    t0 = time.perf_counter()
    draws, idata = _fit_draws(fit_model, data_fit, _seed_of(seed, k, _TAG_FIT), cfg)
    fit_s = time.perf_counter() - t0
    shape = draws["hazard_logit"].shape[:2]
    q = _quantities(model, _flat(draws["latent_state"]), _flat(draws["indicator_eta"]),
                    _flat(draws["hazard_logit"]), world.data, world.as_of, world.horizon)
    truth = _quantities(model, world.latent_state[None], world.indicator_eta[None],
                        world.hazard_logit[None], world.data, world.as_of, world.horizon)[0]
    ranks = _ranks(q.reshape(shape + (q.shape[-1],)), truth, cfg["thin_to"],
                   np.random.default_rng(np.random.SeedSequence([seed, k, _TAG_RANK])))
    n_out = len(model.spec.outcome_names)
    n_lat = len(model.spec.latent_order)
    return {"k": int(k), "seed": int(seed), **ranks, "divergences": _divergences(idata),
            "fit_seconds": round(fit_s, 3),
            "p_fit": q[:, n_lat:n_lat + n_out].mean(axis=0).tolist(),
            "p_true": truth[n_lat:n_lat + n_out].tolist(),
            "happened": [bool(x) for x in world.happened],
            "resolved": [bool(x) for x in world.resolved]}


def _whatif_record(model: ScenarioModel, world: World, cfg: dict) -> dict[str, Any]:
    """Fit the world without one random observed item, absorb it with ``Forecast.what_if``."""
    from iamg_forecast.calibration.worlds import holdout_forecast

    return holdout_forecast(model, world, seed=cfg["seed"], draws=cfg["draws"],
                            tune=cfg["tune"], chains=cfg["chains"],
                            holdout_seed=_seed_of(cfg["seed"], world.index, _TAG_HOLDOUT),
                            fit_seed=_seed_of(cfg["seed"], world.index, _TAG_REDUCED_FIT))


def _run_chunk(job: dict[str, Any]) -> list[tuple[str, int, dict[str, Any]]]:
    """Worker entry point: fit every world of the chunk (runs in any process)."""
    model = _resolve(job["model"])
    fit_model = _resolve(job["fit_model"])
    out = []
    for world, kinds in job["worlds"]:
        if "full" in kinds:
            out.append(("full", world.index, _full_record(model, fit_model, world, job["cfg"],
                                                          job["fit_transform"])))
        if "whatif" in kinds:
            out.append(("whatif", world.index, _whatif_record(model, world, job["cfg"])))
    return out


# ---- store -----------------------------------------------------------------------------------
def _atomic_write(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, separators=(",", ":")))
    os.replace(tmp, path)


def _pattern_hash(pattern: EvidencePattern) -> str:
    cells = sorted([[int(i), int(m), float(r)] for (i, m), r in pattern.cells.items()])
    text = json.dumps({"cells": cells, "as_of": pattern.as_of.isoformat(),
                       "horizon": pattern.horizon.isoformat()})
    return hashlib.sha256(text.encode()).hexdigest()


class _Store:
    """One JSON file per simulation under ``root/sims``; ``root/config.json`` fixes the run."""

    def __init__(self, root: str | Path | None, config: dict[str, Any]) -> None:
        self.root = None if root is None else Path(root)
        if self.root is None:
            return
        (self.root / "sims").mkdir(parents=True, exist_ok=True)
        cfg_path = self.root / "config.json"
        if cfg_path.exists():
            old = json.loads(cfg_path.read_text())
            if old != config:
                diff = sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k))
                raise ValueError(f"{self.root} holds simulations of a different run (differs in "
                                 f"{diff}); use another store directory")
        else:
            _atomic_write(cfg_path, config)

    def _path(self, kind: str, k: int) -> Path:
        assert self.root is not None
        return self.root / "sims" / f"{kind}_{k:06d}.json"

    def load(self, kind: str, k: int) -> dict[str, Any] | None:
        if self.root is None:
            return None
        path = self._path(kind, k)
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError:  # a torn write from a killed run: redo it
            return None

    def save(self, kind: str, k: int, rec: dict[str, Any]) -> None:
        if self.root is not None:
            _atomic_write(self._path(kind, k), rec)


# ---- the engine ------------------------------------------------------------------------------
def default_pattern(model: ScenarioModel, items: Iterable[Evidence] | None = None
                    ) -> EvidencePattern:
    """The realistic evidence pattern: the seed evidence's cells plus monitored months.

    Examples
    --------
    >>> from iamg_forecast import load_model
    >>> pat = default_pattern(load_model())
    >>> str(pat.as_of), len(pat.cells) > 10
    ('2026-01-31', True)
    """
    if items is None:
        import yaml

        import iamg_forecast as iaf

        raw = yaml.safe_load(iaf.seed_evidence_path().read_text(encoding="utf-8"))
        items = [Evidence(**row) for row in raw["evidence"]]
    return seed_pattern(model, items)


def _progress_fn(progress: bool | Callable[[str], None]) -> Callable[[str], None]:
    if callable(progress):
        return progress
    if progress:
        return lambda msg: print(msg, flush=True)
    return lambda msg: None


def run_sims(model: ScenarioModel, n: int, *, seed: int = 0, executor: cf.Executor | None = None,
             items: Iterable[Evidence] | None = None, pattern: EvidencePattern | None = None,
             draws: int = 400, tune: int = 300, chains: int = 2, thin_to: int = 100,
             fit_transform: Callable[[dict], dict] | None = None,
             fit_model: ScenarioModel | None = None, store: str | Path | None = None,
             whatif: int = 0, chunk_size: int = 10,
             progress: bool | Callable[[str], None] = False) -> dict[str, list[dict]]:
    """Simulate ``n`` worlds, fit each once, and return one record per world (the engine).

    SBC (:func:`sbc`) and simulated-world scoring
    (:func:`~iamg_forecast.calibration.worlds.score_worlds`) both read these records, so one fit
    per world serves both. With ``whatif > 0`` the first ``whatif`` worlds also get the PSIS
    what-if forecast (a second fit without one observed item, see
    :func:`~iamg_forecast.calibration.worlds.holdout_forecast`).

    Parameters
    ----------
    model : ScenarioModel
        Simulates the worlds and defines the truth.
    n : int
        Number of worlds (world ``k`` depends only on ``seed`` and ``k``).
    seed : int
    executor : concurrent.futures.Executor, optional
        Where the fits run; default :func:`default_executor`. Chunks of ``chunk_size`` worlds
        are submitted; a worker compiles the model on its first chunk.
    items : iterable of Evidence, optional
        Evidence defining the pattern (default: the bundled seed evidence).
    pattern : EvidencePattern, optional
        Overrides ``items``.
    draws, tune, chains : int
        Sampler sizes of every fit.
    thin_to : int
        At most this many draws are kept for ranking.
    fit_transform : callable, optional
        ``data -> data`` applied to what the fit sees (planted bugs). Must be picklable for
        process executors and should have a ``name`` (it is recorded in the store).
    fit_model : ScenarioModel, optional
        Fit with this model instead of ``model`` (planted prior bugs).
    store : path, optional
        Directory for one JSON per simulation; finished simulations are read, not refitted.
    whatif : int
    chunk_size : int
    progress : bool or callable

    Returns
    -------
    dict
        ``{"full": [record, ...], "whatif": [record, ...]}`` sorted by world index.

    Examples
    --------
    >>> from iamg_forecast import load_model
    >>> recs = run_sims(load_model(), 2, executor=InlineExecutor())  # doctest: +SKIP
    >>> sorted(recs["full"][0])[:3]  # doctest: +SKIP
    ['L', 'divergences', 'ess_min']
    """
    say = _progress_fn(progress)
    fit_model = fit_model or model
    pattern = pattern or default_pattern(model, items)
    cfg = {"seed": int(seed), "draws": int(draws), "tune": int(tune), "chains": int(chains),
           "thin_to": int(thin_to)}
    config = {"store_version": STORE_VERSION, **cfg, "spec_hash": model.spec.hash,
              "model_key": _model_key(model), "fit_model_key": _model_key(fit_model),
              "fit_transform": None if fit_transform is None else getattr(
                  fit_transform, "name", repr(fit_transform)),
              "pattern_hash": _pattern_hash(pattern), "quantities": quantity_names(model)}
    st = _Store(store, config)
    todo: dict[int, list[str]] = {}
    results: dict[str, dict[int, dict]] = {"full": {}, "whatif": {}}
    for k in range(n):
        for kind in ("full", "whatif") if k < whatif else ("full",):
            rec = st.load(kind, k)
            if rec is None:
                todo.setdefault(k, []).append(kind)
            else:
                results[kind][k] = rec
    n_done = sum(len(v) for v in results.values())
    if todo:
        worlds = simulate_worlds(model, pattern, max(todo) + 1, seed=seed)
        jobs_w = [(worlds[k], kinds) for k, kinds in sorted(todo.items())]
        chunks = [jobs_w[i:i + chunk_size] for i in range(0, len(jobs_w), chunk_size)]
        ref, fit_ref = _register(model), _register(fit_model)
        own = executor is None
        ex = default_executor(chains) if own else executor
        say(f"[sbc] seed {seed}: {n_done} stored, {sum(map(len, todo.values()))} fits to run in "
            f"{len(chunks)} chunks")
        t0 = time.perf_counter()
        # A bounded window of chunks in flight: results are stored as chunks finish (also with
        # an inline executor, whose submit runs the chunk at once).
        window = 1 if isinstance(ex, InlineExecutor) else 2 * max(
            1, int(getattr(ex, "_max_workers", 0) or 2))
        queue = iter(chunks)
        pending: set[cf.Future] = set()

        def submit_next() -> None:
            ch = next(queue, None)
            if ch is not None:
                pending.add(ex.submit(_run_chunk, {"model": ref, "fit_model": fit_ref,
                                                   "worlds": ch, "cfg": cfg,
                                                   "fit_transform": fit_transform}))

        try:
            for _ in range(window):
                submit_next()
            done = 0
            while pending:
                finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for fut in finished:
                    pending.discard(fut)
                    for kind, k, rec in fut.result():
                        st.save(kind, k, rec)
                        results[kind][k] = rec
                        done += 1
                    submit_next()
                el = time.perf_counter() - t0
                say(f"[sbc] seed {seed}: {done} fits done, {el:.0f} s elapsed")
        finally:
            if own:
                ex.shutdown(wait=True, cancel_futures=True)
    return {kind: [results[kind][k] for k in sorted(results[kind])] for kind in results}


# ---- uniformity tests ------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _null_gamma(n: int, n_null: int = 4000, seed: int = 20220412) -> np.ndarray:
    """Null distribution of the simultaneous-band statistic for ``n`` uniform values (sorted).

    The statistic (Säilynoja, Bürkner & Vehtari 2022, simulation method) is
    ``1 - 2 * min_z min(F_Bin(c_z), 1 - F_Bin(c_z - 1))`` over the grid ``z = 1/n .. (n-1)/n``,
    with ``c_z`` the ECDF count and ``F_Bin`` the Binomial(n, z) CDF: how extreme the most
    extreme point of the ECDF is.
    """
    rng = np.random.default_rng(seed)
    out = np.empty(n_null)
    block = max(1, 2_000_000 // max(n, 1))
    for s in range(0, n_null, block):
        u = rng.random((min(block, n_null - s), n))
        out[s:s + u.shape[0]] = _gamma_stat(u)
    return np.sort(out)


def _gamma_stat(u: np.ndarray) -> np.ndarray:
    """Band statistic of each row of ``u (rows, n)`` of values in (0, 1)."""
    from scipy.special import bdtr

    rows, n = u.shape
    if n < 2:
        return np.zeros(rows)
    z = np.arange(1, n) / n
    b = np.clip(np.ceil(u * n).astype(np.int64), 1, n)  # u <= i/n  <=>  ceil(u n) <= i
    flat = (b + np.arange(rows)[:, None] * (n + 1)).ravel()
    counts = np.bincount(flat, minlength=rows * (n + 1)).reshape(rows, n + 1).cumsum(axis=1)
    c = counts[:, 1:n]
    lower = bdtr(c, n, z).min(axis=1)
    # P(X >= c) = 1 - F(c - 1), and 1 for c = 0 (bdtr is NaN at -1)
    upper = np.where(c > 0, 1.0 - bdtr(np.maximum(c - 1, 0), n, z), 1.0).min(axis=1)
    return 1.0 - 2.0 * np.minimum(lower, upper)


def uniformity_pvalue(pit: Sequence[float] | np.ndarray, n_null: int = 4000) -> float:
    """P-value of the simultaneous ECDF-band test of uniformity on (0, 1).

    ``p < alpha`` exactly when the ECDF leaves the ``1 - alpha`` simultaneous band drawn by
    :func:`~iamg_forecast.calibration.plots.plot_sbc_ecdf` (up to Monte Carlo error of the
    band, ``n_null`` uniform samples). The smallest attainable value is ``1 / (n_null + 1)``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> uniformity_pvalue(rng.random(200)) > 0.05
    True
    >>> uniformity_pvalue(rng.random(200) ** 2) < 0.001
    True
    """
    u = np.asarray(pit, dtype=float).reshape(1, -1)
    null = _null_gamma(u.shape[1], n_null)
    stat = float(_gamma_stat(u)[0])
    # 1e-12: equal statistics (up to rounding) count as "as extreme".
    n_ge = null.size - np.searchsorted(null, stat - 1e-12, side="left")
    return float((1 + n_ge) / (1 + null.size))


def band_gamma(n: int, prob: float = 0.95, n_null: int = 4000) -> float:
    """Pointwise level that makes the ECDF band ``prob`` simultaneous for ``n`` values."""
    return float(np.quantile(_null_gamma(n, n_null), prob))


def holm(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (valid under any dependence).

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).round(2).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(pvalues, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


# ---- results ---------------------------------------------------------------------------------
@dataclass
class SBCResult:
    """Rank statistics of an SBC run and their verdicts.

    Attributes
    ----------
    tree : xarray.DataTree
        ``/ranks`` (``rank``, ``pit`` per sim x quantity; ``L``, ``thin``, ``ess_min``,
        ``rhat_max``, ``divergences`` per sim), ``/tests`` (per quantity: ``p_value``,
        ``p_holm``, ``passed``), ``/forecasts`` (per sim x outcome: ``p_fit``, ``p_true``,
        ``happened``, ``resolved``); attrs ``seed``, ``n_sims``, ``L`` and the verdict.
    alpha : float
    """

    tree: xr.DataTree
    alpha: float = 0.05
    _frame: pd.DataFrame | None = field(default=None, repr=False)

    @classmethod
    def from_records(cls, records: Sequence[dict], model: ScenarioModel, *, alpha: float = 0.05,
                     attrs: dict[str, Any] | None = None) -> SBCResult:
        """Build the result from :func:`run_sims` records (``"full"`` kind)."""
        if not records:
            raise ValueError("no simulations to analyse")
        names = quantity_names(model)
        outs = model.spec.outcome_names
        sims = [r["k"] for r in records]
        rank = np.array([r["rank"] for r in records], dtype=np.int64)
        pit = np.array([r["pit"] for r in records], dtype=float)
        per_sim = {key: ("sim", np.array([r[key] for r in records]))
                   for key in ("L", "thin", "ess_min", "rhat_max", "divergences")}
        ranks = xr.Dataset({"rank": (("sim", "quantity"), rank),
                            "pit": (("sim", "quantity"), pit), **per_sim},
                           coords={"sim": sims, "quantity": names})
        pv = np.array([uniformity_pvalue(pit[:, j]) for j in range(len(names))])
        ph = holm(pv)
        tests = xr.Dataset({"p_value": ("quantity", pv), "p_holm": ("quantity", ph),
                            "passed": ("quantity", pv >= alpha)},
                           coords={"quantity": names})
        fc = xr.Dataset({key: (("sim", "outcome"), np.array([r[key] for r in records]))
                         for key in ("p_fit", "p_true", "happened", "resolved")},
                        coords={"sim": sims, "outcome": outs})
        from scipy.stats import binom

        n_fail = int((pv < alpha).sum())
        root_attrs = {
            **(attrs or {}),
            "seed": int(records[0]["seed"]), "n_sims": len(records),
            "L": int(np.max(ranks["L"].values)), "alpha": alpha,
            "test": "simultaneous ECDF band (Säilynoja et al. 2022); overall: Holm",
            "n_quantities": len(names), "n_fail": n_fail,
            "binom_pvalue": float(binom.sf(n_fail - 1, len(names), alpha)),
            "verdict": "pass" if float(ph.min()) >= alpha else "fail",
        }
        tree = xr.DataTree.from_dict({"/": xr.Dataset(attrs=root_attrs), "ranks": ranks,
                                      "tests": tests, "forecasts": fc})
        return cls(tree=tree, alpha=alpha)

    @property
    def ranks(self) -> xr.DataArray:
        """Ranks ``(sim, quantity)``."""
        return self.tree["ranks"]["rank"]

    @property
    def pit(self) -> xr.DataArray:
        """Randomised fractional ranks ``(sim, quantity)`` in (0, 1)."""
        return self.tree["ranks"]["pit"]

    @property
    def passed(self) -> bool:
        """The overall verdict: no quantity rejected after Holm's correction."""
        return self.tree.attrs["verdict"] == "pass"

    def table(self) -> pd.DataFrame:
        """One row per quantity: p-value, Holm-adjusted p-value, pass/fail."""
        t = self.tree["tests"].to_dataset().to_dataframe().reset_index()
        t["group"] = t["quantity"].str.split(":").str[0]
        t["verdict"] = np.where(t["passed"], "pass", "fail")
        return t

    def summary(self) -> dict[str, Any]:
        """The verdicts as a plain dict (JSON-able)."""
        a = dict(self.tree.attrs)
        r = self.tree["ranks"]
        a.update({"per_quantity": {row.quantity: {"p_value": float(row.p_value),
                                                  "p_holm": float(row.p_holm),
                                                  "passed": bool(row.passed)}
                                   for row in self.table().itertuples()},
                  "min_L": int(r["L"].min()), "median_ess_min": float(r["ess_min"].median()),
                  "sims_with_divergences": int((r["divergences"] > 0).sum())})
        return a

    def plot(self, **kwargs):
        """ECDF-difference plots with 95% simultaneous bands (see :mod:`.plots`)."""
        from iamg_forecast.calibration.plots import plot_sbc_ecdf

        return plot_sbc_ecdf(self, **kwargs)

    def _repr_html_(self) -> str:
        import html

        a = self.tree.attrs
        head = (f"<p><b>Simulation-based calibration</b>: {a['n_sims']} simulations, "
                f"{a['n_quantities']} quantities, {a['n_fail']} outside their 95% band, "
                f"overall verdict (Holm, family-wise 5%): <b>{html.escape(a['verdict'])}</b></p>")
        return head + self.table().to_html(index=False, escape=True)

    def __repr__(self) -> str:
        a = self.tree.attrs
        return (f"SBCResult(n_sims={a['n_sims']}, L={a['L']}, Q={a['n_quantities']}, "
                f"failing={a['n_fail']}, verdict={a['verdict']!r})")


def sbc(model: ScenarioModel, n_sims: int = 200, executor: cf.Executor | None = None,
        seed: int = 0, items: Iterable[Evidence] | None = None, draws: int = 400,
        tune: int = 300, chains: int = 2, thin_to: int = 100,
        fit_transform: Callable[[dict], dict] | None = None, store: str | Path | None = None,
        *, fit_model: ScenarioModel | None = None, pattern: EvidencePattern | None = None,
        alpha: float = 0.05, chunk_size: int = 10,
        progress: bool | Callable[[str], None] = False) -> SBCResult:
    """Simulation-based calibration of the fitting pipeline.

    Parameters
    ----------
    model : ScenarioModel
    n_sims : int
        Number of simulated worlds (each one fit).
    executor : concurrent.futures.Executor, optional
        Default: a local process pool (:func:`default_executor`); each worker compiles once.
        Use :class:`InlineExecutor` to fit in this process with its compiled model.
    seed : int
        Simulation ``k`` uses ``[seed, k]``: results do not depend on the executor.
    items : iterable of Evidence, optional
        Evidence whose cells define the pattern (default: the seed evidence).
    draws, tune, chains, thin_to : int
        Sampler sizes; draws are thinned to at most ``thin_to`` roughly independent ones.
    fit_transform : callable, optional
        Changes what the fit sees (``data -> data``), e.g. :class:`DropEveryOtherCell`.
    store : path, optional
        Directory for per-simulation JSON; a re-run skips finished simulations.
    fit_model : ScenarioModel, optional
        Fit with another model (e.g. :func:`doubled_prior_model`), simulate with ``model``.
    pattern : EvidencePattern, optional
    alpha : float
        Level of each uniformity test and of the Holm family.
    chunk_size : int
    progress : bool or callable

    Returns
    -------
    SBCResult

    Examples
    --------
    >>> import iamg_forecast as iaf
    >>> res = iaf.calibration.sbc(iaf.load_model(), n_sims=100,
    ...                           executor=InlineExecutor())  # doctest: +SKIP
    >>> res.passed, res.table()[["quantity", "p_value"]].head()  # doctest: +SKIP
    """
    recs = run_sims(model, n_sims, seed=seed, executor=executor, items=items, pattern=pattern,
                    draws=draws, tune=tune, chains=chains, thin_to=thin_to,
                    fit_transform=fit_transform, fit_model=fit_model, store=store,
                    chunk_size=chunk_size, progress=progress)["full"]
    attrs = {"draws": draws, "tune": tune, "chains": chains, "thin_to": thin_to,
             "spec_hash": model.spec.hash,
             "fit_transform": "" if fit_transform is None else getattr(
                 fit_transform, "name", repr(fit_transform)),
             "fit_model": "" if fit_model is None else fit_model.spec.hash}
    return SBCResult.from_records(recs, model, alpha=alpha, attrs=attrs)


# ---- power check -----------------------------------------------------------------------------
BUGS = ("half_likelihood", "doubled_prior_initial", "double_counted_item")
ALL_BUGS = BUGS + ("doubled_prior_innovation", "duplicate_as_corroboration")
CONTROL = "control"


@dataclass
class PowerResult:
    """Outcome of SBC runs with planted bugs.

    Attributes
    ----------
    runs : pandas.DataFrame
        One row per (bug, repeat): seed, verdict, number of failing quantities, smallest Holm
        p-value and the quantity it belongs to, and ``mean_abs_shift``: the mean over worlds
        and outcomes of ``|p_fit(bug) - p_fit(control)|`` on the same worlds with the same
        sampler seeds (how much the bug moves the forecasts; NaN without a control run). The
        ``control`` rows (no bug) give the false-alarm rate.
    n_sims : dict
        Simulations per SBC run, per arm (bug name or ``control``).
    repeats : int
    """

    runs: pd.DataFrame
    n_sims: dict[str, int]
    repeats: int
    results: dict[tuple[str, int], SBCResult] = field(default_factory=dict, repr=False)

    def fractions(self) -> pd.DataFrame:
        """Fraction of SBC runs that failed, per bug."""
        g = self.runs.groupby("bug", sort=False)
        return pd.DataFrame({"n_sims": g["n_sims"].first(), "runs": g.size(),
                             "failed": g["failed"].sum(),
                             "fraction_failed": g["failed"].mean(),
                             "mean_abs_shift": g["mean_abs_shift"].mean()}).reset_index()

    def summary(self) -> dict[str, Any]:
        """Plain dict: fractions per bug and the sizes."""
        shift = self.runs.groupby("bug", sort=False)["mean_abs_shift"].mean()
        return {"n_sims": self.n_sims, "repeats": self.repeats,
                "fraction_failed": {r.bug: float(r.fraction_failed)
                                    for r in self.fractions().itertuples()},
                "mean_abs_shift": {bug: (None if pd.isna(v) else float(v))
                                   for bug, v in shift.items()}}


def planted_bug(model: ScenarioModel, name: str
                ) -> tuple[Callable | None, ScenarioModel | None, str]:
    """``(fit_transform, fit_model, description)`` of a planted bug (see :data:`ALL_BUGS`).

    Examples
    --------
    >>> from iamg_forecast import load_model
    >>> planted_bug(load_model(), "half_likelihood")[0].name
    'half_likelihood'
    """
    if name == CONTROL:
        return None, None, "no bug: the correct fit, for the false-alarm rate and as reference"
    if name == "half_likelihood":
        return DropEveryOtherCell(), None, "the fit sees every other observed evidence cell"
    if name in ("doubled_prior_initial", "doubled_prior_innovation"):
        which = "initial" if name.endswith("initial") else "innovation_sd"
        what = "initial-state sigma" if which == "initial" else "random-walk step (innovation_sd)"
        return None, doubled_prior_model(model, which), (
            f"every latent's {what} doubled in the fit, not in the simulation")
    if name == "double_counted_item":
        return CountCellTwice(), None, ("the most reliable report of the latest observed month "
                                        "counted twice: its likelihood term enters twice")
    if name == "duplicate_as_corroboration":
        return DoubleCountCell(), None, ("a duplicate taken for a corroboration of the "
                                         "lowest-reliability report: r -> 1-(1-r)^2")
    raise ValueError(f"unknown bug {name!r}; expected {CONTROL!r} or one of {ALL_BUGS}")


def power_check(model: ScenarioModel, n_sims: int | Mapping[str, int] = 100,
                repeats: int = 3, *,
                bugs: Sequence[str] = BUGS, executor: cf.Executor | None = None, seed: int = 0,
                items: Iterable[Evidence] | None = None, draws: int = 400, tune: int = 300,
                chains: int = 2, thin_to: int = 100, store: str | Path | None = None,
                alpha: float = 0.05, control: bool = True,
                progress: bool | Callable[[str], None] = False) -> PowerResult:
    """Run SBC with planted bugs and report how often it fails (its power).

    Bugs (:func:`planted_bug`): ``half_likelihood`` (:class:`DropEveryOtherCell`),
    ``doubled_prior_initial`` (:func:`doubled_prior_model` on the initial-state sigmas; the
    ``doubled_prior_innovation`` variant doubles the random-walk steps, which SBC barely sees
    at affordable sizes) and ``double_counted_item`` (:class:`CountCellTwice`; the
    ``duplicate_as_corroboration`` variant, :class:`DoubleCountCell`, is the milder form the
    evidence code would produce if a duplicate were taken for a corroboration). Repeat ``r``
    uses seed ``seed + r`` (the same worlds for every bug: paired simulations). With
    ``control`` the same runs are made without a bug: how often a correct fit fails (the false
    alarms a failing bug run must be read against), and the reference for how far each bug
    moves the forecasts (``mean_abs_shift``).

    Parameters
    ----------
    model : ScenarioModel
    n_sims : int or mapping
        Simulations per SBC run: one size for every bug, or ``{bug: size}`` (bugs not named
        use 100). The control arm runs at the largest size; world ``k`` does not depend on the
        size, so every bug run is paired with the control's first worlds.
    repeats : int
        Runs per bug.
    bugs : sequence of str
        Names from :data:`ALL_BUGS`.
    executor : concurrent.futures.Executor, optional
        Shared by every run (pass one to avoid recompiling per run).
    seed : int
    items : iterable of Evidence, optional
    draws, tune, chains, thin_to : int
    store : path, optional
        Runs are stored under ``store/<bug>/seed<seed>``.
    alpha : float
    control : bool
        Also run every repeat without a bug (bug name ``"control"``).
    progress : bool or callable

    Returns
    -------
    PowerResult

    Examples
    --------
    >>> from iamg_forecast import load_model
    >>> pw = power_check(load_model(), n_sims=50, repeats=2,
    ...                  executor=InlineExecutor())  # doctest: +SKIP
    >>> pw.fractions()  # doctest: +SKIP
    """
    say = _progress_fn(progress)
    arms = ([CONTROL] if control else []) + [b for b in bugs if b != CONTROL]
    sizes = power_sizes(n_sims, arms)
    rows, results = [], {}
    reference: dict[int, np.ndarray] = {}
    own = executor is None
    ex = default_executor(chains) if own else executor
    try:
        for name in arms:
            transform, fit_model, what = planted_bug(model, name)
            for r in range(repeats):
                s = seed + r
                sub = None if store is None else Path(store) / name / f"seed{s}"
                res = sbc(model, n_sims=sizes[name], executor=ex, seed=s, items=items,
                          draws=draws, tune=tune, chains=chains, thin_to=thin_to,
                          fit_transform=transform, fit_model=fit_model, store=sub,
                          alpha=alpha, progress=progress)
                t = res.table()
                worst = t.loc[t["p_holm"].idxmin()]
                p_fit = res.tree["forecasts"]["p_fit"].values
                if name == CONTROL:
                    reference[s] = p_fit
                shift = (float(np.mean(np.abs(p_fit - reference[s][:len(p_fit)])))
                         if name != CONTROL and s in reference else float("nan"))
                rows.append({"bug": name, "description": what, "n_sims": sizes[name],
                             "repeat": r, "seed": s,
                             "failed": not res.passed, "n_fail": int((~t["passed"]).sum()),
                             "min_p_holm": float(worst["p_holm"]),
                             "worst_quantity": str(worst["quantity"]),
                             "mean_abs_shift": shift})
                results[(name, r)] = res
                say(f"[power] {name} repeat {r}: {'FAIL' if not res.passed else 'pass'} "
                    f"(worst {worst['quantity']}, Holm p={worst['p_holm']:.3g})")
    finally:
        if own:
            ex.shutdown(wait=True, cancel_futures=True)
    return PowerResult(runs=pd.DataFrame(rows), n_sims=sizes, repeats=repeats,
                       results=results)


def power_sizes(n_sims: int | Mapping[str, int], arms: Sequence[str],
                default: int = 100) -> dict[str, int]:
    """Simulations per SBC run for each power-check arm; the control runs at the largest.

    Examples
    --------
    >>> power_sizes({"double_counted_item": 800, "half_likelihood": 200},
    ...             ["control", "half_likelihood", "double_counted_item"])
    {'control': 800, 'half_likelihood': 200, 'double_counted_item': 800}
    >>> power_sizes(50, ["control", "half_likelihood"])
    {'control': 50, 'half_likelihood': 50}
    """
    if isinstance(n_sims, Mapping):
        unknown = sorted(set(n_sims) - set(ALL_BUGS) - {CONTROL})
        if unknown:
            raise ValueError(f"power-check sizes name unknown bugs {unknown}; expected names "
                             f"from {ALL_BUGS}")
        sizes = {a: int(n_sims.get(a, default)) for a in arms if a != CONTROL}
    else:
        sizes = {a: int(n_sims) for a in arms if a != CONTROL}
    bad = {a: n for a, n in sizes.items() if n < 2}
    if bad:
        raise ValueError(f"power-check sizes must be at least 2 simulations, got {bad}")
    if CONTROL in arms:
        top = max(sizes.values(), default=int(n_sims) if not isinstance(n_sims, Mapping)
                  else default)
        sizes = {CONTROL: top, **sizes}
    return sizes

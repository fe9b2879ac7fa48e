"""The simulation engine: draw worlds, fit each once, keep one record per world.

Simulation-based calibration (:func:`~.simulation_based.sbc`), its power check and
simulated-world scoring (:func:`~.worlds.score_worlds`) all read the records of
:func:`run_sims`, so one fit per world serves them all.

Reproducibility: simulation ``k`` depends only on ``(seed, k)``: its world is drawn with
``numpy.random.default_rng([seed, k])`` by
:func:`~iamg_forecast.calibration.simulate.simulate_worlds` (the prior draws are prefix-stable
in ``n``), and every other random choice uses ``SeedSequence([seed, k, tag])``
(:mod:`.fits`). Results are therefore identical whatever the executor or the chunking, and a
run that stores its simulations (:mod:`.sim_store`) resumes where it stopped.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from iamg_forecast.calibration.executors import default_executor, progress_fn, window_size
from iamg_forecast.calibration.fits import (
    TAG_FIT,
    TAG_HOLDOUT,
    TAG_RANK,
    TAG_REDUCED_FIT,
    divergences,
    fit_draws,
    flat,
    seed_of,
)
from iamg_forecast.calibration.holdout import holdout_forecast
from iamg_forecast.calibration.quantities import quantities, quantity_names, rank_truth
from iamg_forecast.calibration.sim_store import STORE_VERSION, SimulationStore, pattern_hash
from iamg_forecast.calibration.simulate import (
    EvidencePattern,
    World,
    seed_pattern,
    simulate_worlds,
)
from iamg_forecast.evidence.io import seed_evidence
from iamg_forecast.evidence.items import Evidence
from iamg_forecast.model import Intervention, ScenarioModel
from iamg_forecast.spec import Spec

__all__ = ["run_sims", "default_pattern", "register", "resolve", "model_key"]


# ---- models in worker processes ----------------------------------------------------------------
_MODELS: dict[str, ScenarioModel] = {}


def model_key(model: ScenarioModel) -> str:
    """The spec hash and a hash of the interventions: what makes two models the same.

    Examples
    --------
    >>> from iamg_forecast import load_model
    >>> model_key(load_model()).startswith(load_model().spec.hash + ":")
    True
    """
    ivs = json.dumps([vars(iv) for iv in model.interventions], sort_keys=True)
    return model.spec.hash + ":" + hashlib.sha256(ivs.encode()).hexdigest()[:12]


def register(model: ScenarioModel) -> dict[str, Any]:
    """Make ``model`` available to in-process workers and describe it for remote ones."""
    key = model_key(model)
    _MODELS.setdefault(key, model)
    return {"key": key, "spec": model.spec.to_dict(),
            "interventions": [vars(iv) for iv in model.interventions]}


def resolve(ref: dict[str, Any]) -> ScenarioModel:
    """The model described by ``ref`` (:func:`register`): this process's copy, or rebuilt from
    the spec once.
    """
    model = _MODELS.get(ref["key"])
    if model is None:
        spec = Spec.from_mapping(ref["spec"], where="<sbc worker>")
        model = ScenarioModel(spec, tuple(Intervention(**iv) for iv in ref["interventions"]))
        _MODELS[ref["key"]] = model
    return model


# ---- one world's records -----------------------------------------------------------------------
def _full_record(model: ScenarioModel, fit_model: ScenarioModel, world: World, cfg: dict,
                 fit_transform: Callable | None) -> dict[str, Any]:
    """Fit world ``world`` and rank its truth; also keep the forecast for world scoring."""
    seed, k = cfg["seed"], world.index
    data_fit = world.data if fit_transform is None else fit_transform(
        {key: np.array(v, copy=True) for key, v in world.data.items()})
    t0 = time.perf_counter()
    draws, idata = fit_draws(fit_model, data_fit, seed_of(seed, k, TAG_FIT), cfg)
    fit_s = time.perf_counter() - t0
    shape = draws["hazard_logit"].shape[:2]
    q = quantities(model, flat(draws["latent_state"]), flat(draws["indicator_eta"]),
                   flat(draws["hazard_logit"]), world.data, world.as_of, world.horizon)
    truth = quantities(model, world.latent_state[None], world.indicator_eta[None],
                       world.hazard_logit[None], world.data, world.as_of, world.horizon)[0]
    ranks = rank_truth(q.reshape(shape + (q.shape[-1],)), truth, cfg["thin_to"],
                       np.random.default_rng(np.random.SeedSequence([seed, k, TAG_RANK])))
    n_out = len(model.spec.outcome_names)
    n_lat = len(model.spec.latent_order)
    return {"k": int(k), "seed": int(seed), **ranks, "divergences": divergences(idata),
            "fit_seconds": round(fit_s, 3),
            "p_fit": q[:, n_lat:n_lat + n_out].mean(axis=0).tolist(),
            "p_true": truth[n_lat:n_lat + n_out].tolist(),
            "happened": [bool(x) for x in world.happened],
            "resolved": [bool(x) for x in world.resolved]}


def _whatif_record(model: ScenarioModel, world: World, cfg: dict) -> dict[str, Any]:
    """Fit the world without one random observed item, absorb it with ``Forecast.what_if``."""
    return holdout_forecast(model, world, seed=cfg["seed"], draws=cfg["draws"],
                            tune=cfg["tune"], chains=cfg["chains"],
                            holdout_seed=seed_of(cfg["seed"], world.index, TAG_HOLDOUT),
                            fit_seed=seed_of(cfg["seed"], world.index, TAG_REDUCED_FIT))


def _run_chunk(job: dict[str, Any]) -> list[tuple[str, int, dict[str, Any]]]:
    """Worker entry point: fit every world of the chunk (runs in any process)."""
    model = resolve(job["model"])
    fit_model = resolve(job["fit_model"])
    out = []
    for world, kinds in job["worlds"]:
        if "full" in kinds:
            out.append(("full", world.index, _full_record(model, fit_model, world, job["cfg"],
                                                          job["fit_transform"])))
        if "whatif" in kinds:
            out.append(("whatif", world.index, _whatif_record(model, world, job["cfg"])))
    return out


# ---- the engine ----------------------------------------------------------------------------------
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
    return seed_pattern(model, seed_evidence() if items is None else items)


def _stored_and_todo(st: SimulationStore, n: int, whatif: int
                     ) -> tuple[dict[str, dict[int, dict]], dict[int, list[str]]]:
    """The records ``st`` already holds, and the kinds still to run per world."""
    todo: dict[int, list[str]] = {}
    results: dict[str, dict[int, dict]] = {"full": {}, "whatif": {}}
    for k in range(n):
        for kind in ("full", "whatif") if k < whatif else ("full",):
            rec = st.load(kind, k)
            if rec is None:
                todo.setdefault(k, []).append(kind)
            else:
                results[kind][k] = rec
    return results, todo


def _run_chunks(ex: cf.Executor, chunks: list, job: dict[str, Any], st: SimulationStore,
                results: dict[str, dict[int, dict]], say: Callable[[str], None],
                seed: int) -> None:
    """Fit the chunks with a bounded window in flight, storing records as chunks finish (also
    with an inline executor, whose submit runs the chunk at once).
    """
    t0 = time.perf_counter()
    queue = iter(chunks)
    pending: set[cf.Future] = set()

    def submit_next() -> None:
        ch = next(queue, None)
        if ch is not None:
            pending.add(ex.submit(_run_chunk, {**job, "worlds": ch}))

    for _ in range(window_size(ex)):
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
        say(f"[sbc] seed {seed}: {done} fits done, {time.perf_counter() - t0:.0f} s elapsed")


def run_sims(model: ScenarioModel, n: int, *, seed: int = 0, executor: cf.Executor | None = None,
             items: Iterable[Evidence] | None = None, pattern: EvidencePattern | None = None,
             draws: int = 400, tune: int = 300, chains: int = 2, thin_to: int = 100,
             fit_transform: Callable[[dict], dict] | None = None,
             fit_model: ScenarioModel | None = None, store: str | Path | None = None,
             whatif: int = 0, chunk_size: int = 10,
             progress: bool | Callable[[str], None] = False) -> dict[str, list[dict]]:
    """Simulate ``n`` worlds, fit each once, and return one record per world (the engine).

    SBC (:func:`~.simulation_based.sbc`) and simulated-world scoring
    (:func:`~iamg_forecast.calibration.worlds.score_worlds`) both read these records, so one fit
    per world serves both. With ``whatif > 0`` the first ``whatif`` worlds also get the PSIS
    what-if forecast (a second fit without one observed item, see
    :func:`~iamg_forecast.calibration.holdout.holdout_forecast`).

    Parameters
    ----------
    model : ScenarioModel
        Simulates the worlds and defines the truth.
    n : int
        Number of worlds (world ``k`` depends only on ``seed`` and ``k``).
    seed : int
    executor : concurrent.futures.Executor, optional
        Where the fits run; default :func:`~.executors.default_executor`. Chunks of
        ``chunk_size`` worlds are submitted; a worker compiles the model on its first chunk.
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
    >>> from iamg_forecast.calibration.executors import InlineExecutor
    >>> recs = run_sims(load_model(), 2, executor=InlineExecutor())  # doctest: +SKIP
    >>> sorted(recs["full"][0])[:3]  # doctest: +SKIP
    ['L', 'divergences', 'ess_min']
    """
    say = progress_fn(progress)
    fit_model = fit_model or model
    pattern = pattern or default_pattern(model, items)
    cfg = {"seed": int(seed), "draws": int(draws), "tune": int(tune), "chains": int(chains),
           "thin_to": int(thin_to)}
    config = {"store_version": STORE_VERSION, **cfg, "spec_hash": model.spec.hash,
              "model_key": model_key(model), "fit_model_key": model_key(fit_model),
              "fit_transform": None if fit_transform is None else getattr(
                  fit_transform, "name", repr(fit_transform)),
              "pattern_hash": pattern_hash(pattern), "quantities": quantity_names(model)}
    st = SimulationStore(store, config)
    results, todo = _stored_and_todo(st, n, whatif)
    if todo:
        worlds = simulate_worlds(model, pattern, max(todo) + 1, seed=seed)
        jobs_w = [(worlds[k], kinds) for k, kinds in sorted(todo.items())]
        chunks = [jobs_w[i:i + chunk_size] for i in range(0, len(jobs_w), chunk_size)]
        job = {"model": register(model), "fit_model": register(fit_model), "cfg": cfg,
               "fit_transform": fit_transform}
        own = executor is None
        ex = default_executor(chains) if own else executor
        n_done = sum(len(v) for v in results.values())
        say(f"[sbc] seed {seed}: {n_done} stored, {sum(map(len, todo.values()))} fits to run in "
            f"{len(chunks)} chunks")
        try:
            _run_chunks(ex, chunks, job, st, results, say, seed)
        finally:
            if own:
                ex.shutdown(wait=True, cancel_futures=True)
    return {kind: [results[kind][k] for k in sorted(results[kind])] for kind in results}

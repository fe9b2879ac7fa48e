"""Compile once, sample with nutpie, refit by swapping data, reweight with PSIS.

The gates a fit must pass are :mod:`iamg_forecast.diagnostics`.


Measured facts behind these choices are in DESIGN §6 and ``benchmarks/README.md``: ``pm.sample``
recompiles on every call, while a model compiled once plus ``with_data`` refits in well under a
second; Pareto-smoothed importance sampling absorbs a new item in milliseconds. The sampler runs
the hand-written log density and gradient of :mod:`iamg_forecast.kernel` (numba compiles it in
seconds; nutpie's build of the PyMC graph took about 35 s the first time on a machine).
"""

from __future__ import annotations

import contextlib
import functools
import io
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from iamg_forecast import defaults
from iamg_forecast.diagnostics import diagnose
from iamg_forecast.errors import ForecastError
from iamg_forecast.model import PARAMETER_BLOCKS, ScenarioModel

__all__ = ["CompileCache", "COMPILED", "sample_posterior", "psis_log_weights",
           "weighted_quantiles", "package_versions", "posterior_tree", "derived_vars",
           "retry_ladder"]

POSTERIOR_VARS = ("latent_state", "indicator_eta", "hazard_logit")
# What a fit keeps: nutpie's trace also holds the free (non-centred) variables, which are not
# converted. Everything else a forecast reads is recomputed in NumPy from these
# (``indicator_eta`` and ``hazard_logit`` by ``ScenarioModel.derived_paths`` right after
# sampling, ``outcome_cum`` from the hazards), so nutpie need not compile, evaluate or convert
# it per draw (see ``benchmarks/README.md``).
STORED_VARS = ("latent_state",) + PARAMETER_BLOCKS
DERIVED_VARS = ("indicator_eta", "hazard_logit")


class CompileCache:
    """In-process cache of compiled models, keyed by spec hash and evidence capacity.

    ``backend="kernel"`` (the default) samples with the hand-written log density and gradient
    of :mod:`iamg_forecast.kernel`, which numba compiles in seconds; ``"pytensor"`` lets nutpie
    compile the PyMC model's own gradient graph (about 35 s the first time on a machine, about
    5 s once PyTensor's kernel cache in ``~/.pytensor`` is warm). Both give the same log
    density and gradient (``tests/test_kernel.py``); a model the kernel cannot mirror (an
    indicator kind or prior family whose registry entry has no kernel code) falls back to
    ``"pytensor"``, and :meth:`backend_reason` says why. A compiled model cannot be stored
    on disk, so a fresh process compiles once; later forecasts with the same spec (any
    evidence, ``as_of`` or intervention) reuse it.

    Examples
    --------
    >>> cache = CompileCache()
    >>> len(cache), cache.backend
    (0, 'kernel')
    """

    BACKENDS = ("kernel", "pytensor")

    def __init__(self, backend: str = "kernel") -> None:
        if backend not in self.BACKENDS:
            raise ValueError(f"backend must be one of {self.BACKENDS}, got {backend!r}")
        self.backend = backend
        self._store: dict[str, Any] = {}
        self._used: dict[str, str] = {}
        self._reasons: dict[str, str | None] = {}
        self.compiles = 0

    def __len__(self) -> int:
        return len(self._store)

    def get(self, model: ScenarioModel, progress: bool = False):
        """Return the compiled model for ``model.spec``, compiling it on first use."""
        key = model.compile_key
        if key not in self._store:
            with _quiet(not progress):
                self._store[key], self._used[key], self._reasons[key] = self._compile(model)
            self.compiles += 1
        return self._store[key]

    def backend_of(self, model: ScenarioModel) -> str:
        """The backend that compiled ``model`` (``"pytensor"`` after a fallback)."""
        self.get(model)
        return self._used[model.compile_key]

    def backend_reason(self, model: ScenarioModel) -> str | None:
        """Why ``model`` was not compiled with the asked-for backend (None when it was)."""
        self.get(model)
        return self._reasons[model.compile_key]

    def _compile(self, model: ScenarioModel) -> tuple[Any, str, str | None]:
        pmm = model.pymc_model
        keep = [*STORED_VARS, *(rv.name for rv in pmm.free_RVs)]
        reason = None
        if self.backend == "kernel":
            from iamg_forecast.kernel import KernelUnsupported, compile_kernel

            try:
                return compile_kernel(model, keep), "kernel", None
            except KernelUnsupported as err:
                # the PyMC graph is the definition; compile it instead, and say why
                reason = f"the kernel does not mirror this model: {err}"
        import nutpie

        return nutpie.compile_pymc_model(pmm, var_names=keep), "pytensor", reason

    def clear(self) -> None:
        """Forget every compiled model."""
        self._store.clear()
        self._used.clear()
        self._reasons.clear()


COMPILED = CompileCache()


@contextlib.contextmanager
def _quiet(active: bool):
    if not active:
        yield
        return
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        yield


def retry_ladder(run: Callable[[float, int, int], Any], draws: int, tune: int, *,
                 diverged: Callable[[Any], int], ok: Callable[[Any], bool]
                 ) -> tuple[Any, float, int]:
    """Sample with the retry policy; return the kept fit, its target acceptance and draws.

    ``run(target_accept, tune, draws)`` samples once. A fit with divergent transitions is
    redone with the smaller steps of each :data:`~iamg_forecast.defaults.TARGET_ACCEPT_RETRY`
    in turn (the same seed, 2 and then 4 times the tuning) until one has none. A fit of the
    default size or larger whose gates still fail is sampled once more with
    :data:`~iamg_forecast.defaults.EXTEND_DRAWS` times the draws, starting from the target
    the last fit used; if that longer fit diverges, it climbs the rest of the same ladder.
    Whatever remains is reported by the gates, never retried away with another seed.

    Examples
    --------
    >>> calls = []
    >>> def run(target, tune, draws):
    ...     calls.append((target, tune, draws))
    ...     return {"div": int(draws == 3000 and target < 0.95)}
    >>> retry_ladder(run, 1000, 300, diverged=lambda t: t["div"], ok=lambda t: False)[1:]
    (0.95, 3000)
    >>> calls
    [(0.8, 300, 1000), (0.8, 300, 3000), (0.95, 600, 3000)]
    """
    targets = (defaults.TARGET_ACCEPT, *defaults.TARGET_ACCEPT_RETRY)

    def climb(start: int, n_draws: int) -> tuple[Any, int]:
        for attempt in range(start, len(targets)):
            tree = run(targets[attempt], 2 ** attempt * tune, n_draws)
            if not diverged(tree):
                break
        return tree, attempt

    tree, attempt = climb(0, draws)
    n_draws = draws
    if draws >= defaults.DRAWS and not ok(tree):
        # too few effective draws (or R-hat, or divergences left) at the default size
        n_draws = defaults.EXTEND_DRAWS * draws
        tree, attempt = climb(attempt, n_draws)
    return tree, targets[attempt], n_draws


def sample_posterior(model: ScenarioModel, data: dict[str, np.ndarray], *, seed: int,
                     draws: int, tune: int, chains: int, progress: bool = False,
                     cache: CompileCache | None = None, save_warmup: bool = False):
    """Sample the posterior for ``data`` with nutpie, reusing the compiled model.

    Parameters
    ----------
    model : ScenarioModel
    data : dict
        Values for every ``pm.Data`` slot (see :meth:`ScenarioModel.data`).
    seed, draws, tune, chains : int
    progress : bool
        Show nutpie's progress bar.
    cache : CompileCache, optional
        Defaults to the process-wide :data:`COMPILED`.
    save_warmup : bool
        Keep the tuning draws and stats (``warmup_*`` groups). Nothing downstream reads them,
        and converting them costs a tenth of a refit, so they are dropped by default.

    Returns
    -------
    xarray.DataTree
        nutpie's result (posterior, sample_stats, ...).
    """
    import nutpie

    model = model.fitted_to(data)
    cache = cache or COMPILED
    compiled = cache.get(model, progress=progress)
    slots = model.graph_data(data)
    # Slots the graph does not use (e.g. no competing group) are not shared variables.
    known = {var.name for var in getattr(compiled, "shared_var_keys", {})}
    try:
        swapped = compiled.with_data(**{k: np.asarray(v) for k, v in slots.items()
                                        if not known or k in known})
    except (KeyError, ValueError, TypeError) as err:
        raise ForecastError(f"evidence arrays do not fit the compiled model: {err}") from err
    kwargs = {"chains": chains, "seed": int(seed), "cores": min(defaults.CORES, chains),
              "progress_bar": progress}

    def run(target_accept: float, n_tune: int, n_draws: int):
        args = {**kwargs, "target_accept": target_accept, "tune": n_tune, "draws": n_draws}
        if save_warmup:
            return with_derived(nutpie.sample(swapped, save_warmup=True, **args), model)
        raw = nutpie.sample(swapped, return_raw_trace=True, **args)
        return posterior_tree(raw, compiled, keep=STORED_VARS,
                              derive=lambda post: derived_vars(post, model))

    tree, target_accept, n_draws = retry_ladder(
        run, draws, tune, diverged=lambda t: int(t["sample_stats"]["diverging"].sum()),
        ok=lambda t: diagnose(t).ok)
    tree.attrs["draws_sampled"] = n_draws
    # the same seed gives the same draws only on the same backend: provenance records it,
    # and why the PyTensor backend ran when the kernel was asked for
    tree.attrs["sampler_backend"] = cache.backend_of(model)
    reason = cache.backend_reason(model)
    if reason is not None:
        tree.attrs["sampler_backend_reason"] = reason
    tree.attrs["target_accept"] = target_accept
    return tree


_DERIVED_DIMS = {"indicator_eta": ("indicator", "month"), "hazard_logit": ("hazard", "month")}


def derived_vars(post: Mapping[str, np.ndarray], model: ScenarioModel
                 ) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
    """:data:`DERIVED_VARS` of the draws ``post`` as ``{name: (dims, values)}``."""
    derived = model.derived_paths(post)
    return {k: (("chain", "draw", *_DERIVED_DIMS[k]), v) for k, v in derived.items()}


def with_derived(tree, model: ScenarioModel):
    """Add :data:`DERIVED_VARS` to the ``posterior`` group (and ``warmup_posterior``)."""
    for group in ("posterior", "warmup_posterior"):
        if group not in tree.children:
            continue
        ds = tree[group].to_dataset()
        tree[group] = ds.assign(derived_vars({k: ds[k].values for k in ds.data_vars}, model))
    return tree


# Per-draw sample statistics that are vectors (mass matrix, gradient, positions): nutpie drops
# them unless asked to store them, and so do we.
_VECTOR_STATS = frozenset({
    "gradient", "unconstrained_draw", "mass_matrix_inv", "mass_matrix_eigvals",
    "mass_matrix_stds", "divergence_start", "divergence_end", "divergence_momentum",
    "divergence_start_gradient", "transformed_position", "transformed_gradient",
    "transformation_mu"})


def posterior_tree(raw, compiled, keep: Iterable[str] | None = None,
                   derive: Callable[[dict[str, np.ndarray]], dict] | None = None):
    """``posterior`` and ``sample_stats`` of a raw nutpie trace, as a DataTree.

    The same arrays, dims and coordinates as nutpie's own conversion, without converting the
    tuning draws it would then drop (``save_warmup=False``) and without ArviZ's generic
    dictionary conversion: about half the cost (``benchmarks/README.md``).
    ``tests/test_forecast.py`` checks it against nutpie's conversion of the same run.

    Parameters
    ----------
    raw : nutpie raw trace
        ``nutpie.sample(..., return_raw_trace=True)``.
    compiled : nutpie compiled model
    keep : iterable of str, optional
        Posterior variables to convert (default: all). A fit keeps :data:`STORED_VARS`: the
        non-centred raw variables are not read downstream and would double the work.
    derive : callable, optional
        Maps the converted posterior arrays to ``{name: (dims, values)}`` added to the
        posterior (:func:`derived_vars`).
    """
    import pandas as pd
    import pyarrow
    import xarray as xr
    from nutpie.sample import _add_arrow_data

    draw_batches, stat_batches = raw.get_arrow_trace()
    n_chains = len(draw_batches)
    tuning = [int(pyarrow.array(b.column("tuning")).to_numpy(zero_copy_only=False).sum())
              for b in stat_batches]
    n_draws = max(b.num_rows - t for b, t in zip(stat_batches, tuning, strict=True))
    groups: dict[str, dict[str, np.ndarray]] = {"posterior": {}, "sample_stats": {}}
    dims: dict[str, list[str]] = {}
    skip_post = list(compiled.reparameterized_names)
    if keep is not None:
        wanted = set(keep)
        skip_post += [c for c in draw_batches[0].column_names if c not in wanted]
    skip = {"posterior": skip_post, "sample_stats": [*_VECTOR_STATS, "chain", "draw"]}
    for name, batches in (("posterior", draw_batches), ("sample_stats", stat_batches)):
        for chain, (batch, t) in enumerate(zip(batches, tuning, strict=True)):
            _add_arrow_data(groups[name], n_draws, batch.slice(t, batch.num_rows - t), chain,
                            n_chains, dims, skip[name])
    if derive is not None:
        for var, (var_dims, values) in derive(groups["posterior"]).items():
            groups["posterior"][var] = values
            dims[var] = list(var_dims[2:])
    coords = {name: pd.Index(vals) for name, vals in compiled.coords.items()}
    base = {"chain": np.arange(n_chains), "draw": np.arange(n_draws)}

    def dataset(values: dict[str, np.ndarray]) -> xr.Dataset:
        out = {}
        for var, arr in values.items():
            names = list(dims.get(var) or [])
            names += [f"{var}_dim_{i}" for i in range(len(names), arr.ndim - 2)]
            out[var] = (["chain", "draw", *names], arr)
        used = {d for v in out.values() for d in v[0]}
        return xr.Dataset(out, coords={**base, **{k: v for k, v in coords.items()
                                                  if k in used}})

    return xr.DataTree.from_dict({name: dataset(vals) for name, vals in groups.items()})


def psis_log_weights(log_ratio: np.ndarray) -> tuple[np.ndarray, float]:
    """Pareto-smoothed normalised log weights for draws ``(chain, draw)`` and the Pareto k.

    ``log_ratio`` is ``log p_new(draw) - log p_old(draw)`` (target over proposal).

    Examples
    --------
    >>> lw, k = psis_log_weights(np.zeros((4, 100)))
    >>> round(float(np.exp(lw).sum()), 6), k < 0.7
    (1.0, True)
    """
    from arviz_stats.base import array_stats

    lr = np.asarray(log_ratio, dtype=float)
    if np.allclose(lr, lr.flat[0]):
        n = lr.size
        return np.full(lr.shape, -np.log(n)), 0.0
    r_eff = _relative_eff(lr)
    # psislw negates its input: pass -log_ratio to get weights proportional to exp(log_ratio)
    lw, k = array_stats.psislw(-lr, r_eff=r_eff, axis=(-2, -1))
    return np.asarray(lw), float(k)


def _relative_eff(log_ratio: np.ndarray) -> float:
    """Relative efficiency of the ratios (ESS of the mean / number of draws), for PSIS."""
    from arviz_stats.base import array_stats

    w = np.exp(log_ratio - log_ratio.max())
    if w.shape[0] < 2:
        return 1.0
    ess = float(array_stats.ess(w, method="mean", chain_axis=-2, draw_axis=-1))
    return float(np.clip(ess / w.size, 0.05, 1.0))


def weighted_quantiles(x: np.ndarray, weights: np.ndarray | None, qs: list[float],
                       axis: int = 0) -> np.ndarray:
    """Quantiles of ``x`` along ``axis`` under normalised ``weights`` (None: equal).

    Examples
    --------
    >>> weighted_quantiles(np.arange(101.0), None, [0.1, 0.5])
    array([10., 50.])
    """
    x = np.moveaxis(np.asarray(x, float), axis, 0)
    if weights is None:
        return np.quantile(x, qs, axis=0)
    w = np.asarray(weights, float).reshape(-1)
    order = np.argsort(x, axis=0)
    xs = np.take_along_axis(x, order, axis=0)
    ws = w[order] if x.ndim == 1 else w[order.reshape(order.shape[0], -1)].reshape(order.shape)
    cw = np.cumsum(ws, axis=0) - 0.5 * ws
    cw = cw / cw[-1:] if x.ndim == 1 else cw / np.take(cw, [-1], axis=0)
    out = []
    for q in qs:
        idx = np.clip(np.sum(cw < q, axis=0), 0, xs.shape[0] - 1)
        out.append(np.take_along_axis(xs, np.expand_dims(idx, 0), axis=0)[0])
    return np.array(out)


@functools.lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    """Versions of Python and of every package that shapes the numbers."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for pkg in ("iamg-forecast", "pymc", "pytensor", "nutpie", "numba", "arviz-base",
                "arviz-stats", "numpy", "scipy", "xarray", "pydantic"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


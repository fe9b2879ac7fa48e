"""Update latency: naive rebuild + pm.sample vs our compiled-once refit vs PSIS what-if.

Prints one table; every ratio is against a baseline measured in the same run (the machine is
shared and noisy). Run with ``make bench`` or ``.venv/bin/python benchmarks/update_latency.py``.
Options: ``--quick`` (fewer repeats), ``--skip-naive``, ``--skip-cold``, ``--skip-pytensor``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import yaml

import iamg_forecast as iaf
from iamg_forecast import defaults
from iamg_forecast.evidence import Evidence
from iamg_forecast.inference import COMPILED, sample_posterior
from iamg_forecast.model import ScenarioModel

NEW = Evidence(indicator="sistani_signals_opposition_to_maliki", date="2026-02-03", value=1,
               source="benchmark", reliability="B2")


def seed_items() -> list[Evidence]:
    raw = yaml.safe_load(iaf.seed_evidence_path().read_text(encoding="utf-8"))
    return [Evidence(**r) for r in raw["evidence"]]


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def naive_update(items, seed: int) -> None:
    """What a plain PyMC user does per update: build the model again and call pm.sample."""
    import pymc as pm

    model = ScenarioModel(iaf.load_spec())
    data = model.data(items, NEW.date)
    model = model.fitted_to(data)
    with model.pymc_model:
        pm.set_data(model.graph_data(data))
        pm.sample(draws=defaults.DRAWS, tune=defaults.TUNE, chains=defaults.CHAINS,
                  cores=defaults.CORES, random_seed=seed, progressbar=False,
                  compute_convergence_checks=False)


def synthetic_items(spec, n: int, seed: int) -> list[Evidence]:
    """``n`` random reports in Nov 2025 - Jan 2026 across all indicators and grades."""
    rng = np.random.default_rng(seed)
    items = []
    months = [dt.date(2025, 11, 1), dt.date(2025, 12, 1), dt.date(2026, 1, 1)]
    for k in range(n):
        ind = spec.indicators[rng.integers(len(spec.indicators))]
        value = {"binary": float(rng.integers(2)), "count": float(rng.poisson(2)),
                 "continuous": float(rng.normal(5, 5))}[ind.kind]
        day = months[rng.integers(3)] + dt.timedelta(days=int(rng.integers(28)))
        items.append(Evidence(indicator=ind.name, date=day, value=value, source=f"s{k}",
                              reliability="ABCDEF"[rng.integers(6)] + "123456"[rng.integers(6)]))
    return items


def gradient_cost(compiled, slots: dict[str, np.ndarray], evals: int = 5000) -> float:
    """Seconds per logp+gradient evaluation of the numba-compiled function nutpie runs, with
    the evidence ``slots`` (what ``with_data`` would swap in) as its data.

    Calls the jitted function directly (about 1 us of Python dispatch per call). For the
    PyTensor backend that is the graph's ``jit_fn`` (its PyTensor wrapper adds about 10 us).
    """
    fn = compiled.logp_func
    by_name = {var.name: var for var in compiled.shared_var_keys}
    swapped = compiled.with_data(**{k: v for k, v in slots.items() if k in by_name})
    keys = compiled.shared_var_keys
    if hasattr(fn, "vm"):  # PyTensor backend
        args = [np.zeros(compiled.n_dim)] + [np.asarray(swapped.shared_data[keys[v]])
                                              for v in fn.get_shared()]
        jit = fn.vm.jit_fn
    else:  # the kernel: (x, packed evidence)
        args = [np.zeros(compiled.n_dim)] + [np.asarray(v) for v in swapped.shared_data.values()]
        jit = fn
    jit(*args)
    t0 = time.perf_counter()
    for _ in range(evals):
        jit(*args)
    return (time.perf_counter() - t0) / evals


COLD = """
import time, yaml
t0 = time.perf_counter()
import iamg_forecast as iaf
from iamg_forecast.evidence import Evidence
from iamg_forecast import inference
inference.COMPILED.backend = {backend!r}
raw = yaml.safe_load(iaf.seed_evidence_path().read_text())
fc = iaf.forecast(iaf.load_model(), [Evidence(**r) for r in raw["evidence"]], seed=7)
print(time.perf_counter() - t0)
"""


def cold_run(cache_dir: str, backend: str = "kernel") -> float:
    """Seconds for the first forecast in a fresh process whose compile caches live in
    ``cache_dir``, with the sampler ``backend`` (see ``inference.CompileCache``). PyTensor
    keeps its numba cache under ``base_compiledir`` (setting only ``compiledir`` would leave
    the user's warm cache in use); numba keeps the kernel's under ``NUMBA_CACHE_DIR``."""
    env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={cache_dir}/pytensor",
               NUMBA_CACHE_DIR=f"{cache_dir}/numba")
    out = subprocess.run([sys.executable, "-c", COLD.format(backend=backend)],
                         capture_output=True, text=True,
                         env=env, check=True)
    return float(out.stdout.strip().splitlines()[-1])


class Rows(list):
    """Collects (name, value) rows, printing each as it is measured and all at the end."""

    def append(self, row: tuple[str, str]) -> None:
        super().append(row)
        print(f"  {row[0]}: {row[1]}", flush=True)

    def print_all(self) -> None:
        width = max(len(r[0]) for r in self)
        print()
        for name, value in self:
            print(f"{name:<{width}}  {value}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument("--skip-cold", action="store_true")
    ap.add_argument("--skip-pytensor", action="store_true",
                    help="do not time the cold start of the PyTensor backend")
    args = ap.parse_args()
    reps = 2 if args.quick else 5
    items = seed_items()
    model = iaf.load_model()
    print(f"settings: draws={defaults.DRAWS} tune={defaults.TUNE} chains={defaults.CHAINS} "
          f"cores={defaults.CORES}", flush=True)

    base = iaf.forecast(model, items, seed=7)  # compiles once (not timed here)
    rows = Rows()

    b = timed(lambda: iaf.forecast(model, items + [NEW], as_of=NEW.date, seed=8), reps)
    b_med = statistics.median(b)
    rows.append(("(b) warm refit, one new item", f"{b_med:.2f} s (median of {reps}; "
                                                    f"{min(b):.2f}-{max(b):.2f})"))

    c = timed(lambda: base.what_if(NEW, refit="never"), 30)
    rows.append(("(c) what_if, one item (PSIS)", f"{1000 * statistics.median(c):.1f} ms "
                                                 "(median of 30)"))

    if not args.skip_naive:
        a = timed(lambda: naive_update(items + [NEW], 8), 1 if args.quick else 3)
        a_med = statistics.median(a)
        rows.append(("(a) naive: rebuild + pm.sample", f"{a_med:.2f} s (median of {len(a)}; "
                                                      f"{min(a):.2f}-{max(a):.2f})"))
        rows.append(("(a)/(b)", f"{a_med / b_med:.1f}x"))

    if not args.skip_cold:
        with tempfile.TemporaryDirectory() as tmp:
            d_cold = cold_run(tmp)
            d_warm = cold_run(tmp)
        rows.append(("(d) cold first forecast, fresh process, empty caches", f"{d_cold:.1f} s"))
        rows.append(("(d) fresh process, compile caches warm", f"{d_warm:.1f} s"))
        if not args.skip_pytensor:
            # the same, with nutpie compiling the PyMC graph (the baseline for (d))
            with tempfile.TemporaryDirectory() as tmp:
                p_cold = cold_run(tmp, "pytensor")
                p_warm = cold_run(tmp, "pytensor")
            rows.append(("(d) PyTensor backend: empty caches", f"{p_cold:.1f} s "
                         f"(kernel {p_cold / d_cold:.1f}x faster)"))
            rows.append(("(d) PyTensor backend: caches warm", f"{p_warm:.1f} s"))

    # (e) gradient floor: gradient evaluations of one refit x cost of one evaluation
    # The same run as (b) (same data, settings and seed), keeping the tuning stats to count
    # every gradient evaluation; forecasts drop them.
    new_data = model.data(items + [NEW], NEW.date)
    fitted = model.fitted_to(new_data)
    trace = sample_posterior(fitted, new_data, seed=8, draws=defaults.DRAWS, tune=defaults.TUNE,
                             chains=defaults.CHAINS, save_warmup=True)
    n_grad = sum(int(trace[group]["n_steps"].sum())
                 for group in ("sample_stats", "warmup_sample_stats"))
    per_eval = gradient_cost(COMPILED.get(fitted), fitted.graph_data(new_data))
    # The floor is evals x cost. The chains run on `cores` cores at once, so the
    # wall-clock floor is that divided by the cores: both are printed.
    floor = n_grad * per_eval
    rows.append(("(e) gradient evaluations in (b)", f"{n_grad}"))
    rows.append(("(e) one gradient evaluation", f"{1e6 * per_eval:.1f} us"))
    rows.append(("(e) floor = evals x cost", f"{floor:.2f} s"))
    rows.append(("(e) (b)/floor", f"{b_med / floor:.2f}"))
    rows.append((f"(e) per-core floor = evals x cost / {defaults.CORES} cores",
                 f"{floor / defaults.CORES:.2f} s"))
    rows.append(("(e) (b)/per-core floor", f"{b_med * defaults.CORES / floor:.2f}"))

    # (f) scaling with the size of the evidence log
    for n in (100, 1000, 10000):
        many = synthetic_items(model.spec, n, seed=n)
        t = timed(lambda many=many: iaf.forecast(model, many, as_of="2026-01-31", seed=9), 1)
        rows.append((f"(f) warm refit with {n} items", f"{t[0]:.2f} s"))

    rows.print_all()


if __name__ == "__main__":
    main()

"""The LFO check of `make calibrate` on several simulated histories, not only seed 0's.

Each seed simulates its own months after the seed evidence (``simulate_history``) and runs the
leave-future-out check on them at calibrate's fit sizes. The histories are independent, so
under a correct pipeline their PIT p-values are independent uniforms; Fisher's method and a
Kolmogorov-Smirnov test say whether the p-values of all seeds together are, and the last line
gives the verdict `make calibrate` draws from seeds 0-9: every history's PITs tested together.
About 40 s a seed on the 2-core machine.

Usage: .venv/bin/python scripts/lfo_histories.py [N_SEEDS]   (default 10: seeds 0 to 9)
"""
import sys

import numpy as np
from scipy import stats

import iamg_forecast as iaf
from iamg_forecast.calibration import lfo, simulate_history
from iamg_forecast.calibration.suite import combine_lfo
from iamg_forecast.calibration.uniformity import uniformity_pvalue

SIZES = {"draws": 400, "tune": 300, "chains": 2}   # calibrate's (run_calibration's defaults)


def main(n_seeds: int) -> None:
    model = iaf.load_model()
    pvalues, outs = [], []
    print("seed  fits  simulated reports  PIT p (simulated)  binary: n, p, mean PIT")
    for seed in range(n_seeds):
        hist = simulate_history(model, seed=seed, **SIZES)
        res = lfo(model, hist, seed=seed, **SIZES,
                  source_label=lambda e: "simulated" if e.source == "simulated month" else "seed")
        s = res.summary(verdict_source="simulated")
        sim = res.frame[res.frame["source"] == "simulated"]
        binary = sim[sim["kind"] == "binary"]
        pb = s["by_source"]["simulated"]["pit_pvalue"]
        pbin = uniformity_pvalue(binary["pit"].to_numpy()) if len(binary) >= 5 else float("nan")
        pvalues.append(pb)
        outs.append({"frame": res.frame, "months": res.months, "pit_pvalue": res.pit_pvalue,
                     "attrs": res.attrs, "n_items": len(hist)})
        print(f"{seed:4d}  {s['refits']:4d}  {len(sim):17d}  {pb:17.4f}  "
              f"{len(binary)}, {pbin:.3f}, {binary['pit'].mean():.3f}", flush=True)
    p = np.array(pvalues)
    pooled = combine_lfo(outs).summary(verdict_source="simulated")
    print(f"below 0.05: {(p < 0.05).sum()} of {p.size}; Fisher's combined p "
          f"{pooled['fisher_pvalue']:.3f}; KS p of the p-values "
          f"{stats.kstest(p, 'uniform').pvalue:.3f}; every history's simulated PITs together "
          f"(make calibrate's verdict): {pooled['pit_verdict']}, p "
          f"{pooled['verdict_pvalue']:.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)

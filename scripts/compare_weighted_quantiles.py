"""Weighted quantiles: inference.weighted_quantiles against np.quantile(weights=, inverted_cdf)."""
import numpy as np

import iamg_forecast as iaf
from iamg_forecast.evidence import Evidence
from iamg_forecast.evidence.io import seed_evidence
from iamg_forecast.inference import weighted_quantiles

QS = [0.1, 0.9, 0.025, 0.975]
fc = iaf.forecast(iaf.load_model(), seed_evidence(), seed=11)
wi = fc.what_if(Evidence(indicator="sistani_signals_opposition_to_maliki", date="2026-01-20",
                         value=1, source="x", reliability="B2", id="extra-1"), refit="never")
print("numpy", np.__version__, "draws", fc.weights.size, "what-if path", wi.path)
for name, f in (("fit (equal weights)", fc), ("what-if (PSIS weights)", wi)):
    for what, x in (("outcome probabilities", f.outcome_draws()),
                    ("latent states", f._flat("latent_state").reshape(f.weights.size, -1))):
        ours = weighted_quantiles(x, f.weights, QS, axis=0)
        theirs = np.quantile(x, QS, axis=0, weights=f.weights, method="inverted_cdf")
        same = np.isclose(ours, theirs, rtol=0, atol=1e-12)
        d = np.abs(ours - theirs)
        print(f"{name:24s} {what:22s} cells {same.size:6d} equal {same.mean():6.1%} "
              f"max |diff| {d.max():.4f} median |diff| {np.median(d):.5f}")

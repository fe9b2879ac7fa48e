"""Diagnostic gates of the bundled seed forecast on sampler seeds 1-12 (default settings).

Run: .venv/bin/python scripts/seed_gates.py
"""
import iamg_forecast as iaf
from iamg_forecast.evidence.io import seed_evidence

model = iaf.load_model()
items = seed_evidence()
passed = 0
print("seed ok max_rhat min_bulk_ess min_tail_ess divergences min_bfmi target_accept")
for seed in range(1, 13):
    fc = iaf.forecast(model, items, seed=seed)
    d = fc.diagnostics
    passed += fc.ok
    print(seed, fc.ok, round(d.r_hat, 4), int(d.ess_bulk), int(d.ess_tail), d.divergences,
          round(d.bfmi, 2), fc.provenance.get("target_accept"), d.problems, flush=True)
print("passed", passed, "of 12")

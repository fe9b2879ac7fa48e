"""Diagnostic gates of the bundled seed forecast on sampler seeds 1-12 (default settings).

Run: .venv/bin/python scripts/seed_gates.py
"""
import iamg_forecast as iaf
from iamg_forecast.evidence.io import seed_evidence

m = iaf.load_model(); items = seed_evidence()
ok = 0
for s in range(1, 13):
    fc = iaf.forecast(m, items, seed=s)
    d = fc.diagnostics
    ok += fc.ok
    print(s, fc.ok, round(d.r_hat, 4), int(d.ess_bulk), int(d.ess_tail), d.divergences, round(d.bfmi, 2), d.problems, fc.provenance.get("target_accept"), flush=True)
print("passed", ok, "of 12")

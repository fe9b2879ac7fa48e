"""Child process for the ledger's concurrent-writers test (run as a script).

Opens the ledger, prints "ready", waits for a line on stdin, then records N forecasts of two
outcomes each, with seeds TAG * N to TAG * N + N - 1 (so every forecast is distinct).
"""

import sys

import pandas as pd

from iamg_forecast.calibration.ledger import ForecastEntry, Ledger

db, tag, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def entry(seed: int) -> ForecastEntry:
    """A forecast of two outcomes that passed its diagnostics, distinct per seed."""
    provenance = {
        "schema_version": 1, "spec_hash": "s" * 64, "evidence_hash": "e" * 64,
        "as_of": "2026-01-15", "horizon": "2026-12-31", "seed": seed, "draws": 300,
        "chains": 2, "versions": {}, "created": "2026-01-15T10:00:00+00:00"}
    table = pd.DataFrame([{"outcome": o, "question": "?", "p": 0.3, "lo80": 0.2, "hi80": 0.4,
                           "lo95": 0.1, "hi95": 0.5, "term": "unlikely"}
                          for o in ("other_pm", "militia_fragmentation")])
    return ForecastEntry(table=table, provenance=provenance, ok=True)


with Ledger.open(db) as led:
    print("ready", flush=True)
    sys.stdin.readline()
    for k in range(n):
        led.record(entry(tag * n + k))

"""Weekly update job: import new evidence, forecast, record in the ledger, write the report.

Usage (e.g. from cron):

    python examples/weekly_update.py --workspace work --new-evidence inbox/this_week.csv
    python examples/weekly_update.py --workspace work --spec my_priors/   # a custom scenario

Exit status: 0 reliable forecast written, 2 bad input (nothing imported), 3 the forecast failed
its diagnostic gates (the report is still written, with its warning banner).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import iamg_forecast as iaf
from iamg_forecast.errors import IAMGError


def run(workspace: Path, new_evidence: Path | None, horizon: str | None, seed: int,
        spec: Path | None = None) -> int:
    """Do one update in ``workspace``; return the process exit status."""
    from iamg_forecast.calibration.resolutions import sync_resolutions

    workspace.mkdir(parents=True, exist_ok=True)
    db = workspace / "iamg.sqlite"
    model = iaf.load_model(spec)
    with iaf.EvidenceLog.open(db, spec=model.spec) as log, iaf.Ledger.open(db) as ledger:
        if len(log) == 0 and spec is None:
            log.import_file(iaf.seed_evidence_path())
        if new_evidence is not None:
            added = log.import_file(new_evidence)
            print(f"imported {len(added)} items from {new_evidence}")
        # outcomes resolved in the ledger and outcome items in the log: one set of facts
        sync_resolutions(log, ledger, model.spec)
        fc = iaf.forecast(model, log.current(), horizon=horizon, seed=seed)
        ledger.record(fc)
        report = fc.report(workspace / "reports" / f"forecast_{fc.as_of}.html", ledger=ledger,
                           log=log)
    fc.save(workspace / "forecasts" / f"forecast_{fc.as_of}")
    print(fc.table()[["outcome", "p", "term"]].to_string(index=False))
    print(fc.knowledge().statement)
    if fc.knowledge().warning:
        print("WARNING: " + fc.knowledge().warning, file=sys.stderr)
    print(f"report: {report}")
    if not fc.ok:
        print("NOT RELIABLE: " + "; ".join(fc.diagnostics.problems), file=sys.stderr)
        return 3
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run; bad input exits 2 with one line per problem."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", type=Path, default=Path("work"))
    ap.add_argument("--new-evidence", type=Path, default=None)
    ap.add_argument("--horizon", default=None)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--spec", type=Path, default=None,
                    help="priors directory (default: the bundled scenario, whose seed "
                         "evidence is imported into a new workspace)")
    args = ap.parse_args(argv)
    try:
        return run(args.workspace, args.new_evidence, args.horizon, args.seed, args.spec)
    except IAMGError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

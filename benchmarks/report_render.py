"""How long rendering a saved forecast's report takes (issue: "under 2 s").

Fits the seed evidence once at the default sizes (1000 draws x 4 chains), saves it, then in one
process measures (median of 5, each on a freshly loaded forecast so no query is cached):

- loading the saved forecast;
- rendering it as Markdown, JSON and HTML (``report_text``), after the libraries are imported;
- the ``iamg-forecast report`` command as a new process (imports included), once per format.

Run: ``.venv/bin/python benchmarks/report_render.py`` (about a minute). The machine is shared:
the load average is printed with the numbers.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import iamg_forecast as iaf
from iamg_forecast.report import report_text


def median_time(fn, n: int = 5) -> tuple[float, float, float]:
    """Median, min and max wall time of ``fn()`` over ``n`` runs."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times), max(times)


def main() -> None:
    """Print the measurements."""
    work = Path(tempfile.mkdtemp(prefix="report-bench-"))
    model = iaf.load_model()
    log = iaf.EvidenceLog.memory()
    log.import_file(iaf.seed_evidence_path())
    fc = iaf.forecast(model, log, seed=7)
    saved = fc.save(work / "fc")
    report_text(iaf.Forecast.load(saved), "html")   # warm imports (matplotlib, scipy, arviz)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"{fc.sizes['draws']} draws x {fc.sizes['chains']} chains")
    m, lo, hi = median_time(lambda: iaf.Forecast.load(saved))
    print(f"{'load the saved forecast':40s} {m:5.2f} s ({lo:.2f}-{hi:.2f})")
    for fmt in ("md", "json", "html"):
        m, lo, hi = median_time(lambda f=fmt: report_text(iaf.Forecast.load(saved), f))
        print(f"{'load + render ' + fmt:40s} {m:5.2f} s ({lo:.2f}-{hi:.2f})")
    cli = Path(sys.executable).with_name("iamg-forecast")
    for fmt in ("md", "json", "html"):
        t = time.perf_counter()
        subprocess.run([str(cli), "report", str(saved), "--format", fmt, "--out",
                        str(work / f"r.{fmt}")], check=True, capture_output=True)
        print(f"{'iamg-forecast report --format ' + fmt:40s} {time.perf_counter() - t:5.2f} s"
              " (new process)")


if __name__ == "__main__":
    main()

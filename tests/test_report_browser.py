"""The report in a real headless Chromium: no script runs, nothing leaves the file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .test_report import hostile

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.browser
def test_report_in_headless_chromium(seed_forecast, tmp_path):
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        pytest.skip("LOUD SKIP: /usr/bin/chromium is not installed, so the browser security "
                    "test of the report did not run (make test installs Debian's chromium when "
                    "it runs as root with apt-get)")
    sync_api = pytest.importorskip("playwright.sync_api")
    path = hostile(seed_forecast).report(tmp_path / "report.html")
    dialogs, errors, requests = [], [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        pwned = page.evaluate("() => window.__pwned")
        visible = page.locator("#headline-table").is_visible()
        rows = page.locator("#headline-table tbody tr").count()
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert dialogs == []
    assert pwned is None
    assert errors == []
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    assert visible and rows == len(seed_forecast.spec.outcome_names)
    assert shot.stat().st_size > 20_000

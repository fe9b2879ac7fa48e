"""The report in a real headless Chromium: no script runs, nothing leaves the file.

Locally a missing browser skips the test with a loud reason. In CI (``CI=true``) it fails: the
only real-browser XSS test must not vanish from a green build because an install failed.
``IAMG_CHROMIUM`` names another browser binary (default ``/usr/bin/chromium``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .test_report import hostile

CHROMIUM_DEFAULT = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def chromium_or_stop() -> Path:
    """The browser binary; otherwise fail in CI, skip loudly elsewhere."""
    path = Path(os.environ.get("IAMG_CHROMIUM") or CHROMIUM_DEFAULT)
    if path.is_file() and os.access(path, os.X_OK):
        return path
    reason = (f"{path} is not an executable file, so the browser security test of the report "
              "did not run (make test installs Debian's chromium when it runs as root with "
              "apt-get)")
    if in_ci():
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(f"LOUD SKIP: {reason}")


def test_missing_browser_fails_in_ci_and_skips_locally(monkeypatch, tmp_path):
    monkeypatch.setenv("IAMG_CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true: .*no-chromium"):
        chromium_or_stop()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="LOUD SKIP: .*no-chromium"):
        chromium_or_stop()
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("IAMG_CHROMIUM", str(fake))
    assert chromium_or_stop() == fake


@pytest.mark.browser
def test_report_in_headless_chromium(seed_forecast, tmp_path):
    chromium = chromium_or_stop()
    if in_ci():
        from playwright import sync_api
    else:
        sync_api = pytest.importorskip("playwright.sync_api")
    path = hostile(seed_forecast).report(tmp_path / "report.html")
    dialogs, errors, requests = [], [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=ARGS)
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


@pytest.mark.parametrize(("ci", "code"), [("true", 1), ("", 0)])
def test_ensure_chromium_fails_only_in_ci(tmp_path, ci, code):
    """scripts/ensure_chromium.sh when the browser is missing and cannot be installed (no
    apt-get on PATH): exit 1 under CI=true, exit 0 with a note elsewhere."""
    import shutil
    import subprocess

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("id", "tr"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    script = Path(__file__).resolve().parent.parent / "scripts" / "ensure_chromium.sh"
    env = {"PATH": str(bin_dir), "CI": ci, "IAMG_CHROMIUM": str(tmp_path / "no-chromium")}
    out = subprocess.run(["/bin/sh", str(script)], env=env, capture_output=True, text=True)
    assert out.returncode == code, (out.stdout, out.stderr)
    assert "no-chromium is missing" in out.stdout + out.stderr


def report_with_history(fc, tmp_path):
    """The report of ``fc`` with a ledger holding an earlier forecast of the same questions."""
    import dataclasses

    import iamg_forecast as iaf

    earlier = dataclasses.replace(fc, provenance={**fc.provenance, "seed": -1,
                                                  "created": "2026-01-01T00:00:00+00:00"})
    earlier.__dict__["prior_p"] = fc.prior_p
    ledger = iaf.Ledger.open(tmp_path / "l.sqlite")
    ledger.record(earlier)
    ledger.record(fc)
    path = hostile(fc).report(tmp_path / "report.html", ledger=ledger)
    ledger.close()
    return path


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_report_layout_at_desktop_and_phone_width(seed_forecast, tmp_path, width):
    """Nothing overflows the page horizontally and every chart fits the viewport; the
    screenshots are kept (in ``IAMG_SCREENSHOTS`` when set, else in the test's tmp dir).

    The charts are images whose axis labels are thinned when drawn and checked for overlap
    from the figures themselves (``tests/test_report_reader.py``).
    """
    chromium = chromium_or_stop()
    if in_ci():
        from playwright import sync_api
    else:
        sync_api = pytest.importorskip("playwright.sync_api")
    path = report_with_history(seed_forecast, tmp_path)
    keep = Path(os.environ.get("IAMG_SCREENSHOTS") or tmp_path)
    keep.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        inner = page.evaluate("() => window.innerWidth")
        scroll = page.evaluate("() => document.documentElement.scrollWidth")
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => !e.closest('.scroll'))
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .map(e => e.tagName + '#' + e.id).slice(0, 5)""")
        imgs = page.evaluate("""() => [...document.images].map(i => [i.naturalWidth > 0,
            i.getBoundingClientRect().right <= window.innerWidth + 1])""")
        first = page.evaluate("""() => [...document.querySelectorAll('h2')]
            .map(h => h.textContent).slice(0, 3)""")
        page.screenshot(path=str(keep / f"report_{width}_top.png"))
        page.screenshot(path=str(keep / f"report_{width}_full.png"), full_page=True)
        browser.close()
    assert scroll <= inner, f"horizontal overflow: scrollWidth {scroll} > {inner}"
    assert wide == [], wide
    assert imgs and all(loaded and fits for loaded, fits in imgs), imgs
    assert first == ["Bottom line", "Headline", "What changed since last time and why"]
    assert (keep / f"report_{width}_top.png").stat().st_size > 10_000

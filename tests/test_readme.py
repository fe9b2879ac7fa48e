"""README.md works verbatim: every fenced code block runs, in order, in one fresh directory.

Python blocks run as one script (each ``print`` must print); shell blocks run line by line:
``iamg-forecast ...`` through the real command (in process, the same ``main`` the script
calls), ``make TARGET`` as ``make -n TARGET`` (the target exists and expands; running it would
rebuild the environment the tests run in), and ``. .venv/bin/activate`` by checking that the
environment has that script. The only placeholders replaced are sizes: small sampler draws
(``IAMG_DRAWS`` and friends) and a tiny calibration run instead of the 15-minute one.
"""

from __future__ import annotations

import contextlib
import io
import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
# the one size placeholder: the full calibration suite takes about 15 minutes on 2 cores (one
# LFO history instead of ten: each is a dozen refits, and its own test runs two)
TINY_CALIBRATION = ["--n-sims", "2", "--n-worlds", "2", "--power-repeats", "0",
                    "--lfo-histories", "1", "--quiet"]


def blocks() -> list[tuple[str, str]]:
    """``(language, text)`` of every fenced block of the README, in order."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(README.read_text())]


def commands(text: str) -> list[str]:
    """Shell lines of a block, continuations joined and comments dropped."""
    joined = text.replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        line = line.split("  #")[0].strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def test_the_readme_has_the_blocks_this_test_knows():
    langs = [lang for lang, _ in blocks()]
    assert langs.count("python") >= 1 and langs.count("sh") >= 2
    assert set(langs) <= {"python", "sh"}, langs


def run_cli(args: list[str]) -> tuple[int, str]:
    """Exit code and output of ``iamg-forecast ARGS``, in process."""
    from iamg_forecast.cli import _mount_optional, app

    _mount_optional()
    res = CliRunner().invoke(app, args)
    return res.exit_code, res.output


@pytest.mark.slow
def test_every_readme_block_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, value in (("IAMG_DRAWS", "150"), ("IAMG_TUNE", "150"), ("IAMG_CHAINS", "2")):
        monkeypatch.setenv(name, value)
    ran = {"python": 0, "cli": 0, "make": 0}
    for lang, text in blocks():
        if lang == "python":
            script = tmp_path / "block.py"
            script.write_text(text)
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                runpy.run_path(str(script), run_name="__main__")
            printed = buf.getvalue()
            assert "sudani_return" in printed and "Knowledge date" in printed, printed[:500]
            assert (tmp_path / "reports" / "latest.html").exists()
            ran["python"] += 1
            continue
        for line in commands(text):
            argv = shlex.split(line)
            if argv[0] == "make":
                done = subprocess.run(["make", "-n", *argv[1:]], cwd=ROOT, capture_output=True,
                                      text=True)
                assert done.returncode == 0, (line, done.stderr)
                ran["make"] += 1
            elif argv[0] == ".":
                assert (Path(sys.executable).parent / "activate").exists()
            else:
                assert argv[0] == "iamg-forecast", line
                args = argv[1:] + (TINY_CALIBRATION if argv[1] == "calibrate" else [])
                code, out = run_cli(args)
                assert code == 0, (line, out[-2000:])
                ran["cli"] += 1
    assert ran["python"] == 1 and ran["cli"] >= 10 and ran["make"] == 2
    # the sequence left a history: the second forecast's report compares with the first
    md = (tmp_path / "reports" / "latest.html").read_text()
    assert "Compared with the forecast of" in md

"""Layering and documentation drift."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import iamg_forecast as iaf

ROOT = Path(iaf.__file__).resolve().parent
ORDER = ["errors", "defaults", "language", "spec", "evidence", "likelihood", "model",
         "priorcheck", "inference", "forecast", "calibration", "report", "cli"]


def layer(module: str) -> int:
    parts = module.split(".")
    if parts[0] != "iamg_forecast" or len(parts) == 1:
        return -1
    return ORDER.index(parts[1]) if parts[1] in ORDER else -1


def module_level_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    out = []
    for node in tree.body:  # module level only: lazy imports inside functions are allowed
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return out


def test_lower_layers_never_import_higher_ones():
    bad = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        mod = ".".join(rel.parts).removesuffix(".__init__")
        mine = layer(mod)
        if mine < 0:
            continue
        for imp in module_level_imports(path):
            theirs = layer(imp)
            # calibration and report are siblings; neither imports the other
            siblings = {ORDER.index("calibration"), ORDER.index("report")}
            if theirs > mine or (theirs != mine and {theirs, mine} == siblings):
                bad.append(f"{mod} imports {imp}")
    assert not bad, bad


def test_model_doc_is_generated_from_the_spec():
    script = ROOT.parent / "scripts" / "gen_model_doc.py"
    out = subprocess.run([sys.executable, str(script), "--check"], capture_output=True)
    assert out.returncode == 0, "docs/model.md is stale: run scripts/gen_model_doc.py"


def test_public_signatures_are_keyword_only_where_documented():
    import inspect

    sig = inspect.signature(iaf.forecast)
    for name in ("as_of", "horizon", "seed", "draws", "chains", "tune"):
        assert sig.parameters[name].kind is inspect.Parameter.KEYWORD_ONLY, name
    sig = inspect.signature(iaf.prior_check)
    assert sig.parameters["draws"].kind is inspect.Parameter.KEYWORD_ONLY

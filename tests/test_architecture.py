"""Layering and documentation drift."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import iamg_forecast as iaf

ROOT = Path(iaf.__file__).resolve().parent
ORDER = ["errors", "defaults", "language", "files", "spec", "evidence", "likelihood", "model",
         "priorcheck", "kernel", "inference", "forecast_settings", "saved_forecast", "forecast",
         "calibration", "report", "backtest",
         "cli"]
# The package's public facade and its ``python -m`` entry point sit above every layer.
FACADE = {"iamg_forecast", "iamg_forecast.__main__"}
TOP = len(ORDER)


def package_modules() -> dict[str, Path]:
    """Dotted name -> file of every module of the package (packages by their __init__)."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        out[".".join(rel.parts).removesuffix(".__init__")] = path
    return out


def layer(module: str) -> int | None:
    """The layer of a module of the package (``TOP`` for the facade); None outside it."""
    parts = module.split(".")
    if parts[0] != "iamg_forecast":
        return None
    if module in FACADE:
        return TOP
    assert parts[1] in ORDER, f"{module} belongs to no layer of ORDER"
    return ORDER.index(parts[1])


def module_level_imports(path: Path, module: str, modules: set[str]) -> list[str]:
    """Absolute names of the modules imported at module level, relative imports resolved.

    ``from package import name`` imports the submodule ``package.name`` when there is one,
    else an attribute of ``package``.
    """
    tree = ast.parse(path.read_text())
    is_package = path.name == "__init__.py"
    out = []
    for node in tree.body:  # module level only: lazy imports inside functions are allowed
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if not is_package:
                    base = base[:-1]
                base = base[:len(base) - (node.level - 1)]
                assert base, f"{module}: relative import beyond the top-level package"
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.append(sub if sub in modules else target)
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return out


def test_import_resolution_and_layer_map(tmp_path):
    modules = package_modules()
    # every module of the package is placed: in a layer of ORDER or in the facade
    assert all(layer(m) is not None for m in modules)
    assert {m for m in modules if layer(m) == TOP} == FACADE
    assert set(ORDER) == {m.split(".")[1] for m in modules if m not in FACADE}
    # relative and package-relative imports resolve to the modules they name
    probe = tmp_path / "ledger.py"
    probe.write_text("from . import scores\nfrom .scores import corp\nfrom .. import defaults\n"
                     "from ..evidence.items import Evidence\nfrom iamg_forecast import errors\n"
                     "from iamg_forecast import forecast as f, Forecast\nimport numpy\n")
    got = module_level_imports(probe, "iamg_forecast.calibration.ledger", set(modules))
    assert got == ["iamg_forecast.calibration.scores", "iamg_forecast.calibration.scores",
                   "iamg_forecast.defaults", "iamg_forecast.evidence.items",
                   "iamg_forecast.errors", "iamg_forecast.forecast", "iamg_forecast", "numpy"]
    init = tmp_path / "__init__.py"
    init.write_text("from .store import EvidenceLog\n")
    assert module_level_imports(init, "iamg_forecast.evidence", set(modules)) == [
        "iamg_forecast.evidence.store"]


def test_lower_layers_never_import_higher_ones():
    bad = []
    modules = package_modules()
    # calibration and report are siblings; neither imports the other
    siblings = {ORDER.index("calibration"), ORDER.index("report")}
    checked = 0
    for mod, path in modules.items():
        mine = layer(mod)
        for imp in module_level_imports(path, mod, set(modules)):
            theirs = layer(imp)
            if theirs is None:
                continue
            checked += 1
            if theirs > mine or (theirs != mine and {theirs, mine} == siblings):
                bad.append(f"{mod} imports {imp}")
    assert not bad, bad
    assert checked > len(modules)  # the package's own imports were seen


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

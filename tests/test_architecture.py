"""Layering and documentation drift.

Every import of the package's own modules is checked, at module level and inside functions
alike (an import inside a function runs as surely as one at the top): it must point down the
layer order or stay in its layer, name no private helper of another module, and close no cycle.
Imports under ``if TYPE_CHECKING:`` are annotations, not imports that run, and are left out.
"""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

import iamg_forecast as iaf

ROOT = Path(iaf.__file__).resolve().parent
# Layers, lowest first: a module's layer is its first name below the package. The package's
# public facade (``iamg_forecast``) sits above every layer it gathers and below the command
# line, which speaks only the public API; ``python -m iamg_forecast`` runs the command line.
ORDER = ["errors", "defaults", "language", "files", "registry", "kinds", "families", "spec",
         "evidence",
         "likelihood", "model",
         "priorcheck", "kernel", "diagnostics", "inference", "forecast_settings", "saved_forecast",
         "forecast",
         "report", "calibration", "backtest", "iamg_forecast", "cli", "__main__"]
# Imports up the order that are part of the design, each with its reason.
UPWARD = {
    ("iamg_forecast.forecast", "iamg_forecast.report"):
        "Forecast.report(), .to_markdown() and .to_json() are notebook conveniences that load "
        "the report layer when called, never at import",
}
# Imports that break a rule and wait for a change of their module, which the registries of
# issue 15 (Deliver 1) rewrite: each entry must still be needed, so the list only shrinks.
PENDING_UPWARD: set[tuple[str, str]] = set()
PENDING_PRIVATE: set[tuple[str, str, str]] = set()
# A module longer than this says in its docstring, on a line starting "Size:", why it is one.
MAX_LINES = 650
PENDING_SIZE: set[str] = set()


def package_modules() -> dict[str, Path]:
    """Dotted name -> file of every module of the package (packages by their __init__)."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        out[".".join(rel.parts).removesuffix(".__init__")] = path
    return out


def layer(module: str) -> int | None:
    """The index in ORDER of a module of the package; None outside it."""
    parts = module.split(".")
    if parts[0] != "iamg_forecast":
        return None
    name = "iamg_forecast" if len(parts) == 1 else parts[1]
    assert name in ORDER, f"{module} belongs to no layer of ORDER"
    return ORDER.index(name)


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:`` (annotations only, never run)."""
    out = set()
    for node in ast.walk(tree):
        test = node.test if isinstance(node, ast.If) else None
        if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING" or (
                isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
            out |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return out


def imports(path: Path, module: str, modules: set[str], *, inside_functions: bool = True
            ) -> list[tuple[str, str, int]]:
    """``(imported module, imported name or "", line)`` of every import that runs.

    Relative imports are resolved; ``from package import name`` imports the submodule
    ``package.name`` when there is one, else the attribute ``name`` of ``package``. With
    ``inside_functions=False`` only the module-level statements are read.
    """
    tree = ast.parse(path.read_text())
    skip = _type_checking_only(tree)
    nodes = ast.walk(tree) if inside_functions else iter(tree.body)
    is_package = path.name == "__init__.py"
    out = []
    for node in nodes:
        if id(node) in skip:
            continue
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
                out.append((sub, "", node.lineno) if sub in modules
                           else (target, alias.name, node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, "", node.lineno) for a in node.names]
    return out


def module_level_imports(path: Path, module: str, modules: set[str]) -> list[str]:
    """Absolute names of the modules imported at module level, relative imports resolved."""
    return [m for m, _, _ in imports(path, module, modules, inside_functions=False)]


def package_imports() -> list[tuple[str, str, str, int]]:
    """``(importer, imported module, name, line)`` of every import of the package's own code."""
    modules = package_modules()
    return [(mod, imp, name, line) for mod, path in modules.items()
            for imp, name, line in imports(path, mod, set(modules))
            if layer(imp) is not None]


def test_import_resolution_and_layer_map(tmp_path):
    modules = package_modules()
    # every module of the package is placed in a layer, and every layer holds a module
    assert {ORDER[layer(m)] for m in modules} == set(ORDER)
    assert layer("iamg_forecast") < layer("iamg_forecast.cli") < layer("iamg_forecast.__main__")
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


def test_imports_inside_functions_and_type_checking_blocks_are_told_apart(tmp_path):
    modules = set(package_modules())
    probe = tmp_path / "probe.py"
    probe.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                     "    from iamg_forecast.cli import app\n"
                     "def f():\n    from iamg_forecast.report import render\n"
                     "    from iamg_forecast.forecast import _private\n")
    got = imports(probe, "iamg_forecast.spec", modules)
    assert [(m, n) for m, n, _ in got if m.startswith("iamg_forecast")] == [
        ("iamg_forecast.report.render", ""), ("iamg_forecast.forecast", "_private")]
    assert module_level_imports(probe, "iamg_forecast.spec", modules) == ["typing"]


def test_lower_layers_never_import_higher_ones():
    """Also inside functions: an import that runs only when called still runs."""
    found = package_imports()
    up = {(mod, ".".join(imp.split(".")[:2])) for mod, imp, _, _ in found
          if layer(imp) > layer(mod)}
    assert up - set(UPWARD) - PENDING_UPWARD == set()
    assert set(UPWARD) <= up and PENDING_UPWARD <= up   # every exception is still needed
    assert len(found) > 2 * len(package_modules())      # the package's own imports were seen


def test_no_module_imports_another_modules_private_helpers():
    """A helper two modules need moves down to a module they both import, under a public name."""
    private = {(mod, imp, name) for mod, imp, name, _ in package_imports()
               if name.startswith("_") and not name.startswith("__")}
    assert private - PENDING_PRIVATE == set()
    assert PENDING_PRIVATE <= private


def test_no_import_cycles():
    """Module-level and function-level imports together form no cycle (the pending upward
    imports left out)."""
    graph: dict[str, set[str]] = {}
    for mod, imp, _, _ in package_imports():
        if (mod, imp) not in PENDING_UPWARD and imp != mod:
            graph.setdefault(mod, set()).add(imp)
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as err:
        raise AssertionError("import cycle: " + " -> ".join(err.args[1])) from None


def test_long_modules_say_why():
    """A module holds one idea; one over MAX_LINES lines says in its docstring why it is long."""
    silent = set()
    for path in ROOT.rglob("*.py"):
        text = path.read_text()
        doc = ast.get_docstring(ast.parse(text)) or ""
        if text.count("\n") > MAX_LINES and not any(
                line.startswith("Size: ") for line in doc.splitlines()):
            silent.add(str(path.relative_to(ROOT)))
    assert silent - PENDING_SIZE == set()
    assert PENDING_SIZE <= silent


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

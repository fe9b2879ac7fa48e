"""Write the notebooks in notebooks/ (outputs stripped). Edit here, then run this script.

Usage: .venv/bin/python scripts/make_notebooks.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat as nbf

OUT = Path(__file__).resolve().parent.parent / "notebooks"

SETUP = """%matplotlib inline
import os, tempfile
from pathlib import Path
import iamg_forecast as iaf

# Small draws when IAMG_DRAWS/IAMG_TUNE/IAMG_CHAINS are set (the test suite does them);
# defaults otherwise.
work = Path(tempfile.mkdtemp(prefix="iamg-notebook-"))
db = work / "iamg.sqlite"
"""

NOTEBOOKS = {
    "01_quickstart.ipynb": [
        ("md", "# Quick start\n\nLoad the bundled scenario, import the dated facts of the January "
               "2026 analysis, forecast, and write the report."),
        ("code", SETUP),
        ("code", "model = iaf.load_model()\nmodel.spec.scenario"),
        ("code", "log = iaf.EvidenceLog.open(db)\nlog.import_file(iaf.seed_evidence_path())\n"
                 "log.items()[['indicator', 'date', 'value', 'reliability', 'source']]"),
        ("md", "Fit (the first call compiles the model, later calls reuse it):"),
        ("code", "fc = iaf.forecast(model, log, seed=7)\nfc"),
        ("code", "fc.table()"),
        ("code", "fc['sudani_return'].p, fc['sudani_return'].term"),
        ("code", "fc.diagnostics"),
        ("code", "fc.latents()['mean'].sel(latent='iran_funding_capacity').to_series().head()"),
        ("code", "path = fc.report(work / 'report.html')\npath, path.stat().st_size"),
        ("code", "assert path.exists()\nmd = fc.to_markdown()\n"
                 "print(md[md.index('## Bottom line'):md.index('## What changed')])"),
    ],
    "02_new_evidence.ipynb": [
        ("md", "# New evidence\n\nLog a new item, compare the instant what-if (importance "
               "reweighting) with a full refit, then read attribution, signposts and surprise "
               "flags."),
        ("code", SETUP),
        ("code", "model = iaf.load_model()\nlog = iaf.EvidenceLog.open(db)\n"
                 "log.import_file(iaf.seed_evidence_path())\nbefore = iaf.forecast(model, log, "
                 "seed=7)\nbefore.table()[['outcome', 'p', 'term']]"),
        ("code", "item = iaf.Evidence(indicator='sistani_signals_opposition_to_maliki', "
                 "date='2026-02-06', value=1,\n                    source='Friday sermon "
                 "(Karbala)', reliability='B2',\n                    note='Representative "
                 "of the Marja\\'iyya warns against recycled leaders')\n"
                 "fast = before.what_if(item)\nfast.path, fast.pareto_k"),
        ("code", "log.add(item)\nrefit = iaf.forecast(model, log, seed=7)\n"
                 "import pandas as pd\npd.DataFrame({'before': before.table().set_index('outcome')"
                 "['p'],\n              'what_if': fast.table().set_index('outcome')['p'],\n"
                 "              'refit': refit.table().set_index('outcome')['p']})"),
        ("code", "refit.compare(before)['outcomes']"),
        ("code", "att = refit.attribution()\n"
                 "att.head(10)  # one row per item, largest effect first"),
        ("code", "refit.signposts(months=1).head(10)"),
        ("code", "refit.surprise()"),
        ("code", "odd = iaf.Evidence(indicator='iamg_attacks_count', date='2026-02-20', "
                 "value=60, source='unverified channel', reliability='E4')\n"
                 "refit.surprise([odd])"),
    ],
    "03_calibration.ipynb": [
        ("md", "# Calibration\n\nRecord forecasts in the hash-chained ledger, resolve questions, "
               "score them; then run a small simulation-based calibration (SBC) of the model."),
        ("code", SETUP),
        ("code", "model = iaf.load_model()\nlog = iaf.EvidenceLog.open(db)\n"
                 "log.import_file(iaf.seed_evidence_path())\nfc = iaf.forecast(model, log, seed=7)"
                 "\nledger = iaf.Ledger.open(db)\nledger.record(fc)"),
        ("md", "The resolution below is *hypothetical*, to show the mechanics; real ones come "
               "from events after the forecast. Its date lies before the day we record the "
               "forecast, so the ledger treats it as a hindcast (it could have seen the answer) "
               "and leaves it out of scores unless asked: `include_hindcasts=True` shows the "
               "mechanics here, and the ledger says how many forecasts it scored."),
        ("code", "ledger.resolve('other_pm', happened=True, date='2026-06-30', "
                 "source='hypothetical, for the demo')\nledger.verify()"),
        ("code", "ledger.score(include_hindcasts=True)"),
        ("code", "ledger.reliability_diagram(include_hindcasts=True)"),
        ("md", "## Simulation-based calibration\n\nDraw worlds from the prior with the seed's "
               "evidence pattern, fit each one, and rank the truth among the posterior draws. "
               "For a correct pipeline every rank is uniform. `InlineExecutor` fits here, "
               "reusing this kernel's compiled model; the default is a local process pool, and "
               "any `concurrent.futures.Executor` (e.g. a dask client's) works. A handful of "
               "simulations shows the mechanics; `make calibrate` runs the full-size check "
               "(see docs/calibration.md)."),
        ("code", "from iamg_forecast.calibration import InlineExecutor, sbc\n"
                 "result = sbc(model, n_sims=int(os.environ.get('IAMG_SBC_SIMS', '40')), "
                 "executor=InlineExecutor(), seed=1, draws=200, tune=200, thin_to=50)\n"
                 "result"),
        ("code", "result.table()"),
        ("code", "result.plot()"),
    ],
    "04_custom_scenario.ipynb": [
        ("md", "# A custom scenario\n\nThe seed closes with a development it did not model: "
               "*\"advancing Syrian Army forces created a fresh challenge to manage in Northern "
               "Iraq.\"* We add it in YAML only, with an analyst-elicited prior, and compare "
               "forecasts with and without it."),
        ("code", SETUP),
        ("code", "import shutil, yaml\nfrom iamg_forecast.spec import default_priors_dir\n"
                 "custom = work / 'priors'\nshutil.copytree(default_priors_dir(), custom)\n"
                 "# Analyst: 'a 20% to 60% chance per month that such an advance is reported'\n"
                 "elicited = iaf.elicit(0.2, 0.6, mass=0.9)\nprint(elicited.yaml)"),
        ("code", "extra = {\n"
                 "  'latents': [{'name': 'syrian_army_pressure_north', 'role': 'driver',\n"
                 "    'description': 'Pressure from advancing Syrian Army forces in northern "
                 "Iraq.',\n"
                 "    'quote': 'advancing Syrian Army forces created a fresh challenge to manage "
                 "in Northern Iraq',\n"
                 "    'initial': {'dist': 'Normal', 'mu': 0.5, 'sigma': 1.0,\n"
                 "                'rationale': 'Reported under way in January 2026; wide.'},\n"
                 "    'innovation_sd': {'value': 0.3, 'rationale': 'Moves with the front line.'}}"
                 "],\n"
                 "  'links': [{'parent': 'syrian_army_pressure_north', 'child': "
                 "'militia_cohesion', 'sign': '-',\n"
                 "    'effect': {'dist': 'HalfNormal', 'sigma': 0.6, 'rationale': 'A second "
                 "front strains the factions.'}}],\n"
                 "  'indicators': [{'name': 'syrian_army_advance_north_reported', 'kind': "
                 "'binary',\n"
                 "    'description': 'Reports of Syrian Army advances near the Iraqi border.',\n"
                 "    'baseline': elicited.prior.model_dump(exclude_none=True),\n"
                 "    'loadings': [{'latent': 'syrian_army_pressure_north', 'sign': '+',\n"
                 "      'prior': {'dist': 'HalfNormal', 'sigma': 1.0, 'rationale': 'Direct "
                 "signal.'}}],\n"
                 "    'false_report_rate': {'value': 0.05, 'rationale': 'Front-line claims are "
                 "noisy.'}}],\n}\n"
                 "(custom / 'syria.yaml').write_text(yaml.safe_dump(extra, sort_keys=False))\n"
                 "extended = iaf.load_model(custom)\nextended.spec.latent_order"),
        ("code", "log = iaf.EvidenceLog.open(db, spec=extended.spec)\n"
                 "log.import_file(iaf.seed_evidence_path())\n"
                 "log.add(iaf.Evidence(indicator='syrian_army_advance_north_reported', "
                 "date='2026-01-25', value=1,\n"
                 "                     source='seed analysis (Jan 2026)', reliability='B2',\n"
                 "                     quote='advancing Syrian Army forces created a fresh "
                 "challenge to manage in Northern Iraq'))\n"
                 "with_syria = iaf.forecast(extended, log, seed=7)"),
        ("code", "base_items = [e for e in log.current() if e.indicator != "
                 "'syrian_army_advance_north_reported']\n"
                 "without = iaf.forecast(iaf.load_model(), base_items, seed=7)\n"
                 "import pandas as pd\n"
                 "cmp = pd.DataFrame({'without': without.table().set_index('outcome')['p'],\n"
                 "                    'with_syria': with_syria.table().set_index('outcome')['p']})"
                 "\ncmp['change'] = cmp['with_syria'] - cmp['without']\ncmp"),
    ],
}


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nb = nbf.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nb.cells = [nbf.v4.new_markdown_cell(src) if kind == "md" else
                    nbf.v4.new_code_cell(src) for kind, src in cells]
        nbf.write(nb, OUT / name)
        print("wrote", OUT / name)


if __name__ == "__main__":
    main()

"""Seeded numbers of the checked-out code: an SBC run's ranks and a default forecast's table.

Two code versions give the same numbers when their JSON files are equal. Against an older
commit::

    git archive <commit> | tar -x -C /tmp/base
    (cd /tmp/base && PYTHONPATH=/tmp/base python <repo>/scripts/seeded_numbers.py base.json)
    python scripts/seeded_numbers.py new.json
    python -c "import json; print(json.load(open('base.json')) == json.load(open('new.json')))"

Reads only names both versions have (``seed_evidence_path``, ``Evidence``, ``sbc``).
"""

import json
import sys

import yaml

import iamg_forecast as iaf
from iamg_forecast.calibration import InlineExecutor, sbc

print(iaf.__file__, file=sys.stderr)
model = iaf.load_model()
res = sbc(model, n_sims=12, executor=InlineExecutor(), seed=0, draws=200, tune=200, thin_to=50)
raw = yaml.safe_load(iaf.seed_evidence_path().read_text(encoding="utf-8"))
items = [iaf.Evidence(**row) for row in raw["evidence"]]
fc = iaf.forecast(model, items, seed=11)
out = {"ranks": res.ranks.values.tolist(), "pit": res.pit.values.tolist(),
       "p_holm": res.tree["tests"]["p_holm"].values.tolist(), "verdict": res.tree.attrs["verdict"],
       "table": fc.table()[["outcome", "p", "lo80", "hi80", "lo95", "hi95"]].to_dict("records"),
       "latents": fc.latents()["mean"].values.tolist()}
with open(sys.argv[1], "w") as fh:
    json.dump(out, fh)

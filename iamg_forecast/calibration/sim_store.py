"""The store of simulation records: one JSON file per fitted world, so a run can resume.

``root/config.json`` fixes the run (seed, sizes, spec, model, planted bug, evidence pattern,
quantities); a store that holds another run's simulations is refused rather than mixed in.
``root/sims/<kind>_<k>.json`` holds world ``k``'s record of each kind (``full``: the SBC ranks
and the forecast; ``whatif``: the PSIS what-if forecast). Every file is written atomically
(:func:`~iamg_forecast.files.write_atomic`), so a killed run leaves whole records or none.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from iamg_forecast.calibration.simulate import EvidencePattern
from iamg_forecast.files import write_atomic

__all__ = ["STORE_VERSION", "SimulationStore", "pattern_hash"]

#: Version of the store's layout and records (part of ``config.json``).
STORE_VERSION = 1


def pattern_hash(pattern: EvidencePattern) -> str:
    """SHA-256 of an evidence pattern's cells and dates (what the worlds are observed through).

    Examples
    --------
    >>> import datetime as dt
    >>> p = EvidencePattern(cells={(0, 2): 0.83}, as_of=dt.date(2026, 1, 31),
    ...                     horizon=dt.date(2026, 12, 31))
    >>> len(pattern_hash(p))
    64
    """
    cells = sorted([[int(i), int(m), float(r)] for (i, m), r in pattern.cells.items()])
    text = json.dumps({"cells": cells, "as_of": pattern.as_of.isoformat(),
                       "horizon": pattern.horizon.isoformat()})
    return hashlib.sha256(text.encode()).hexdigest()


def _write_json(path: Path, obj: Any) -> None:
    write_atomic(path, json.dumps(obj, separators=(",", ":")), what="simulation record")


class SimulationStore:
    """One JSON file per simulation under ``root/sims``; ``root/config.json`` fixes the run.

    With ``root=None`` nothing is stored and nothing is found (a run that keeps its records
    in memory only).

    Examples
    --------
    >>> import tempfile
    >>> st = SimulationStore(tempfile.mkdtemp(), {"seed": 0})
    >>> st.save("full", 3, {"k": 3})
    >>> st.load("full", 3), st.load("full", 4)
    ({'k': 3}, None)
    """

    def __init__(self, root: str | Path | None, config: dict[str, Any]) -> None:
        self.root = None if root is None else Path(root)
        if self.root is None:
            return
        (self.root / "sims").mkdir(parents=True, exist_ok=True)
        cfg_path = self.root / "config.json"
        if cfg_path.exists():
            old = json.loads(cfg_path.read_text())
            if old != config:
                diff = sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k))
                raise ValueError(f"{self.root} holds simulations of a different run (differs in "
                                 f"{diff}); use another store directory")
        else:
            _write_json(cfg_path, config)

    def _path(self, kind: str, k: int) -> Path:
        assert self.root is not None
        return self.root / "sims" / f"{kind}_{k:06d}.json"

    def load(self, kind: str, k: int) -> dict[str, Any] | None:
        """World ``k``'s stored record of ``kind``, or None when there is none (or it is torn)."""
        if self.root is None:
            return None
        path = self._path(kind, k)
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError:  # a torn write from a killed run: redo it
            return None

    def save(self, kind: str, k: int, rec: dict[str, Any]) -> None:
        """Store world ``k``'s record of ``kind`` (atomically)."""
        if self.root is not None:
            _write_json(self._path(kind, k), rec)

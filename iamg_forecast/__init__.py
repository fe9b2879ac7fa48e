"""iamg_forecast: Bayesian forecasts of Iran-aligned militia groups in Iraq from graded evidence.

Examples
--------
>>> import iamg_forecast as iaf
>>> model = iaf.load_model()
>>> model.spec.scenario.start_month
'2025-11'
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from iamg_forecast import calibration
from iamg_forecast.backtest import backtest
from iamg_forecast.calibration.ledger import Ledger
from iamg_forecast.errors import EvidenceError, ForecastError, LedgerError, SpecError
from iamg_forecast.evidence import Evidence, EvidenceLog
from iamg_forecast.evidence.io import seed_evidence_path
from iamg_forecast.forecast import Forecast, forecast
from iamg_forecast.model import ScenarioModel, load_model
from iamg_forecast.priorcheck import elicit, prior_check
from iamg_forecast.spec import Spec, load_spec

if TYPE_CHECKING:
    import pandas as pd

__version__ = "0.1.0"


def indicators(spec: Spec | str | Path | None = None) -> pd.DataFrame:
    """Every name evidence can be logged about: the indicators and the outcomes.

    Parameters
    ----------
    spec : Spec, str or Path, optional
        A loaded spec or a priors directory (default: the bundled scenario).

    Returns
    -------
    DataFrame
        Columns ``name, type`` (``"indicator"`` or ``"outcome"``), ``kind`` (binary, count or
        continuous for an indicator; event, choice or none for an outcome) and
        ``description`` (an outcome's question).

    Examples
    --------
    >>> t = indicators()
    >>> t.loc[t["name"] == "sudani_return", ["type", "kind"]].values.tolist()
    [['outcome', 'choice']]
    """
    import pandas as pd

    sp = spec if isinstance(spec, Spec) else load_spec(spec)
    rows = [{"name": i.name, "type": "indicator", "kind": i.kind,
             "description": " ".join(i.description.split())} for i in sp.indicators]
    rows += [{"name": o.name, "type": "outcome", "kind": o.type,
              "description": " ".join(o.question.split())} for o in sp.outcomes]
    return pd.DataFrame(rows, columns=["name", "type", "kind", "description"])


__all__ = [
    "Evidence",
    "backtest",
    "EvidenceError",
    "EvidenceLog",
    "Forecast",
    "ForecastError",
    "Ledger",
    "LedgerError",
    "calibration",
    "ScenarioModel",
    "Spec",
    "SpecError",
    "forecast",
    "load_model",
    "load_spec",
    "elicit",
    "indicators",
    "prior_check",
    "seed_evidence_path",
]

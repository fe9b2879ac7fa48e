"""iamg_forecast: Bayesian forecasts of Iran-aligned militia groups in Iraq from graded evidence.

Examples
--------
>>> import iamg_forecast as iaf
>>> model = iaf.load_model()
>>> model.spec.scenario.start_month
'2025-11'
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from iamg_forecast import calibration
from iamg_forecast.backtest import backtest
from iamg_forecast.calibration.ledger import Ledger
from iamg_forecast.errors import EvidenceError, ForecastError, LedgerError, SpecError
from iamg_forecast.evidence import Evidence, EvidenceLog
from iamg_forecast.forecast import Forecast, forecast
from iamg_forecast.model import ScenarioModel, load_model
from iamg_forecast.priorcheck import elicit, prior_check
from iamg_forecast.spec import Spec, load_spec

__version__ = "0.1.0"


def seed_evidence_path() -> Path:
    """Path of the bundled evidence file with the dated facts of the January 2026 analysis.

    Examples
    --------
    >>> seed_evidence_path().name
    'seed_evidence.yaml'
    """
    return Path(str(resources.files("iamg_forecast") / "data" / "seed_evidence.yaml"))


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
    "prior_check",
    "seed_evidence_path",
]

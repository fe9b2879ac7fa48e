"""Calibration: proper scores, the CORP reliability decomposition and the forecast ledger.

Examples
--------
>>> from iamg_forecast.calibration import Ledger, brier, corp
>>> brier([0.0, 1.0], [0, 1])
0.0
"""

from __future__ import annotations

from iamg_forecast.calibration.ledger import Ledger, VerifyResult, climatology
from iamg_forecast.calibration.scores import (
    CorpResult,
    brier,
    brier_skill,
    corp,
    log_score,
    pav,
    plot_reliability,
    score_table,
)

__all__ = [
    "CorpResult",
    "Ledger",
    "VerifyResult",
    "brier",
    "brier_skill",
    "climatology",
    "corp",
    "log_score",
    "pav",
    "plot_reliability",
    "score_table",
]

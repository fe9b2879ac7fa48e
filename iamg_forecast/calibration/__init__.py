"""Calibration: proper scores, the forecast ledger and checks that the pipeline is calibrated.

- :mod:`.scores`: Brier, log score, skill, the CORP decomposition and reliability diagrams;
- :mod:`.ledger`: the hash-chained forecast ledger;
- :mod:`.simulation_based`: simulation-based calibration (:func:`sbc`) and its power check, in
  one namespace (the pieces: :mod:`.executors`, :mod:`.fits`, :mod:`.quantities`,
  :mod:`.engine`, :mod:`.sim_store`, :mod:`.uniformity`, :mod:`.sbc_result`,
  :mod:`.planted_bugs`, :mod:`.power`);
- :mod:`.worlds`: forecasts scored on worlds simulated from the prior (:func:`score_worlds`),
  with the what-if path of :mod:`.holdout`;
- :mod:`.leave_future_out`: the leave-future-out indicator check (:func:`lfo`);
- :mod:`.suite`: everything at once (:func:`run_calibration`, ``make calibrate``).

Examples
--------
>>> from iamg_forecast.calibration import Ledger, brier, corp
>>> brier([0.0, 1.0], [0, 1])
0.0
"""

from __future__ import annotations

from iamg_forecast.calibration.executors import InlineExecutor
from iamg_forecast.calibration.leave_future_out import LFOResult, lfo, simulate_history
from iamg_forecast.calibration.ledger import ForecastEntry, Ledger, VerifyResult
from iamg_forecast.calibration.power import PowerResult, power_check
from iamg_forecast.calibration.resolutions import SyncResult, sync_resolutions
from iamg_forecast.calibration.sbc_result import SBCResult, sbc
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
from iamg_forecast.calibration.suite import run_calibration
from iamg_forecast.calibration.worlds import WorldScores, score_worlds
from iamg_forecast.priorcheck import climatology

__all__ = [
    "SyncResult",
    "sync_resolutions",
    "CorpResult",
    "InlineExecutor",
    "LFOResult",
    "PowerResult",
    "SBCResult",
    "WorldScores",
    "lfo",
    "power_check",
    "run_calibration",
    "sbc",
    "score_worlds",
    "simulate_history",
    "Ledger",
    "ForecastEntry",
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

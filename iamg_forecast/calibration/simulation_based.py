"""Simulation-based calibration (SBC) of the whole fitting pipeline, and its power check.

The names of SBC in one namespace; each piece has its own module:

- :mod:`.executors`: where the fits run (:class:`InlineExecutor`, :func:`default_executor`);
- :mod:`.fits` and :mod:`.quantities`: one fit of a simulated world, its test quantities and
  the rank of the truth among the draws;
- :mod:`.engine` and :mod:`.sim_store`: the simulations, one record per world, stored so that
  a run resumes (:func:`run_sims`, :func:`default_pattern`);
- :mod:`.uniformity`: the simultaneous ECDF-band test and Holm's correction;
- :mod:`.sbc_result`: :func:`sbc` and :class:`SBCResult`;
- :mod:`.planted_bugs` and :mod:`.power`: the power check (:func:`power_check`).

Examples
--------
>>> from iamg_forecast.calibration.simulation_based import holm
>>> holm([0.01, 0.04]).round(2).tolist()
[0.02, 0.04]
"""

from __future__ import annotations

from iamg_forecast.calibration.engine import default_pattern, run_sims
from iamg_forecast.calibration.executors import InlineExecutor, default_executor
from iamg_forecast.calibration.planted_bugs import (
    ALL_BUGS,
    BUGS,
    CONTROL,
    CountCellTwice,
    DoubleCountCell,
    DropEveryOtherCell,
    doubled_prior_model,
    planted_bug,
)
from iamg_forecast.calibration.power import PowerResult, power_check, power_sizes
from iamg_forecast.calibration.quantities import newest_report_cell, quantity_names
from iamg_forecast.calibration.sbc_result import SBCResult, sbc
from iamg_forecast.calibration.uniformity import band_gamma, holm, uniformity_pvalue

__all__ = [
    "InlineExecutor",
    "SBCResult",
    "PowerResult",
    "sbc",
    "power_check",
    "power_sizes",
    "run_sims",
    "quantity_names",
    "newest_report_cell",
    "uniformity_pvalue",
    "band_gamma",
    "holm",
    "ALL_BUGS",
    "BUGS",
    "CONTROL",
    "planted_bug",
    "DropEveryOtherCell",
    "CountCellTwice",
    "DoubleCountCell",
    "doubled_prior_model",
    "default_pattern",
    "default_executor",
]

"""Backtests: past Iraqi government formations and militia attack waves, replayed month by month.

Examples
--------
>>> from iamg_forecast.backtest import list_cases
>>> "formation_2014" in list_cases()
True
"""

from iamg_forecast.backtest.cases import Case, Fact, list_cases, load_case
from iamg_forecast.backtest.run import BacktestResult, CaseResult, backtest

__all__ = ["Case", "Fact", "list_cases", "load_case", "backtest", "BacktestResult",
           "CaseResult"]

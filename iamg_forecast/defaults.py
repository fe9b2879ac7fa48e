"""Every default of the library in one place.

Sampling sizes can be lowered for notebooks and tests through environment variables, read when a
function needs them (never at import): ``IAMG_DRAWS``, ``IAMG_TUNE``, ``IAMG_CHAINS``.
"""

from __future__ import annotations

import os

INTERVALS = (0.80, 0.95)          # interval probabilities shown everywhere (equal-tailed)
DRAWS = 1000
TUNE = 300    # nutpie's default; the seed evidence passes the gates at 12 of 12 seeds
CHAINS = 4
CORES = 2
RHAT_MAX = 1.01
ESS_MIN = 400
BFMI_MIN = 0.2
# NUTS's target acceptance rate; a fit with divergent transitions is redone with the smaller
# steps of each TARGET_ACCEPT_RETRY in turn, with 2 and then 4 times the tuning, until one has
# none (the value used is recorded in provenance). Bursty counts (dozens of attacks in one
# month) gave a few divergences at 0.8, most of them none at 0.95 (docs/backtests.md).
TARGET_ACCEPT = 0.8
TARGET_ACCEPT_RETRY = (0.95, 0.99)
# A fit of the default size or larger whose gates still fail (R-hat, ESS, divergences) is
# sampled once more with this many times the draws (recorded as ``draws_sampled``), from the
# target acceptance it had reached; if it diverges it climbs the rest of the same ladder
# (``inference.retry_ladder``).
EXTEND_DRAWS = 3
PARETO_K_MAX = 0.7
SURPRISE_ALPHA = 0.05
SIGNPOST_RELIABILITY = "B2"        # grade assumed for a hypothetical future report
CALIBRATED_MIN_N = 100
# ``make calibrate``: SBC simulations, scored worlds, power-check runs per bug and their size.
CALIBRATION_SIZES = {"n_sims": 500, "n_worlds": 1000, "power_repeats": 3,
                     # A report counted twice moves the forecasts about as much as sampler
                     # noise does; SBC needs 800 worlds to see it (docs/calibration.md).
                     "power_sims": {"half_likelihood": 200, "doubled_prior_initial": 200,
                                    "double_counted_item": 800},
                     # Independent simulated histories of the LFO check, their PITs tested
                     # together: one history's verdict rests on about 160 reports.
                     "lfo_histories": 10}

# ---- input limits (issue 18: hostile and accidental input) -----------------------------------
MAX_EVIDENCE_FILE_BYTES = 32 * 1024 * 1024   # one evidence file (YAML or CSV)
MAX_SPEC_FILE_BYTES = 4 * 1024 * 1024        # one priors/*.yaml file
MAX_YAML_DEPTH = 32                          # nesting of mappings and lists in any YAML file
MAX_YAML_NODES = 1_000_000                   # values of a YAML file with its aliases expanded
MAX_ID_CHARS = 128                           # item ids and the ids they refer to
MAX_SOURCE_CHARS = 2_000
MAX_TEXT_CHARS = 100_000                     # note and quote
MAX_URL_CHARS = 4_000
MAX_COUNT = 1_000_000                        # largest value of a count indicator
MAX_DISTINCT_REPORTS = 4                     # distinct events of one binary cell counted
CONTINUOUS_LIMIT = 1e6                       # |value| of a continuous indicator without a range
MAX_SCENARIO_MONTHS = 600                    # months from start_month to end_month
MAX_SPEC_ENTRIES = 500                       # entries of one list section of the spec
MAX_DRAWS = 1_000_000                        # draws (per chain) any command accepts


def env_int(name: str, default: int) -> int:
    """Read a positive integer from the environment, falling back to ``default``.

    Examples
    --------
    >>> env_int("IAMG_SURELY_UNSET_VARIABLE", 7)
    7
    """
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name} must be a positive integer, got {raw!r}"
                         ) from None
    if value <= 0:
        raise ValueError(f"environment variable {name} must be a positive integer, got {raw!r}")
    return value


def sampling_defaults() -> dict[str, int]:
    """Draws, tune and chains after environment overrides.

    Examples
    --------
    >>> sorted(sampling_defaults())
    ['chains', 'draws', 'tune']
    """
    return {
        "draws": env_int("IAMG_DRAWS", DRAWS),
        "tune": env_int("IAMG_TUNE", TUNE),
        "chains": env_int("IAMG_CHAINS", CHAINS),
    }


# A forecast whose newest evidence is older than this many days before its as-of date (or, when
# as-of defaulted to the newest evidence, before the day it was made) carries a staleness
# warning naming the gap and the indicators not reported since. ``IAMG_STALE_DAYS`` overrides.
STALE_AFTER_DAYS = 45


def stale_after_days() -> int:
    """The staleness threshold in days after the ``IAMG_STALE_DAYS`` override.

    Examples
    --------
    >>> stale_after_days() > 0
    True
    """
    return env_int("IAMG_STALE_DAYS", STALE_AFTER_DAYS)

"""The sampler's retry policy (``inference.retry_ladder``), checked without sampling: a fake
``run`` records the settings of each fit and says whether it diverged.
"""

from __future__ import annotations

import pytest

from iamg_forecast import defaults
from iamg_forecast.inference import retry_ladder

TARGETS = (defaults.TARGET_ACCEPT, *defaults.TARGET_ACCEPT_RETRY)


def ladder(diverges, ok=lambda fit: True, draws=defaults.DRAWS, tune=100):
    """Run the policy; ``diverges(target, draws)`` says whether a fit diverges."""
    calls = []

    def run(target, n_tune, n_draws):
        calls.append((target, n_tune, n_draws))
        return {"div": int(diverges(target, n_draws)), "draws": n_draws}

    kept, target, n_draws = retry_ladder(run, draws, tune, diverged=lambda f: f["div"],
                                         ok=lambda f: ok(f) and not f["div"])
    return calls, kept, target, n_draws


def test_a_clean_fit_is_sampled_once():
    calls, kept, target, n = ladder(lambda t, d: False)
    assert calls == [(TARGETS[0], 100, defaults.DRAWS)] and target == TARGETS[0]


def test_divergences_climb_the_ladder_with_more_tuning():
    calls, kept, target, n = ladder(lambda t, d: t < TARGETS[2])
    assert [c[:2] for c in calls] == [(TARGETS[0], 100), (TARGETS[1], 200), (TARGETS[2], 400)]
    assert target == TARGETS[2] and n == defaults.DRAWS and not kept["div"]


def test_an_extended_fit_that_diverges_climbs_the_rest_of_the_ladder():
    """The case that left one divergence in the count backtest: the first fit had none but
    failed its ESS gate; the longer fit diverged at the same target and was kept."""
    long = defaults.EXTEND_DRAWS * defaults.DRAWS
    calls, kept, target, n = ladder(lambda t, d: d == long and t < TARGETS[1],
                                    ok=lambda f: f["draws"] == long)
    assert calls == [(TARGETS[0], 100, defaults.DRAWS), (TARGETS[0], 100, long),
                     (TARGETS[1], 200, long)]
    assert (target, n, kept["div"]) == (TARGETS[1], long, 0)


def test_the_extension_starts_where_the_short_fits_stopped():
    long = defaults.EXTEND_DRAWS * defaults.DRAWS
    calls, kept, target, n = ladder(lambda t, d: t < TARGETS[1] or d == long,
                                    ok=lambda f: False)
    assert calls[-1] == (TARGETS[2], 400, long) and calls[2] == (TARGETS[1], 200, long)
    # what no target removes is kept and reported by the gates, not retried with a new seed
    assert kept["div"] == 1 and len(calls) == 4


@pytest.mark.parametrize("draws", [50, defaults.DRAWS - 1])
def test_small_fits_are_not_extended(draws):
    calls, kept, target, n = ladder(lambda t, d: False, ok=lambda f: False, draws=draws)
    assert calls == [(TARGETS[0], 100, draws)] and n == draws

"""Estimative language: ICD 203 bands, shared bounds, clipping; PHIA yardstick."""

from __future__ import annotations

import pytest

from iamg_forecast.language import icd203_term, phia_term, term


@pytest.mark.parametrize("p,word", [
    (0.0, "almost no chance"), (0.005, "almost no chance"), (0.03, "almost no chance"),
    # shared bounds go to the band closer to 50% (the less confident word)
    (0.05, "very unlikely"), (0.20, "unlikely"), (0.45, "roughly even chance"),
    (0.55, "roughly even chance"), (0.80, "likely"), (0.95, "very likely"),
    (0.12, "very unlikely"), (0.3, "unlikely"), (0.5, "roughly even chance"), (0.7, "likely"),
    (0.9, "very likely"), (0.97, "almost certain"), (0.999, "almost certain"), (1.0,
                                                                                "almost certain"),
])
def test_icd203(p, word):
    assert icd203_term(p) == word


@pytest.mark.parametrize("bad", [-0.1, 1.1, float("nan")])
def test_invalid_probabilities(bad):
    with pytest.raises(ValueError, match="probability must be in"):
        icd203_term(bad)


def test_phia_gaps_take_the_nearest_band():
    assert phia_term(0.07) == "remote chance"
    assert phia_term(0.08) == "highly unlikely"
    assert phia_term(0.52) == "realistic possibility"
    assert phia_term(0.77) == "likely or probable"
    assert phia_term(0.78) == "highly likely"
    assert term(0.5, "phia") == "realistic possibility"
    with pytest.raises(ValueError, match="language must be one of"):
        term(0.5, "nato")

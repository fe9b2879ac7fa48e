"""Estimative language: probabilities to words (ICD 203, optionally the UK PHIA yardstick).

Rule at shared bounds (ICD 203 bands share their end points): a probability exactly on a bound
takes the band *closer to 50 %*, the less confident word, so that we never overstate. Words are
chosen from the probability clipped to [1 %, 99 %] (ICD 203 has no band beyond these), while the
number shown alongside is always the one computed.

Sources: Office of the Director of National Intelligence, Intelligence Community Directive 203,
"Analytic Standards" (2015), section D.6.b(2)(a); UK Professional Head of Intelligence Assessment
(PHIA), "Probability yardstick" (2019 revision), as published by the UK government.

Examples
--------
>>> icd203_term(0.62)
'likely'
>>> icd203_term(0.80), icd203_term(0.05), icd203_term(0.5)
('likely', 'very unlikely', 'roughly even chance')
>>> phia_term(0.62)
'likely or probable'
"""

from __future__ import annotations

import math

__all__ = ["ICD203_BANDS", "PHIA_BANDS", "icd203_term", "phia_term", "term", "LANGUAGES"]

# (lower, upper, word); lower and upper as in ICD 203.
ICD203_BANDS: tuple[tuple[float, float, str], ...] = (
    (0.01, 0.05, "almost no chance"),
    (0.05, 0.20, "very unlikely"),
    (0.20, 0.45, "unlikely"),
    (0.45, 0.55, "roughly even chance"),
    (0.55, 0.80, "likely"),
    (0.80, 0.95, "very likely"),
    (0.95, 0.99, "almost certain"),
)

# The PHIA yardstick leaves deliberate gaps between its ranges.
PHIA_BANDS: tuple[tuple[float, float, str], ...] = (
    (0.00, 0.05, "remote chance"),
    (0.10, 0.20, "highly unlikely"),
    (0.25, 0.35, "unlikely"),
    (0.40, 0.50, "realistic possibility"),
    (0.55, 0.75, "likely or probable"),
    (0.80, 0.90, "highly likely"),
    (0.95, 1.00, "almost certain"),
)


def _check(p: float) -> float:
    p = float(p)
    if math.isnan(p) or not 0.0 <= p <= 1.0:
        raise ValueError(f"probability must be in [0, 1], got {p}")
    return p


def _distance_to_half(lo: float, hi: float) -> float:
    return min(abs(lo - 0.5), abs(hi - 0.5), 0.0 if lo <= 0.5 <= hi else 1.0)


def _pick(p: float, bands: tuple[tuple[float, float, str], ...]) -> str:
    inside = [b for b in bands if b[0] <= p <= b[1]]
    if not inside:  # a gap (PHIA): the nearest band, ties to the less confident one
        inside = sorted(bands, key=lambda b: (min(abs(p - b[0]), abs(p - b[1])),
                                              _distance_to_half(b[0], b[1])))[:1]
    return min(inside, key=lambda b: _distance_to_half(b[0], b[1]))[2]


def icd203_term(p: float) -> str:
    """ICD 203 likelihood term for probability ``p`` (clipped to [0.01, 0.99] for the word).

    Examples
    --------
    >>> icd203_term(0.0), icd203_term(0.2), icd203_term(0.999)
    ('almost no chance', 'unlikely', 'almost certain')
    """
    return _pick(min(max(_check(p), 0.01), 0.99), ICD203_BANDS)


def phia_term(p: float) -> str:
    """UK PHIA yardstick term for ``p``; in a gap between ranges the nearest range is used.

    Examples
    --------
    >>> phia_term(0.07), phia_term(0.5)
    ('remote chance', 'realistic possibility')
    """
    return _pick(_check(p), PHIA_BANDS)


LANGUAGES = {"icd203": icd203_term, "phia": phia_term}


def term(p: float, language: str = "icd203") -> str:
    """Estimative term in ``language`` (``"icd203"`` or ``"phia"``).

    Examples
    --------
    >>> term(0.9, "icd203")
    'very likely'
    """
    try:
        return LANGUAGES[language](p)
    except KeyError:
        raise ValueError(f"language must be one of {sorted(LANGUAGES)}, got {language!r}") from None

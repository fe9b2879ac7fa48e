"""Indicator kinds: everything a kind of report means, in one registry entry per kind.

A kind says how a report relates to its indicator's state ``eta`` (the linear predictor: a
logit, a log rate or a mean) and what a false report looks like. Every layer reads the entry:
the spec validates an indicator's fields with it, the evidence layer an item's value, the PyMC
graph and the NumPy likelihood evaluate :meth:`IndicatorKind.loglik` (one formula for both, written
against an ``ops`` namespace, see :mod:`iamg_forecast.likelihood`), the simulator draws reports
with it, and surprise and leave-future-out read its predictive distributions. The hand-written
kernel mirrors the entries whose :attr:`IndicatorKind.kernel_code` it implements and refuses
the others (:mod:`iamg_forecast.kernel`), so inference falls back to the PyMC graph.

Adding a kind: subclass :class:`IndicatorKind` and :func:`register_kind` it (see
``docs/registries.md``).

Examples
--------
>>> sorted(KINDS)
['binary', 'continuous', 'count']
>>> get_kind("count").discrete, kind_index("count")
(True, 1)
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from typing import Any, ClassVar, NamedTuple

import numpy as np
import scipy.special as sps
from scipy import stats

from iamg_forecast import defaults
from iamg_forecast.registry import Registry

__all__ = ["IndicatorKind", "ReportConstants", "KINDS", "register_kind", "unregister_kind",
           "get_kind", "kind_index", "kind_at", "count_predictive", "normal_logpdf",
           "report_predictive", "ReportPredictive", "tail_probability", "pit_and_log_score",
           "COUNT_ETA_LIMIT", "BINARY_RATE_FLOOR", "KIND_FIELDS", "cell_terms"]

#: The indicator fields that belong to kinds (each kind reads some of them, see
#: :attr:`IndicatorKind.required` and :attr:`IndicatorKind.optional`).
KIND_FIELDS = ("false_report_rate", "obs_sd", "false_report_sd", "dispersion", "value_range")
#: A count's log rate is clipped to +-30 so that ``exp`` stays finite in wild warm-up regions.
COUNT_ETA_LIMIT = 30.0
#: The smallest monthly event rate a binary cell's further reports are weighed at (a logit of
#: about -23): below it their likelihood is flat, so ``log P(K >= t)`` stays finite.
BINARY_RATE_FLOOR = 1e-10
_LOG_2PI = float(np.log(2 * np.pi))


class ReportConstants(NamedTuple):
    """Per-indicator constants of the report model (a kind reads the ones it needs).

    ``scale`` is the kind's own scale: a continuous report's standard deviation, a count's
    dispersion (0: Poisson).
    """

    false_rate: float = 0.5
    scale: float = 1.0
    false_sd: float = 1.0
    false_mu: float = 0.0


def normal_logpdf(y, mu, sd, ops):
    """Normal log density written against ``ops`` (NumPy or PyTensor).

    Examples
    --------
    >>> round(float(normal_logpdf(0.0, 0.0, 1.0, np)), 6)
    -0.918939
    """
    z = (y - mu) / sd
    return -0.5 * z * z - ops.log(sd) - 0.5 * _LOG_2PI


def count_predictive(mu, dispersion: float):
    """The predictive distribution of a count with mean ``mu`` (SciPy, frozen): Poisson, or
    negative binomial when ``dispersion > 0``.

    Examples
    --------
    >>> [round(float(count_predictive(4.0, phi).var()), 6) for phi in (0.0, 2.0)]
    [4.0, 12.0]
    """
    mu = np.asarray(mu, dtype=float)
    if dispersion > 0:
        return stats.nbinom(dispersion, dispersion / (dispersion + mu))
    return stats.poisson(mu)


class IndicatorKind(ABC):
    """One kind of indicator report: the registry entry every layer reads.

    Attributes
    ----------
    name : str
        What ``kind:`` says in ``priors/indicators.yaml``.
    link : str
        What ``eta`` is on (documentation: ``logit``, ``log`` or ``identity``).
    required, optional : tuple of str
        The fields of :data:`KIND_FIELDS` an indicator of this kind must and may set; the spec
        refuses the others.
    discrete : bool
        Reports take integer values: PITs are randomised and tails are ``P(Y >= y)`` or
        ``P(Y <= y)``; otherwise a tail is two-sided.
    absence : bool
        A monitored month without a report is an observation of value 0.
    additive : bool
        Reports may state the period they cover (``period_start``), and reports of disjoint
        parts of a month, or the parts of a running total, add up to the month's value
        (:func:`iamg_forecast.evidence.cells.count_cells`).
    max_reports : int
        Distinct reports of one cell the likelihood counts (1: a cell holds one report, its
        best-supported value). More than one: a cell's value is how many distinct events of
        the month were reported, up to this cap (:meth:`cell_value`), and each one after the
        first is graded as evidence of one more event (:meth:`graded_loglik`).
    capacity : int
        Observed cells of this kind the compiled graph holds before it grows (powers of two).
    kernel_code : int or None
        The code under which :mod:`iamg_forecast.kernel` mirrors this kind; None when it does
        not (a model with such an indicator samples through the PyMC graph).
    """

    name: ClassVar[str]
    link: ClassVar[str]
    required: ClassVar[tuple[str, ...]] = ()
    optional: ClassVar[tuple[str, ...]] = ()
    discrete: ClassVar[bool]
    absence: ClassVar[bool]
    additive: ClassVar[bool] = False
    max_reports: ClassVar[int] = 1
    capacity: ClassVar[int] = 16
    kernel_code: ClassVar[int | None] = None

    # ---- the likelihood (graph, NumPy, reweighting) -----------------------------------------
    @abstractmethod
    def loglik(self, eta, y, scale, ops):
        """``log p(y | eta)`` of a true report, elementwise, written against ``ops``."""

    @abstractmethod
    def false_loglik(self, y: np.ndarray, c: ReportConstants) -> np.ndarray:
        """``log p_false(y)`` of a false report (no parameter: NumPy only)."""

    def graded_loglik(self, eta, y, scale, log_rel, log_false, ops):
        """Log-likelihood of a cell graded with reliability ``r``: the mixture
        ``r * p(y | eta) + (1 - r) * p_false(y)``, with ``log r`` and ``log(1 - r) +
        log p_false(y)`` given (:func:`cell_terms`), written against ``ops``.
        """
        return ops.logaddexp(log_rel + self.loglik(eta, y, scale, ops), log_false)

    def cell_value(self, value: float, distinct: int) -> float:
        """The value a cell holds when its best-supported reported value is ``value`` and
        ``distinct`` independent reports (corroboration chains) state it.
        """
        return value

    def scored_value(self, value: float) -> float:
        """The part of a cell's value the predictive distributions (:meth:`true_dist`) score."""
        return value

    # ---- predictive distributions (surprise, leave-future-out) ------------------------------
    @abstractmethod
    def true_dist(self, eta: np.ndarray, c: ReportConstants):
        """Frozen SciPy distribution of a true report, vectorised over ``eta``."""

    @abstractmethod
    def false_dist(self, c: ReportConstants):
        """Frozen SciPy distribution of a false report."""

    # ---- simulation ------------------------------------------------------------------------
    @abstractmethod
    def draw_true(self, eta: float, c: ReportConstants, rng: np.random.Generator) -> float:
        """One true report given the state."""

    @abstractmethod
    def draw_false(self, c: ReportConstants, rng: np.random.Generator) -> float:
        """One false report."""

    # ---- the spec and the evidence ---------------------------------------------------------
    @abstractmethod
    def constants(self, ind: Any) -> ReportConstants:
        """The report constants of a spec indicator of this kind."""

    @abstractmethod
    def accepted_range(self, ind: Any) -> tuple[float, float]:
        """The values an item of indicator ``ind`` may take (inclusive)."""

    @abstractmethod
    def value_problem(self, value: float, lo: float, hi: float) -> str | None:
        """Why ``value`` is not a report of this kind within ``[lo, hi]`` (None: it is)."""

    def check_values(self, ind: Any) -> None:
        """Raise ValueError for a field value this kind cannot use (fields are present)."""
        return None

    def validate(self, ind: Any) -> None:
        """Check a spec indicator's kind fields: none the kind does not read, every one it
        needs, and their values (:meth:`check_values`).

        Raises
        ------
        ValueError
            With the first problem found.
        """
        reads = self.required + self.optional
        for f in KIND_FIELDS:
            if getattr(ind, f) is not None and f not in reads:
                users = [k.name for k in KINDS.values() if f in k.required + k.optional]
                raise ValueError(f"{f} is not read by a {self.name} indicator (it is for "
                                 f"{' and '.join(users) or 'no'} indicators)")
        for f in self.required:
            if getattr(ind, f) is None:
                raise ValueError(f"a {self.name} indicator needs {f}")
        self.check_values(ind)

    def __repr__(self) -> str:
        return f"<indicator kind {self.name!r}>"


def _positive(ind: Any, *fields: str) -> None:
    for f in fields:
        val = getattr(ind, f)
        if val is not None and val.value <= 0:
            raise ValueError(f"{f}.value must be > 0, got {val.value}")


class Binary(IndicatorKind):
    """Did the event happen this month: Bernoulli with a logit link; a false report says it
    did with probability ``false_report_rate``.
    """

    name = "binary"
    link = "logit"
    required = ("false_report_rate",)
    discrete = True
    absence = True
    max_reports = defaults.MAX_DISTINCT_REPORTS
    capacity = 64
    kernel_code = 0

    def loglik(self, eta, y, scale, ops):
        return ops.where(y > 0.5, ops.log_sigmoid(eta), ops.log_sigmoid(-eta))

    def graded_loglik(self, eta, y, scale, log_rel, log_false, ops):
        """The first report as every kind's mixture; each further distinct event ``t`` (the
        cell holds ``y`` of them) is its own graded report that a ``t``-th event happened
        given ``t - 1`` did.

        The events of a month are taken as Poisson with rate ``lambda = log(1 + e^eta)``, so
        that ``P(at least one) = sigmoid(eta)`` (the one-report cell is unchanged) and a
        further report multiplies the likelihood by
        ``r * P(K >= t) / P(K >= t - 1) + (1 - r) * p_false``, which grows with ``eta``.
        """
        total = super().graded_loglik(eta, y, scale, log_rel, log_false, ops)
        if self.max_reports < 2:
            return total
        top = ops.most(y, self.max_reports)
        if top < 2:
            return total
        lam = ops.maximum(ops.softplus(eta), BINARY_RATE_FLOOR)
        prev = ops.log(ops.gammainc(1.0, lam))
        for t in range(2, top + 1):
            cur = ops.log(ops.gammainc(float(t), lam))
            level = ops.logaddexp(log_rel + cur - prev, log_false)
            total = total + ops.where(y > t - 0.5, level, 0.0 * level)
            prev = cur
        return total

    def cell_value(self, value, distinct):
        return float(min(distinct, self.max_reports)) if value > 0.5 else value

    def scored_value(self, value):
        return min(value, 1.0)

    def false_loglik(self, y, c):
        return np.where(y > 0.5, np.log(c.false_rate), np.log1p(-c.false_rate))

    def true_dist(self, eta, c):
        return stats.bernoulli(sps.expit(np.asarray(eta, dtype=float)))

    def false_dist(self, c):
        return stats.bernoulli(c.false_rate)

    def draw_true(self, eta, c, rng):
        return float(rng.random() < 1.0 / (1.0 + np.exp(-eta)))

    def draw_false(self, c, rng):
        return float(rng.random() < c.false_rate)

    def constants(self, ind):
        return ReportConstants(false_rate=ind.false_report_rate.value)

    def accepted_range(self, ind):
        return (0.0, 1.0)

    def value_problem(self, value, lo, hi):
        return None if value in (0.0, 1.0) else "binary indicator: expected 0 or 1"

    def check_values(self, ind):
        v = ind.false_report_rate.value
        if not 0 < v < 1:
            raise ValueError(f"false_report_rate.value must be in (0, 1), got {v}")


class Count(IndicatorKind):
    """How many this month: Poisson with a log link, or negative binomial with ``dispersion``
    (variance ``mu + mu^2 / dispersion``); false reports are Poisson with mean
    ``false_report_rate``.
    """

    name = "count"
    link = "log"
    required = ("false_report_rate",)
    optional = ("dispersion",)
    discrete = True
    absence = True
    additive = True
    kernel_code = 1

    def loglik(self, eta, y, scale, ops):
        # ``scale`` is the dispersion: > 0 negative binomial, 0 Poisson
        eta_c = ops.clip(eta, -COUNT_ETA_LIMIT, COUNT_ETA_LIMIT)
        yc = ops.maximum(y, 0.0)
        mu = ops.exp(eta_c)
        phi = ops.maximum(scale, 1e-12)
        nb = (ops.gammaln(yc + phi) - ops.gammaln(phi) - ops.gammaln(yc + 1.0)
              + phi * ops.log(phi) - (phi + yc) * ops.log(phi + mu) + yc * eta_c)
        pois = yc * eta_c - mu - ops.gammaln(yc + 1.0)
        return ops.where(scale > 0, nb, pois)

    def false_loglik(self, y, c):
        yc = np.maximum(y, 0.0)
        return yc * np.log(c.false_rate) - c.false_rate - sps.gammaln(yc + 1.0)

    def true_dist(self, eta, c):
        return count_predictive(self._mean(eta), c.scale)

    def false_dist(self, c):
        return stats.poisson(c.false_rate)

    def draw_true(self, eta, c, rng):
        return float(count_predictive(float(self._mean(eta)), c.scale).rvs(random_state=rng))

    def draw_false(self, c, rng):
        return float(rng.poisson(c.false_rate))

    @staticmethod
    def _mean(eta):
        return np.exp(np.clip(eta, -COUNT_ETA_LIMIT, COUNT_ETA_LIMIT))

    def constants(self, ind):
        return ReportConstants(false_rate=ind.false_report_rate.value,
                               scale=ind.dispersion.value if ind.dispersion else 0.0)

    def accepted_range(self, ind):
        return (0.0, float(defaults.MAX_COUNT))

    def value_problem(self, value, lo, hi):
        if value < 0 or value != int(value) or value > hi:
            return f"count indicator: expected an integer from 0 to {int(hi):,}"
        return None

    def check_values(self, ind):
        v = ind.false_report_rate.value
        if v <= 0:
            raise ValueError(f"false_report_rate.value must be > 0 for counts, got {v}")
        _positive(ind, "dispersion")


class Continuous(IndicatorKind):
    """A measured value: Normal around ``eta`` with sd ``obs_sd``; a false report is Normal
    around the baseline's mean with sd ``false_report_sd``.
    """

    name = "continuous"
    link = "identity"
    required = ("obs_sd", "false_report_sd")
    optional = ("value_range",)
    discrete = False
    absence = False
    kernel_code = 2

    def loglik(self, eta, y, scale, ops):
        return normal_logpdf(y, eta, scale, ops)

    def false_loglik(self, y, c):
        return normal_logpdf(y, c.false_mu, c.false_sd, np)

    def true_dist(self, eta, c):
        return stats.norm(eta, c.scale)

    def false_dist(self, c):
        return stats.norm(c.false_mu, c.false_sd)

    def draw_true(self, eta, c, rng):
        return float(rng.normal(eta, c.scale))

    def draw_false(self, c, rng):
        return float(rng.normal(c.false_mu, c.false_sd))

    def constants(self, ind):
        mu = ind.baseline.mu
        return ReportConstants(scale=ind.obs_sd.value, false_sd=ind.false_report_sd.value,
                               false_mu=0.0 if mu is None else mu)

    def accepted_range(self, ind):
        if ind.value_range is not None:
            return (float(ind.value_range[0]), float(ind.value_range[1]))
        return (-defaults.CONTINUOUS_LIMIT, defaults.CONTINUOUS_LIMIT)

    def value_problem(self, value, lo, hi):
        if lo <= value <= hi:
            return None
        return (f"continuous indicator: expected a value from {lo:g} to {hi:g} (the range the "
                "indicator declares)")

    def check_values(self, ind):
        _positive(ind, "obs_sd", "false_report_sd")
        if ind.value_range is not None:
            lo, hi = ind.value_range
            if not lo < hi:
                raise ValueError(f"value_range must be [lo, hi] with lo < hi, got {[lo, hi]}")


#: The registry: kind name -> entry, in registration order (an entry's position is its index
#: in the model's per-indicator ``kind`` array and in the names of its cell slots).
KINDS: Registry = Registry("indicator kind")


#: Add an entry (its name and kernel code must be new) / remove one added later.
register_kind = KINDS.add
unregister_kind = KINDS.remove


def get_kind(name: str | IndicatorKind) -> IndicatorKind:
    """The entry of kind ``name`` (an entry is returned as it is).

    Raises
    ------
    ValueError
        For an unknown kind, with a did-you-mean hint.

    Examples
    --------
    >>> get_kind("binary").link
    'logit'
    >>> get_kind("binar")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown indicator kind 'binar'; did you mean 'binary'? (known: binary, ...)
    """
    if isinstance(name, IndicatorKind):
        return name
    if name in KINDS:
        return KINDS[name]
    hint = difflib.get_close_matches(str(name), KINDS, n=1)
    extra = f"; did you mean {hint[0]!r}?" if hint else ""
    raise ValueError(f"unknown indicator kind {name!r}{extra} (known: {', '.join(KINDS)})")


def kind_index(name: str) -> int:
    """Position of kind ``name`` in :data:`KINDS`."""
    get_kind(name)
    return list(KINDS).index(name)


def kind_at(index: int) -> IndicatorKind:
    """The entry at position ``index`` of :data:`KINDS`."""
    return list(KINDS.values())[int(index)]


for _k in (Binary(), Count(), Continuous()):
    register_kind(_k)
KINDS.seal()


# ---- a graded report: the likelihood's mixture and its predictive distribution ---------------
def cell_terms(kind: str | IndicatorKind, value, rel, false_rate, false_sd, false_mu):
    """The evidence-only parts of a cell's mixture: ``(log r, log(1 - r) + log p_false)``.

    They hold no parameter, so they are computed once in NumPy per evidence state and enter
    the graph as data; the graph only evaluates the state-dependent part (the kind's
    :meth:`IndicatorKind.loglik`). ``kind`` is a name or an entry of :data:`KINDS`.

    Examples
    --------
    >>> lr, lf = cell_terms("binary", np.ones(1), np.full(1, 0.8), np.full(1, 0.1), np.ones(1),
    ...                     np.zeros(1))
    >>> [round(float(np.exp(x[0])), 3) for x in (lr, lf)]   # 0.8 and 0.2 * 0.1
    [0.8, 0.02]
    """
    r = np.clip(rel, 1e-6, 1 - 1e-6)
    c = ReportConstants(false_rate=false_rate, false_sd=false_sd, false_mu=false_mu)
    return np.log(r), np.log1p(-r) + get_kind(kind).false_loglik(value, c)


class ReportPredictive(NamedTuple):
    """A report graded ``r``, per draw: ``r * true + (1 - r) * false`` (the likelihood's
    mixture). ``true`` is vectorised over draws.
    """

    kind: IndicatorKind
    true: Any
    false: Any
    r: float

    def cdf(self, y: float) -> np.ndarray:
        """``P(Y <= y)`` per draw."""
        return self.r * self.true.cdf(y) + (1 - self.r) * self.false.cdf(y)

    def sf(self, y: float) -> np.ndarray:
        """``P(Y > y)`` per draw (accurate far in the tail, unlike ``1 - cdf``)."""
        return self.r * self.true.sf(y) + (1 - self.r) * self.false.sf(y)

    def mass(self, y: float) -> np.ndarray:
        """``P(Y = y)`` (discrete kinds) or the density at ``y``, per draw."""
        if self.kind.discrete:
            return self.r * self.true.pmf(y) + (1 - self.r) * self.false.pmf(y)
        return self.r * self.true.pdf(y) + (1 - self.r) * self.false.pdf(y)


def report_predictive(kind: IndicatorKind, eta: np.ndarray, c: ReportConstants,
                      r: float) -> ReportPredictive:
    """The predictive distribution, per draw of ``eta``, of a report graded ``r``.

    Examples
    --------
    >>> pred = report_predictive(get_kind("binary"), np.zeros(1), ReportConstants(0.1), 0.8)
    >>> round(float(pred.mass(1.0)[0]), 3)   # 0.8 * 0.5 + 0.2 * 0.1
    0.42
    """
    return ReportPredictive(kind, kind.true_dist(eta, c), kind.false_dist(c), float(r))


def tail_probability(pred: ReportPredictive, y: float, w: np.ndarray) -> float:
    """Posterior-predictive tail probability of report ``y`` under weights ``w``.

    Discrete kinds: the smaller of ``P(Y >= y)`` and ``P(Y <= y)``; continuous: two-sided,
    ``2 min(F(y), 1 - F(y))``.

    Examples
    --------
    >>> pred = report_predictive(get_kind("binary"), np.zeros(2), ReportConstants(0.1), 0.8)
    >>> round(tail_probability(pred, 1.0, np.full(2, 0.5)), 3)
    0.42
    """
    if pred.kind.discrete:
        upper = w @ pred.sf(y - 1)
        lower = w @ pred.cdf(y)
        return float(min(upper, lower))
    c = float(w @ pred.cdf(y))
    return float(2 * min(c, 1 - c))


def pit_and_log_score(pred: ReportPredictive, y: float, w: np.ndarray,
                      v: float) -> tuple[float, float]:
    """(PIT, log predictive density) of report ``y`` under weights ``w``.

    Discrete kinds get the randomised PIT ``P(Y < y) + v P(Y = y)`` (``v`` uniform), which is
    uniform when the model is right.

    Examples
    --------
    >>> pred = report_predictive(get_kind("continuous"), np.zeros(1), ReportConstants(), 1.0)
    >>> [round(x, 4) for x in pit_and_log_score(pred, 0.0, np.ones(1), 0.5)]
    [0.5, -0.9189]
    """
    if pred.kind.discrete:
        eq = float(w @ pred.mass(y))
        less = float(w @ pred.cdf(y - 1))
        return less + v * eq, float(np.log(eq))
    return float(w @ pred.cdf(y)), float(np.log(w @ pred.mass(y)))

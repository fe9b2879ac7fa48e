"""The model's likelihood and outcome arithmetic, written once for PyTensor and NumPy.

The same functions build the PyMC graph (``ops=PT``) and recompute, from stored draws, the
log-likelihood of new evidence or the outcome probabilities for another ``as_of`` (``ops=NP``).
Keeping one implementation is what makes importance reweighting agree with a refit.

Shapes: ``eta`` is ``(..., indicator, month)``; outcome hazards are ``(..., row, month)``.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import scipy.special as sps

__all__ = ["NP", "PT", "cell_loglik", "event_cumulative", "competing_cumulative",
           "event_loglik", "competing_loglik", "KIND_CODES", "sparse_cell_loglik", "cell_terms",
           "mixture_loglik"]

KIND_CODES = {"binary": 0, "count": 1, "continuous": 2}

NP = SimpleNamespace(
    log=np.log, exp=np.exp, log1p=np.log1p, where=np.where, sigmoid=sps.expit,
    log_sigmoid=lambda x: -np.logaddexp(0.0, -x), gammaln=sps.gammaln,
    logaddexp=np.logaddexp, cumsum=np.cumsum, sum=np.sum, maximum=np.maximum,
    clip=np.clip, concat=np.concatenate, ones_like=np.ones_like,
    arange=np.arange, expand=np.expand_dims, eq=np.equal,
)


def _pt_ops() -> SimpleNamespace:
    import pytensor.tensor as pt

    return SimpleNamespace(
        log=pt.log, exp=pt.exp, log1p=pt.log1p, where=pt.switch, sigmoid=pt.sigmoid,
        log_sigmoid=lambda x: -pt.softplus(-x), gammaln=pt.gammaln,
        logaddexp=pt.logaddexp, cumsum=pt.cumsum, sum=pt.sum, maximum=pt.maximum,
        clip=pt.clip, concat=pt.concatenate, ones_like=pt.ones_like,
        arange=pt.arange, expand=pt.expand_dims, eq=pt.eq,
    )


class _LazyPT(SimpleNamespace):
    def __getattr__(self, name):  # build on first use: importing PyTensor is slow
        ops = _pt_ops()
        self.__dict__.update(vars(ops))
        return getattr(ops, name)


PT = _LazyPT()

_LOG_2PI = float(np.log(2 * np.pi))


def _normal_logpdf(y, mu, sd, ops):
    z = (y - mu) / sd
    return -0.5 * z * z - ops.log(sd) - 0.5 * _LOG_2PI


def _true_ll(code, eta, y, osd, ops):
    """Log-likelihood of values ``y`` when the report reflects the state ``eta``."""
    if code == KIND_CODES["binary"]:
        return ops.where(y > 0.5, ops.log_sigmoid(eta), ops.log_sigmoid(-eta))
    if code == KIND_CODES["count"]:
        eta_c = ops.clip(eta, -30.0, 30.0)  # keep exp finite in wild warm-up regions
        yc = ops.maximum(y, 0.0)
        return yc * eta_c - ops.exp(eta_c) - ops.gammaln(yc + 1.0)
    return _normal_logpdf(y, eta, osd, ops)


def _false_ll(code, y, fr, fsd, fmu):
    """Log-likelihood of values ``y`` under the false-report model (no parameters: NumPy)."""
    if code == KIND_CODES["binary"]:
        return np.where(y > 0.5, np.log(fr), np.log1p(-fr))
    if code == KIND_CODES["count"]:
        yc = np.maximum(y, 0.0)
        return yc * np.log(fr) - fr - sps.gammaln(yc + 1.0)
    return _normal_logpdf(y, fmu, fsd, NP)


def cell_terms(code, value, rel, false_rate, false_sd, false_mu):
    """The evidence-only parts of a cell's mixture: ``(log r, log(1 - r) + log p_false)``.

    They hold no parameter, so they are computed once in NumPy per evidence state and enter
    the graph as data; the graph only evaluates the state-dependent part.

    Examples
    --------
    >>> import numpy as np
    >>> lr, lf = cell_terms(0, np.ones(1), np.full(1, 0.8), np.full(1, 0.1), np.ones(1),
    ...                     np.zeros(1))
    >>> [round(float(np.exp(x[0])), 3) for x in (lr, lf)]   # 0.8 and 0.2 * 0.1
    [0.8, 0.02]
    """
    r = np.clip(rel, 1e-6, 1 - 1e-6)
    return np.log(r), np.log1p(-r) + _false_ll(code, value, false_rate, false_sd, false_mu)


def mixture_loglik(code, eta, value, obs_sd, log_rel, log_false, ops=NP):
    """Log-likelihood of reports graded with reliability ``r`` (see :func:`cell_loglik`)."""
    return ops.logaddexp(log_rel + _true_ll(code, eta, value, obs_sd, ops), log_false)


def cell_loglik(eta, value, rel, observed, kind, false_rate, obs_sd, false_sd, false_mu,
                ops=NP):
    """Total log-likelihood of the evidence cells, per draw.

    A report graded with reliability ``r`` is the mixture
    ``r * p(value | state) + (1 - r) * p_false(value)``: with probability ``r`` it reflects
    reality, otherwise it is noise whose rate is the indicator's false-report rate. Cells with
    ``observed == 0`` contribute nothing; ``observed`` is each cell's weight. Each kind is
    computed only on its own rows.

    Parameters
    ----------
    eta : array (..., I, M)
        Linear predictor per indicator and month (logit, log rate or mean by kind).
    value, rel, observed : array (I, M)
        Reported value, reliability in (0, 1), and 1 where the cell holds evidence.
    kind : int ndarray (I,)
        :data:`KIND_CODES` per indicator (a constant, not data).
    false_rate, obs_sd, false_sd, false_mu : ndarray (I,)
        Per-indicator constants from the spec.
    ops : namespace
        :data:`NP` or :data:`PT`.

    Returns
    -------
    array (...)
        Sum over indicators and months.

    Examples
    --------
    >>> import numpy as np
    >>> ll = cell_loglik(np.zeros((1, 1)), np.ones((1, 1)), np.ones((1, 1)) * 0.999999,
    ...                  np.ones((1, 1)), np.array([0]), np.array([0.05]), np.ones(1),
    ...                  np.ones(1), np.zeros(1))
    >>> round(float(np.exp(ll)), 3)   # ~ p = sigmoid(0)
    0.5
    """
    kind = np.asarray(kind)
    total = 0.0
    for code in np.unique(kind):
        rows = np.nonzero(kind == code)[0]
        fr, osd, fsd, fmu = (np.asarray(a)[rows][:, None]
                             for a in (false_rate, obs_sd, false_sd, false_mu))
        log_rel, log_false = cell_terms(int(code), value[rows], rel[rows], fr, fsd, fmu)
        mixed = mixture_loglik(int(code), eta[..., rows, :], value[rows], osd, log_rel,
                               log_false, ops)
        total = total + ops.sum(ops.sum(observed[rows] * mixed, axis=-1), axis=-1)
    return total


def sparse_cell_loglik(code, eta_cells, value, obs_sd, log_rel, log_false, on, ops=NP):
    """Total log-likelihood of a fixed-capacity list of evidence cells of one kind.

    The graph evaluates only observed cells (padded to a fixed capacity with ``on = 0``), which
    is what makes a gradient cheap: a log has a few dozen observed cells, not every
    (indicator, month). ``obs_sd``, ``log_rel`` and ``log_false`` are per-cell data (see
    :func:`cell_terms`); ``on`` is each cell's weight.

    Examples
    --------
    >>> import numpy as np
    >>> one = np.ones(1)
    >>> lr, lf = cell_terms(0, one, one * 0.999999, one * 0.05, one, 0 * one)
    >>> round(float(np.exp(sparse_cell_loglik(0, np.zeros(1), one, one, lr, lf, one))), 3)
    0.5
    """
    return ops.sum(on * mixture_loglik(int(code), eta_cells, value, obs_sd, log_rel,
                                       log_false, ops), axis=-1)


def _month_index(n_months: int, ops):
    return ops.arange(n_months)


def event_loglik(logit_h, event_month, obs_through, ops=NP):
    """Log-likelihood of what is known about event outcomes up to ``obs_through``.

    Every month up to ``obs_through`` without the event counts as "did not happen"; a logged
    event at month ``event_month`` (>= 0) contributes its hazard there and survival before it.

    Parameters
    ----------
    logit_h : array (..., E, M)
        Monthly hazard logits.
    event_month : int array (E,)
        Month index of the logged event, or -1.
    obs_through : int
        Last month whose absence of events is known (-1: none).

    Examples
    --------
    >>> import numpy as np
    >>> float(event_loglik(np.zeros((1, 3)), np.array([-1]), 1)[0])  # two months survived
    -1.3862943611198906
    """
    m = _month_index(logit_h.shape[-1], ops)
    em = event_month[:, None]
    happened = em >= 0
    before = ops.where(happened, m < em, m <= obs_through)
    at = ops.where(happened, ops.eq(m, em), ops.eq(m, -100))
    ll = before * ops.log_sigmoid(-logit_h) + at * ops.log_sigmoid(logit_h)
    return ops.sum(ll, axis=-1)


def _log_softmax_choices(choice_logit, ops):
    """Log-softmax over choices with an implicit reference logit 0 appended last.

    ``choice_logit`` is ``(..., C-1, M)``; returns ``(..., C, M)``.
    """
    ref = 0.0 * choice_logit[..., :1, :]
    full = ops.concat([choice_logit, ref], axis=-2)
    mx = full.max(axis=-2, keepdims=True)
    lse = mx + ops.log(ops.sum(ops.exp(full - mx), axis=-2, keepdims=True))
    return full - lse


def competing_loglik(group_logit, choice_logit, group_month, group_choice, obs_through,
                     ops=NP):
    """Log-likelihood of one competing group (e.g. PM selection) up to ``obs_through``.

    Parameters
    ----------
    group_logit : array (..., M)
        Monthly hazard logit that the group's event happens.
    choice_logit : array (..., C-1, M)
        Logits of the non-reference choices (the reference has logit 0 and comes last).
    group_month : int
        Month the event was logged (-1: not yet).
    group_choice : int
        Index of the realised choice in ``[non-reference..., reference]`` (-1: not yet).
    obs_through : int
        Last month whose absence of the event is known.
    """
    m = _month_index(group_logit.shape[-1], ops)
    happened = group_month >= 0
    before = ops.where(happened, m < group_month, m <= obs_through)
    at = ops.where(happened, ops.eq(m, group_month), ops.eq(m, -100))
    logsm = _log_softmax_choices(choice_logit, ops)
    n_choice = logsm.shape[-2]
    onehot = ops.eq(ops.arange(n_choice)[:, None], group_choice) * 1.0
    choice_ll = ops.sum(logsm * onehot, axis=-2)
    ll = before * ops.log_sigmoid(-group_logit) + at * (ops.log_sigmoid(group_logit) + choice_ll)
    return ops.sum(ll, axis=-1)


def event_cumulative(logit_h, obs_through, ops=NP):
    """Probability that each event happens after ``obs_through`` and by each month.

    Returns ``(..., E, M)``; zero up to ``obs_through``.

    Examples
    --------
    >>> import numpy as np
    >>> c = event_cumulative(np.zeros((1, 3)), 0)
    >>> [round(float(x), 3) for x in c[0]]
    [0.0, 0.5, 0.75]
    """
    m = _month_index(logit_h.shape[-1], ops)
    window = (m > obs_through) * 1.0
    log_surv = ops.cumsum(window * ops.log_sigmoid(-logit_h), axis=-1)
    return 1.0 - ops.exp(log_surv)


def competing_cumulative(group_logit, choice_logit, obs_through, ops=NP):
    """Cumulative probability of each choice (and of none) after ``obs_through``, by month.

    Returns ``(..., C + 1, M)``: the C choices in ``[non-reference..., reference]`` order, then
    the probability that the event has not happened. The rows sum to one in every month.

    Examples
    --------
    >>> import numpy as np
    >>> c = competing_cumulative(np.zeros(2), np.zeros((1, 2)), -1)
    >>> [round(float(x), 3) for x in c[:, -1]]   # two choices, then none
    [0.375, 0.375, 0.25]
    """
    m = _month_index(group_logit.shape[-1], ops)
    window = (m > obs_through) * 1.0
    log_surv = ops.cumsum(window * ops.log_sigmoid(-group_logit), axis=-1)
    surv = ops.exp(log_surv)
    log_surv_prev = log_surv - window * ops.log_sigmoid(-group_logit)
    inc = window * ops.exp(log_surv_prev + ops.log_sigmoid(group_logit))
    probs = ops.exp(_log_softmax_choices(choice_logit, ops))
    cum = ops.cumsum(ops.expand(inc, -2) * probs, axis=-1)
    return ops.concat([cum, ops.expand(surv, -2)], axis=-2)

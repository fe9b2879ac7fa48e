"""The model's likelihood and outcome arithmetic, written once for PyTensor and NumPy.

The same functions build the PyMC graph (``ops=PT``) and recompute, from stored draws, the
log-likelihood of new evidence or the outcome probabilities for another ``as_of`` (``ops=NP``).
Keeping one implementation is what makes importance reweighting agree with a refit. What a
report of each indicator kind means (its log-likelihood, its false-report term) comes from the
kind's registry entry (:mod:`iamg_forecast.kinds`); this module mixes and sums the cells.

Shapes: ``eta`` is ``(..., indicator, month)``; outcome hazards are ``(..., row, month)``.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import scipy.special as sps

from iamg_forecast.kinds import cell_terms, get_kind, kind_at
from iamg_forecast.spec import STAGE_ROWS, Spec

__all__ = ["NP", "PT", "cell_loglik", "event_cumulative", "group_cumulative",
           "event_loglik", "history_loglik", "choice_loglik", "log_softmax_choices",
           "sparse_cell_loglik", "mixture_loglik", "outcome_terms"]

# ``most(y, cap)``: the largest value ``y`` can hold when the expression is built, at most
# ``cap`` (NumPy knows ``y``; a graph's data may change later, so it takes ``cap``).
NP = SimpleNamespace(
    log=np.log, exp=np.exp, log1p=np.log1p, where=np.where, sigmoid=sps.expit,
    log_sigmoid=lambda x: -np.logaddexp(0.0, -x), gammaln=sps.gammaln,
    softplus=lambda x: np.logaddexp(0.0, x), gammainc=sps.gammainc, logaddexp=np.logaddexp,
    cumsum=np.cumsum, sum=np.sum, maximum=np.maximum,
    most=lambda y, cap: int(min(cap, np.max(y, initial=0.0))),
    clip=np.clip, concat=np.concatenate, ones_like=np.ones_like,
    arange=np.arange, expand=np.expand_dims, eq=np.equal, sign=np.sign, stack=np.stack,
)


def _pt_ops() -> SimpleNamespace:
    import pytensor.tensor as pt

    return SimpleNamespace(
        log=pt.log, exp=pt.exp, log1p=pt.log1p, where=pt.switch, sigmoid=pt.sigmoid,
        log_sigmoid=lambda x: -pt.softplus(-x), gammaln=pt.gammaln,
        softplus=pt.softplus, gammainc=pt.gammainc, logaddexp=pt.logaddexp, cumsum=pt.cumsum,
        sum=pt.sum, maximum=pt.maximum,
        most=lambda y, cap: cap,   # data may change after the graph is built
        clip=pt.clip, concat=pt.concatenate, ones_like=pt.ones_like,
        arange=pt.arange, expand=pt.expand_dims, eq=pt.eq, sign=pt.sign, stack=pt.stack,
    )


class _LazyPT(SimpleNamespace):
    def __getattr__(self, name):  # build on first use: importing PyTensor is slow
        ops = _pt_ops()
        self.__dict__.update(vars(ops))
        return getattr(ops, name)


PT = _LazyPT()


def mixture_loglik(kind, eta, value, scale, log_rel, log_false, ops=NP):
    """Log-likelihood of reports graded with reliability ``r`` (see :func:`cell_loglik`);
    ``kind`` is a name or an entry of :data:`~iamg_forecast.kinds.KINDS`.
    """
    return get_kind(kind).graded_loglik(eta, value, scale, log_rel, log_false, ops)


def cell_loglik(eta, value, rel, observed, kind, false_rate, obs_sd, false_sd, false_mu,
                ops=NP):
    """Total log-likelihood of the evidence cells, per draw.

    A report graded with reliability ``r`` is the mixture
    ``r * p(value | state) + (1 - r) * p_false(value)``: with probability ``r`` it reflects
    reality, otherwise it is noise whose rate is the indicator's false-report rate. Cells with
    ``observed == 0`` contribute nothing; ``observed`` is each cell's weight. Each kind is
    computed only on its own rows, with its entry of :data:`iamg_forecast.kinds.KINDS`.

    Parameters
    ----------
    eta : array (..., I, M)
        Linear predictor per indicator and month (logit, log rate or mean by kind).
    value, rel, observed : array (I, M)
        Reported value, reliability in (0, 1), and 1 where the cell holds evidence.
    kind : int ndarray (I,)
        Each indicator's kind as its position in :data:`~iamg_forecast.kinds.KINDS`
        (a constant, not data).
    false_rate, obs_sd, false_sd, false_mu : ndarray (I,)
        Per-indicator constants from the spec (``obs_sd`` holds each kind's scale, see
        :class:`~iamg_forecast.kinds.ReportConstants`).
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
        entry = kind_at(code)
        rows = np.nonzero(kind == code)[0]
        fr, osd, fsd, fmu = (np.asarray(a)[rows][:, None]
                             for a in (false_rate, obs_sd, false_sd, false_mu))
        log_rel, log_false = cell_terms(entry, value[rows], rel[rows], fr, fsd, fmu)
        mixed = mixture_loglik(entry, eta[..., rows, :], value[rows], osd, log_rel, log_false,
                               ops)
        total = total + ops.sum(ops.sum(observed[rows] * mixed, axis=-1), axis=-1)
    return total


def sparse_cell_loglik(kind, eta_cells, value, scale, log_rel, log_false, on, ops=NP):
    """Total log-likelihood of a fixed-capacity list of evidence cells of one kind.

    The graph evaluates only observed cells (padded to a fixed capacity with ``on = 0``), which
    is what makes a gradient cheap: a log has a few dozen observed cells, not every
    (indicator, month). ``scale``, ``log_rel`` and ``log_false`` are per-cell data (see
    :func:`~iamg_forecast.kinds.cell_terms`); ``on`` is each cell's weight.

    Examples
    --------
    >>> import numpy as np
    >>> one = np.ones(1)
    >>> lr, lf = cell_terms("binary", one, one * 0.999999, one * 0.05, one, 0 * one)
    >>> lik = sparse_cell_loglik("binary", np.zeros(1), one, one, lr, lf, one)
    >>> round(float(np.exp(lik)), 3)
    0.5
    """
    return ops.sum(on * mixture_loglik(kind, eta_cells, value, scale, log_rel, log_false, ops),
                   axis=-1)


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


def log_softmax_choices(choice_logit, ops=NP):
    """Log-softmax over the choice axis ``-2`` of ``(..., C, M)`` logits (every choice has
    its own logit: none is a fixed reference).

    Examples
    --------
    >>> import numpy as np
    >>> [round(float(np.exp(v)), 3) for v in log_softmax_choices(np.zeros((2, 1)))[:, 0]]
    [0.5, 0.5]
    """
    mx = choice_logit.max(axis=-2, keepdims=True)
    lse = mx + ops.log(ops.sum(ops.exp(choice_logit - mx), axis=-2, keepdims=True))
    return choice_logit - lse


def history_loglik(hz, row, month, sign, on, ops=NP):
    """Log-likelihood of a group's known steps: ``sum(on * log sigmoid(sign * hz[row, month]))``.

    A competing group's history (the steps that happened, and the ones that did not, month by
    month) is a list of such cells, built from the dated milestones and resolutions by
    :func:`iamg_forecast.evidence.cells.group_history`; padding cells have ``on = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> i = np.array([0, 0])
    >>> round(float(history_loglik(np.zeros((1, 2)), i, np.array([0, 1]), np.array([-1, 1]),
    ...                            np.ones(2))), 4)   # survived a month, then happened
    -1.3863
    """
    return ops.sum(on * ops.log_sigmoid(sign * hz[..., row, month]), axis=-1)


def choice_loglik(choice_logit, month, choice, on, ops=NP):
    """Log-likelihood of the choices made (a designation, or the event itself) at ``month``.

    ``choice_logit`` is ``(..., C, M)``; cells give the month and the index of the choice.
    """
    logsm = log_softmax_choices(choice_logit, ops)
    return ops.sum(on * logsm[..., choice, month], axis=-1)


def group_cumulative(g_logit, choice_logit, state, obs_through, n_months, stage_logit=None,
                     ops=NP, n_choices=None):
    """Probability that the group's event happens after ``obs_through`` and by each month, by
    choice, from the process state known at ``obs_through``.

    Without stages, the event happens each month with probability ``sigmoid(g_logit)``. With
    them (see :class:`~iamg_forecast.spec.Stages`) the chain's states are: awaiting the
    president (0), president in office (1), a designate of choice ``c`` (``2 + c``), formed
    (``2 + C + c``); ``g_logit`` moves 0 to 1 and ``stage_logit`` holds the designation, vote,
    same-month vote and failure logits (rows of ``(..., 4, M)``). Steps follow one another in
    one month: president, designation (its choice by the softmax), same-month vote.

    Parameters
    ----------
    g_logit : array (..., M)
    choice_logit : array (..., C, M)
    state : int
        Chain state at ``obs_through`` (0 for an unstaged group that has not happened).
    obs_through : int
    n_months : int
    stage_logit : array (..., 4, M), optional
    ops : namespace
    n_choices : int, optional
        ``C`` (needed when the shape is symbolic, as in the PyTensor graph).

    Returns
    -------
    array (..., C + 1, M)
        Cumulative probability of each choice, then the probability that the event has not
        happened, by each month; zero change up to ``obs_through``.

    Examples
    --------
    >>> import numpy as np
    >>> c = group_cumulative(np.zeros(2), np.zeros((2, 2)), 0, -1, 2)
    >>> [round(float(x), 3) for x in c[:, -1]]   # two choices, then none
    [0.375, 0.375, 0.25]
    """
    n_c = int(choice_logit.shape[-2]) if n_choices is None else n_choices
    logsm = log_softmax_choices(choice_logit, ops)
    p0 = ops.ones_like(g_logit[..., 0]) * ops.eq(state, 0)
    p1 = ops.ones_like(g_logit[..., 0]) * ops.eq(state, 1)
    p2 = [ops.ones_like(g_logit[..., 0]) * ops.eq(state, 2 + c) for c in range(n_c)]
    formed = [0.0 * g_logit[..., 0] for _ in range(n_c)]
    cum = []
    for m in range(n_months):
        w = ops.maximum(ops.sign(m - obs_through), 0.0)   # 1 after obs_through, else 0
        a = w * ops.sigmoid(g_logit[..., m])
        pi = [ops.exp(logsm[..., c, m]) for c in range(n_c)]
        if stage_logit is None:
            for c in range(n_c):
                formed[c] = formed[c] + p0 * a * pi[c]
            p0 = p0 * (1.0 - a)
        else:
            b, v, vs, f = (ops.sigmoid(stage_logit[..., k, m]) for k in range(4))
            elected = p0 * a
            named = (elected + w * p1) * b
            fail = [w * p2[c] * (1.0 - v) * f for c in range(n_c)]
            vote = [w * p2[c] * v for c in range(n_c)]
            p0 = p0 - elected
            p1 = p1 + elected - named + sum(fail)
            for c in range(n_c):
                p2[c] = p2[c] - fail[c] - vote[c] + named * pi[c] * (1.0 - vs)
                formed[c] = formed[c] + vote[c] + named * pi[c] * vs
        cum.append(ops.stack(formed + [p0 + p1 + sum(p2)], axis=-1))
    return ops.stack(cum, axis=-1)


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


def dependent_cumulative(logit_h, effects, parent_cum, parent_known, obs_through, n_months,
                         ops=NP):
    """Probability that an event whose hazard depends on other outcomes happens after
    ``obs_through`` and by each month, over every combination of those outcomes.

    In month ``m`` the event's hazard logit is ``logit_h[m]`` plus the effect of each parent
    that has happened by the end of month ``m - 1``. The parents' timings are independent of
    one another and of the event given the latents (checked by the spec), so each parent
    enters through its own monthly conditional probability of happening, from its cumulative
    probability; the combinations of parents that have happened are tracked exactly
    (``2 ** len(effects)`` states).

    Parameters
    ----------
    logit_h : array (..., M)
        The event's hazard logit, with the effects of parents known to have happened already
        added in.
    effects : list of array (..., M)
        Each parent's signed effect on the logit.
    parent_cum : list of array (..., M)
        Each parent's probability of happening after ``obs_through`` and by each month.
    parent_known : list of scalar
        1 for a parent known to have happened (its effect is in ``logit_h``; it never moves
        the state), else 0.
    obs_through : int
    n_months : int
    ops : namespace

    Returns
    -------
    array (..., M)

    Examples
    --------
    >>> import numpy as np
    >>> z = np.zeros(3)
    >>> c = dependent_cumulative(z - 100, [z + 200], [np.array([0.0, 1.0, 1.0])], [0], -1, 3)
    >>> [round(float(x), 3) for x in c]   # the parent happens in month 1: the event in 2
    [0.0, 0.0, 1.0]
    """
    k = len(effects)
    one = ops.ones_like(logit_h[..., 0])
    w = [one] + [0.0 * one for _ in range(2 ** k - 1)]
    prev = [0.0 * one for _ in range(k)]
    done = 0.0 * one
    out = []
    for m in range(n_months):
        act = ops.maximum(ops.sign(m - obs_through), 0.0)   # 1 after obs_through, else 0
        for mask in range(2 ** k):
            logit = logit_h[..., m]
            for j in range(k):
                if mask >> j & 1:
                    logit = logit + effects[j][..., m]
            hit = w[mask] * act * ops.sigmoid(logit)
            done = done + hit
            w[mask] = w[mask] - hit
        for j in range(k):
            cum = parent_cum[j][..., m]
            rate = act * (1.0 - parent_known[j]) * (cum - prev[j]) / ops.maximum(
                1.0 - prev[j], 1e-12)
            prev[j] = cum
            for mask in range(2 ** k):
                if not mask >> j & 1:
                    moved = w[mask] * rate
                    w[mask] = w[mask] - moved
                    w[mask | 1 << j] = w[mask | 1 << j] + moved
        out.append(done)
    return ops.stack(out, axis=-1)


def outcome_terms(s: Spec, hz, data, ops, cum: bool = True):
    """Outcome log-likelihood (known absence, steps, resolutions) and cumulative
    probabilities of spec ``s``'s outcomes.

    ``hz`` is ``(..., hazard, month)`` (rows :attr:`Spec.hazard_rows`); returns
    ``(loglik (...), cum (..., outcome, month))`` with outcomes in spec order (``cum`` is None
    when not asked for). Used by the graph (PyTensor) and by reweighting (NumPy).
    """
    rows = s.hazard_rows
    events = [o.name for o in s.outcomes if o.type == "event"]
    obs = data["obs_through"]
    ll = 0.0
    pieces: dict[str, object] = {}
    if s.competing_groups:
        ll = ll + history_loglik(hz, data["hist_row"], data["hist_month"],
                                 data["hist_sign"], data["hist_on"], ops=ops)
    for gi, g in enumerate(s.competing_groups):
        choices = s.choices(g.name)
        clog = hz[..., np.array([rows.index(c) for c in choices]), :]
        on = data["choice_on"] * ops.eq(data["choice_group"], gi)
        ll = ll + choice_loglik(clog, data["choice_month"], data["choice_index"], on,
                                ops=ops)
        if cum:
            stage = (None if g.stages is None else hz[..., np.array(
                [rows.index(f"{g.name}:{r}") for r in STAGE_ROWS]), :])
            cum_g = group_cumulative(hz[..., rows.index(g.name), :], clog,
                                     data["group_state"][gi], obs, len(s.months), stage,
                                     ops=ops, n_choices=len(choices))
            for j, name in enumerate(choices + [g.none_outcome]):
                pieces[name] = cum_g[..., j, :]
    if events:
        ll = ll + _event_terms(s, hz, data, ops, pieces if cum else None)
    if not cum:
        return ll, None
    return ll, ops.stack([pieces[o] for o in s.outcome_names], axis=-2)


def _event_terms(s: Spec, hz, data, ops, pieces: dict | None):
    """The event outcomes' log-likelihood; their cumulative probabilities go into ``pieces``
    (which must already hold the group choices' when an event depends on one).
    """
    rows = s.hazard_rows
    events = [o.name for o in s.outcomes if o.type == "event"]
    obs = data["obs_through"]
    ev = hz[..., np.array([rows.index(e) for e in events]), :]
    known = parent_states(s, data, hz.shape[-1], ops)
    if known:   # the effects of outcomes known to have happened
        ev = ops.stack([ev[..., j, :] + sum(
            (sign * hz[..., rows.index(row), :] * known[parent]
             for child, parent, sign, row in s.outcome_effects if child == e), 0.0)
            for j, e in enumerate(events)], axis=-2)
    ll = ops.sum(event_loglik(ev, data["event_month"], obs, ops=ops), axis=-1)
    if pieces is not None:
        cum_e = event_cumulative(ev, obs, ops=ops)
        for j, e in enumerate(events):
            after = [(p, sign, row) for c, p, sign, row in s.outcome_effects if c == e]
            pieces[e] = cum_e[..., j, :] if not after else dependent_cumulative(
                ev[..., j, :], [sign * hz[..., rows.index(row), :] for _, sign, row in after],
                [pieces[p] for p, _, _ in after], [known[p][..., -1] for p, _, _ in after],
                obs, len(s.months), ops=ops)
    return ll


def parent_states(s: Spec, data, n_months, ops) -> dict[str, object]:
    """Per outcome other outcomes depend on: ``(n_months,)`` 1 in the months after the month
    it is known to have happened, else 0 (from the data's resolutions and group events).
    """
    m = _month_index(n_months, ops)
    events = [o.name for o in s.outcomes if o.type == "event"]
    groups = [g.name for g in s.competing_groups]
    out: dict[str, object] = {}
    for parent in dict.fromkeys(p for _, p, _, _ in s.outcome_effects):
        o = s.outcome(parent)
        if o.type == "event":
            when = data["event_month"][events.index(parent)]
            out[parent] = (when >= 0) * (m > when) * 1.0
        else:
            g = groups.index(o.group)
            when = data["group_month"][g]
            out[parent] = ops.eq(data["group_choice"][g], s.choices(o.group).index(parent)) * (
                m > when) * 1.0
    return out

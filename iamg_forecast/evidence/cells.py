"""Evidence → the fixed-shape arrays behind the model's ``pm.Data`` slots.

Evidence enters the model per (indicator, month) *cell*: whether the cell is observed, the
reported value and the combined reliability. Cost therefore stops growing with the size of the
log, and re-entering an item (same id) leaves every array exactly unchanged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from iamg_forecast.errors import EvidenceError, Problem
from iamg_forecast.evidence.items import Evidence
from iamg_forecast.evidence.reports import distinct_events, resolve
from iamg_forecast.kinds import cell_terms, get_kind, kind_at
from iamg_forecast.spec import Spec, month_end, parse_date

__all__ = ["model_data", "count_cells", "observed_through", "evidence_hash", "legacy_evidence_hash",
           "usable_items", "as_date", "DATA_SLOTS", "group_history", "Step", "history_capacity",
           "STEP_ORDER", "kind_slot", "needed_capacity", "cell_slots", "likelihood_window"]

# Evidence slots filled from evidence (packed into the model's one pm.Data vector, see
# ScenarioModel.graph_data).
DATA_SLOTS = ("ind_value", "ind_rel", "ind_observed", "event_month", "group_month",
              "group_choice", "group_state", "hist_row", "hist_month", "hist_sign", "hist_on",
              "choice_group", "choice_month", "choice_index", "choice_on", "obs_through")

#: The order of a group's steps dated the same day (a president elected and a designate named
#: on one day; a designate withdrawing and the next one named on one day).
STEP_ORDER = {"president": 0, "failure": 1, "designation": 2, "formation": 3}


@dataclass(frozen=True)
class Step:
    """One dated step of a competing group's process: ``kind`` is ``president``,
    ``designation``, ``failure`` or ``formation``; ``choice`` indexes :meth:`Spec.choices`.
    """

    month: int
    kind: str
    choice: int = -1


def history_capacity(spec: Spec) -> tuple[int, int]:
    """Fixed sizes of the history and choice cell lists (a month holds at most a few cells)."""
    n = len(spec.months) * max(len(spec.competing_groups), 1)
    return 6 * n + 8, 2 * n + 4


class _History:
    """Cells of one group's known history, appended step by step."""

    def __init__(self, spec: Spec, g: int):
        self.g = g
        group = spec.competing_groups[g]
        rows = spec.hazard_rows
        self.row = {k: rows.index(f"{group.name}:{k}") for k in
                    ("designation", "vote", "vote_same_month", "failure")
                    } if group.stages is not None else {}
        self.row["president"] = rows.index(group.name)
        self.cells: list[tuple[int, int, int]] = []
        self.choices: list[tuple[int, int, int]] = []

    def step(self, key: str, month: int, happened: bool) -> None:
        self.cells.append((self.row[key], month, 1 if happened else -1))

    def choose(self, month: int, choice: int) -> None:
        self.choices.append((self.g, month, choice))


def group_history(spec: Spec, g: int, steps: list[Step], obs_through: int,
                  initial: str | None = None
                  ) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]], int]:
    """A competing group's known history as likelihood cells, and its state at the end.

    Every step that happened contributes ``log sigmoid(+logit)`` of its row in its month, and
    every step that could have happened in a complete month (up to ``obs_through``) but did
    not, ``log sigmoid(-logit)``: exactly the factors of the chain that
    :func:`iamg_forecast.likelihood.group_cumulative` projects forward. A designation (or the
    event) also contributes the log-softmax of its choice. Out-of-order steps are read
    leniently: a designation over a designate ends the first one (a failure); an event with
    another choice than the designate's is that failure, a designation and a same-month vote.

    Parameters
    ----------
    spec : Spec
    g : int
        Index of the group in ``spec.competing_groups``.
    steps : list of Step
        Sorted by date (and :data:`STEP_ORDER` within a day).
    obs_through : int
        Last complete month known.
    initial : str, optional
        The stage the process starts at (``election`` or ``president``); default: the
        group's :attr:`~iamg_forecast.spec.Stages.initial`.

    Returns
    -------
    cells : list of (row, month, sign)
    choices : list of (group, month, choice)
    state : int
        The chain state after the last step (see ``group_cumulative``): 0 awaiting the
        president (or, unstaged, not happened), 1 president in office, ``2 + c`` a designate of
        choice ``c``, ``2 + C + c`` happened with choice ``c``.

    Examples
    --------
    >>> from iamg_forecast.spec import load_spec
    >>> spec = load_spec()
    >>> cells, choices, state = group_history(spec, 0, [Step(1, "president")], 2)
    >>> state, len(choices)
    (1, 0)
    """
    group = spec.competing_groups[g]
    n_c = len(spec.choices(group.name))
    h = _History(spec, g)
    if group.stages is None:
        state = 0
        done = next((s for s in steps if s.kind == "formation"), None)
        last = obs_through if done is None else done.month
        for m in range(last + 1):
            if done is not None and m == done.month:
                h.step("president", m, True)
                h.choose(m, done.choice)
                state = 2 + n_c + done.choice
            elif m <= obs_through:
                h.step("president", m, False)
        return h.cells, h.choices, state
    state = 0 if (initial or group.stages.initial) == "election" else 1
    last = max([obs_through] + [s.month for s in steps])
    by_month: dict[int, list[Step]] = {}
    for s in steps:
        by_month.setdefault(s.month, []).append(s)
    for m in range(last + 1):
        if state >= 2 + n_c:
            break
        start, named_now, elected_now = state, False, False
        for s in by_month.get(m, []):
            if s.kind == "president" and state == 0:
                h.step("president", m, True)
                state, elected_now = 1, True
            elif s.kind == "failure" and 2 <= state < 2 + n_c:
                h.step("vote_same_month" if named_now else "vote", m, False)
                h.step("failure", m, True)
                state, named_now = 1, False
            elif s.kind in ("designation", "formation"):
                if 2 <= state < 2 + n_c and (s.kind == "designation"
                                             or state - 2 != s.choice):
                    h.step("vote_same_month" if named_now else "vote", m, False)
                    h.step("failure", m, True)
                    state, named_now = 1, False
                if state == 0:
                    h.step("president", m, True)
                    state, elected_now = 1, True
                if state == 1:
                    h.step("designation", m, True)
                    h.choose(m, s.choice)
                    state, named_now = 2 + s.choice, True
                if s.kind == "formation":
                    h.step("vote_same_month" if named_now else "vote", m, True)
                    state = 2 + n_c + s.choice
        if m > obs_through or state >= 2 + n_c:
            continue  # an open month: what did not happen yet may still happen
        # the steps that could still have happened this month and did not
        if state == 0:
            h.step("president", m, False)
        elif state == 1 and (elected_now or start == 1):
            h.step("designation", m, False)
        elif 2 <= state < 2 + n_c:
            if named_now:
                h.step("vote_same_month", m, False)
            else:
                h.step("vote", m, False)
                h.step("failure", m, False)
    return h.cells, h.choices, state


def as_date(value: dt.date | str | None, name: str = "as_of") -> dt.date | None:
    """``value`` as a date: a date, a datetime (its date), an ISO string or ``None``.

    Raises
    ------
    EvidenceError
        Naming the argument ``name`` and the value when it is anything else.

    Examples
    --------
    >>> as_date("2026-01-31")
    datetime.date(2026, 1, 31)
    >>> as_date("yesterday")
    Traceback (most recent call last):
    ...
    iamg_forecast.errors.EvidenceError: 1 problem(s) with the evidence found:
      - <argument>: as_of: expected a date or an ISO date YYYY-MM-DD (got 'yesterday')
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return parse_date(value.strip(), name)
        except ValueError:
            pass
    shown = value if isinstance(value, str) else type(value).__name__
    raise EvidenceError([Problem("<argument>", name, "expected a date or an ISO date YYYY-MM-DD",
                                 shown)])


def observed_through(spec: Spec, as_of: dt.date | None) -> int:
    """Index of the last month fully observed on ``as_of`` (-1 if none).

    A month counts as observed once ``as_of`` reaches its last day; the month of ``as_of``
    itself is still open unless ``as_of`` is its last day.

    Examples
    --------
    >>> from iamg_forecast.spec import load_spec
    >>> spec = load_spec()
    >>> observed_through(spec, dt.date(2026, 1, 31)), observed_through(spec, dt.date(2026, 2, 5))
    (2, 2)
    """
    if as_of is None:
        return -1
    idx = spec.month_index(as_of)
    if as_of != month_end(as_of):
        idx -= 1
    return int(min(max(idx, -1), len(spec.months) - 1))


def usable_items(items: Iterable[Evidence], as_of: dt.date | str | None = None) -> list[Evidence]:
    """Items known on ``as_of``, without duplicates (same id, or ``duplicate_of`` a present id).

    A ``duplicate_of`` item is dropped only when the item it repeats is itself known on
    ``as_of`` (and so among ``items``); when that item is absent (retracted, or dated later)
    the duplicate is the only report left and counts on its own. Sorted by (date, id) so that
    everything downstream is independent of input order.

    Examples
    --------
    >>> a = Evidence(id="a", indicator="x", date="2026-01-15", source="s", reliability="B2")
    >>> b = Evidence(id="b", indicator="x", date="2026-01-16", source="t", reliability="B2",
    ...              duplicate_of="a")
    >>> [e.id for e in usable_items([a, b])], [e.id for e in usable_items([b])]
    (['a'], ['b'])
    """
    as_of = as_date(as_of)
    by_id: dict[str, Evidence] = {}
    for it in items:
        if as_of is None or it.date <= as_of:
            by_id[it.id] = it
    return sorted((it for it in by_id.values()
                   if not (it.duplicate_of and it.duplicate_of in by_id)),
                  key=lambda e: (e.date, e.id))


def _month_bounds(spec: Spec, m: int) -> tuple[dt.date, dt.date]:
    first = parse_date(spec.months[m] + "-01")
    return first, month_end(first)


def _running_parts(spec: Spec, series: list[Evidence], reliab: dict[str, float]
                   ) -> dict[int, tuple[float, float]]:
    """Month → (count, reliability) of one running-total series (same indicator and
    ``period_start``): the month's latest total minus the previous month's latest total.
    """
    by_month: dict[int, list[Evidence]] = {}
    for e in series:
        by_month.setdefault(spec.month_index(e.date), []).append(e)
    latest = {}
    for m, group in by_month.items():
        last = max(e.date for e in group)
        latest[m] = (resolve([e for e in group if e.date == last], reliab), group)
    start = spec.month_index(series[0].period_start)
    out: dict[int, tuple[float, float]] = {}
    problems = []
    for m in sorted(latest):
        (total, r), group = latest[m]
        where = f"item {max(group, key=lambda e: (e.date, e.id)).id}"
        if m == start:
            out[m] = (total, r)
            continue
        if m - 1 not in latest:
            problems.append(Problem(where, "running_total", f"the series counting from "
                                    f"{series[0].period_start} has no total in "
                                    f"{spec.months[m - 1]}, so the part of its total that falls "
                                    f"in {spec.months[m]} is unknown; log the series' total at "
                                    "the end of each month, or the month's own count", total))
            continue
        (prev, r_prev), _ = latest[m - 1]
        if total < prev:
            problems.append(Problem(where, "value", f"a running total cannot fall (it was "
                                    f"{prev:g} in {spec.months[m - 1]}); correct the earlier "
                                    "item instead", total))
            continue
        out[m] = (total - prev, min(r, r_prev))
    if problems:
        raise EvidenceError(problems)
    return out


def count_cells(spec: Spec, items: list[Evidence], reliab: dict[str, float]
                ) -> dict[int, tuple[float, float]]:
    """Month → (count, reliability) of one count indicator, by the written rule.

    * An item without ``period_start`` reports the whole calendar month of its date.
    * A ``running_total`` is the total since its ``period_start``; a later total of the same
      series amends an earlier one, it does not add. The series' count for a month is its
      latest total in the month minus its latest total in the month before (the whole total
      in the month it starts), and covers the whole month; a series with a month missing
      between two totals is refused, as is a total that falls.
    * Reports of the same period combine as any cell's do
      (:func:`~iamg_forecast.evidence.reports.resolve`). Reports of
      disjoint periods add up; of overlapping periods, the longest period counts (ties: the
      better supported report) and the reports disjoint from the periods kept add to it. The
      sum is taken as the month's count, so log every part of a month you watched.
    * A sum is as reliable as its least reliable part.

    Examples
    --------
    >>> from iamg_forecast.spec import load_spec
    >>> spec = load_spec()
    >>> def e(day, v, start=None, total=False):
    ...     return Evidence(indicator="iamg_attacks_count", date=day, value=v, source="s",
    ...                     reliability="B2", period_start=start, running_total=total)
    >>> rel = {x.id: 0.8 for x in [e("2026-01-10", 3, "2026-01-01"), e("2026-01-20", 4,
    ...                                                                  "2026-01-11")]}
    >>> count_cells(spec, [e("2026-01-10", 3, "2026-01-01"), e("2026-01-20", 4, "2026-01-11")],
    ...             rel)   # two parts of January add up
    {2: (7.0, 0.8)}
    """
    series: dict[dt.date, list[Evidence]] = {}
    periods: dict[int, dict[tuple[dt.date, dt.date], list[tuple[float, float]]]] = {}
    for e in items:
        if e.running_total:
            series.setdefault(e.period_start, []).append(e)
    for group in series.values():
        for m, vr in _running_parts(spec, group, reliab).items():
            periods.setdefault(m, {}).setdefault(_month_bounds(spec, m), []).append(vr)
    plain: dict[int, dict[tuple[dt.date, dt.date], list[Evidence]]] = {}
    for e in items:
        if not e.running_total:
            m = spec.month_index(e.date)
            span = ((e.period_start, e.date) if e.period_start is not None
                    else _month_bounds(spec, m))
            plain.setdefault(m, {}).setdefault(span, []).append(e)
    for m, spans in plain.items():
        for span, group in spans.items():
            periods.setdefault(m, {}).setdefault(span, []).append(resolve(group, reliab))
    out = {}
    for m, spans in periods.items():
        best = {span: min(vrs, key=lambda t: (-t[1], t[0])) for span, vrs in spans.items()}
        kept: list[tuple[tuple[dt.date, dt.date], float, float]] = []
        for span, (v, r) in sorted(best.items(), key=lambda kv: (
                -(kv[0][1] - kv[0][0]).days, -kv[1][1], kv[0][0])):
            if all(span[1] < k[0][0] or span[0] > k[0][1] for k in kept):
                kept.append((span, v, r))
        out[m] = (float(sum(v for _, v, _ in kept)), float(min(r for _, _, r in kept)))
    return out


def model_data(spec: Spec, items: Iterable[Evidence], as_of: dt.date | str | None = None
               ) -> dict[str, np.ndarray]:
    """Turn evidence known on ``as_of`` into the model's data arrays.

    Parameters
    ----------
    spec : Spec
        The scenario; fixes the indicator and month axes.
    items : iterable of Evidence
        Current versions of the log's items (retracted items already removed).
    as_of : date, optional
        Only items dated on or before it count, and outcome absence is known through the last
        complete month before it. ``None`` uses every item and no outcome absence.

    Returns
    -------
    dict of str to ndarray
        Keys :data:`DATA_SLOTS`. Unmonitored cells carry ``ind_observed = 0``.

    Examples
    --------
    >>> from iamg_forecast.spec import load_spec
    >>> spec = load_spec()
    >>> e = Evidence(indicator="rial_sharp_depreciation", date="2026-01-15", value=1,
    ...              source="x", reliability="B2")
    >>> d = model_data(spec, [e, e], as_of=dt.date(2026, 1, 31))
    >>> int(d["ind_observed"].sum()), float(d["ind_rel"].max()), int(d["obs_through"])
    (1, 0.83, 2)
    """
    as_of = as_date(as_of)
    n_i, n_m = len(spec.indicators), len(spec.months)
    value = np.zeros((n_i, n_m))
    rel = np.full((n_i, n_m), 0.5)
    observed = np.zeros((n_i, n_m))
    events = [o.name for o in spec.outcomes if o.type == "event"]
    event_month = np.full(len(events), -1, dtype=np.int64)
    groups = [g.name for g in spec.competing_groups]
    steps: list[list[tuple[dt.date, int, Step]]] = [[] for _ in groups]
    ind_pos = {n: i for i, n in enumerate(spec.indicator_names)}
    usable = usable_items(items, as_of)
    reliab = {e.id: spec.reliability.probability(e.reliability) for e in usable}
    cells: dict[tuple[int, int], list[Evidence]] = {}
    for e in usable:
        m = spec.month_index(e.date)
        if not 0 <= m < n_m:
            continue
        if e.indicator in ind_pos:
            cells.setdefault((ind_pos[e.indicator], m), []).append(e)
        elif e.indicator in events:
            j = events.index(e.indicator)
            event_month[j] = m if event_month[j] < 0 else min(event_month[j], m)
        elif e.indicator in spec.milestones:
            group, kind, choice = spec.milestones[e.indicator]
            c = -1 if choice is None else spec.choices(group).index(choice)
            steps[groups.index(group)].append((e.date, STEP_ORDER[kind], Step(m, kind, c)))
        else:
            o = spec.outcome(e.indicator)
            c = spec.choices(o.group).index(o.name)
            steps[groups.index(o.group)].append((e.date, STEP_ORDER["formation"],
                                                 Step(m, "formation", c)))
    counts = {i for i, ind in enumerate(spec.indicators) if get_kind(ind.kind).additive}
    for (i, m), group in cells.items():
        if i not in counts:
            v, r = resolve(group, reliab)
            v = get_kind(spec.indicators[i].kind).cell_value(
                v, distinct_events([e for e in group if float(e.value) == v]))
            value[i, m], rel[i, m], observed[i, m] = v, r, 1.0
    for i in counts:
        found = count_cells(spec, [e for (j, _), g in cells.items() if j == i for e in g],
                            reliab)
        for m, (v, r) in found.items():
            value[i, m], rel[i, m], observed[i, m] = v, r, 1.0
    obs = observed_through(spec, as_of)
    return {
        "ind_value": value,
        "ind_rel": rel,
        "ind_observed": observed,
        "event_month": event_month,
        **history_data(spec, [[s for _, _, s in sorted(st, key=lambda t: t[:2])]
                              for st in steps], obs),
        "obs_through": np.array(obs, dtype=np.int64),
    }


def history_data(spec: Spec, steps: list[list[Step]], obs_through: int
                 ) -> dict[str, np.ndarray]:
    """The competing groups' data slots from each group's sorted steps (see
    :func:`group_history`): fixed-capacity cell lists, the state at the end, and the month and
    choice of the event (``-1`` while it has not happened).
    """
    n_g = len(spec.competing_groups)
    cap_h, cap_c = history_capacity(spec)
    state = np.zeros(n_g, dtype=np.int64)
    month = np.full(n_g, -1, dtype=np.int64)
    choice = np.full(n_g, -1, dtype=np.int64)
    cells: list[tuple[int, int, int]] = []
    chosen: list[tuple[int, int, int]] = []
    for g, group in enumerate(spec.competing_groups):
        c, ch, state[g] = group_history(spec, g, steps[g], obs_through)
        cells += c
        chosen += ch
        n_c = len(spec.choices(group.name))
        if state[g] >= 2 + n_c:
            month[g] = next(s.month for s in steps[g] if s.kind == "formation")
            choice[g] = state[g] - 2 - n_c
    if len(cells) > cap_h or len(chosen) > cap_c:
        raise EvidenceError([Problem("<evidence>", "milestones", "more steps of a competing "
                                     "group than the model holds", len(cells))])
    hist = np.zeros((cap_h, 3), dtype=np.int64)
    hist[:len(cells)] = np.reshape(cells, (-1, 3))
    chs = np.zeros((cap_c, 3), dtype=np.int64)
    chs[:len(chosen)] = np.reshape(chosen, (-1, 3))
    return {"group_month": month, "group_choice": choice, "group_state": state,
            "hist_row": hist[:, 0], "hist_month": hist[:, 1], "hist_sign": hist[:, 2],
            "hist_on": (np.arange(cap_h) < len(cells)).astype(float),
            "choice_group": chs[:, 0], "choice_month": chs[:, 1], "choice_index": chs[:, 2],
            "choice_on": (np.arange(cap_c) < len(chosen)).astype(float)}


def evidence_hash(items: Iterable[Evidence], as_of: dt.date | str | None = None) -> str:
    """SHA-256 over the content of the usable items and ``as_of``: the forecast's evidence
    identity.

    Every item known on ``as_of`` that reaches the model (see :func:`usable_items`) enters
    with its id and every content field, in canonical JSON, in the order of
    :func:`usable_items`. Amending a value, a grade or a note therefore changes the hash, while
    the order in which the items are given does not.

    Examples
    --------
    >>> e = Evidence(indicator="rial_sharp_depreciation", date="2026-01-15", value=1,
    ...              source="x", reliability="B2")
    >>> evidence_hash([e]) == evidence_hash([e.model_copy(update={"reliability": "C3"})])
    False
    """
    as_of = as_date(as_of)
    rows = [{"id": e.id, **e.content()} for e in usable_items(items, as_of)]
    text = json.dumps({"as_of": None if as_of is None else str(as_of), "items": rows},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def legacy_evidence_hash(items: Iterable[Evidence], as_of: dt.date | str | None = None) -> str:
    """The evidence hash written by earlier versions: SHA-256 over the ids only.

    Only for checking forecasts saved before :func:`evidence_hash` covered the items' content;
    it does not change when an item is amended, so never record it for a new forecast. It
    also keeps the earlier rule that a ``duplicate_of`` item never counts.
    """
    as_of = as_date(as_of)
    by_id: dict[str, Evidence] = {}
    for it in items:
        if as_of is None or it.date <= as_of:
            by_id[it.id] = it
    ids = [e.id for e in sorted((it for it in by_id.values() if not it.duplicate_of),
                                key=lambda e: (e.date, e.id))]
    text = json.dumps({"as_of": str(as_of), "ids": ids}, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# ---- the graph's observed-cell lists ---------------------------------------------------------
# The graph holds a fixed capacity of observed cells per indicator kind (each kind's entry says
# how many to start with); a log with more observed cells of a kind gets the next power of two
# (one new compile, cached). Dense (indicator, month) arrays stay the canonical NumPy-side data.
def kind_slot(code: int, field: str) -> str:
    """Name of the data slot holding ``field`` of the observed cells of kind ``code`` (the
    kind's position in :data:`~iamg_forecast.kinds.KINDS`).

    Examples
    --------
    >>> kind_slot(0, "value")
    'cells0_value'
    """
    return f"cells{int(code)}_{field}"


def needed_capacity(kind: np.ndarray, dense: dict[str, np.ndarray],
                    base: tuple[int, ...]) -> tuple[int, ...]:
    """Smallest capacity (powers of two from ``base``) that holds every observed cell.

    ``kind`` holds each indicator's kind (its position in :data:`~iamg_forecast.kinds.KINDS`);
    capacities are per kind in use, in registry order (``np.unique(kind)``).

    Examples
    --------
    >>> needed_capacity(np.array([0, 2]), {"ind_observed": np.ones((2, 100))}, (64, 16))
    (128, 128)
    """
    out = []
    for code, cap in zip(np.unique(kind), base, strict=True):
        n = int(dense["ind_observed"][np.asarray(kind) == code].sum())
        while cap < n:
            cap *= 2
        out.append(cap)
    return tuple(out)


def cell_slots(consts: dict[str, np.ndarray], dense: dict[str, np.ndarray],
               capacity: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Dense evidence arrays → fixed-capacity lists of observed cells per kind in use.

    Each cell carries its indicator and month, its value, and the parameter-free parts of its
    likelihood (:func:`~iamg_forecast.kinds.cell_terms`), so the graph only evaluates
    what depends on the latent state. Padding cells have weight 0. The slots of a kind are named
    ``cells{k}_*`` after its position ``k`` in :data:`~iamg_forecast.kinds.KINDS`; ``capacity``
    is per kind in use, in that order (see :func:`needed_capacity`).
    """
    kind = np.asarray(consts["kind"])
    out = {}
    for code, cap in zip(np.unique(kind), capacity, strict=True):
        rows, months = np.nonzero((dense["ind_observed"] > 0.5) & (kind == code)[:, None])
        if rows.size > cap:
            raise ValueError(f"{rows.size} observed cells of kind {kind_at(code).name!r} exceed "
                             f"capacity {cap}")
        value = dense["ind_value"][rows, months]
        log_rel, log_false = cell_terms(kind_at(code), value, dense["ind_rel"][rows, months],
                                        consts["false_rate"][rows], consts["false_sd"][rows],
                                        consts["false_mu"][rows])
        columns = {"ind": (rows, 0), "month": (months, 0), "value": (value, 0.0),
                   "obs_sd": (consts["obs_sd"][rows], 1.0), "log_rel": (log_rel, 0.0),
                   "log_false": (log_false, 0.0),
                   # the cell's weight in the likelihood: 1 for an observed cell (as in loglik)
                   "on": (dense["ind_observed"][rows, months], 0.0)}
        for name, (col, fill) in columns.items():
            padded = np.concatenate([np.asarray(col, dtype=float),
                                     np.full(cap - rows.size, float(fill))])
            out[kind_slot(code, name)] = (padded.astype(np.int64) if name in ("ind", "month")
                                          else padded)
    return out


def likelihood_window(data: dict[str, np.ndarray]) -> int:
    """Number of leading months the likelihood needs: through the last observed month, event
    or evidence cell (at least one). Later months carry only their prior, so the gradient
    skips them.

    Examples
    --------
    >>> d = {"obs_through": np.array(2), "event_month": np.array([-1]),
    ...      "hist_month": np.array([4, 0]), "hist_on": np.array([1.0, 0.0]),
    ...      "choice_month": np.array([0]), "choice_on": np.array([0.0]),
    ...      "ind_observed": np.zeros((1, 10))}
    >>> likelihood_window(d)
    5
    """
    n_months = np.shape(data["ind_observed"])[-1]
    observed_months = np.nonzero(np.asarray(data["ind_observed"]).any(axis=0))[0]
    steps = [np.asarray(data[f"{k}_month"])[np.asarray(data[f"{k}_on"]) > 0]
             for k in ("hist", "choice")]
    last = max([int(np.max(data["obs_through"]))]
               + [int(x) for x in np.ravel(data["event_month"])]
               + [int(x) for a in steps for x in a]
               + [int(x) for x in observed_months])
    return int(min(max(last + 1, 1), n_months))

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

import numpy as np

from iamg_forecast.errors import EvidenceError, Problem
from iamg_forecast.evidence.items import Evidence
from iamg_forecast.spec import Spec, month_end, parse_date

__all__ = ["model_data", "observed_through", "evidence_hash", "legacy_evidence_hash",
           "usable_items", "as_date", "DATA_SLOTS"]

# Evidence slots filled from evidence (packed into the model's one pm.Data vector, see
# ScenarioModel.graph_data).
DATA_SLOTS = ("ind_value", "ind_rel", "ind_observed", "event_month", "group_month",
              "group_choice", "obs_through")


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


def _combined_reliability(group: list[Evidence], rel: dict[str, float]) -> float:
    """Noisy-or within corroboration chains; the strongest chain counts."""
    parent = {e.id: e.id for e in group}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for e in group:
        if e.corroborates and e.corroborates in parent:
            parent[find(e.id)] = find(e.corroborates)
    chains: dict[str, float] = {}
    for e in group:
        root = find(e.id)
        chains[root] = chains.get(root, 1.0) * (1.0 - rel[e.id])
    return float(max(1.0 - miss for miss in chains.values()))


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
    group_month = np.full(len(spec.competing_groups), -1, dtype=np.int64)
    group_choice = np.full(len(spec.competing_groups), -1, dtype=np.int64)
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
        else:
            o = spec.outcome(e.indicator)
            g = [x.name for x in spec.competing_groups].index(o.group)
            choices = spec.group_members(o.group)[:-1]
            ordered = [c for c in choices if c != spec.group(o.group).reference] + \
                [spec.group(o.group).reference]
            if group_month[g] < 0 or m < group_month[g]:
                group_month[g], group_choice[g] = m, ordered.index(o.name)
    for (i, m), group in cells.items():
        by_value: dict[float, list[Evidence]] = {}
        for e in group:
            by_value.setdefault(float(e.value), []).append(e)
        scored = sorted(((_combined_reliability(g, reliab), v) for v, g in by_value.items()),
                        key=lambda t: (-t[0], t[1]))
        r, v = scored[0]
        value[i, m], rel[i, m], observed[i, m] = v, r, 1.0
    return {
        "ind_value": value,
        "ind_rel": rel,
        "ind_observed": observed,
        "event_month": event_month,
        "group_month": group_month,
        "group_choice": group_choice,
        "obs_through": np.array(observed_through(spec, as_of), dtype=np.int64),
    }


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

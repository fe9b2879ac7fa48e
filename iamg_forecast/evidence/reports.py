"""How the reports of one (indicator, month) cell combine: corroboration chains, the value the
cell keeps when reports disagree, and how many distinct events reports of one value stand for.

The rule and its rationale are in ``priors/reliability.yaml`` (``combination``);
:func:`iamg_forecast.evidence.cells.model_data` applies it to every cell.
"""

from __future__ import annotations

from iamg_forecast.evidence.items import Evidence

__all__ = ["chains", "chain_roots", "distinct_events", "combined_reliability", "resolve"]


def chains(group: list[Evidence], rel: dict[str, float]) -> list[float]:
    """The reliability of each corroboration chain of ``group`` (noisy-or within a chain).

    A chain is one event: items linked by ``corroborates`` report it from several sources.
    Items in different chains are distinct reports.
    """
    root = chain_roots(group)
    chains: dict[str, float] = {}
    for e in group:
        chains[root[e.id]] = chains.get(root[e.id], 1.0) * (1.0 - rel[e.id])
    return [1.0 - miss for miss in chains.values()]


def chain_roots(group: list[Evidence]) -> dict[str, str]:
    """Item id -> the id naming its corroboration chain (union-find over ``corroborates``)."""
    parent = {e.id: e.id for e in group}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for e in group:
        if e.corroborates and e.corroborates in parent:
            parent[find(e.id)] = find(e.corroborates)
    return {e.id: find(e.id) for e in group}


def distinct_events(group: list[Evidence]) -> int:
    """How many events reports of one value in one cell stand for: one per corroboration chain
    holding a ``distinct_event`` item, and one for the other reports together (unlinked
    reports not marked distinct may share a source, so they count once).
    """
    root = chain_roots(group)
    marked = {root[e.id] for e in group if e.distinct_event}
    return len(marked) + (1 if any(root[e.id] not in marked for e in group) else 0)


def combined_reliability(group: list[Evidence], rel: dict[str, float]) -> float:
    """Noisy-or within corroboration chains; the strongest chain counts."""
    return float(max(chains(group, rel)))


def resolve(group: list[Evidence], reliab: dict[str, float]) -> tuple[float, float]:
    """One cell's value and reliability from reports of it: reports of the same value combine
    (:func:`combined_reliability`); of different values, the best-supported value counts (ties:
    the smaller value).
    """
    by_value: dict[float, list[Evidence]] = {}
    for e in group:
        by_value.setdefault(float(e.value), []).append(e)
    r, v = min(((combined_reliability(g, reliab), v) for v, g in by_value.items()),
               key=lambda t: (-t[0], t[1]))
    return v, r

"""One place for what happened: the ledger's resolutions and the evidence log's outcome items.

An outcome can be settled two ways: a resolution in the ledger (``iamg-forecast resolve``,
:meth:`~iamg_forecast.calibration.ledger.Ledger.resolve`), which scores forecasts, or an outcome
item in the evidence log (``Evidence(indicator="sudani_return", value=1, ...)``), which the model
conditions on. :func:`sync_resolutions` makes each side hold what the other knows, so that a
resolution entered either way is seen by the forecast, the ledger and the report alike:

- every outcome item of the log (an event or a choice that happened) becomes a ledger resolution
  (with its implications for the competitors of a choice);
- every ledger resolution that an outcome happened (not implied by another, inside the
  scenario's months) becomes an outcome item of the log, unless the log already holds an item
  for that outcome.

Both directions are idempotent: the ledger skips a statement that adds nothing, and an outcome
already in the log is never logged again, so syncing twice, or entering a resolution both ways,
never counts it twice. (The model reads only the first month an outcome happened, so two items
for one outcome could not count twice anyway; the rule keeps the evidence table clean.)
A contradiction (the log says Maliki was confirmed, the ledger says Sudani returned) raises a
:class:`~iamg_forecast.errors.LedgerError` naming both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from iamg_forecast.evidence.items import Evidence, check_against_spec
from iamg_forecast.spec import Spec

__all__ = ["SyncResult", "sync_resolutions", "resolution_items", "RESOLUTION_GRADE"]

#: Admiralty grade of an outcome item written for a ledger resolution: the analyst settled the
#: question, so it is taken as certain (the grade an outcome item needs, see
#: :data:`iamg_forecast.evidence.items.OUTCOME_GRADE`).
RESOLUTION_GRADE = "A1"


@dataclass(frozen=True)
class SyncResult:
    """What :func:`sync_resolutions` wrote: item ids added to the log, ledger rows added."""

    items_added: list[str] = field(default_factory=list)
    resolutions_added: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.items_added or self.resolutions_added)


def resolution_items(resolutions: Any, spec: Spec) -> list[Evidence]:
    """Outcome items for the ledger resolutions that say an event or a choice happened.

    Parameters
    ----------
    resolutions : DataFrame
        :meth:`Ledger.resolutions` (columns ``outcome, type, happened, date, source,
        implied_by``).
    spec : Spec
        The scenario; resolutions of unknown outcomes, of none-outcomes, and dated outside the
        scenario's months are left out (the model cannot represent them).

    Returns
    -------
    list of Evidence
        One item per outcome (the earliest date), graded :data:`RESOLUTION_GRADE`.
    """
    first: dict[str, tuple[str, str, int]] = {}
    for r in resolutions.itertuples():
        implied = isinstance(r.implied_by, str) and bool(r.implied_by)   # NaN when not implied
        if not bool(r.happened) or implied or r.outcome not in spec.outcome_names:
            continue
        if spec.outcome(r.outcome).type == "none":
            continue
        if r.outcome not in first or str(r.date) < first[r.outcome][0]:
            first[r.outcome] = (str(r.date), str(r.source), int(r.seq))
    out = []
    for name, (date, source, seq) in first.items():
        it = Evidence(indicator=name, date=dt.date.fromisoformat(date), value=1, source=source,
                      reliability=RESOLUTION_GRADE,
                      note=f"resolution recorded in the ledger (seq {seq})")
        if not check_against_spec(it, spec):
            out.append(it)
    return out


def sync_resolutions(log: Any, ledger: Any, spec: Spec | None = None) -> SyncResult:
    """Make the evidence log and the ledger agree on which outcomes happened (see module).

    Parameters
    ----------
    log : EvidenceLog
        The evidence log (written to when the ledger knows an outcome it lacks).
    ledger : Ledger
        The forecast ledger (written to when the log knows an outcome it lacks).
    spec : Spec, optional
        The scenario (default: the log's).

    Returns
    -------
    SyncResult

    Raises
    ------
    LedgerError
        When an outcome item of the log contradicts a resolution of the ledger.

    Examples
    --------
    >>> import iamg_forecast as iaf
    >>> log, ledger = iaf.EvidenceLog.memory(), iaf.Ledger.memory()
    >>> _ = ledger.resolve("sudani_return", True, "2026-01-20", "Reuters")
    >>> res = sync_resolutions(log, ledger)
    >>> [e.indicator for e in log.current()], len(res.resolutions_added)
    (['sudani_return'], 0)
    >>> bool(sync_resolutions(log, ledger))   # nothing left to do
    False
    """
    spec = log.spec if spec is None else spec
    logged = [e for e in log.current() if e.indicator in spec.outcome_names]
    added_rows: list[dict[str, Any]] = []
    for e in sorted(logged, key=lambda x: (x.date, x.id)):
        added_rows += ledger.resolve(e.indicator, happened=True, date=e.date.isoformat(),
                                     source=e.source, spec=spec)
    have = {e.indicator for e in logged}
    missing = [it for it in resolution_items(ledger.resolutions(), spec)
               if it.indicator not in have]
    ids = log.add(*missing) if missing else []
    return SyncResult(items_added=list(ids), resolutions_added=added_rows)

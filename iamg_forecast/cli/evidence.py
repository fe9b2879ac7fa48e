"""``iamg-forecast evidence ...``: add, list, retract, amend, history, import, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from iamg_forecast.cli.common import DB_OPTION, SPEC_OPTION, guarded

app = typer.Typer(help="Add, list, retract, amend and move evidence.", no_args_is_help=True)


def _open(db: Path, spec: Path | None, create: bool = False):
    """The evidence store at ``db``; only commands that add evidence may create it (a mistyped
    ``--db`` must not silently read an empty new store).
    """
    import iamg_forecast as iaf

    return iaf.EvidenceLog.open(db, spec=iaf.load_spec(spec), create=create)


def _try_before_creating(db: Path, spec: Path | None, write) -> None:
    """When ``db`` does not exist yet, run ``write`` on an empty log in memory first, so that
    rejected input never leaves a new, empty store behind.
    """
    import iamg_forecast as iaf

    if db.exists() or db.is_symlink():
        return
    with iaf.EvidenceLog.memory(iaf.load_spec(spec)) as log:
        write(log)


@app.command("add")
@guarded
def add_cmd(
    indicator: Annotated[str, typer.Option(help="Indicator (or outcome) name; "
                                           "iamg-forecast indicators lists them.")],
    date: Annotated[str, typer.Option(help="When it happened, YYYY-MM-DD.")],
    source: Annotated[str, typer.Option(help="Who reported it.")],
    reliability: Annotated[str, typer.Option(help="Admiralty code, e.g. B2.")],
    value: Annotated[float | None, typer.Option(
        help="0/1, a count, or a measurement (default 1, or 0 with --monitored-absent).")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Free text.")] = None,
    url: Annotated[str | None, typer.Option(help="http(s) link.")] = None,
    quote: Annotated[str | None, typer.Option(help="The source's words.")] = None,
    duplicate_of: Annotated[str | None, typer.Option(help="Id this item repeats.")] = None,
    corroborates: Annotated[str | None, typer.Option(help="Id this item confirms.")] = None,
    monitored_absent: Annotated[bool, typer.Option(help="Watched this month; did not happen."
                                                   )] = False,
    period_start: Annotated[str | None, typer.Option(
        help="Counts: first day the count covers (--date is the last).")] = None,
    running_total: Annotated[bool, typer.Option(
        help="Counts: --value is the total since --period-start.")] = False,
    distinct_event: Annotated[bool, typer.Option(
        help="Binary: another event than the month's other reports of the indicator.")
    ] = False,
    db: DB_OPTION = Path("iamg.sqlite"), spec: SPEC_OPTION = None,
) -> None:
    """Add one item.

    Example: iamg-forecast evidence add --indicator rial_sharp_depreciation --date 2026-02-10
    --value 1 --source Bonbast --reliability B2
    """
    if value is None:
        value = 0.0 if monitored_absent else 1.0
    fields = dict(indicator=indicator, date=date, value=value,
                  source=source, reliability=reliability, note=note, url=url, quote=quote,
                  duplicate_of=duplicate_of, corroborates=corroborates,
                  monitored_absent=monitored_absent, period_start=period_start,
                  running_total=running_total, distinct_event=distinct_event)
    # a mapping is validated by the store: one clean line per problem
    row = {k: v for k, v in fields.items() if v is not None}
    _try_before_creating(db, spec, lambda log: log.add(row))
    with _open(db, spec, create=True) as log:
        (item_id,) = log.add(row)
    typer.echo(item_id)


@app.command("list")
@guarded
def list_cmd(
    db: DB_OPTION = Path("iamg.sqlite"), spec: SPEC_OPTION = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List current items.

    Example: iamg-forecast evidence list --db work/iamg.sqlite --json
    """
    with _open(db, spec) as log:
        items = log.current()
    if as_json:
        typer.echo(json.dumps([{"id": e.id, **e.content()} for e in items], indent=1,
                              ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"{len(items)} evidence items")
    for col in ("id", "date", "indicator", "value", "grade", "source"):
        t.add_column(col)
    for e in items:
        t.add_row(e.id, str(e.date), e.indicator, f"{e.value:g}", e.reliability, e.source)
    Console(soft_wrap=True).print(t)


@app.command("retract")
@guarded
def retract_cmd(
    item_id: Annotated[str, typer.Argument(help="Item id.")],
    reason: Annotated[str, typer.Option(help="Why it is withdrawn.")],
    db: DB_OPTION = Path("iamg.sqlite"), spec: SPEC_OPTION = None,
) -> None:
    """Withdraw an item (its history stays).

    Example: iamg-forecast evidence retract seed-rial-fall --reason "figure corrected"
    """
    with _open(db, spec) as log:
        log.retract(item_id, reason)
    typer.echo(f"retracted {item_id}")


@app.command("amend")
@guarded
def amend_cmd(
    item_id: Annotated[str, typer.Argument(help="Item id.")],
    note: Annotated[str | None, typer.Option(help="New note.")] = None,
    reliability: Annotated[str | None, typer.Option(help="New grade.")] = None,
    value: Annotated[float | None, typer.Option(help="New value.")] = None,
    date: Annotated[str | None, typer.Option(help="New date.")] = None,
    source: Annotated[str | None, typer.Option(help="New source.")] = None,
    db: DB_OPTION = Path("iamg.sqlite"), spec: SPEC_OPTION = None,
) -> None:
    """Record a new version of an item.

    Example: iamg-forecast evidence amend seed-rial-fall --reliability B2 --note "confirmed"
    """
    changes = {k: v for k, v in dict(note=note, reliability=reliability, value=value, date=date,
                                     source=source).items() if v is not None}
    with _open(db, spec) as log:
        log.amend(item_id, **changes)
    typer.echo(f"amended {item_id}")


@app.command("history")
@guarded
def history_cmd(
    item_id: Annotated[str, typer.Argument(help="Item id.")],
    db: DB_OPTION = Path("iamg.sqlite"), spec: SPEC_OPTION = None,
) -> None:
    """Show every version of an item.

    Example: iamg-forecast evidence history seed-rial-fall
    """
    with _open(db, spec) as log:
        typer.echo(log.history(item_id).to_string(index=False))


@app.command("import")
@guarded
def import_cmd(
    file: Annotated[Path, typer.Argument(help="YAML or CSV file.")],
    db: DB_OPTION = Path("iamg.sqlite"), spec: SPEC_OPTION = None,
) -> None:
    """Import a file: all rows or none.

    Example: iamg-forecast evidence import inbox/week.csv --db work/iamg.sqlite
    """
    _try_before_creating(db, spec, lambda log: log.import_file(file))
    with _open(db, spec, create=True) as log:
        ids = log.import_file(file)
    typer.echo(f"imported {len(ids)} items")


@app.command("export")
@guarded
def export_cmd(
    file: Annotated[Path, typer.Argument(help="YAML or CSV file to write.")],
    db: DB_OPTION = Path("iamg.sqlite"), spec: SPEC_OPTION = None,
) -> None:
    """Export the current items.

    Example: iamg-forecast evidence export backup.yaml
    """
    with _open(db, spec) as log:
        path = log.export(file)
    typer.echo(f"wrote {path}")

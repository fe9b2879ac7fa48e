"""``iamg-forecast backtest``: replay the bundled backtest cases and score them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from iamg_forecast.cli.common import guarded


@guarded
def backtest_cmd(
    cases: Annotated[list[str] | None, typer.Argument(
        help="Case names (default: every bundled case) or case folders.")] = None,
    out: Annotated[Path, typer.Option(help="HTML report.")] = Path("reports/backtests.html"),
    json_out: Annotated[Path | None, typer.Option(
        "--json-out", help="JSON of every number (default: OUT with suffix .json).")] = None,
    draws: Annotated[int | None, typer.Option(help="Draws per chain of every fit.")] = None,
    tune: Annotated[int | None, typer.Option(help="Tuning steps per chain.")] = None,
    chains: Annotated[int | None, typer.Option(help="Chains per fit.")] = None,
    seed: Annotated[int, typer.Option(help="Base seed of every fit.")] = 0,
    directions: Annotated[bool, typer.Option(
        help="Measure each fact's own effect (two fits per fact).")] = True,
    ledger_dir: Annotated[Path | None, typer.Option(
        help="Keep each case's ledger as LEDGER_DIR/<case>.sqlite.")] = None,
    list_only: Annotated[bool, typer.Option("--list", help="List the bundled cases and exit.")
                         ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    strict: Annotated[bool, typer.Option(help="Exit 3 when any forecast failed its gates.")
                      ] = False,
) -> None:
    """Replay each case month by month, score it against its baselines, write the report.

    Prints the result tables as Markdown (the tables of docs/backtests.md).

    Example: iamg-forecast backtest formation_2014 --draws 500 --out reports/bt.html
    """
    from iamg_forecast.backtest import backtest, list_cases, load_case
    from iamg_forecast.backtest.run import to_markdown
    from iamg_forecast.report.render import write_text_atomic

    if list_only:
        for name in list_cases():
            typer.echo(f"{name}: {load_case(name).info.title}")
        return
    for name, value in (("--draws", draws), ("--tune", tune), ("--chains", chains)):
        if value is not None and value < 1:
            raise typer.BadParameter(f"{name} must be a positive integer, got {value}")
    res = backtest(cases or None, draws=draws, tune=tune, chains=chains, seed=seed,
                   directions=directions, ledger_dir=ledger_dir, progress=not quiet)
    if not quiet:
        typer.echo("", err=True)
    res.report(out)
    import json

    jpath = json_out or out.with_suffix(".json")
    write_text_atomic(jpath, json.dumps(res.to_dict(), indent=1, allow_nan=False))
    typer.echo(to_markdown(res))
    typer.echo(f"wrote {out} and {jpath}", err=True)
    failed = res.gates[~res.gates["reliable"].astype(bool)]
    if strict and len(failed):
        typer.echo(f"{len(failed)} of {len(res.gates)} forecasts failed their gates", err=True)
        raise typer.Exit(3)

"""Command line: ``iamg-forecast`` (also ``python -m iamg_forecast``).

A thin layer over the public API. Exit codes: 0 ok, 2 bad input, 3 the forecast is not reliable
and ``--strict`` was given.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from iamg_forecast.cli.common import (
    DB_OPTION,
    SPEC_OPTION,
    fail,
    guarded,
    hide_flag_placeholders,
    progress_enabled,
    quiet_library_logs,
)
from iamg_forecast.defaults import CALIBRATION_SIZES as _SIZES
from iamg_forecast.defaults import MAX_DRAWS

app = typer.Typer(
    name="iamg-forecast",
    help="Bayesian forecasts of Iran-aligned militia groups in Iraq from graded evidence.\n\n"
         "Exit codes: 0 ok, 2 bad input, 3 unreliable forecast with --strict.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
priors_app = typer.Typer(help="Check and elicit priors.", no_args_is_help=True)
app.add_typer(priors_app, name="priors")

EXIT_OK, EXIT_BAD_INPUT, EXIT_UNRELIABLE = 0, 2, 3


def _check_range(name: str, value: int, lo: int, hi: int) -> None:
    """Exit 2 unless ``lo <= value <= hi``."""
    if not lo <= value <= hi:
        what = "a positive integer" if lo == 1 else f"an integer from {lo:,}"
        fail(f"{name.lstrip('-')} must be {what}, got {value} (at most {hi:,})")


def _mount_optional() -> None:
    """Add the evidence and backtest commands (once; calling again changes nothing)."""
    if any(g.name == "evidence" for g in app.registered_groups):
        return
    from iamg_forecast.cli.evidence import app as evidence_app

    app.add_typer(evidence_app, name="evidence", help="Add, list, retract, amend, import and "
                  "export evidence.")
    from iamg_forecast.cli.backtest import backtest_cmd

    app.command("backtest")(backtest_cmd)


STALE_OPTION = Annotated[int | None, typer.Option(
    "--stale-after", metavar="DAYS",
    help="Warn when the newest evidence is older than DAYS before the knowledge date (or "
         "today, when the knowledge date defaulted to the newest evidence). Default 45 "
         "(IAMG_STALE_DAYS).", min=0)]


@app.command("forecast")
@guarded
def forecast_cmd(
    db: DB_OPTION = Path("iamg.sqlite"),
    spec: SPEC_OPTION = None,
    import_seed: Annotated[bool, typer.Option(help="Import the bundled seed evidence first "
                                              "(idempotent).")] = False,
    as_of: Annotated[str | None, typer.Option(help="Knowledge date YYYY-MM-DD (default: the "
                                              "newest evidence; the output says which).")
                     ] = None,
    horizon: Annotated[str | None, typer.Option(help="Horizon YYYY-MM-DD (default: the "
                                                "spec's).")] = None,
    seed: Annotated[int, typer.Option(help="Sampler seed.")] = 7,
    draws: Annotated[int | None, typer.Option(help="Draws per chain.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the report here (.html, .md or "
                                             ".json).")] = None,
    save: Annotated[Path | None, typer.Option(help="Save the forecast (draws + JSON) to this "
                                              "directory.")] = None,
    record: Annotated[bool, typer.Option(help="Record the forecast in the ledger in --db "
                                         "(the default; --no-record to leave it out).")
                      ] = True,
    stale_after: STALE_OPTION = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
    strict: Annotated[bool, typer.Option(help="Exit 3 when diagnostics fail.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Fit the model to the evidence in --db, record it in the ledger and print the table.

    Outcomes resolved with `resolve` (the ledger) and outcome items of the evidence log are
    brought into agreement first, so a resolution entered either way is used once.

    Example: iamg-forecast forecast --db work/iamg.sqlite --import-seed --out reports/latest.html
    """
    import iamg_forecast as iaf
    from iamg_forecast.calibration.ledger import Ledger
    from iamg_forecast.calibration.resolutions import sync_resolutions
    from iamg_forecast.evidence.store import EvidenceLog

    if draws is not None:
        _check_range("--draws", draws, 1, MAX_DRAWS)
    _check_range("--seed", seed, 0, 2**63 - 1)
    if out is not None:
        from iamg_forecast.files import check_writable_target
        from iamg_forecast.report.render import HTML_SUFFIXES, JSON_SUFFIXES, MD_SUFFIXES

        check_writable_target(out, HTML_SUFFIXES + MD_SUFFIXES + JSON_SUFFIXES, "report")
    if quiet:
        quiet_library_logs()
    model = iaf.load_model(spec)
    # Only --import-seed may create the store: a mistyped --db must not fit an empty one.
    with EvidenceLog.open(db, spec=model.spec, create=import_seed) as log:
        if import_seed:
            log.import_file(iaf.seed_evidence_path())
        with Ledger.open(db) as ledger:
            synced = sync_resolutions(log, ledger, model.spec)
        items = log.current()
    if synced.items_added and not quiet:
        typer.echo(f"Outcomes resolved in the ledger, now used as evidence: "
                   f"{len(synced.items_added)} item(s)", err=True)
    show = progress_enabled(quiet)
    if show:
        typer.echo(f"Fitting {len(items)} evidence items (compiling on first use)...", err=True)
    fc = iaf.forecast(model, items, as_of=as_of, horizon=horizon, seed=seed, draws=draws,
                      progress=show)
    withheld = strict and not fc.ok
    if save and not withheld:
        fc.save(save)
    if record and not withheld:
        with Ledger.open(db) as ledger:
            ledger.record(fc)
    if withheld and (save or record):
        typer.echo("--strict: the forecast failed its diagnostics, so it was not "
                   + " or ".join(w for w, on in (("saved", save), ("recorded", record)) if on),
                   err=True)
    if out:
        _write_report(fc, out, db, stale_after)
    _print_table(fc, as_json, stale_after)
    if strict and not fc.ok:
        typer.echo("NOT RELIABLE: " + "; ".join(fc.diagnostics.problems), err=True)
        raise typer.Exit(EXIT_UNRELIABLE)


def _write_report(fc, out: Path, db: Path | None, stale_after: int | None,
                  fmt: str | None = None) -> None:
    """Write the report of ``fc`` to ``out`` (format from the suffix), with the history in
    ``db`` (change since the previous forecast, its causes, the history charts) when it exists.
    """
    from contextlib import ExitStack

    from iamg_forecast.files import check_writable_target
    from iamg_forecast.report.render import SUFFIXES, write_report

    # refuse a wrong target before rendering (a FIFO, a device, the evidence store)
    check_writable_target(out, SUFFIXES[fmt] if fmt else sum(SUFFIXES.values(), ()), "report")
    with ExitStack() as stack:
        ledger = log = None
        if db is not None and db.exists():
            from iamg_forecast.calibration.ledger import Ledger
            from iamg_forecast.evidence.store import EvidenceLog

            ledger = stack.enter_context(Ledger.open(db))
            log = stack.enter_context(EvidenceLog.open(db, spec=fc.spec, create=False))
        write_report(fc, out, fmt=fmt, ledger=ledger, log=log, stale_after_days=stale_after)
    typer.echo(f"Report written to {out}", err=True)


def _print_table(fc, as_json: bool, stale_after: int | None = None) -> None:
    table = fc.table()
    know = fc.knowledge(stale_after)
    if as_json:
        payload = {"provenance": fc.provenance, "diagnostics": fc.diagnostics.to_dict(),
                   "knowledge": know.to_dict(),
                   "outcomes": json.loads(table.to_json(orient="records"))}
        typer.echo(json.dumps(payload, indent=1, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"Forecast as of {fc.as_of} for {fc.horizon} "
                    f"({'reliable' if fc.ok else 'NOT RELIABLE'})",
              caption=know.statement)
    for col in ("outcome", "p", "term", "80% interval"):
        t.add_column(col)
    logged = {e.indicator for e in fc.usable if e.indicator in fc.spec.outcome_names}
    settled = {fc.spec.outcome(n).group for n in logged} - {None}
    for r in table.itertuples():
        group = fc.spec.outcome(r.outcome).group
        said = ("resolved: happened" if r.outcome in logged else
                "resolved: did not happen" if group in settled else r.term)
        t.add_row(r.outcome, f"{r.p:.1%}", said, f"{r.lo80:.1%}-{r.hi80:.1%}")
    Console(soft_wrap=True).print(t)
    if know.warning:
        typer.echo("WARNING: " + know.warning, err=True)
    if not fc.ok:
        typer.echo("WARNING: " + "; ".join(fc.diagnostics.problems), err=True)


@app.command("report")
@guarded
def report_cmd(
    forecast_dir: Annotated[Path, typer.Argument(help="Directory written by forecast --save.")],
    fmt: Annotated[str, typer.Option("--format", help="html, md or json.")] = "html",
    out: Annotated[Path | None, typer.Option(help="Output file (default: print md/json, "
                                             "report.html for html).")] = None,
    db: Annotated[Path | None, typer.Option(
        "--db", help="SQLite store whose ledger and evidence log give the change since the "
                     "previous forecast, its causes and the history charts.")] = None,
    stale_after: STALE_OPTION = None,
) -> None:
    """Render a saved forecast as HTML, Markdown or JSON.

    Example: iamg-forecast report work/fc --format md --db work/iamg.sqlite --out reports/latest.md
    """
    from iamg_forecast.errors import short
    from iamg_forecast.forecast import Forecast

    if fmt not in ("html", "md", "json"):
        fail(f"--format must be html, md or json, got {short(fmt)}")
    if db is not None and not db.exists():
        fail(f"--db {db}: no such file")
    if fmt == "html" and out is None:
        out = Path("report.html")
        if out.exists() or out.is_symlink():
            fail("report.html already exists here; name the file to write with --out "
                 "(an existing file given with --out is replaced)")
    fc = Forecast.load(forecast_dir)
    if out is not None:
        _write_report(fc, out, db, stale_after, fmt=fmt)
        return
    from contextlib import ExitStack

    from iamg_forecast.report.render import report_text

    with ExitStack() as stack:
        ledger = log = None
        if db is not None:
            from iamg_forecast.calibration.ledger import Ledger
            from iamg_forecast.evidence.store import EvidenceLog

            ledger = stack.enter_context(Ledger.open(db))
            log = stack.enter_context(EvidenceLog.open(db, spec=fc.spec, create=False))
        text = report_text(fc, fmt, ledger=ledger, log=log, stale_after_days=stale_after)
    sys.stdout.write(text)


@app.command("indicators")
@guarded
def indicators_cmd(
    spec: SPEC_OPTION = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the indicators and outcomes you can log evidence about, with kinds and meanings.

    Example: iamg-forecast indicators
    """
    import iamg_forecast as iaf

    table = iaf.indicators(spec)
    if as_json:
        typer.echo(table.to_json(orient="records", indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title="Names for --indicator (evidence add) and resolve")
    for col in ("name", "type", "kind", "description"):
        t.add_column(col, overflow="fold")
    for r in table.itertuples():
        t.add_row(r.name, r.type, r.kind, r.description)
    Console(soft_wrap=False).print(t)


@priors_app.command("check")
@guarded
def priors_check_cmd(
    spec: SPEC_OPTION = None,
    draws: Annotated[int, typer.Option(help="Prior draws.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    strict: Annotated[bool, typer.Option(
        help="Exit 3 when a prior is flagged against its reference class.")] = False,
) -> None:
    """Print each outcome's prior probability next to its reference-class base rate.

    Example: iamg-forecast priors check --spec priors/
    """
    import iamg_forecast as iaf

    _check_range("--draws", draws, 1, MAX_DRAWS)
    _check_range("--seed", seed, 0, 2**32 - 1)
    pc = iaf.prior_check(iaf.load_model(spec), draws=draws, seed=seed)
    typer.echo(pc.to_text())
    if pc.flagged and strict:
        raise typer.Exit(EXIT_UNRELIABLE)


@priors_app.command("elicit")
@guarded
def priors_elicit_cmd(
    lower: Annotated[float, typer.Argument(help="Lower bound.")],
    upper: Annotated[float, typer.Argument(help="Upper bound.")],
    mass: Annotated[float, typer.Option(help="Probability between the bounds.")] = 0.9,
    kind: Annotated[str, typer.Option(help="probability, effect or real.")] = "probability",
) -> None:
    """Turn 'between LOWER and UPPER with MASS' into a prior to paste into priors/.

    Example: iamg-forecast priors elicit 0.02 0.10 --mass 0.9
    """
    import iamg_forecast as iaf

    typer.echo(iaf.elicit(lower, upper, mass=mass, kind=kind).yaml)


@app.command("resolve")
@guarded
def resolve_cmd(
    outcome: Annotated[str, typer.Argument(help="Outcome name, e.g. sudani_return "
                                           "(iamg-forecast indicators lists them).")],
    happened: Annotated[bool, typer.Option("--happened/--not-happened",
                                           help="Whether it happened.")],
    date: Annotated[str, typer.Option(help="Resolution date YYYY-MM-DD.")],
    source: Annotated[str, typer.Option(help="Source of the resolution.")],
    db: DB_OPTION = Path("iamg.sqlite"),
    spec: SPEC_OPTION = None,
) -> None:
    """Record how a forecast question resolved: the one place to enter what happened.

    The resolution goes to the ledger (competitors of a PM outcome resolve too), and an outcome
    that happened is also logged as an outcome item in the evidence log of the same --db, so
    the next forecast and report use it. Enter it once: repeating it, or logging the same
    outcome with `evidence add`, adds nothing.

    Example: iamg-forecast resolve sudani_return --happened --date 2026-05-01 --source Reuters
    """
    import iamg_forecast as iaf
    from iamg_forecast.calibration.ledger import Ledger, check_resolution
    from iamg_forecast.calibration.resolutions import sync_resolutions
    from iamg_forecast.evidence.store import EvidenceLog

    sp = iaf.load_spec(spec)
    # everything that can be checked without the store is checked before opening it, so a
    # rejected resolution leaves --db as it was (not even the ledger's tables are added)
    check_resolution(sp, outcome, happened, date, source)
    with Ledger.open(db) as ledger, EvidenceLog.open(db, spec=sp) as log:
        # what the log already knows first, so a contradiction is caught before writing
        sync_resolutions(log, ledger, sp)
        rows = ledger.resolve(outcome, happened=happened, date=date, source=source, spec=sp)
        synced = sync_resolutions(log, ledger, sp)
    what = "happened" if happened else "did not happen"
    typer.echo(f"Resolved {outcome}: {what} ({date})"
               + ("" if rows else " - already recorded, nothing added"))
    implied = [r["outcome"] for r in rows if r.get("implied_by")]
    if implied:
        typer.echo(f"  implied: {', '.join(implied)} did not happen")
    if synced.items_added:
        typer.echo(f"  logged as an outcome item in the evidence log ({synced.items_added[0]});"
                   " the next forecast uses it")


@app.command("score")
@guarded
def score_cmd(
    db: DB_OPTION = Path("iamg.sqlite"),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    reliable_only: Annotated[bool, typer.Option(
        help="Leave out forecasts that failed their diagnostics (or predate the record of "
             "them).")] = False,
    include_hindcasts: Annotated[bool, typer.Option(
        help="Also score forecasts made on or after the day their question was settled "
             "(hindcasts; left out by default because they could have read the answer).")
                                 ] = False,
) -> None:
    """Score every resolved forecast in the ledger (Brier, log score, skill, CORP).

    The table counts, per outcome, how many scored forecasts failed their diagnostics
    (n_unreliable) or have no record of them (n_unknown_reliability). When nothing can be
    scored, a line on stderr says why (no forecasts, none resolved, or all hindcasts).

    Example: iamg-forecast score --db work/iamg.sqlite --include-hindcasts
    """
    from iamg_forecast.calibration.ledger import Ledger

    if not db.exists():
        fail(f"--db {db}: no such ledger (no such file); record a forecast with --db first")
    from iamg_forecast.calibration.resolutions import sync_resolutions
    from iamg_forecast.evidence.store import EvidenceLog

    with Ledger.open(db, create=False) as ledger:
        with EvidenceLog.open(db, create=False) as log:
            sync_resolutions(log, ledger)
        table = ledger.score(reliable_only=reliable_only, include_hindcasts=include_hindcasts)
        why = _why_empty(ledger, include_hindcasts, reliable_only) if table.empty else None
    if as_json:
        typer.echo(table.to_json(orient="records", indent=1))
    elif not table.empty:
        typer.echo(table.to_string(index=False))
    if why:
        typer.echo(f"Nothing to score: {why}", err=True)


def _why_empty(ledger, include_hindcasts: bool, reliable_only: bool) -> str:
    """Why :meth:`Ledger.score` returned no rows, in one sentence with the way out."""
    hist = ledger.history()
    n_fc = hist["forecast_id"].nunique()
    if n_fc == 0:
        return ("the ledger holds no forecasts; run forecast with --db (it records by "
                "default).")
    every = ledger.resolved(include_hindcasts=True)
    if every.empty:
        n_res = len(ledger.resolutions())
        return (f"{n_fc} forecast(s), but none of their questions is resolved yet "
                f"({n_res} resolution row(s)); record outcomes with resolve.")
    n_hind = int(every["hindcast"].sum())
    if not include_hindcasts and n_hind == len(every):
        return (f"{n_fc} forecast(s); {every['forecast_id'].nunique()} have resolved "
                f"questions, all of them hindcasts (made on or after the day the question was "
                f"settled); use --include-hindcasts to score them anyway.")
    if reliable_only:
        return ("every resolved forecast failed its diagnostics or predates their record; "
                "drop --reliable-only to score them.")
    return "no resolved forecast matched."


@app.command("calibrate")
@guarded
def calibrate_cmd(
    out: Annotated[Path, typer.Option(help="HTML report of the calibration suite.")] = Path(
        "reports/calibration.html"),
    n_sims: Annotated[int, typer.Option(help="SBC simulations.")] = _SIZES["n_sims"],
    n_worlds: Annotated[int, typer.Option(help="Simulated worlds to score.")] = _SIZES["n_worlds"],
    power_repeats: Annotated[int, typer.Option(
        help="SBC runs per planted bug (0 skips the power check).")] = _SIZES["power_repeats"],
    power_sims: Annotated[int | None, typer.Option(
        help="Simulations per power-check run, for every bug. Default: "
             + ", ".join(f"{k} {v}" for k, v in _SIZES["power_sims"].items()) + ".")] = None,
    lfo_histories: Annotated[int, typer.Option(
        help="Simulated histories of the LFO check, tested together.")] = _SIZES["lfo_histories"],
    store: Annotated[Path | None, typer.Option(
        help="Directory keeping every simulation; a re-run resumes from it.")] = None,
    seed: Annotated[int, typer.Option(help="Seed (every simulation is seeded by its index).")
                    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress lines.")] = False,
    strict: Annotated[bool, typer.Option(
        help="Exit 3 when a verdict fails (SBC, skill or calibration).")] = False,
) -> None:
    """Run SBC, the planted-bug power check, simulated-world scoring and the LFO check.

    Writes OUT (self-contained HTML) and OUT with suffix .json; prints the summary.

    Example: iamg-forecast calibrate --out reports/calibration.html --store work/calibration
    """
    from iamg_forecast.calibration.suite import run_calibration

    for name, value in (("--n-sims", n_sims), ("--n-worlds", n_worlds),
                        ("--power-sims", 2 if power_sims is None else power_sims)):
        if value < 2:
            raise typer.BadParameter(f"{name} must be at least 2, got {value}")
    if lfo_histories < 1:
        raise typer.BadParameter(f"--lfo-histories must be at least 1, got {lfo_histories}")
    if power_repeats < 0:
        raise typer.BadParameter(f"--power-repeats must be >= 0, got {power_repeats}")
    summary = run_calibration(out, n_sims=n_sims, n_worlds=n_worlds,
                              power_repeats=power_repeats,
                              power_sims=_SIZES["power_sims"] if power_sims is None else power_sims,
                              seed=seed, lfo_histories=lfo_histories,
                              store=store, progress=not quiet)
    typer.echo(json.dumps(summary, indent=1, default=str))
    if strict and summary["failed_checks"]:
        typer.echo("calibration checks failed: " + "; ".join(summary["failed_checks"]),
                   err=True)
        raise typer.Exit(EXIT_UNRELIABLE)


def main() -> None:
    """Entry point of the ``iamg-forecast`` script."""
    _mount_optional()
    command = typer.main.get_command(app)
    hide_flag_placeholders(command)
    command()

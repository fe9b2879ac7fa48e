"""Shared CLI plumbing: options, one-line errors, exit codes, progress switch."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

DB_OPTION = Annotated[Path, typer.Option("--db", help="SQLite store (evidence and ledger).")]
SPEC_OPTION = Annotated[Path | None, typer.Option("--spec", help="Priors directory (default: "
                                                  "the bundled scenario).")]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` as ``error: ...`` lines on stderr and exit with ``code``."""
    for line in str(message).splitlines() or [""]:
        typer.echo(f"error: {line}" if line and not line.startswith("  ") else line, err=True)
    raise typer.Exit(code)


def guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the library's expected errors (and unreadable files or databases) into one-line
    messages and exit code 2.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import sqlite3

        from pydantic import ValidationError

        from iamg_forecast.errors import IAMGError

        try:
            return func(*args, **kwargs)
        except (IAMGError, ValidationError, ValueError, KeyError, OSError,
                sqlite3.Error) as err:
            msg = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
            fail(msg)

    return wrapper


def progress_enabled(quiet: bool) -> bool:
    """Progress bars only on a terminal, never with ``--quiet`` or ``IAMG_QUIET=1``."""
    return not quiet and sys.stderr.isatty() and os.environ.get("IAMG_QUIET") != "1"


def quiet_library_logs() -> None:
    """Silence the libraries' informational log lines (PyMC's ``Sampling: [...]``)."""
    import logging

    import pymc  # noqa: F401 - pymc sets its logger's level when imported; override it after

    for name in ("pymc", "pytensor", "nutpie"):
        logging.getLogger(name).setLevel(logging.WARNING)


def hide_flag_placeholders(command: Any) -> None:
    """Show boolean flags (and ``--help``) in help without a ``<bool>`` value placeholder.

    A flag takes no value, so the placeholder only misleads; walks every sub-command.
    """
    for param in command.params:
        if getattr(param, "is_flag", False):
            param.metavar = ""
    original = command.get_help_option

    def help_option(ctx: Any, _original: Callable[..., Any] = original) -> Any:
        option = _original(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = help_option
    for sub in getattr(command, "commands", {}).values():
        hide_flag_placeholders(sub)

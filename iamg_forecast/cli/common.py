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

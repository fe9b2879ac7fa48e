"""Exceptions raised at the library's boundaries.

Every error names what was wrong, where, and what was expected, so that an analyst never has to
read a traceback from inside PyMC to find a typo in a YAML file.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass

_REPR = reprlib.Repr(maxlevel=3, maxlist=6, maxtuple=6, maxdict=6, maxset=6, maxstring=60,
                     maxother=60, maxlong=40)


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file or object.

    Parameters
    ----------
    where : str
        File name (or ``"<memory>"``) where the problem was found.
    path : str
        Key path inside that file, e.g. ``"links[3].child"``.
    message : str
        What is wrong and what was expected.
    value : object
        The offending value, if any.
    """

    where: str
    path: str
    message: str
    value: object = None

    def __str__(self) -> str:
        shown = "" if self.value is None else f" (got {short(self.value)})"
        return f"{short_text(self.where)}: {short_text(self.path)}: {self.message}{shown}"


#: How many characters of a bad value an error message quotes.
SHOWN_CHARS = 60


def short(value: object, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)`` cut to about ``limit`` characters, saying how long the value was.

    A 50 MB note must not become a 50 MB error line.

    Examples
    --------
    >>> short("abc")
    "'abc'"
    >>> short("x" * 1000)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'... (1000 characters)"
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}... ({len(value)} characters)"
    if isinstance(value, bytes | bytearray):
        return short(bytes(value[:limit]).decode("utf-8", "replace"), limit) + (
            f" ({len(value)} bytes)" if len(value) > limit else "")
    # a bounded repr: never walks more than a few levels and elements of a container
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def short_text(text: object, limit: int = 200) -> str:
    """``str(text)`` cut to ``limit`` characters (for locations built from user input)."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "..."


class IAMGError(Exception):
    """Base class of every error this library raises on purpose."""


class _ProblemsError(IAMGError):
    """An error that carries a list of :class:`Problem` and prints all of them."""

    kind = "problems"

    def __init__(self, problems: list[Problem], header: str | None = None):
        self.problems = list(problems)
        head = header or f"{len(self.problems)} {self.kind} found"
        body = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{head}:\n{body}")


class SpecError(_ProblemsError):
    """The scenario specification (``priors/*.yaml``) is invalid; lists every problem."""

    kind = "problem(s) in the scenario spec"


class EvidenceError(_ProblemsError):
    """Evidence is invalid or an evidence operation is impossible; lists every problem."""

    kind = "problem(s) with the evidence"


class ForecastError(IAMGError):
    """A forecast cannot be produced or loaded as asked."""


class LedgerError(IAMGError):
    """The forecast ledger is inconsistent or an operation on it is impossible."""


class FileRefusedError(IAMGError, ValueError):
    """A path cannot be read or written safely (not a regular file, too large, wrong suffix,
    or a target the library did not write); nothing was read or changed.

    Parameters
    ----------
    path : object
        The path (shown cut to 200 characters).
    reason : str
        What is wrong and what was expected (``reason`` attribute, without the path).
    """

    def __init__(self, path: object, reason: str):
        self.path = short_text(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

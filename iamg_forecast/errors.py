"""Exceptions raised at the library's boundaries.

Every error names what was wrong, where, and what was expected, so that an analyst never has to
read a traceback from inside PyMC to find a typo in a YAML file.
"""

from __future__ import annotations

from dataclasses import dataclass


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
        shown = "" if self.value is None else f" (got {self.value!r})"
        return f"{self.where}: {self.path}: {self.message}{shown}"


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

"""One registry of named entries, for indicator kinds (:mod:`iamg_forecast.kinds`) and prior
families (:mod:`iamg_forecast.families`): name -> entry in registration order, each entry
carrying a ``name`` and a ``kernel_code`` (None: the kernel does not mirror it).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Registry"]


class Registry(dict):
    """Entries by name, in registration order; the built-in ones cannot be removed.

    Examples
    --------
    >>> from types import SimpleNamespace as E
    >>> reg = Registry("toy")
    >>> _ = reg.add(E(name="a", kernel_code=0))
    >>> reg.seal()
    >>> reg.add(E(name="b", kernel_code=0))
    Traceback (most recent call last):
    ...
    ValueError: kernel code 0 is 'a''s
    >>> reg.remove("a")
    Traceback (most recent call last):
    ...
    ValueError: the built-in toy 'a' cannot be removed
    """

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what
        self.built_in: frozenset[str] = frozenset()

    def add(self, entry: Any) -> Any:
        """Register ``entry`` (its name and kernel code must be new); returns it."""
        if entry.name in self:
            raise ValueError(f"{self.what} {entry.name!r} is already registered")
        taken = {e.kernel_code: e.name for e in self.values() if e.kernel_code is not None}
        if entry.kernel_code is not None and entry.kernel_code in taken:
            raise ValueError(f"kernel code {entry.kernel_code} is {taken[entry.kernel_code]!r}'s")
        self[entry.name] = entry
        return entry

    def remove(self, name: str) -> None:
        """Remove an entry registered after :meth:`seal`."""
        if name in self.built_in:
            raise ValueError(f"the built-in {self.what} {name!r} cannot be removed")
        self.pop(name)

    def seal(self) -> None:
        """Mark the entries registered so far as built in."""
        self.built_in = frozenset(self)

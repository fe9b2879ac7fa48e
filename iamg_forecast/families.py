"""Prior families: what each family of prior is, in one registry entry per family.

The spec validates a prior's parameters with its family's entry (:attr:`PriorFamily.params`)
and asks whether the family is positive (effect sizes and loadings carry their sign
separately); the PyMC graph builds a block's free variable with :meth:`PriorFamily.block_values`
(its transform and the block scale: a Normal prior is non-centred, a Beta prior's block holds the
logit); PyMC then supplies the log density with its Jacobian and the gradient, which the
PyMC graph defines. The hand-written kernel mirrors the families whose
:attr:`PriorFamily.kernel_code` it implements and refuses the others, so inference falls back to
the PyMC graph.

Adding a family: subclass :class:`PriorFamily` and :func:`register_family` it (see
``docs/registries.md``); a new parameter name also needs its field on
:class:`iamg_forecast.spec.PriorSpec`.

Examples
--------
>>> sorted(FAMILIES)
['Beta', 'Exponential', 'Gamma', 'HalfNormal', 'LogNormal', 'Normal', 'StudentT']
>>> get_family("Gamma").params, get_family("Gamma").support
({'alpha': 'positive', 'beta': 'positive'}, 'positive')
"""

from __future__ import annotations

import difflib
from typing import Any, ClassVar

import numpy as np

from iamg_forecast.registry import Registry

__all__ = ["PriorFamily", "FAMILIES", "register_family", "unregister_family", "get_family",
           "positive_families"]


class PriorFamily:
    """One family of prior distributions: the registry entry the spec, the graph and the
    kernel read.

    Attributes
    ----------
    name : str
        What ``dist:`` says in the spec, and the PyMC distribution of the same name.
    params : dict
        Parameter -> constraint: ``real``, or ``scale`` / ``positive`` (both > 0).
    support : str
        ``real``, ``positive`` or ``unit`` (the interval (0, 1)).
    kernel_code : int or None
        The code under which :mod:`iamg_forecast.kernel` mirrors this family (its transform,
        log density, Jacobian and gradient); None when it does not.
    """

    name: ClassVar[str]
    params: ClassVar[dict[str, str]]
    support: ClassVar[str]
    kernel_code: ClassVar[int | None] = None

    def variable_name(self, block: str) -> str:
        """Name of the PyMC variable holding ``block``'s priors of this family."""
        return f"{block}_{self.name.lower()}"

    def block_values(self, variable: str, params: dict[str, np.ndarray], n: int) -> Any:
        """Create the free variable ``variable`` (``n`` entries, inside a PyMC model context)
        and return its values on the block's scale.

        ``params`` holds each parameter as an array over the ``n`` entries.
        """
        import pymc as pm

        return getattr(pm, self.name)(variable, shape=n, **params)

    def __repr__(self) -> str:
        return f"<prior family {self.name!r}>"


class Normal(PriorFamily):
    """Normal, non-centred: the free variable is ``z ~ Normal(0, 1)``, the value
    ``mu + sigma * z`` (keeps NUTS away from funnels).
    """

    name = "Normal"
    params = {"mu": "real", "sigma": "scale"}
    support = "real"
    kernel_code = 0

    def variable_name(self, block):
        return super().variable_name(block) + "_z"

    def block_values(self, variable, params, n):
        import pymc as pm

        z = pm.Normal(variable, 0.0, 1.0, shape=n)
        return params["mu"] + params["sigma"] * z


class PyMCFamily(PriorFamily):
    """A family built as PyMC's distribution of the same name, with PyMC's default transform
    (log for the positive ones); its fields are given per entry.

    Examples
    --------
    >>> PyMCFamily("Exponential", {"lam": "positive"}, "positive", 4).variable_name("b")
    'b_exponential'
    """

    def __init__(self, name: str, params: dict[str, str], support: str,
                 kernel_code: int | None) -> None:
        self.name, self.params, self.support = name, params, support  # type: ignore[misc]
        self.kernel_code = kernel_code  # type: ignore[misc]


class Beta(PriorFamily):
    """Beta(alpha, beta) on a probability; the model works on the logit scale, so the block
    holds ``logit(p)`` (PyMC log-odds-transforms the free variable).
    """

    name = "Beta"
    params = {"alpha": "positive", "beta": "positive"}
    support = "unit"
    kernel_code = 5

    def block_values(self, variable, params, n):
        import pymc as pm
        import pytensor.tensor as pt

        p = pm.Beta(variable, alpha=params["alpha"], beta=params["beta"], shape=n)
        return pt.log(p) - pt.log1p(-p)


#: The registry: family name -> entry, in registration order.
FAMILIES: Registry = Registry("prior family")


#: Add an entry (its name and kernel code must be new) / remove one added later.
register_family = FAMILIES.add
unregister_family = FAMILIES.remove


def get_family(name: str) -> PriorFamily:
    """The entry of family ``name``.

    Raises
    ------
    ValueError
        For an unknown family, with a did-you-mean hint.

    Examples
    --------
    >>> get_family("Normall")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown distribution 'Normall': expected one of [...]; did you mean 'Normal'?
    """
    if name in FAMILIES:
        return FAMILIES[name]
    hint = difflib.get_close_matches(str(name), FAMILIES, n=1)
    extra = f"; did you mean {hint[0]!r}?" if hint else ""
    raise ValueError(f"unknown distribution {name!r}: expected one of {sorted(FAMILIES)}{extra}")


def positive_families() -> list[str]:
    """Names of the families with positive support, sorted.

    Examples
    --------
    >>> positive_families()
    ['Exponential', 'Gamma', 'HalfNormal', 'LogNormal']
    """
    return sorted(n for n, f in FAMILIES.items() if f.support == "positive")


for _f in (Normal(),
           PyMCFamily("HalfNormal", {"sigma": "scale"}, "positive", 1),
           PyMCFamily("LogNormal", {"mu": "real", "sigma": "scale"}, "positive", 2),
           PyMCFamily("Gamma", {"alpha": "positive", "beta": "positive"}, "positive", 3),  # rate
           PyMCFamily("Exponential", {"lam": "positive"}, "positive", 4),
           Beta(),
           PyMCFamily("StudentT", {"nu": "positive", "mu": "real", "sigma": "scale"}, "real", 6)):
    register_family(_f)
FAMILIES.seal()

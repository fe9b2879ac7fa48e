"""Planted bugs: what the power check plants in the fit (never in the simulation).

Each bug is a change to what the fit sees (a ``data -> data`` transform) or to the model it
fits with (a :func:`doubled_prior_model`); :func:`planted_bug` names them for
:func:`~iamg_forecast.calibration.power.power_check`. A calibration check that does not fail
with them cannot be trusted to fail with a real bug of the same size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from iamg_forecast.calibration.quantities import newest_report_cell
from iamg_forecast.model import ScenarioModel
from iamg_forecast.spec import Spec

__all__ = ["DropEveryOtherCell", "CountCellTwice", "DoubleCountCell", "doubled_prior_model",
           "planted_bug", "BUGS", "ALL_BUGS", "CONTROL"]

#: The bugs the power check plants by default (the ones SBC detects at affordable sizes).
BUGS = ("half_likelihood", "doubled_prior_initial", "double_counted_item")
#: Every bug :func:`planted_bug` knows.
ALL_BUGS = BUGS + ("doubled_prior_innovation", "duplicate_as_corroboration")
#: The arm without a bug: the false-alarm rate, and the reference of each bug's shift.
CONTROL = "control"


@dataclass(frozen=True)
class DropEveryOtherCell:
    """Planted bug: the fit sees only every other observed evidence cell (half the likelihood).

    Cells are taken in (indicator, month) order; the 2nd, 4th, ... are dropped.

    Examples
    --------
    >>> d = {"ind_observed": np.ones((1, 4))}
    >>> DropEveryOtherCell()(d)["ind_observed"].tolist()
    [[1.0, 0.0, 1.0, 0.0]]
    """

    name: str = "half_likelihood"

    def __call__(self, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:  # noqa: D102
        out = dict(data)
        obs = np.array(data["ind_observed"], dtype=float, copy=True)
        cells = sorted(zip(*np.nonzero(obs), strict=True))
        for j, (i, m) in enumerate(cells):
            if j % 2 == 1:
                obs[i, m] = 0.0
        out["ind_observed"] = obs
        return out


@dataclass(frozen=True)
class CountCellTwice:
    """Planted bug: one evidence item counted twice (its log-likelihood term enters twice).

    The item is the most reliable observed report of the latest observed month (first in
    indicator order on ties): the one a duplicate would most likely come from. Its cell gets
    weight 2 in ``ind_observed``, which the model's likelihood uses as the cell's weight.

    Examples
    --------
    >>> d = {"ind_observed": np.array([[1.0, 1.0], [0.0, 1.0]]),
    ...      "ind_rel": np.array([[0.83, 0.66], [0.5, 0.83]])}
    >>> CountCellTwice()(d)["ind_observed"].tolist()
    [[1.0, 1.0], [0.0, 2.0]]
    """

    name: str = "double_counted_item"

    def __call__(self, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:  # noqa: D102
        out = dict(data)
        obs = np.array(data["ind_observed"], dtype=float, copy=True)
        cell = newest_report_cell(data)
        if cell is not None:
            obs[cell] = 2.0
        out["ind_observed"] = obs
        return out


@dataclass(frozen=True)
class DoubleCountCell:
    """Planted bug: one report counted twice, as if it corroborated itself.

    The observed cell with the lowest reliability ``r`` (first in (indicator, month) order on
    ties; the largest change) gets ``1 - (1 - r)**2``: what
    :func:`~iamg_forecast.evidence.cells.model_data` computes when a duplicate is wrongly marked
    as corroborating the original.

    Examples
    --------
    >>> d = {"ind_observed": np.ones((1, 2)), "ind_rel": np.array([[0.83, 0.66]])}
    >>> DoubleCountCell()(d)["ind_rel"].round(4).tolist()
    [[0.83, 0.8844]]
    """

    name: str = "duplicate_as_corroboration"

    def __call__(self, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:  # noqa: D102
        out = dict(data)
        rel = np.array(data["ind_rel"], dtype=float, copy=True)
        cells = sorted(zip(*np.nonzero(data["ind_observed"]), strict=True))
        if cells:
            i, m = min(cells, key=lambda c: (rel[c], c))
            rel[i, m] = 1.0 - (1.0 - rel[i, m]) ** 2
        out["ind_rel"] = rel
        return out


def doubled_prior_model(model: ScenarioModel, which: str = "innovation_sd",
                        factor: float = 2.0) -> ScenarioModel:
    """The same model with every latent's prior scale multiplied by ``factor`` (a planted bug).

    Parameters
    ----------
    model : ScenarioModel
    which : {"innovation_sd", "initial"}
        Scale the fixed random-walk step sizes, or the sigma of each latent's initial prior.
    factor : float

    Returns
    -------
    ScenarioModel
        Built from a modified ``spec.to_dict()`` (a different spec hash: compiled separately).

    Examples
    --------
    >>> from iamg_forecast import load_model
    >>> m = load_model()
    >>> m2 = doubled_prior_model(m)
    >>> m2.spec.latents[0].innovation_sd.value == 2 * m.spec.latents[0].innovation_sd.value
    True
    """
    d = model.spec.to_dict()
    for lat in d["latents"]:
        if which == "innovation_sd":
            lat["innovation_sd"]["value"] = factor * lat["innovation_sd"]["value"]
        elif which == "initial":
            if "sigma" not in lat["initial"]:
                raise ValueError(f"latent {lat['name']}: initial prior has no sigma")
            lat["initial"]["sigma"] = factor * lat["initial"]["sigma"]
        else:
            raise ValueError(f"which must be 'innovation_sd' or 'initial', got {which!r}")
    spec = Spec.from_mapping(d, where=f"<{which} x{factor}>")
    return ScenarioModel(spec, model.interventions)


def planted_bug(model: ScenarioModel, name: str
                ) -> tuple[Callable | None, ScenarioModel | None, str]:
    """``(fit_transform, fit_model, description)`` of a planted bug (see :data:`ALL_BUGS`).

    Examples
    --------
    >>> from iamg_forecast import load_model
    >>> planted_bug(load_model(), "half_likelihood")[0].name
    'half_likelihood'
    """
    if name == CONTROL:
        return None, None, "no bug: the correct fit, for the false-alarm rate and as reference"
    if name == "half_likelihood":
        return DropEveryOtherCell(), None, "the fit sees every other observed evidence cell"
    if name in ("doubled_prior_initial", "doubled_prior_innovation"):
        which = "initial" if name.endswith("initial") else "innovation_sd"
        what = "initial-state sigma" if which == "initial" else "random-walk step (innovation_sd)"
        return None, doubled_prior_model(model, which), (
            f"every latent's {what} doubled in the fit, not in the simulation")
    if name == "double_counted_item":
        return CountCellTwice(), None, ("the most reliable report of the latest observed month "
                                        "counted twice: its likelihood term enters twice")
    if name == "duplicate_as_corroboration":
        return DoubleCountCell(), None, ("a duplicate taken for a corroboration of the "
                                         "lowest-reliability report: r -> 1-(1-r)^2")
    raise ValueError(f"unknown bug {name!r}; expected {CONTROL!r} or one of {ALL_BUGS}")

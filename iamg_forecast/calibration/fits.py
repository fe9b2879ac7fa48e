"""One fit of a simulated world with the production sampler, and its seeds.

Simulation ``k`` of a run with seed ``seed`` draws every random choice from
``SeedSequence([seed, k, tag])`` with one tag per stream (:data:`TAG_FIT`, ...), so its result
does not depend on the executor, the chunking or the other simulations.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from iamg_forecast.inference import sample_posterior
from iamg_forecast.model import ScenarioModel

__all__ = ["TAG_FIT", "TAG_RANK", "TAG_HOLDOUT", "TAG_REDUCED_FIT", "seed_of", "fit_draws",
           "flat", "divergences", "DRAWN"]

# Tags of the independent random streams of simulation k: SeedSequence([seed, k, tag]).
TAG_FIT, TAG_RANK, TAG_HOLDOUT, TAG_REDUCED_FIT = 1, 2, 3, 4
#: The posterior variables a fit returns (what the test quantities are computed from).
DRAWN = ("latent_state", "indicator_eta", "hazard_logit")


def seed_of(*parts: int) -> int:
    """One integer seed from ``parts`` (e.g. ``seed, k, tag``), via NumPy's SeedSequence.

    Examples
    --------
    >>> seed_of(0, 3, TAG_FIT) == seed_of(0, 3, TAG_FIT) != seed_of(0, 3, TAG_RANK)
    True
    """
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def fit_draws(model: ScenarioModel, data: dict, seed: int, cfg: dict) -> tuple[dict, Any]:
    """Fit ``data`` with the production sampler; return the drawn paths and the DataTree.

    ``cfg`` gives ``draws``, ``tune`` and ``chains``. The paths are ``(chain, draw, ...)``
    arrays of :data:`DRAWN`.
    """
    with warnings.catch_warnings():
        # Mass-matrix adaptation chatter of short warm-ups is not a result; divergences are
        # recorded per simulation instead.
        warnings.simplefilter("ignore", UserWarning)
        idata = sample_posterior(model, data, seed=seed, draws=cfg["draws"], tune=cfg["tune"],
                                 chains=cfg["chains"])
    post = idata["posterior"].to_dataset()
    return {k: np.asarray(post[k].values) for k in DRAWN}, idata


def flat(a: np.ndarray) -> np.ndarray:
    """``(chain, draw, ...)`` draws as ``(chain * draw, ...)``.

    Examples
    --------
    >>> flat(np.zeros((2, 3, 4))).shape
    (6, 4)
    """
    return a.reshape((-1,) + a.shape[2:])


def divergences(idata) -> int:
    """Divergent transitions after warm-up in a fit's sample statistics (0 when not recorded)."""
    stats = idata["sample_stats"].to_dataset()
    return int(stats["diverging"].sum()) if "diverging" in stats else 0

"""Small scenario specs built in code, for tests that need many structures.

:func:`small_spec` writes a one-file spec (latents, links, indicators of any kind, event
outcomes, an optional competing group, staged or not) and loads it as a model. The reliability
table is the bundled one.
"""

from __future__ import annotations

from pathlib import Path

import yaml

import iamg_forecast as iaf
from iamg_forecast.spec import default_priors_dir

# A prior of each family with default parameters (any of them may be overridden).
FAMILY_DEFAULTS = {
    "Normal": {"mu": 0.3, "sigma": 0.9},
    "HalfNormal": {"sigma": 0.8},
    "LogNormal": {"mu": -0.5, "sigma": 0.6},
    "Gamma": {"alpha": 2.0, "beta": 3.0},
    "Exponential": {"lam": 2.0},
    "Beta": {"alpha": 2.0, "beta": 3.0},
    "StudentT": {"nu": 4.0, "mu": 0.2, "sigma": 0.8},
}
START, END = "2024-01", "2024-08"   # eight months


def prior(dist: str, **params: float) -> dict:
    """A prior entry of family ``dist`` (defaults from :data:`FAMILY_DEFAULTS`)."""
    return {"dist": dist, **FAMILY_DEFAULTS[dist], **params, "rationale": "test prior"}


def _fixed(value: float) -> dict:
    return {"value": value, "rationale": "test constant"}


def indicator(name: str, kind: str, baseline: dict, loadings: list[tuple[str, str, dict]],
              dispersion: float | None = None) -> dict:
    """An indicator entry; ``loadings`` are ``(latent, sign, prior)``."""
    out = {"name": name, "kind": kind, "description": f"test indicator {name}",
           "baseline": baseline,
           "loadings": [{"latent": la, "sign": sg, "prior": p} for la, sg, p in loadings]}
    if kind in ("binary", "count"):
        out["false_report_rate"] = _fixed(0.05 if kind == "binary" else 0.3)
    else:
        out["obs_sd"] = _fixed(0.7)
        out["false_report_sd"] = _fixed(2.0)
    if dispersion is not None:
        out["dispersion"] = _fixed(dispersion)
    return out


def latent(name: str, initial: dict, sd: float = 0.3, role: str = "driver") -> dict:
    """A latent entry (``role="mediator"`` when links point into it)."""
    return {"name": name, "role": role, "description": f"test latent {name}",
            "initial": initial, "innovation_sd": _fixed(sd)}


def event(name: str, base: dict, drivers: list[tuple[str, str, dict]] = ()) -> dict:
    return {"name": name, "question": f"{name}?", "resolution": "test", "type": "event",
            "base": base, "plausible": [0.0, 1.0],
            "drivers": [{"latent": la, "sign": sg, "prior": p} for la, sg, p in drivers]}


def group(name: str, choices: list[tuple[str, dict, list]], hazard: dict, *,
          staged: bool = False, trend: dict | None = None) -> tuple[dict, list[dict]]:
    """A competing group and its outcomes (each choice, then ``<name>_none``)."""
    g = {"name": name, "event": "the group's event", "none_outcome": f"{name}_none",
         "hazard": hazard}
    if trend is not None:
        g["hazard_trend"] = trend
    if staged:
        g["stages"] = {"initial": "election", "president_milestone": f"{name}_president",
                       "designation": prior("Normal", mu=0.4, sigma=1.0),
                       "designation_milestones": {c: f"{c}_designated" for c, _, _ in choices},
                       "vote": prior("Normal", mu=0.4, sigma=1.0),
                       "vote_same_month": prior("Normal", mu=-1.0, sigma=1.0),
                       "failure": prior("Normal", mu=-2.0, sigma=1.0),
                       "failure_milestone": f"{name}_failure"}
    outs = [{"name": c, "question": f"{c}?", "resolution": "test", "type": "choice",
             "group": name, "base": base, "plausible": [0.0, 1.0],
             "drivers": [{"latent": la, "sign": sg, "prior": p} for la, sg, p in drivers]}
            for c, base, drivers in choices]
    outs.append({"name": f"{name}_none", "question": "none?", "resolution": "test",
                 "type": "none", "group": name, "plausible": [0.0, 1.0]})
    return g, outs


def small_spec(path: Path, *, latents: list[dict], indicators: list[dict],
               outcomes: list[dict], links: list[dict] = (), groups: list[dict] = ()) -> Path:
    """Write the spec to ``path / "spec.yaml"`` and return that file."""
    rel = yaml.safe_load((default_priors_dir() / "reliability.yaml").read_text())
    spec = {"scenario": {"name": "small", "title": "a small test scenario",
                         "start_month": START, "end_month": END,
                         "default_horizon": "2024-08-31"},
            "latents": latents, "links": list(links), "indicators": indicators,
            "competing_groups": list(groups), "outcomes": outcomes, **rel}
    path.mkdir(parents=True, exist_ok=True)
    out = path / "spec.yaml"
    out.write_text(yaml.safe_dump(spec, sort_keys=False))
    return out


def small_model(path: Path, **parts) -> iaf.ScenarioModel:
    """:func:`small_spec` loaded as a model."""
    return iaf.load_model(small_spec(path, **parts))

"""A forecast on disk: what :meth:`Forecast.save <iamg_forecast.forecast.Forecast.save>`
writes and :meth:`Forecast.load <iamg_forecast.forecast.Forecast.load>` reads back, checked.

A save is a folder (:func:`~iamg_forecast.files.save_folder`): ``draws.nc`` (netCDF: the
draws, the parameter blocks and the sample statistics the gates read), ``forecast.json`` (the
spec, the evidence, the provenance and a schema version), a marker and a manifest of both
files' SHA-256. No pickle. A load believes nothing it can recompute: the diagnostics are
recomputed from the stored draws, every probability from the draws, the weights of a what-if
from the evidence.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from iamg_forecast.diagnostics import Diagnostics, diagnostics_of, gate_quantities
from iamg_forecast.errors import FileRefusedError, ForecastError, short, short_text
from iamg_forecast.evidence.cells import evidence_hash, legacy_evidence_hash, usable_items
from iamg_forecast.evidence.items import Evidence, check_against_spec
from iamg_forecast.files import MARKER, read_bounded, read_saved_folder, save_folder
from iamg_forecast.forecast_settings import (
    check_model_args,
    check_seed,
    check_sizes,
    forecast_dates,
)
from iamg_forecast.inference import POSTERIOR_VARS
from iamg_forecast.model import PARAMETER_BLOCKS, Intervention, ScenarioModel
from iamg_forecast.spec import Spec, parse_date

__all__ = ["SCHEMA_VERSION", "SAVED_FILES", "GATE_STATS", "SavedForecast", "write_saved",
           "load_saved", "draws_tree"]

# 2: a marker and a manifest of content hashes; parameter blocks and sample stats stored so
# that the diagnostics are recomputed on load; no stored log-weights (recomputed).
SCHEMA_VERSION = 2
SAVED_FILES = frozenset({"draws.nc", "forecast.json"})
_SAVED_KEYS = ("spec", "items", "as_of", "horizon", "seed", "sizes", "diagnostics",
               "provenance", "path", "pareto_k", "language", "interventions")
# Largest files a load reads (a save of the default sizes is a few MB).
_SAVED_LIMITS = {"draws.nc": 4 << 30, "forecast.json": 512 << 20}
#: Sample statistics kept beside the draws: what the gates need besides the draws themselves.
GATE_STATS = ("diverging", "energy")
_DIMS = {"latent_state": ("latent", "month"), "indicator_eta": ("indicator", "month"),
         "hazard_logit": ("hazard", "month")}


@dataclass(frozen=True)
class SavedForecast:
    """The fields of a :class:`~iamg_forecast.forecast.Forecast` that a save holds.

    Each field has the name and meaning of the forecast's own. ``stored_diagnostics`` is what
    ``forecast.json`` says of the diagnostics (on load only; checked against the recomputed
    ones by :meth:`check_diagnostics`), ``folder`` where it was read from.
    """

    # in draws.nc
    draws: dict[str, np.ndarray]
    gate_data: dict[str, np.ndarray]
    # in forecast.json (the model as its spec and interventions)
    model: ScenarioModel
    items: tuple[Evidence, ...]
    as_of: dt.date
    horizon: dt.date
    path: str
    seed: int
    sizes: dict[str, int]
    language: str
    provenance: dict[str, Any]
    as_of_rule: str
    pareto_k: dict[str, float]
    # recomputed from the draws on load (stored beside them, to be checked)
    diagnostics: Diagnostics
    stored_diagnostics: dict[str, Any] | None = None
    folder: Path | None = None

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The fields shared with a Forecast (all but ``stored_diagnostics`` and ``folder``).

        Examples
        --------
        >>> SavedForecast.field_names()[:3]
        ('draws', 'gate_data', 'model')
        """
        return tuple(f.name for f in dataclasses.fields(cls)
                     if f.name not in ("stored_diagnostics", "folder"))

    def forecast_fields(self) -> dict[str, Any]:
        """Keyword arguments of the Forecast this save holds (with its draws as a DataTree)."""
        out = {name: getattr(self, name) for name in self.field_names()}
        return {**out, "idata": draws_tree(self.draws, self.model.coords)}

    @property
    def fit_n_items(self) -> int:
        """How many of the items the draws were sampled under (a what-if reweights them)."""
        return int(self.provenance["fit_n_items"])

    @property
    def fit_as_of(self) -> dt.date:
        """The knowledge date the draws were sampled under."""
        return parse_date(self.provenance["fit_as_of"], "fit_as_of")

    def check_diagnostics(self, diag: Diagnostics) -> None:
        """Refuse a save whose stored diagnostics differ from ``diag``, recomputed from its
        draws (a what-if's Pareto k is recomputed from the evidence, so it is not compared).
        """
        stored = self.stored_diagnostics
        mine = {k: v for k, v in diag.to_dict().items() if k not in ("ok", "problems")}
        if not isinstance(stored, dict) or set(stored) != set(mine) or any(
                not _same(stored[k], v) for k, v in mine.items()
                if not (k == "pareto_k" and self.path == "psis")):
            raise ForecastError(f"{self.folder}: the diagnostics in forecast.json do not match the "
                                "ones recomputed from the stored draws (edited?); recomputed: "
                                + ("reliable" if diag.ok else "NOT reliable: "
                                   + "; ".join(diag.problems)))


# ---- writing -----------------------------------------------------------------------------------
def _metadata(saved: SavedForecast) -> dict[str, Any]:
    """The content of ``forecast.json``."""
    return {
        "schema_version": SCHEMA_VERSION,
        "spec": saved.model.spec.to_dict(),
        "items": [{"id": e.id, **e.content()} for e in saved.items],
        "as_of": saved.as_of.isoformat(), "horizon": saved.horizon.isoformat(),
        "seed": saved.seed, "sizes": saved.sizes,
        "diagnostics": {k: v for k, v in saved.diagnostics.to_dict().items()
                        if k not in ("ok", "problems")},
        "provenance": saved.provenance, "path": saved.path, "pareto_k": saved.pareto_k,
        "language": saved.language,
        "interventions": [vars(iv) for iv in saved.model.interventions],
    }


def write_saved(path: str | Path, saved: SavedForecast) -> Path:
    """Save to a directory (see :meth:`Forecast.save <iamg_forecast.forecast.Forecast.save>`).

    Raises
    ------
    ForecastError
        If ``path`` is a file or a link, a directory holding anything but a previous save,
        or the forecast lacks the sample statistics a load needs to re-check it.
    """
    missing = [k for k in GATE_STATS if k not in saved.gate_data]
    if missing:
        raise ForecastError("this forecast has no sample statistics "
                            f"({', '.join(missing)}), so a load could not re-check its "
                            "diagnostics; save the forecast returned by forecast()")

    def write(tmp: Path) -> None:
        ds = xr.Dataset({k: (("chain", "draw") + _DIMS[k], v) for k, v in saved.draws.items()},
                        coords=dict(saved.model.coords))
        for k, v in saved.gate_data.items():
            dims = ("chain", "draw") + tuple(f"{k}_dim_{d}" for d in range(v.ndim - 2))
            ds[f"gate__{k}"] = (dims, v)
        ds.to_netcdf(tmp / "draws.nc", engine="h5netcdf")
        (tmp / "forecast.json").write_text(json.dumps(_metadata(saved), indent=1, default=str),
                                           encoding="utf-8")

    try:
        return save_folder(path, write, "saved forecast")
    except FileRefusedError as err:
        raise ForecastError(f"cannot save the forecast to {err.path}: {err.reason}") from None


# ---- reading -----------------------------------------------------------------------------------
def _read_metadata(src: Path) -> dict[str, Any]:
    """``forecast.json``, after checking the folder, the schema version and the fields."""
    meta_path = src / "forecast.json"
    if not meta_path.exists() and not (src / MARKER).exists():
        raise ForecastError(f"{src} holds no forecast.json; not a saved forecast")
    try:
        meta = json.loads(read_bounded(meta_path, _SAVED_LIMITS["forecast.json"],
                                       "saved forecast"))
    except FileRefusedError as err:
        raise ForecastError(f"cannot read {err.path}: {err.reason}") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise ForecastError(f"{meta_path} is not valid JSON: {short(str(err), 120)}") from None
    if not isinstance(meta, dict):
        raise ForecastError(f"{meta_path}: expected a JSON object, got {type(meta).__name__}")
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise ForecastError(f"{src} has schema_version {short(meta.get('schema_version'))};"
                            f" this version of iamg_forecast reads {SCHEMA_VERSION}"
                            + (" (saved by an older version: run the forecast again and "
                               "save it)" if meta.get("schema_version") == 1 else ""))
    try:
        read_saved_folder(src, _SAVED_LIMITS, "saved forecast")
    except FileRefusedError as err:
        raise ForecastError(f"{err.path}: {err.reason}") from None
    missing = [k for k in _SAVED_KEYS if k not in meta]
    if missing:
        raise ForecastError(f"{meta_path}: missing field(s) {', '.join(missing)}")
    return meta


def load_saved[T](path: str | Path, build: Callable[[SavedForecast], T]) -> T:
    """Read and check the save at ``path`` and ``build`` the forecast from it.

    Any problem, in the files or in what ``build`` finds, raises a :class:`ForecastError`
    naming the folder or file and what does not match.
    """
    src = Path(path)
    meta = _read_metadata(src)
    try:
        return build(_read(src, meta))
    except ForecastError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OSError) as err:
        what = f"missing field {err}" if isinstance(err, KeyError) else short_text(err, 200)
        raise ForecastError(f"{src}: not a valid saved forecast: {what}") from None


def _spec_and_items(src: Path, meta: dict, prov: dict) -> tuple[ScenarioModel, tuple]:
    """The stored model and evidence, checked against the provenance's spec hash and the spec."""
    spec = Spec.from_mapping(meta["spec"], where=str(src / "forecast.json"))
    if spec.hash != prov["spec_hash"]:
        raise ForecastError(f"{src}: the stored spec's hash {spec.hash[:12]} differs from the "
                            f"recorded {str(prov['spec_hash'])[:12]}; file altered?")
    model = ScenarioModel(spec, tuple(Intervention(**iv) for iv in meta["interventions"]))
    items = tuple(Evidence(**it) for it in meta["items"])
    problems = [p for it in items for p in check_against_spec(it, spec)]
    if problems:
        raise ForecastError(f"{src}: a stored evidence item does not fit the spec: "
                            f"{problems[0]}")
    return model, items


def _check_provenance(src: Path, prov: dict, model: ScenarioModel, items: tuple,
                      as_of: dt.date, horizon: dt.date, seed: int, sizes: dict[str, int],
                      path_kind: str) -> None:
    """Refuse a provenance that disagrees with the rest of the save."""
    n_fit = prov.get("fit_n_items")
    fit_as_of = parse_date(prov.get("fit_as_of"), "fit_as_of")
    if isinstance(n_fit, bool) or not isinstance(n_fit, int) or not 0 <= n_fit <= len(items):
        raise ForecastError(f"{src}: provenance fit_n_items must count the stored items, "
                            f"got {short(n_fit)}")
    agree = {"as_of": (prov.get("as_of"), as_of.isoformat()),
             "horizon": (prov.get("horizon"), horizon.isoformat()),
             "seed": (prov.get("seed"), seed), "path": (prov.get("path"), path_kind),
             "n_items": (prov.get("n_items"), len(usable_items(items, as_of))),
             "interventions": (prov.get("interventions"),
                               [vars(iv) for iv in model.interventions]),
             **{k: (prov.get(k), v) for k, v in sizes.items()}}
    if path_kind != "psis":
        agree["fit_as_of"] = (fit_as_of, as_of)
        agree["fit_n_items"] = (n_fit, len(items))
    elif not fit_as_of <= as_of:
        agree["fit_as_of"] = (fit_as_of, f"on or before {as_of}")
    wrong = [f"{k} (provenance {short(a)}, elsewhere {short(b)})"
             for k, (a, b) in agree.items() if a != b]
    if wrong:
        raise ForecastError(f"{src}: the provenance does not match the saved forecast: "
                            + "; ".join(wrong))


def _read(src: Path, meta: dict) -> SavedForecast:
    """The save's fields, each checked; the diagnostics recomputed from the stored draws."""
    prov = dict(meta["provenance"])
    model, items = _spec_and_items(src, meta, prov)
    spec = model.spec
    as_of = parse_date(meta["as_of"], "as_of")
    horizon = parse_date(meta["horizon"], "horizon")
    forecast_dates(spec, items, as_of, horizon)   # the same checks as a new forecast
    recorded = prov.get("evidence_hash")
    # saves made before the hash covered the items' content recorded the ids-only hash
    if recorded not in (evidence_hash(items, as_of), legacy_evidence_hash(items, as_of)):
        raise ForecastError(f"{src}: the stored evidence does not have the recorded hash "
                            f"{str(recorded)[:12]}; file altered?")
    sizes = check_sizes(**meta["sizes"])
    if set(sizes) != {"draws", "tune", "chains"}:
        raise ForecastError(f"{src}: sizes must give draws, tune and chains")
    path_kind = meta["path"]
    if path_kind not in ("fit", "psis", "refit"):
        raise ForecastError(f"{src}: path must be fit, psis or refit, got {short(path_kind)}")
    language = meta["language"]
    check_model_args(model, language)
    seed = check_seed(meta["seed"])
    _check_provenance(src, prov, model, items, as_of, horizon, seed, sizes, path_kind)
    sampled = prov.get("draws_sampled") or sizes["draws"]   # more when the gates needed it
    if not isinstance(sampled, int) or isinstance(sampled, bool) or sampled < sizes["draws"]:
        raise ForecastError(f"{src}: provenance draws_sampled must be a whole number of at "
                            f"least the draws asked for ({sizes['draws']}), got "
                            f"{short(sampled)}")
    draws, gate = _read_draws(src / "draws.nc", spec, {**sizes, "draws": sampled})
    derived = model.derived_paths({"latent_state": draws["latent_state"], **gate})
    for k, v in derived.items():
        if not np.allclose(v, draws[k], rtol=1e-9, atol=1e-9):
            raise ForecastError(f"{src / 'draws.nc'}: {k} does not follow from latent_state "
                                "and the parameter draws (edited?)")
    post = {"latent_state": draws["latent_state"], "hazard_logit": draws["hazard_logit"],
            **{k: v for k, v in gate.items() if k in PARAMETER_BLOCKS}}
    stats = {k: xr.DataArray(gate[k], dims=("chain", "draw")) for k in GATE_STATS}
    diag = diagnostics_of(gate_quantities(_NumpyPost(post), spec.month_index(horizon)), stats)
    return SavedForecast(model=model, draws=draws, items=items, as_of=as_of, horizon=horizon,
                         seed=seed, sizes=sizes, diagnostics=diag, provenance=prov,
                         path=path_kind, pareto_k=_float_dict(meta["pareto_k"]),
                         language=language, gate_data=gate,
                         as_of_rule=str(prov.get("as_of_rule", "unknown")),
                         stored_diagnostics=meta["diagnostics"], folder=src)


class _NumpyPost(dict):
    """A mapping of arrays with ``.values`` and ``.shape`` like a Dataset's variables."""

    def __getitem__(self, key: str) -> Any:
        return _Values(dict.__getitem__(self, key))


@dataclass(frozen=True)
class _Values:
    values: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return self.values.shape


def _same(a: Any, b: Any) -> bool:
    """Equal, with floats compared to 1e-9 relative (JSON round trip)."""
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None \
            or isinstance(a, str) or isinstance(b, str):
        return a == b
    try:
        return bool(np.isclose(float(a), float(b), rtol=1e-9, atol=0))
    except (TypeError, ValueError):
        return False


def _float_dict(d: Any) -> dict[str, float]:
    if not isinstance(d, dict):
        raise ForecastError(f"pareto_k must be a mapping, got {type(d).__name__}")
    return {str(k): float(v) for k, v in d.items()}


def _read_draws(path: Path, spec: Spec, sizes: dict[str, int]
                ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The draws and gate data of ``draws.nc``, checked: the expected variables only, the
    shapes the spec and sizes imply, finite values.
    """
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        names = set(ds.data_vars)
        expected = set(POSTERIOR_VARS) | {f"gate__{k}" for k in GATE_STATS}
        extra = sorted(n for n in names - expected
                       if not (n.startswith("gate__") and n[6:] in PARAMETER_BLOCKS))
        if extra or not expected <= names:
            raise ForecastError(f"{path}: holds variables {sorted(names)[:12]}; expected the "
                                f"draws, the parameter blocks and {list(GATE_STATS)}"
                                + (f" (unexpected: {extra[:5]})" if extra else ""))
        draws = {k: np.asarray(ds[k].values) for k in POSTERIOR_VARS}
        gate = {n[6:]: np.asarray(ds[n].values) for n in names if n.startswith("gate__")}
    shape = (sizes["chains"], sizes["draws"])
    n_hazard = draws["hazard_logit"].shape[-2] if draws["hazard_logit"].ndim == 4 else -1
    want = {"latent_state": len(spec.latent_order), "indicator_eta": len(spec.indicator_names),
            "hazard_logit": n_hazard}
    for k, n in want.items():
        if draws[k].shape != shape + (n, len(spec.months)):
            raise ForecastError(f"{path}: draws of {k} have shape {draws[k].shape}, expected "
                                f"{shape + (n, len(spec.months))} (chain, draw, {_DIMS[k][0]}, "
                                "month) from the spec and the recorded sizes")
    for k, v in {**draws, **gate}.items():
        if v.shape[:2] != shape:
            raise ForecastError(f"{path}: {k} has {v.shape[:2]} (chain, draw), expected {shape}")
        if v.dtype.kind not in "fbiu" or (v.dtype.kind == "f" and not np.isfinite(v).all()):
            raise ForecastError(f"{path}: {k} holds non-finite or non-numeric values")
    return draws, gate


def draws_tree(draws: dict[str, np.ndarray], coords: dict[str, Any]) -> xr.DataTree:
    """The stored draws as an ArviZ DataTree with a ``posterior`` group (as of a fresh fit)."""
    ds = xr.Dataset({k: (("chain", "draw") + _DIMS[k], v) for k, v in draws.items()},
                    coords={k: v for k, v in coords.items() if k in
                            {d for dd in _DIMS.values() for d in dd}})
    n_chain, n_draw = next(iter(draws.values())).shape[:2]
    ds = ds.assign_coords(chain=np.arange(n_chain), draw=np.arange(n_draw))
    return xr.DataTree.from_dict({"posterior": ds})

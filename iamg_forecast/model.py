"""Spec → PyMC model. :class:`ScenarioModel` holds (does not subclass) a ``pm.Model``.

The month axis runs from the scenario start to its end month, fixed once, so that new evidence,
a new ``as_of`` or an intervention only swaps ``pm.Data`` values and never forces a rebuild or a
recompile. Every latent is a non-centred Gaussian random walk on the logit scale with a fixed
innovation scale (free scales made the prototype diverge); mediators add their parents' states.

Dims contract (see ``docs/architecture.md``): ``latent``, ``month``, ``indicator``, ``outcome``,
``hazard`` (rows of outcome hazard logits), and one dim per parameter block.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from iamg_forecast.evidence.cells import (
    cell_slots,
    kind_slot,
    likelihood_window,
    model_data,
    needed_capacity,
)
from iamg_forecast.families import get_family
from iamg_forecast.kinds import IndicatorKind, get_kind, kind_at, kind_index
from iamg_forecast.likelihood import NP, PT, cell_loglik, outcome_terms, sparse_cell_loglik
from iamg_forecast.spec import PriorSpec, Spec, load_spec

if TYPE_CHECKING:
    import pymc as pm

__all__ = ["ScenarioModel", "load_model", "Intervention", "hazard_rows", "PARAMETER_BLOCKS",
           "prior_families", "family_variable", "PACKED_DATA", "link_depth"]

DENSE_KEYS = ("ind_value", "ind_rel", "ind_observed")
# The name of the model's one ``pm.Data`` vector (every slot packed, see ``graph_data``).
PACKED_DATA = "evidence_slots"
# The parameter blocks, in the order the graph builds them (see ``parameter_blocks``).
PARAMETER_BLOCKS = ("latent_init", "link_effect", "loading_size", "baseline", "hazard_base",
                    "driver_effect")


def link_depth(order: list[str], links) -> int:
    """Longest chain of links in the latent DAG (0 without links)."""
    depth = dict.fromkeys(order, 0)
    for name in order:  # topological: parents come first
        for lk in links:
            if lk.child == name:
                depth[name] = max(depth[name], depth[lk.parent] + 1)
    return max(depth.values(), default=0)


@dataclass(frozen=True)
class Intervention:
    """Hold ``latent`` at ``value`` from month ``start`` (``YYYY-MM``) on: the do-operator."""

    latent: str
    value: float
    start: str | None = None


def hazard_rows(spec: Spec) -> list[str]:
    """Names of the hazard-logit rows (:attr:`Spec.hazard_rows`)."""
    return spec.hazard_rows


def prior_families(priors: list[PriorSpec]) -> dict[str, list[int]]:
    """Positions of each prior family in a parameter block, families in order of first use.

    A block holds one PyMC variable per family (see :func:`_block`).

    Examples
    --------
    >>> from iamg_forecast.spec import PriorSpec
    >>> ps = [PriorSpec(dist=d, sigma=1, mu=0 if d == "Normal" else None, rationale="why")
    ...       for d in ("Normal", "HalfNormal", "Normal")]
    >>> prior_families(ps)
    {'Normal': [0, 2], 'HalfNormal': [1]}
    """
    families: dict[str, list[int]] = {}
    for i, p in enumerate(priors):
        families.setdefault(p.dist, []).append(i)
    return families


def family_variable(block: str, dist: str) -> str:
    """Name of the PyMC variable holding ``block``'s ``dist`` priors (``_z``: non-centred).

    Examples
    --------
    >>> family_variable("baseline", "Normal"), family_variable("loading_size", "HalfNormal")
    ('baseline_normal_z', 'loading_size_halfnormal')
    """
    return get_family(dist).variable_name(block)


def _block(name: str, dim: str, labels: list[str], priors: list[PriorSpec]):
    """Create one vector of parameters whose entries may have different prior families.

    Each family's entry (:mod:`iamg_forecast.families`) creates its free variable and gives its
    values on the block's scale: Normal priors are non-centred (``mu + sigma * z``), which keeps
    NUTS away from funnels; a ``Beta`` prior states a probability and the block holds its logit.
    """
    import pymc as pm
    import pytensor.tensor as pt

    out = pt.zeros(len(labels))
    families = prior_families(priors)
    for dist, idx in families.items():
        params = {k: np.array([priors[i].params[k] for i in idx])
                  for k in priors[idx[0]].params}
        vals = get_family(dist).block_values(family_variable(name, dist), params, len(idx))
        if len(families) == 1:  # one family in spec order: no scatter needed
            out = vals
        else:
            out = pt.set_subtensor(out[np.array(idx)], vals)
    return pm.Deterministic(name, out, dims=dim)


def _signed_matrix(values, entries: list[tuple[int, int, int]], shape: tuple[int, int]):
    """Place ``sign * values[k]`` at ``entries[k] = (row, col, sign)`` of a zero matrix."""
    import pytensor.tensor as pt

    rows = np.array([e[0] for e in entries])
    cols = np.array([e[1] for e in entries])
    signs = np.array([float(e[2]) for e in entries])
    return pt.set_subtensor(pt.zeros(shape)[rows, cols], signs * values)


@dataclass
class ScenarioModel:
    """The scenario as a PyMC model with evidence slots.

    Build it with :func:`load_model`. The PyMC model is built lazily on first use of
    :attr:`pymc_model`; nothing is sampled here.

    Examples
    --------
    >>> model = load_model()
    >>> model.spec.scenario.name
    'iamg_iraq_2026'
    >>> sorted(model.coords)[:3]
    ['hazard', 'indicator', 'latent']
    """

    spec: Spec
    interventions: tuple[Intervention, ...] = field(default=())
    # observed cells per kind in use (registry order); None: each kind's entry's capacity
    capacity: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.capacity is None:
            self.capacity = tuple(k.capacity for k in self.kinds)

    def __repr__(self) -> str:
        """A short summary (the full spec is ``model.spec``).

        Examples
        --------
        >>> print(repr(load_model()).split(",")[0])
        ScenarioModel('iamg_iraq_2026'
        """
        s = self.spec
        what = (f"ScenarioModel({s.scenario.name!r}, {len(s.latents)} latents, "
                f"{len(s.indicators)} indicators, {len(s.outcomes)} outcomes, months "
                f"{s.months[0]} to {s.months[-1]}, spec {s.hash[:12]}")
        if self.interventions:
            what += f", {len(self.interventions)} intervention(s)"
        return what + ")"

    # ---- axes ---------------------------------------------------------------------------
    @property
    def coords(self) -> dict[str, list[str]]:
        """Named coordinates of the model's dims."""
        s = self.spec
        return {
            "latent": s.latent_order,
            "month": s.months,
            "indicator": s.indicator_names,
            "outcome": s.outcome_names,
            "hazard": hazard_rows(s),
        }

    @cached_property
    def weight_entries(self) -> dict[str, list[tuple[int, int, int]]]:
        """``(row, latent, sign)`` of each loading and each hazard driver, in block order.

        The graph (:meth:`_build`) and :meth:`derived_paths` place the ``loading_size`` and
        ``driver_effect`` blocks into their weight matrices with these entries.
        """
        s = self.spec
        lat = {n: i for i, n in enumerate(s.latent_order)}
        rows = hazard_rows(s)
        loads = [(s.indicator_names.index(ind.name), lat[ld.latent], ld.sign)
                 for ind in s.indicators for ld in ind.loadings]
        drivers = [(rows.index(r), lat[d.latent], d.sign)
                   for r, d in self._drivers()]
        # (row, trend row, 1): a group's first step gains ``trend * month``
        trends = [(rows.index(g.name), rows.index(f"{g.name}:trend"), 1)
                  for g in s.competing_groups if g.hazard_trend is not None]
        return {"loading": loads, "driver": drivers, "trend": trends}

    def parameter_blocks(self) -> dict[str, tuple[str, list[str], list[PriorSpec]]]:
        """Each parameter block's ``(dim, labels, priors)``, in the order the graph builds them.

        Blocks without entries (a spec without links or hazard drivers) are left out.
        """
        s = self.spec
        rows = hazard_rows(s)
        loads = [(ind.name, ld) for ind in s.indicators for ld in ind.loadings]
        drivers = self._drivers()
        blocks = {
            "latent_init": ("latent", s.latent_order, [s.latent(n).initial
                                                       for n in s.latent_order]),
            "link_effect": ("link", [f"{lk.parent}->{lk.child}" for lk in s.links],
                            [lk.effect for lk in s.links]),
            "loading_size": ("loading", [f"{i}:{ld.latent}" for i, ld in loads],
                             [ld.prior for _, ld in loads]),
            "baseline": ("indicator", s.indicator_names, [ind.baseline for ind in s.indicators]),
            "hazard_base": ("hazard", rows, [s.hazard_prior(r) for r in rows]),
            "driver_effect": ("driver", [f"{r}:{d.latent}" for r, d in drivers],
                              [d.prior for _, d in drivers]),
        }
        return {name: blocks[name] for name in PARAMETER_BLOCKS
                if blocks[name][2] or name in ("loading_size", "baseline", "hazard_base")}

    def _drivers(self) -> list[tuple[str, object]]:
        """``(hazard row, driver)`` pairs in hazard-row order."""
        s = self.spec
        out: list[tuple[str, object]] = []
        groups = {g.name for g in s.competing_groups}
        for r in hazard_rows(s):
            owner = s.outcome(r) if r in s.outcome_names else (
                s.group(r) if r in groups else None)   # stage rows have no drivers
            out += [(r, d) for d in (owner.drivers if owner is not None else [])]
        return out

    def derived_paths(self, post: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``indicator_eta`` and ``hazard_logit`` from latent paths and parameter blocks.

        The same functions as the graph's deterministics of those names, in NumPy over any
        leading (chain, draw) axes: fits store only the latent paths and the blocks, and these
        are recomputed (``tests/test_model.py`` checks them against the graph).

        Parameters
        ----------
        post : mapping
            ``latent_state (..., latent, month)``, ``baseline (..., indicator)``,
            ``hazard_base (..., hazard)`` and, when the spec has them, ``loading_size`` and
            ``driver_effect``.

        Returns
        -------
        dict
            ``indicator_eta (..., indicator, month)``, ``hazard_logit (..., hazard, month)``.
        """
        lat = np.asarray(post["latent_state"], dtype=float)
        out = {}
        for name, base, block, key in (("indicator_eta", "baseline", "loading_size", "loading"),
                                       ("hazard_logit", "hazard_base", "driver_effect",
                                        "driver")):
            b = np.asarray(post[base], dtype=float)
            res = np.repeat(b[..., None], lat.shape[-1], axis=-1)
            # the weight matrices are sparse: one update per entry beats a batched matmul
            values = np.asarray(post[block], dtype=float) if block in post else None
            for k, (row, col, sign) in enumerate(self.weight_entries[key]):
                res[..., row, :] += (sign * values[..., k])[..., None] * lat[..., col, :]
            if name == "hazard_logit":
                for row, trend, _ in self.weight_entries["trend"]:
                    res[..., row, :] += b[..., trend, None] * np.arange(lat.shape[-1])
            out[name] = res
        return out

    @property
    def hash(self) -> str:
        """The spec hash (interventions are data and recorded separately in provenance)."""
        return self.spec.hash

    @property
    def compile_key(self) -> str:
        """What a compiled model depends on: the spec and the observed-cell capacity."""
        return f"{self.spec.hash}:{'-'.join(map(str, self.capacity))}"

    def fitted_to(self, data: dict[str, np.ndarray]) -> ScenarioModel:
        """Return the model with enough observed-cell capacity for ``data`` (self if it fits)."""
        cap = needed_capacity(self.indicator_constants["kind"], data, self.capacity)
        return self if cap == self.capacity else replace(self, capacity=cap)

    def slot_values(self, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The graph's data slots for ``data`` (dense arrays become observed-cell lists)."""
        out = {k: v for k, v in data.items() if k not in DENSE_KEYS}
        return {**out, "window": np.array(likelihood_window(data)),
                **cell_slots(self.indicator_constants, data, self.capacity)}

    @cached_property
    def slot_layout(self) -> tuple[tuple[str, int, tuple[int, ...], bool], ...]:
        """``(name, offset, shape, is_integer)`` of each slot inside the packed data vector.

        Every slot's shape is fixed by the spec and the capacity, so the layout is too.
        """
        rows, start = [], 0
        for name, value in self.slot_values(self.data()).items():
            value = np.asarray(value)
            rows.append((name, start, value.shape, value.dtype.kind in "biu"))
            start += value.size
        return tuple(rows)

    def graph_data(self, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The model's single ``pm.Data`` value for ``data``: every slot packed in one vector.

        One shared variable instead of one per slot: nutpie unrolls its data extraction per
        shared variable, and with 21 of them that cost ~15 s of compile (see
        ``benchmarks/README.md``). Integer slots are stored exactly (they are small).

        Raises
        ------
        ValueError
            When a slot is missing, unknown, or of the wrong shape.
        """
        slots = self.slot_values(data)
        names = [row[0] for row in self.slot_layout]
        unknown = sorted(set(slots) - set(names))
        missing = [n for n in names if n not in slots]
        if unknown or missing:
            raise ValueError(f"data slots do not match the model: unknown {unknown}, "
                             f"missing {missing}")
        parts = []
        for name, _, shape, _ in self.slot_layout:
            value = np.asarray(slots[name], dtype=float)
            if value.shape != shape:
                raise ValueError(f"data slot {name!r} has shape {value.shape}; the model expects "
                                 f"{shape}")
            parts.append(value.ravel())
        return {PACKED_DATA: np.concatenate(parts) if parts else np.zeros(0)}

    def _unpack(self, packed) -> dict[str, object]:
        """Graph views of each slot of the packed ``pm.Data`` vector (integers cast back)."""
        import pytensor.tensor as pt

        out = {}
        for name, start, shape, is_int in self.slot_layout:
            view = packed[start:start + int(np.prod(shape))].reshape(shape)
            out[name] = pt.cast(view, "int64") if is_int else view
        return out

    # ---- data ---------------------------------------------------------------------------
    def intervention_data(self) -> dict[str, np.ndarray]:
        """``do_mask``/``do_value`` arrays (latent × month) for the model's interventions."""
        order = self.spec.latent_order
        mask = np.zeros((len(order), len(self.spec.months)))
        val = np.zeros_like(mask)
        for iv in self.interventions:
            li = order.index(iv.latent)
            start = 0 if iv.start is None else max(self.spec.month_index(f"{iv.start}-01"), 0)
            mask[li, start:] = 1.0
            val[li, start:] = iv.value
        return {"do_mask": mask, "do_value": val}

    def data(self, items=(), as_of: dt.date | None = None) -> dict[str, np.ndarray]:
        """Every ``pm.Data`` value for evidence ``items`` known on ``as_of``."""
        return {**model_data(self.spec, items, as_of), **self.intervention_data()}

    def do(self, latent: str, value: float, start: str | None = None) -> ScenarioModel:
        """Return the same model with ``latent`` held at ``value`` (logit scale) from ``start``.

        The intervention enters as data, so a compiled model is reused; downstream mediators
        follow from the intervened value.

        Examples
        --------
        >>> m2 = load_model().do("iran_domestic_crisis", 2.0, start="2026-02")
        >>> float(m2.intervention_data()["do_mask"].sum()) > 0
        True
        """
        self.spec.latent(latent)  # raises KeyError with a hint when unknown
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"do(): value must be a number on the logit scale, got {value!r}")
        if not np.isfinite(value):
            raise ValueError(f"do(): value must be finite, got {value!r}")
        if start is not None:
            from iamg_forecast.spec import parse_month

            try:
                month = parse_month(start)
            except (TypeError, ValueError) as err:
                raise ValueError(f"do(): start {start!r} is not a month 'YYYY-MM': {err}"
                                 ) from None
            months = self.spec.months
            if month.strftime("%Y-%m") not in months:
                raise ValueError(f"do(): start {start!r} is outside the model's months "
                                 f"{months[0]} to {months[-1]}")
        return replace(self, interventions=self.interventions + (Intervention(latent,
                                                                             float(value), start),))

    # ---- the PyMC model -----------------------------------------------------------------
    @cached_property
    def pymc_model(self) -> pm.Model:
        """The PyMC model (built on first access, then cached).

        Built without PyTensor's creation tracebacks (``traceback__limit=0``): recording the
        Python stack of each of the graph's ~15,000 variables took about a third of the build,
        and only PyTensor's error messages read them.
        """
        import pytensor

        with pytensor.config.change_flags(traceback__limit=0):
            return self._build()

    def _build(self) -> pm.Model:  # noqa: C901 - one linear pass over the spec
        import pymc as pm
        import pytensor.tensor as pt

        s = self.spec
        order = s.latent_order
        n_m = len(s.months)
        coords = {**self.coords, "month_step": s.months[1:]}
        links = list(s.links)
        rows = hazard_rows(s)
        blocks = self.parameter_blocks()
        for dim, labels, _ in blocks.values():
            coords[dim] = labels
        coords.setdefault("link", [])
        coords.setdefault("driver", [])
        entries = self.weight_entries

        def block(name):
            return _block(name, *blocks[name])
        init = self.graph_data(self.data())
        lat_pos = {n: i for i, n in enumerate(order)}
        with pm.Model(coords=coords) as model:
            # a static length: every slot view then has a static shape, which spares the
            # compiled graph its shape checks (the layout is fixed per spec and capacity)
            data = self._unpack(pm.Data(PACKED_DATA, init[PACKED_DATA],
                                        shape=init[PACKED_DATA].shape))
            x0 = block("latent_init")
            z = pm.Normal("innovation", 0.0, 1.0, dims=("latent", "month_step"))
            sd = np.array([s.latent(n).innovation_sd.value for n in order])[:, None]
            effects = None
            if links:
                effect = block("link_effect")
                effects = _signed_matrix(effect, [(lat_pos[lk.child], lat_pos[lk.parent], lk.sign)
                                                  for lk in links], (len(order), len(order)))
            depth = link_depth(order, links)

            def latent_paths(n_months):
                """Latent states over the first ``n_months`` months (walk, links, do)."""
                walk = x0[:, None] + pt.concatenate(
                    [pt.zeros((len(order), 1)), pt.cumsum(sd * z[:, :n_months - 1], axis=1)],
                    axis=1)
                held = data["do_mask"][:, :n_months] > 0.5
                value = data["do_value"][:, :n_months]
                # parents before children: `depth` rounds reach the DAG's fixed point
                x = pt.switch(held, value, walk)
                for _ in range(depth):
                    x = pt.switch(held, value, walk + pt.dot(effects, x))
                return x

            latent = pm.Deterministic("latent_state", latent_paths(n_m), dims=("latent", "month"))
            # The likelihood needs only the months up to the last observation (data): its
            # gradient then costs the same whatever the horizon.
            window = data["window"]
            latent_w = latent_paths(window)
            # indicators
            loading = block("loading_size")
            baseline = block("baseline")
            w_ind = _signed_matrix(loading, entries["loading"], (len(s.indicators), len(order)))
            pm.Deterministic("indicator_eta", baseline[:, None] + pt.dot(w_ind, latent),
                             dims=("indicator", "month"))
            eta_w = baseline[:, None] + pt.dot(w_ind, latent_w)
            ll_cells = 0.0
            for code in np.unique(self.indicator_constants["kind"]):
                cell = {k: data[kind_slot(code, k)] for k in
                        ("ind", "month", "value", "obs_sd", "log_rel", "log_false", "on")}
                ll_cells = ll_cells + sparse_cell_loglik(
                    kind_at(code), eta_w[cell["ind"], cell["month"]], cell["value"],
                    cell["obs_sd"], cell["log_rel"], cell["log_false"], cell["on"], ops=PT)
            pm.Potential("evidence", ll_cells)
            # outcome hazards
            base = block("hazard_base")
            w_hz = None
            if "driver_effect" in blocks:
                dfx = block("driver_effect")
                w_hz = _signed_matrix(dfx, entries["driver"], (len(rows), len(order)))

            trend = entries["trend"]
            t_rows = np.array([r for r, _, _ in trend], dtype=np.int64)
            t_src = np.array([t for _, t, _ in trend], dtype=np.int64)

            def hazards(states):
                out = base[:, None] + (pt.zeros((len(rows), states.shape[1])) if w_hz is None
                                       else pt.dot(w_hz, states))
                if len(trend):   # pressure that builds month by month
                    clock = pt.arange(states.shape[1], dtype="float64")
                    out = pt.inc_subtensor(out[t_rows], base[t_src][:, None] * clock[None, :])
                return out

            hz = pm.Deterministic("hazard_logit", hazards(latent), dims=("hazard", "month"))
            ll_out, _ = self._outcome_terms(hazards(latent_w), data, ops=PT, cum=False)
            pm.Potential("outcomes_known", ll_out)
            pm.Deterministic("outcome_cum", self._outcome_terms(hz, data, ops=PT)[1],
                             dims=("outcome", "month"))
        return model

    def sample_prior(self, draws: int = 1000, seed: int = 0,
                     var_names: tuple[str, ...] = ("hazard_logit",)):
        """Forward-sample the prior (no evidence) with PyMC; returns the ``prior`` Dataset.

        Evidence enters through Potentials, which prior sampling ignores by design.

        Examples
        --------
        >>> prior = load_model().sample_prior(draws=10)  # doctest: +SKIP
        >>> prior["hazard_logit"].dims  # doctest: +SKIP
        ('chain', 'draw', 'hazard', 'month')
        """
        import warnings

        import pymc as pm

        with self.pymc_model, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The effect of Potentials")
            idata = pm.sample_prior_predictive(draws=draws, var_names=list(var_names),
                                               random_seed=seed)
        return idata["prior"].to_dataset()

    @cached_property
    def indicator_constants(self) -> dict[str, np.ndarray]:
        """Per-indicator constants of the likelihood: ``kind`` (the kind's position in
        :data:`~iamg_forecast.kinds.KINDS`) and the kind's report constants
        (:class:`~iamg_forecast.kinds.ReportConstants`; ``obs_sd`` holds its ``scale``: a
        continuous report's sd, a count's dispersion).
        """
        s = self.spec
        consts = [get_kind(i.kind).constants(i) for i in s.indicators]
        return {"kind": np.array([kind_index(i.kind) for i in s.indicators], dtype=np.int64),
                **{key: np.array([getattr(c, field) for c in consts], dtype=float)
                   for key, field in (("false_rate", "false_rate"), ("obs_sd", "scale"),
                                      ("false_sd", "false_sd"), ("false_mu", "false_mu"))}}

    @property
    def kinds(self) -> tuple[IndicatorKind, ...]:
        """The indicator kinds the spec uses, in registry order (one cell list each)."""
        return tuple(kind_at(k) for k in np.unique(self.indicator_constants["kind"]))

    def loglik(self, eta: np.ndarray, hz: np.ndarray, data: dict[str, np.ndarray],
               cells: np.ndarray | None = None, outcomes: bool = True) -> np.ndarray:
        """Log-likelihood of ``data`` per draw, from indicator predictors and hazards (NumPy).

        Parameters
        ----------
        eta : ndarray (n, indicator, month)
        hz : ndarray (n, hazard, month)
        data : dict
            Arrays as from :meth:`data`.
        cells : bool ndarray (indicator, month), optional
            Restrict the evidence term to these cells (for fast reweighting).
        outcomes : bool
            Include the outcome term (known absence and resolutions).

        Returns
        -------
        ndarray (n,)
        """
        consts = self.indicator_constants
        obs = data["ind_observed"] if cells is None else data["ind_observed"] * cells
        rows = np.nonzero(obs.any(axis=1))[0]
        total = np.zeros(eta.shape[0])
        if rows.size:
            sl = {k: consts[k][rows] for k in consts}
            total = total + cell_loglik(eta[:, rows, :], data["ind_value"][rows],
                                        data["ind_rel"][rows], obs[rows], sl["kind"],
                                        sl["false_rate"], sl["obs_sd"], sl["false_sd"],
                                        sl["false_mu"], ops=NP)
        if outcomes:
            total = total + np.asarray(self._outcome_terms(hz, data, ops=NP, cum=False)[0])
        return total

    def _outcome_terms(self, hz, data, ops, cum: bool = True):
        """:func:`~iamg_forecast.likelihood.outcome_terms` of this model's spec."""
        return outcome_terms(self.spec, hz, data, ops, cum)


def load_model(path: str | Path | None = None) -> ScenarioModel:
    """Load a scenario spec (default: the bundled IAMG scenario) as a :class:`ScenarioModel`.

    Parameters
    ----------
    path : str or Path, optional
        Directory of ``*.yaml`` spec files (see ``priors/``).

    Examples
    --------
    >>> model = load_model()
    >>> len(model.spec.outcome_names)
    9
    """
    return ScenarioModel(load_spec(path))

"""The scenario model's log density and gradient, written by hand for the sampler.

PyTensor's numba backend compiles the model's gradient graph as hundreds of small kernels:
about 35 s the first time on a machine (``benchmarks/README.md``). This module computes the same
log density (priors with their transform Jacobians, evidence cells, outcome terms) and its
gradient in a few loops that numba compiles in a few seconds, and hands them to nutpie the way
``nutpie.compile_pymc_model`` does. The PyMC model stays the definition: the flat parameter
layout, the initial points and the trace layout come from it, and
``tests/test_kernel.py`` checks log density and gradient against PyMC's own at random points.

The kernel mirrors the indicator kinds and prior families whose registry entries
(:mod:`iamg_forecast.kinds`, :mod:`iamg_forecast.families`) carry a kernel code it implements
(:data:`KERNEL_KINDS`, :data:`KERNEL_FAMILIES`). ``kernel_layout`` raises
:class:`KernelUnsupported`, naming the kind, family or variable, for a model it cannot mirror;
the caller then compiles the PyMC model with nutpie instead and records why. The mirrored
formulas live here, next to the functions that call them, because numba's on-disk cache only
notices edits to the file of the function it compiled.

Size: the layout and the jitted functions share private constants and must stay in one file
for numba's cache (see above).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numba
import numpy as np
import scipy.special as sps
from numba.extending import intrinsic

from iamg_forecast.evidence.cells import kind_slot
from iamg_forecast.families import get_family
from iamg_forecast.kinds import kind_index
from iamg_forecast.model import (
    PACKED_DATA,
    ScenarioModel,
    family_variable,
    link_depth,
    prior_families,
)

if TYPE_CHECKING:
    from iamg_forecast.spec import PriorSpec

__all__ = ["compile_kernel", "KernelUnsupported", "kernel_layout", "KERNEL_KINDS",
           "KERNEL_FAMILIES"]

# ---- what the kernel mirrors: kernel code -> registry name (see the module note) ------------
KIND_BINARY, KIND_COUNT, KIND_CONTINUOUS = 0, 1, 2
KERNEL_KINDS = {KIND_BINARY: "binary", KIND_COUNT: "count", KIND_CONTINUOUS: "continuous"}
(FAM_NORMAL, FAM_HALF_NORMAL, FAM_LOG_NORMAL, FAM_GAMMA, FAM_EXPONENTIAL, FAM_BETA,
 FAM_STUDENT_T) = range(7)
KERNEL_FAMILIES = {FAM_NORMAL: "Normal", FAM_HALF_NORMAL: "HalfNormal",
                   FAM_LOG_NORMAL: "LogNormal", FAM_GAMMA: "Gamma",
                   FAM_EXPONENTIAL: "Exponential", FAM_BETA: "Beta", FAM_STUDENT_T: "StudentT"}
COUNT_ETA_LIMIT = 30.0   # mirrors kinds.COUNT_ETA_LIMIT (tests/test_registries.py checks)
BINARY_RATE_FLOOR = 1e-10   # mirrors kinds.BINARY_RATE_FLOOR (tests/test_registries.py checks)

# ---- layout of the arrays handed to the jitted functions ------------------------------------
# Parameter blocks, by their position in ``boff`` (the kernel's own order, by name).
KERNEL_BLOCKS = ("latent_init", "link_effect", "loading_size", "baseline", "hazard_base",
                 "driver_effect")
B_LATENT_INIT, B_LINK, B_LOADING, B_BASELINE, B_HAZARD, B_DRIVER = range(len(KERNEL_BLOCKS))
# ``zd``: the innovations' offset in ``x``, the depth of the link DAG, the number of months
Z_OFF, Z_DEPTH, Z_MONTHS = range(3)
# ``so``: the offsets of the data slots the kernel reads inside the packed vector, in this
# order; then the history and choice capacities and the number of indicator kinds in use; then
# per kind in use: its kernel code, the offsets of its cell fields and its capacity.
_SLOTS = ("event_month", "obs_through", "do_mask", "do_value", "window", "hist_row",
          "hist_month", "hist_sign", "hist_on", "choice_group", "choice_month", "choice_index",
          "choice_on", "group_month", "group_choice")
(SLOT_EVENT, SLOT_OBS, SLOT_DO_MASK, SLOT_DO_VALUE, SLOT_WINDOW, SLOT_H_ROW, SLOT_H_MONTH,
 SLOT_H_SIGN, SLOT_H_ON, SLOT_C_GROUP, SLOT_C_MONTH, SLOT_C_INDEX, SLOT_C_ON, SLOT_G_MONTH,
 SLOT_G_CHOICE, CAP_H, CAP_C, N_KINDS) = range(len(_SLOTS) + 3)
KINDS_AT = len(_SLOTS) + 3   # first offset of the first kind in use
_CELL_FIELDS = ("ind", "month", "value", "obs_sd", "log_rel", "log_false", "on")
(K_CODE, K_IND, K_MONTH, K_VALUE, K_SCALE, K_LOG_REL, K_LOG_FALSE, K_ON,
 K_CAP) = range(len(_CELL_FIELDS) + 2)
KIND_STRIDE = len(_CELL_FIELDS) + 2   # offsets per kind in use
# ``effects``: one row per outcome-to-outcome effect: the child's hazard row, the row holding
# the effect's size, its sign, the parent's kind (an event, or a choice of a group), the
# parent's index (among the events, or the group's) and, for a choice, its index in the group
(E_CHILD, E_SIZE, E_SIGN, E_PARENT_KIND, E_PARENT, E_CHOICE) = range(6)
PARENT_EVENT, PARENT_CHOICE = 0, 1
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


class KernelUnsupported(ValueError):
    """The model uses something the hand-written kernel does not mirror."""


def _kernel_code(entry, mirrored: dict[int, str], what: str) -> int:
    """The kernel code of a registry entry, when the kernel mirrors it under that code."""
    code = entry.kernel_code
    if code is None or mirrored.get(code) != entry.name:
        raise KernelUnsupported(f"{what} {entry.name!r} has no kernel implementation")
    return code


def _family_constants(code: int, p: PriorSpec) -> tuple[float, float, float, float]:
    """``(p1, p2, p3, constant)`` of one prior: parameters and the log density's constant."""
    if code == FAM_NORMAL:  # the free variable is the standard normal z; value = mu + sigma * z
        return p.mu, p.sigma, 0.0, -_HALF_LOG_2PI
    if code == FAM_HALF_NORMAL:
        return p.sigma, 0.0, 0.0, 0.5 * math.log(2 / math.pi) - math.log(p.sigma)
    if code == FAM_LOG_NORMAL:
        return p.mu, p.sigma, 0.0, -_HALF_LOG_2PI - math.log(p.sigma)
    if code == FAM_GAMMA:
        return p.alpha, p.beta, 0.0, p.alpha * math.log(p.beta) - float(sps.gammaln(p.alpha))
    if code == FAM_EXPONENTIAL:
        return p.lam, 0.0, 0.0, math.log(p.lam)
    if code == FAM_BETA:
        return p.alpha, p.beta, 0.0, float(sps.gammaln(p.alpha + p.beta) - sps.gammaln(p.alpha)
                                           - sps.gammaln(p.beta))
    if code == FAM_STUDENT_T:
        nu = p.nu
        return nu, p.mu, p.sigma, float(sps.gammaln((nu + 1) / 2) - sps.gammaln(nu / 2)
                                        - 0.5 * math.log(nu * math.pi) - math.log(p.sigma))
    raise KernelUnsupported(f"prior family {p.dist!r} has no kernel implementation")


@dataclass(frozen=True)
class KernelLayout:
    """Everything the kernel needs besides the parameter vector and the packed data.

    ``consts`` are the arrays passed to the numba functions, in their argument order;
    ``gather`` maps the kernel's source vector onto nutpie's expanded trace vector.
    """

    consts: tuple[np.ndarray, ...]
    n_dim: int
    names: list[str]
    slices: list[slice]
    shapes: list[tuple[int, ...]]
    gather: np.ndarray
    value_names: list[str]


def _csr(rows: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Order of entries sorted by row and the row pointer (CSR)."""
    order = np.argsort(rows, kind="stable")
    ptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.add.at(ptr, rows + 1, 1)
    return order.astype(np.int64), np.cumsum(ptr)


def _z_layout(z_off: int, depth: int, n_months: int) -> np.ndarray:
    """``zd`` (see the ``Z_*`` constants)."""
    zd = np.zeros(3, dtype=np.int64)
    zd[Z_OFF], zd[Z_DEPTH], zd[Z_MONTHS] = z_off, depth, n_months
    return zd


def _slot_offsets(model: ScenarioModel, kind_codes: list[int]) -> np.ndarray:
    """``so``: where the kernel finds each data slot in the packed vector (see ``SLOT_*``,
    ``N_KINDS`` and ``K_*``); the kinds in use are the model's, in registry order.
    """
    slot = {name: (off, shape) for name, off, shape, _ in model.slot_layout}
    so = np.zeros(KINDS_AT + KIND_STRIDE * len(kind_codes), dtype=np.int64)
    for pos, name in enumerate(_SLOTS):
        so[pos] = slot[name][0]
    so[CAP_H], so[CAP_C] = slot["hist_on"][1][0], slot["choice_on"][1][0]
    so[N_KINDS] = len(kind_codes)
    for g, (kind, code) in enumerate(zip(model.kinds, kind_codes, strict=True)):
        base, index = KINDS_AT + KIND_STRIDE * g, kind_index(kind.name)
        so[base + K_CODE] = code
        for f, field in enumerate(_CELL_FIELDS):
            so[base + K_IND + f] = slot[kind_slot(index, field)][0]
        so[base + K_CAP] = slot[kind_slot(index, "on")][1][0]
    return so


def _effects(s) -> np.ndarray:
    """``effects`` (see the ``E_*`` constants) of spec ``s``."""
    rows = s.hazard_rows
    events = [o.name for o in s.outcomes if o.type == "event"]
    groups = [g.name for g in s.competing_groups]
    out = np.zeros((len(s.outcome_effects), 6), dtype=np.int64)
    for k, (child, parent, sign, row) in enumerate(s.outcome_effects):
        o = s.outcome(parent)
        out[k, [E_CHILD, E_SIZE, E_SIGN]] = rows.index(child), rows.index(row), sign
        if o.type == "event":
            out[k, E_PARENT_KIND], out[k, E_PARENT] = PARENT_EVENT, events.index(parent)
        else:
            out[k, E_PARENT_KIND], out[k, E_PARENT] = PARENT_CHOICE, groups.index(o.group)
            out[k, E_CHOICE] = s.choices(o.group).index(parent)
    return out


def _trace_names(pmm) -> list[str]:
    """The names of ``pmm.unobserved_value_vars``, in its order (free value variables, the
    constrained values of the transformed ones, deterministics), without building its graphs:
    that property clones the whole model graph to replace every variable by its value, which
    cost most of this module's layout time.
    """
    return ([pmm.rvs_to_values[rv].name for rv in pmm.free_RVs]
            + [rv.name for rv in pmm.free_RVs if pmm.rvs_to_transforms[rv] is not None]
            + [d.name for d in pmm.deterministics])


def kernel_layout(model: ScenarioModel, keep: list[str]) -> KernelLayout:
    """Map the PyMC model's flat parameter vector and trace layout onto the kernel's arrays.

    Parameters
    ----------
    model : ScenarioModel
    keep : list of str
        Variables to store in the trace (as ``nutpie.compile_pymc_model``'s ``var_names``).

    Raises
    ------
    KernelUnsupported
        For an indicator kind, a prior family, a parameter block or a model variable the kernel
        does not mirror (the message names it).

    Examples
    --------
    >>> from iamg_forecast.model import load_model
    >>> layout = kernel_layout(load_model(), ["latent_state"])
    >>> layout.n_dim, layout.names[-1], layout.shapes[-1]
    (474, 'latent_state', (12, 26))
    """
    s = model.spec
    pmm = model.pymc_model
    order = s.latent_order
    n_lat, n_m = len(order), len(s.months)
    kind_codes = [_kernel_code(k, KERNEL_KINDS, "indicator kind") for k in model.kinds]
    blocks = model.parameter_blocks()
    unknown = sorted(set(blocks) - set(KERNEL_BLOCKS))
    if unknown:
        raise KernelUnsupported(f"parameter block {unknown[0]!r} has no kernel implementation")
    # the kernel addresses the blocks by their position in KERNEL_BLOCKS (``boff``)
    sizes = [len(blocks[b][2]) if b in blocks else 0 for b in KERNEL_BLOCKS]
    boff = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n_el = int(boff[-1])
    fam = np.zeros(n_el, dtype=np.int64)
    par = np.zeros((n_el, 4))
    xi = np.full(n_el, -1, dtype=np.int64)
    # the flat parameter vector: free variables in the model's order (nutpie's layout)
    value_names, slices, shapes, start = [], [], [], 0
    family_at: dict[str, tuple[int, list[int]]] = {}
    for b, name in enumerate(KERNEL_BLOCKS):
        if name not in blocks:
            continue
        priors = blocks[name][2]
        for dist, idx in prior_families(priors).items():
            code = _kernel_code(get_family(dist), KERNEL_FAMILIES, "prior family")
            family_at[family_variable(name, dist)] = (b, idx)
            for i in idx:
                fam[boff[b] + i] = code
                par[boff[b] + i] = _family_constants(code, priors[i])
    z_off = -1
    for rv in pmm.free_RVs:
        value = pmm.rvs_to_values[rv]
        if rv.name == "innovation":
            shape = (n_lat, n_m - 1)
            z_off = start
        elif rv.name in family_at:
            b, idx = family_at[rv.name]
            shape = (len(idx),)
            xi[boff[b] + np.array(idx)] = start + np.arange(len(idx))
        else:
            raise KernelUnsupported(f"free variable {rv.name!r} has no kernel implementation")
        value_names.append(value.name)
        size = int(np.prod(shape))
        slices.append(slice(start, start + size))
        shapes.append(shape)
        start += size
    n_dim = start
    if z_off < 0 or (xi < 0).any():
        raise KernelUnsupported("the model's free variables do not cover every parameter")

    # the trace: free variables, then the kept variables nutpie would add, in model order
    src_vals = n_dim                       # source vector: x, vals, rv values, latent paths
    src_rv = src_vals + n_el
    src_lat = src_rv + n_el
    names, out_slices, out_shapes = list(value_names), list(slices), list(shapes)
    gather = [np.arange(n_dim)]
    pos = n_dim
    free_names, kept = set(value_names), set(keep)
    for name in _trace_names(pmm):
        if name in free_names or name not in kept:
            continue
        if name == "latent_state":
            idx, shape = src_lat + np.arange(n_lat * n_m), (n_lat, n_m)
        elif name in blocks:
            b = KERNEL_BLOCKS.index(name)
            idx, shape = src_vals + np.arange(boff[b], boff[b + 1]), (sizes[b],)
        elif name in family_at:
            b, members = family_at[name]
            idx, shape = src_rv + boff[b] + np.array(members), (len(members),)
        else:
            raise KernelUnsupported(f"trace variable {name!r} has no kernel implementation")
        names.append(name)
        out_slices.append(slice(pos, pos + idx.size))
        out_shapes.append(shape)
        gather.append(idx)
        pos += idx.size

    # latent dynamics, loadings, drivers, outcome rows
    lat = {n: i for i, n in enumerate(order)}
    sd = np.array([s.latent(n).innovation_sd.value for n in order], dtype=float)
    links = np.array([(lat[lk.child], lat[lk.parent], lk.sign) for lk in s.links],
                     dtype=np.int64).reshape(-1, 3)
    depth = link_depth(order, list(s.links))
    ent = model.weight_entries
    loads = np.array(ent["loading"], dtype=np.int64).reshape(-1, 3)
    drivers = np.array(ent["driver"], dtype=np.int64).reshape(-1, 3)
    for what, arr in (("loading", loads), ("driver", drivers), ("link", links[:, :2])):
        pairs = {tuple(r[:2]) for r in arr}
        if len(pairs) != len(arr):
            raise KernelUnsupported(f"two {what}s share a (row, latent) entry")
    n_ind = len(s.indicators)
    hazard = model.coords["hazard"]
    load_ord, load_ptr = _csr(loads[:, 0], n_ind)
    drv_ord, drv_ptr = _csr(drivers[:, 0], len(hazard))
    trend = np.full(len(hazard), -1, dtype=np.int64)   # per row: its trend row, or -1
    for row, t_row, _ in ent["trend"]:
        trend[row] = t_row
    ev_rows = np.array([hazard.index(o.name) for o in s.outcomes if o.type == "event"],
                       dtype=np.int64)
    groups = s.competing_groups
    max_c = max([len(s.choices(g.name)) for g in groups], default=1)
    grp = np.full((len(groups), max(max_c, 1)), -1, dtype=np.int64)
    n_choice = np.zeros(len(groups), dtype=np.int64)
    for gi, g in enumerate(groups):
        choices = s.choices(g.name)
        grp[gi, :len(choices)] = [hazard.index(c) for c in choices]
        n_choice[gi] = len(choices)

    consts = (fam, np.ascontiguousarray(par), xi, boff, _z_layout(z_off, depth, n_m), sd,
              links, loads, load_ord, load_ptr, drivers, drv_ord, drv_ptr, trend, ev_rows, grp,
              n_choice, _effects(s), _slot_offsets(model, kind_codes))
    return KernelLayout(consts=consts, n_dim=n_dim, names=names, slices=out_slices,
                        shapes=out_shapes, gather=np.concatenate(gather).astype(np.int64),
                        value_names=value_names)


# --------------------------------------------------------------------------------------------
# numba functions (compiled on first call; ``cache=True`` keeps the machine code on disk)
#
# Compile time is most of a cold first forecast (``benchmarks/README.md``), so these functions
# use scalar loops and no array-to-slice assignment (``a[i] = b``), ``np.concatenate`` or
# fancy indexing: a slice assignment compiles numba's shape-mismatch error message (string
# formatting and joining), which alone took about 4 s of a 15 s compile.

_jit = numba.njit(cache=True, error_model="numpy")


@_jit
def _parent_month(data, so, effect):
    """The month the effect's parent is known to have happened in (-1: not known)."""
    if effect[E_PARENT_KIND] == PARENT_EVENT:
        return int(data[so[SLOT_EVENT] + effect[E_PARENT]])
    if int(data[so[SLOT_G_CHOICE] + effect[E_PARENT]]) == effect[E_CHOICE]:
        return int(data[so[SLOT_G_MONTH] + effect[E_PARENT]])
    return -1


@_jit
def softplus(t):
    if t > 0:
        return t + math.log1p(math.exp(-t))
    return math.log1p(math.exp(t))


@_jit
def sigmoid(t):
    if t >= 0:
        return 1.0 / (1.0 + math.exp(-t))
    e = math.exp(t)
    return e / (1.0 + e)


@_jit
def poisson_log_sf(t, lam):
    """``log P(K >= t)`` for ``K ~ Poisson(lam)`` (``t >= 1``) and its derivative in ``lam``
    (``P(K = t - 1) / P(K >= t)``): the mirror of ``log(gammainc(t, lam))``.
    """
    if lam < t:   # the tail's series: P(K = t) * sum_j lam^j t! / (t + j)!
        acc, term, j = 1.0, 1.0, 1
        while term > 1e-17 * acc:
            term *= lam / (t + j)
            acc += term
            j += 1
        log_sf = -lam + t * math.log(lam) - math.lgamma(t + 1.0) + math.log(acc)
    else:         # one minus the head: no cancellation once lam >= t
        acc, term = 1.0, 1.0
        for j in range(1, t):
            term *= lam / j
            acc += term
        log_sf = math.log1p(-math.exp(-lam) * acc)
    return log_sf, math.exp(-lam + (t - 1) * math.log(lam) - math.lgamma(t) - log_sf)


@_jit
def further_reports(eta, y, log_rel, log_false):
    """Log-likelihood of a binary cell's further distinct reports (``y - 1`` of them) and its
    derivative in ``eta``: the mirror of ``Binary.graded_loglik`` beyond the first report.
    """
    lam = softplus(eta)
    d_lam = sigmoid(eta)
    if lam < BINARY_RATE_FLOOR:
        lam, d_lam = BINARY_RATE_FLOOR, 0.0
    total, grad = 0.0, 0.0
    prev, d_prev = poisson_log_sf(1, lam)
    for t in range(2, int(y + 0.5) + 1):
        cur, d_cur = poisson_log_sf(t, lam)
        a = log_rel + cur - prev
        mx = max(a, log_false)
        lse = mx + math.log1p(math.exp(-abs(a - log_false)))
        total += lse
        grad += math.exp(a - lse) * (d_cur - d_prev) * d_lam
        prev, d_prev = cur, d_cur
    return total, grad


@_jit
def parameters(x, fam, par, xi):
    """Per element: block value, its derivative in the free variable, the free variable's
    constrained value, the prior log density and its gradient.
    """
    n = fam.shape[0]
    vals = np.empty(n)
    dv = np.empty(n)
    rv = np.empty(n)
    lp = np.empty(n)
    glp = np.empty(n)
    for e in range(n):
        u = x[xi[e]]
        f = fam[e]
        p1, p2, p3, c = par[e, 0], par[e, 1], par[e, 2], par[e, 3]
        if f == FAM_NORMAL:  # non-centred
            vals[e] = p1 + p2 * u
            dv[e] = p2
            rv[e] = u
            lp[e] = c - 0.5 * u * u
            glp[e] = -u
        elif (f == FAM_HALF_NORMAL or f == FAM_LOG_NORMAL or f == FAM_GAMMA
              or f == FAM_EXPONENTIAL):  # positive support, log transform
            v = math.exp(u)
            vals[e] = v
            dv[e] = v
            rv[e] = v
            if f == FAM_HALF_NORMAL:  # HalfNormal(sigma)
                lp[e] = c - 0.5 * v * v / (p1 * p1) + u
                glp[e] = 1.0 - v * v / (p1 * p1)
            elif f == FAM_LOG_NORMAL:  # LogNormal(mu, sigma)
                lp[e] = c - 0.5 * (u - p1) ** 2 / (p2 * p2)
                glp[e] = -(u - p1) / (p2 * p2)
            elif f == FAM_GAMMA:  # Gamma(alpha, beta)
                lp[e] = c + p1 * u - p2 * v
                glp[e] = p1 - p2 * v
            else:  # Exponential(lam)
                lp[e] = c + u - p1 * v
                glp[e] = 1.0 - p1 * v
        elif f == FAM_BETA:  # Beta(alpha, beta), log-odds transform; the block holds the logit
            vals[e] = u
            dv[e] = 1.0
            p = sigmoid(u)
            rv[e] = p
            lp[e] = c - p1 * softplus(-u) - p2 * softplus(u)
            glp[e] = p1 * (1.0 - p) - p2 * p
        elif f == FAM_STUDENT_T:  # StudentT(nu, mu, sigma), no transform
            vals[e] = u
            dv[e] = 1.0
            rv[e] = u
            t = (u - p2) / p3
            lp[e] = c - 0.5 * (p1 + 1.0) * math.log1p(t * t / p1)
            glp[e] = -(p1 + 1.0) * t / (p3 * (p1 + t * t))
        else:  # a code the layout never hands over: make it loud
            vals[e] = dv[e] = rv[e] = lp[e] = glp[e] = math.nan
    return vals, dv, rv, lp, glp


@_jit
def paths(x, vals, boff, z_off, depth, sd, links, data, so, n_all, n_months):
    """Latent states over the first ``n_months`` months for every link round."""
    n_lat = sd.shape[0]
    walk = np.empty((n_lat, n_months))
    for la in range(n_lat):
        acc = vals[boff[B_LATENT_INIT] + la]
        walk[la, 0] = acc
        for m in range(1, n_months):
            acc += sd[la] * x[z_off + la * (n_all - 1) + m - 1]
            walk[la, m] = acc
    xs = np.empty((depth + 1, n_lat, n_months))
    for r in range(depth + 1):
        cur = walk.copy()
        if r > 0:
            for k in range(links.shape[0]):
                w = links[k, 2] * vals[boff[B_LINK] + k]
                for m in range(n_months):
                    cur[links[k, 0], m] += w * xs[r - 1, links[k, 1], m]
        for la in range(n_lat):
            for m in range(n_months):
                if data[so[SLOT_DO_MASK] + la * n_all + m] > 0.5:
                    cur[la, m] = data[so[SLOT_DO_VALUE] + la * n_all + m]
                xs[r, la, m] = cur[la, m]   # not ``xs[r] = cur``: see the note above _jit
    return xs


@_jit
def true_report(code, eta, y, scale):
    """Log-likelihood of a true report ``y`` of kind ``code`` given its state ``eta``, and its
    derivative in ``eta``: the mirror of each kind's ``loglik`` (:mod:`iamg_forecast.kinds`).
    """
    if code == KIND_BINARY:
        if y > 0.5:
            return -softplus(-eta), 1.0 - sigmoid(eta)
        return -softplus(eta), -sigmoid(eta)
    if code == KIND_COUNT:   # ``scale`` is the dispersion (0: Poisson)
        ec = min(max(eta, -COUNT_ETA_LIMIT), COUNT_ETA_LIMIT)
        yc = max(y, 0.0)
        mu = math.exp(ec)
        if scale > 0.0:
            t_ll = (math.lgamma(yc + scale) - math.lgamma(scale) - math.lgamma(yc + 1.0)
                    + scale * math.log(scale) - (scale + yc) * math.log(scale + mu) + yc * ec)
            d_ll = yc - (scale + yc) * mu / (scale + mu)
        else:
            t_ll = yc * ec - mu - math.lgamma(yc + 1.0)
            d_ll = yc - mu
        if not -COUNT_ETA_LIMIT <= eta <= COUNT_ETA_LIMIT:
            d_ll = 0.0
        return t_ll, d_ll
    if code == KIND_CONTINUOUS:   # ``scale`` is the report's sd
        zz = (y - eta) / scale
        return -0.5 * zz * zz - math.log(scale) - 0.5 * math.log(2 * math.pi), zz / scale
    return math.nan, math.nan   # a code the layout never hands over: make it loud


@_jit
def hazard_history(hz, ghz, h, month, obs, win):
    """Log-likelihood of hazard row ``h``'s known history, adding its gradient to ``ghz``.

    Months before ``month`` (or up to ``obs`` when nothing happened, ``month < 0``) survived;
    the event happened at ``month``.
    """
    total = 0.0
    for m in range(win):
        if (m < month) if month >= 0 else (m <= obs):
            total -= softplus(hz[h, m])
            ghz[h, m] -= sigmoid(hz[h, m])
        elif m == month:
            total -= softplus(-hz[h, m])
            ghz[h, m] += 1.0 - sigmoid(hz[h, m])
    return total


@_jit
def expand(x, data, fam, par, xi, boff, zd, sd, links, loads, load_ord, load_ptr,
           drivers, drv_ord, drv_ptr, trend, ev_rows, grp, n_choice, effects, so, gather):
    vals, dv, rv, lp, glp = parameters(x, fam, par, xi)
    n_all = zd[Z_MONTHS]
    xs = paths(x, vals, boff, zd[Z_OFF], zd[Z_DEPTH], sd, links, data, so, n_all, n_all)
    lat = xs[zd[Z_DEPTH]]
    n_x, n_v, n_m = x.shape[0], vals.shape[0], lat.shape[1]
    # the trace's values: positions in (x, vals, rv, the latent paths) laid end to end
    out = np.empty(gather.shape[0])
    for i in range(gather.shape[0]):
        g = gather[i]
        if g < n_x:
            out[i] = x[g]
        elif g < n_x + n_v:
            out[i] = vals[g - n_x]
        elif g < n_x + 2 * n_v:
            out[i] = rv[g - n_x - n_v]
        else:
            j = g - n_x - 2 * n_v
            out[i] = lat[j // n_m, j % n_m]
    return (out,)


@_jit
def logp_grad(x, data, fam, par, xi, boff, zd, sd, links, loads, load_ord, load_ptr,
              drivers, drv_ord, drv_ptr, trend, ev_rows, grp, n_choice, effects, so):
    z_off, depth = zd[Z_OFF], zd[Z_DEPTH]
    n_lat = sd.shape[0]
    n_all = zd[Z_MONTHS]
    vals, dv, rv, lp, glp = parameters(x, fam, par, xi)
    total = lp.sum()
    grad = np.zeros(x.shape[0])
    n_z = n_lat * (n_all - 1)
    for k in range(n_z):
        u = x[z_off + k]
        total += -0.5 * u * u - 0.5 * math.log(2 * math.pi)
        grad[z_off + k] = -u
    win = int(data[so[SLOT_WINDOW]])
    obs = int(data[so[SLOT_OBS]])
    xs = paths(x, vals, boff, z_off, depth, sd, links, data, so, n_all, win)
    lat = xs[depth]
    gval = np.zeros(vals.shape[0])
    glat = np.zeros((n_lat, win))

    # evidence cells: log(r p_true(value | eta) + (1 - r) p_false(value)), per kind in use
    for kg in range(so[N_KINDS]):
        base = KINDS_AT + KIND_STRIDE * kg
        code = so[base + K_CODE]
        for c in range(so[base + K_CAP]):
            on = data[so[base + K_ON] + c]
            if on == 0.0:
                continue
            i = int(data[so[base + K_IND] + c])
            m = int(data[so[base + K_MONTH] + c])
            eta = vals[boff[B_BASELINE] + i]
            for q in range(load_ptr[i], load_ptr[i + 1]):
                k = load_ord[q]
                eta += loads[k, 2] * vals[boff[B_LOADING] + k] * lat[loads[k, 1], m]
            t_ll, d_ll = true_report(code, eta, data[so[base + K_VALUE] + c],
                                     data[so[base + K_SCALE] + c])
            a = data[so[base + K_LOG_REL] + c] + t_ll
            b = data[so[base + K_LOG_FALSE] + c]
            mx = max(a, b)
            lse = mx + math.log1p(math.exp(-abs(a - b)))
            total += on * lse
            g_eta = on * math.exp(a - lse) * d_ll
            if code == KIND_BINARY and data[so[base + K_VALUE] + c] > 1.5:
                f_ll, f_d = further_reports(eta, data[so[base + K_VALUE] + c],
                                           data[so[base + K_LOG_REL] + c], b)
                total += on * f_ll
                g_eta += on * f_d
            gval[boff[B_BASELINE] + i] += g_eta
            for q in range(load_ptr[i], load_ptr[i + 1]):
                k = load_ord[q]
                w = loads[k, 2] * vals[boff[B_LOADING] + k]
                gval[boff[B_LOADING] + k] += g_eta * loads[k, 2] * lat[loads[k, 1], m]
                glat[loads[k, 1], m] += g_eta * w

    # outcome hazards over the window and their known history
    n_h = drv_ptr.shape[0] - 1
    hz = np.empty((n_h, win))
    for h in range(n_h):
        for m in range(win):
            v = vals[boff[B_HAZARD] + h]
            for q in range(drv_ptr[h], drv_ptr[h + 1]):
                k = drv_ord[q]
                v += drivers[k, 2] * vals[boff[B_DRIVER] + k] * lat[drivers[k, 1], m]
            if trend[h] >= 0:
                v += vals[boff[B_HAZARD] + trend[h]] * m
            hz[h, m] = v
    for k in range(effects.shape[0]):   # outcomes moved by others known to have happened
        when = _parent_month(data, so, effects[k])
        if when >= 0:
            size = effects[k, E_SIGN] * vals[boff[B_HAZARD] + effects[k, E_SIZE]]
            for m in range(when + 1, win):
                hz[effects[k, E_CHILD], m] += size
    ghz = np.zeros((n_h, win))
    for j in range(ev_rows.shape[0]):
        total += hazard_history(hz, ghz, ev_rows[j], int(data[so[SLOT_EVENT] + j]), obs, win)
    # competing groups: the steps known (log sigmoid of +-logit) and the choices made
    for c in range(so[CAP_H]):
        on = data[so[SLOT_H_ON] + c]
        if on == 0.0:
            continue
        h = int(data[so[SLOT_H_ROW] + c])
        m = int(data[so[SLOT_H_MONTH] + c])
        sg = data[so[SLOT_H_SIGN] + c]
        total -= on * softplus(-sg * hz[h, m])
        ghz[h, m] += on * sg * sigmoid(-sg * hz[h, m])
    full = np.empty(grp.shape[1])
    for c in range(so[CAP_C]):
        on = data[so[SLOT_C_ON] + c]
        if on == 0.0:
            continue
        gi = int(data[so[SLOT_C_GROUP] + c])
        m = int(data[so[SLOT_C_MONTH] + c])
        gc = int(data[so[SLOT_C_INDEX] + c])
        nc = n_choice[gi]
        mx = -np.inf
        for j in range(nc):
            full[j] = hz[grp[gi, j], m]
            mx = max(mx, full[j])
        ssum = 0.0
        for j in range(nc):
            ssum += math.exp(full[j] - mx)
        lse = mx + math.log(ssum)
        total += on * (full[gc] - lse)
        for j in range(nc):
            ghz[grp[gi, j], m] += on * ((1.0 if j == gc else 0.0) - math.exp(full[j] - lse))
    for k in range(effects.shape[0]):
        when = _parent_month(data, so, effects[k])
        if when >= 0:
            acc = 0.0
            for m in range(when + 1, win):
                acc += ghz[effects[k, E_CHILD], m]
            gval[boff[B_HAZARD] + effects[k, E_SIZE]] += effects[k, E_SIGN] * acc
    for h in range(n_h):
        for m in range(win):
            g = ghz[h, m]
            if g == 0.0:
                continue
            gval[boff[B_HAZARD] + h] += g
            if trend[h] >= 0:
                gval[boff[B_HAZARD] + trend[h]] += g * m
            for q in range(drv_ptr[h], drv_ptr[h + 1]):
                k = drv_ord[q]
                gval[boff[B_DRIVER] + k] += g * drivers[k, 2] * lat[drivers[k, 1], m]
                glat[drivers[k, 1], m] += g * drivers[k, 2] * vals[boff[B_DRIVER] + k]

    # back through the link rounds (held cells pass nothing back) and the walk
    gwalk = np.zeros((n_lat, win))
    gcur = glat
    for r in range(depth, -1, -1):
        for la in range(n_lat):
            for m in range(win):
                if data[so[SLOT_DO_MASK] + la * n_all + m] > 0.5:
                    gcur[la, m] = 0.0
        gwalk += gcur
        if r > 0:
            gprev = np.zeros((n_lat, win))
            for k in range(links.shape[0]):
                ch, pa, sg = links[k, 0], links[k, 1], links[k, 2]
                w = sg * vals[boff[B_LINK] + k]
                acc = 0.0
                for m in range(win):
                    gprev[pa, m] += gcur[ch, m] * w
                    acc += gcur[ch, m] * xs[r - 1, pa, m]
                gval[boff[B_LINK] + k] += sg * acc
            gcur = gprev
    for la in range(n_lat):
        acc = 0.0
        for m in range(win - 1, 0, -1):
            acc += gwalk[la, m]
            grad[z_off + la * (n_all - 1) + m - 1] += sd[la] * acc
        gval[boff[B_LATENT_INIT] + la] += acc + gwalk[la, 0]
    for e in range(vals.shape[0]):
        grad[xi[e]] += glp[e] + gval[e] * dv[e]
    return total, grad



@intrinsic
def _void_pointer(typingctx, address):
    """The memory ``address`` (an integer) as a void pointer."""
    from numba.core import cgutils, types

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return types.voidptr(address), codegen


def _pointer_slots(record: np.dtype, key: str) -> tuple[int, int]:
    """Positions, in 8-byte words, of the data pointer and the size of ``key`` in nutpie's
    user-data record (what ``with_data`` rewrites when the evidence changes).
    """
    shared, base = record.fields["shared"]
    out = []
    for field in ("data", "size"):
        sub, offset = shared.fields[field]
        item, inner = sub.fields[key]
        if item.itemsize != 8:
            raise KernelUnsupported(f"nutpie's user data holds {field} in {item.itemsize} bytes")
        out.append((base + offset + inner) // 8)
    return out[0], out[1]


def _c_functions(layout: KernelLayout, slots: tuple[int, int]):
    """The C callbacks nutpie calls: log density and gradient, and the trace expansion.

    They read the packed evidence vector's address and size from nutpie's user data, as the
    callbacks of ``nutpie.compile_pymc_model`` do, and return its status codes (0 ok,
    3 non-finite gradient, 4 non-finite log density, -1 wrong dimension).
    """
    from numba import types

    consts, gather = layout.consts, layout.gather
    n_dim, n_out = layout.n_dim, int(gather.size)
    p_slot, n_slot = slots
    n_words = max(slots) + 1

    @numba.cfunc(types.int64(types.uint64, types.CPointer(types.double),
                             types.CPointer(types.double), types.CPointer(types.double),
                             types.voidptr))
    def logp_c(dim, x_, out_, logp_, user_data_):
        if dim != n_dim:
            return -1
        meta = numba.carray(user_data_, (n_words,), np.uint64)
        data = numba.carray(_void_pointer(meta[p_slot]), (meta[n_slot],), np.float64)
        x = numba.carray(x_, (n_dim,))
        out = numba.carray(out_, (n_dim,))
        logp = numba.carray(logp_, (1,))
        value, grad = logp_grad(x, data, *consts)
        logp[0] = value
        status = 0
        for i in range(n_dim):  # scalar loops: array expressions here cost compile time
            out[i] = grad[i]
            if not math.isfinite(grad[i]):
                status = 3
        if status == 0 and not math.isfinite(value):
            status = 4
        return status

    @numba.cfunc(types.int64(types.uint64, types.uint64, types.CPointer(types.double),
                             types.CPointer(types.double), types.voidptr))
    def expand_c(dim, expanded, x_, out_, user_data_):
        if dim != n_dim or expanded != n_out:
            return -1
        meta = numba.carray(user_data_, (n_words,), np.uint64)
        data = numba.carray(_void_pointer(meta[p_slot]), (meta[n_slot],), np.float64)
        x = numba.carray(x_, (n_dim,))
        out = numba.carray(out_, (n_out,))
        (values,) = expand(x, data, *consts, gather)
        for i in range(n_out):
            out[i] = values[i]
        return 0

    return logp_c, expand_c


def _initial_point_fn(pmm):
    """``pymc.initial_point.make_initial_point_fn(model=pmm, jitter_rvs=set(pmm.free_RVs),
    return_transformed=True)``, the function ``nutpie.compile_pymc_model`` starts its chains
    from, compiled with PyTensor's Python linker instead of the VM linker of PyMC's
    ``FAST_COMPILE`` mode: the same rewrites, Python implementations and seeded draws, without
    building PyTensor's C lazy linker, which the VM linker imports (about 0.8 s the first time on
    a machine, when PyTensor's compile directory is empty).
    """
    import functools

    from pymc.initial_point import make_initial_point_expression
    from pymc.pytensorf import compile as compile_fn
    from pymc.pytensorf import find_rng_nodes, replace_rng_nodes, reseed_rngs
    from pymc.util import get_transformed_name
    from pytensor.compile.mode import FAST_COMPILE, Mode

    values = make_initial_point_expression(
        free_rvs=pmm.free_RVs, rvs_to_transforms=pmm.rvs_to_transforms,
        initval_strategies=dict(pmm.rvs_to_initial_values), jitter_rvs=set(pmm.free_RVs),
        default_strategy="support_point", return_transformed=True)
    fn = compile_fn(inputs=[], outputs=replace_rng_nodes(values),
                    mode=Mode(linker="py", optimizer=FAST_COMPILE.provided_optimizer))
    names = [rv.name if (tr := pmm.rvs_to_transforms[rv]) is None
             else get_transformed_name(rv.name, tr) for rv in pmm.free_RVs]
    rngs = find_rng_nodes(fn.maker.fgraph.outputs)

    @functools.wraps(fn)
    def initial_point(seed, *args, **kwargs):
        reseed_rngs(rngs, seed)
        return dict(zip(names, fn(*args, **kwargs), strict=True))

    return initial_point


_NUTPIE_HELPERS = ("CompiledPyMCModel", "make_user_data", "_prepare_dims_and_coords",
                   "_rv_dict_to_flat_array_wrapper", "_wrap_with_lock")


def _nutpie_internals():
    """The module of nutpie that builds a compiled PyMC model from numba functions.

    The kernel is handed to nutpie through the same helpers ``nutpie.compile_pymc_model``
    uses; they are not public API, so a nutpie without them means "use the PyTensor backend".
    """
    from nutpie import compile_pymc as ncp

    missing = [name for name in _NUTPIE_HELPERS if not hasattr(ncp, name)]
    if missing:
        raise KernelUnsupported(f"this nutpie lacks {missing}")
    return ncp


def compile_kernel(model: ScenarioModel, keep: list[str]):
    """A nutpie compiled model whose log density and gradient are the hand-written kernel.

    Parameters
    ----------
    model : ScenarioModel
    keep : list of str
        Variables to store in the trace (besides the free ones).

    Returns
    -------
    nutpie.compile_pymc.CompiledPyMCModel
        Same interface as ``nutpie.compile_pymc_model``'s result: ``with_data`` swaps the
        packed evidence vector, and the trace has the same variables and layout.

    Raises
    ------
    KernelUnsupported
        When the model holds something the kernel does not mirror.

    Examples
    --------
    >>> from iamg_forecast.model import load_model
    >>> compiled = compile_kernel(load_model(), ["latent_state"])  # doctest: +SKIP
    >>> compiled.n_dim  # doctest: +SKIP
    303
    """
    ncp = _nutpie_internals()
    layout = kernel_layout(model, keep)
    pmm = model.pymc_model
    consts = layout.consts
    gather = layout.gather

    @numba.njit
    def logp_fn(x, data):
        return logp_grad(x, data, *consts)

    @numba.njit
    def expand_fn(x, data):
        return expand(x, data, *consts, gather)

    (shared,) = [v for v in pmm.data_vars if v.name == PACKED_DATA]
    key = "evidence"
    shared_data = {key: np.array(shared.get_value(), order="C", copy=True)}
    shared_data[key].flags.writeable = False
    shared_keys = {shared: key}
    user_data = ncp.make_user_data(shared_keys, shared_data)
    logp_c, expand_c = _c_functions(layout, _pointer_slots(user_data.dtype, key))
    initial = ncp._wrap_with_lock(_initial_point_fn(pmm))
    shape_info = (layout.names, layout.slices, layout.shapes)
    reparam = [pmm.rvs_to_values[rv].name for rv in pmm.free_RVs
               if pmm.rvs_to_transforms.get(rv) is not None]
    dims, coords = ncp._prepare_dims_and_coords(pmm, shape_info, reparam)
    return ncp.CompiledPyMCModel(
        _n_dim=layout.n_dim, dims=dims, _coords=coords,
        _shapes={n: tuple(sh) for n, sh in zip(layout.names, layout.shapes, strict=True)},
        compiled_logp_func=logp_c, compiled_expand_func=expand_c,
        initial_point_func=ncp._rv_dict_to_flat_array_wrapper(
            initial, names=layout.value_names, shapes=layout.shapes[:len(layout.value_names)]),
        shared_data=shared_data, shared_var_keys=shared_keys, user_data=user_data,
        n_expanded=int(gather.size), shape_info=shape_info, logp_func=logp_fn,
        expand_func=expand_fn, reparameterized_names=reparam)

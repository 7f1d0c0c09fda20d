"""Hand-written log densities of bayesreg's two commonest sampled models, compiled once per machine.

nutpie needs the model's log density and gradient as a C callback. Derived from the PyMC graph
(:mod:`bayesreg.backend.nutpie_model`) that callback costs numba 10-30 s of compilation for every
new model structure (issue 14): a first fit waited on the compiler far longer than it sampled.
The two structures most fits use are small enough to write once by hand:

- the Gaussian linear model on sufficient statistics (:func:`bayesreg.backend.model.build_linear_model`),
  with a known noise sd or a free one under any of its five priors;
- the Bernoulli-logit model on rows (:func:`bayesreg.backend.model.build_logistic_model`), with or
  without ``sample_weight``;

each with a normal, Laplace, elastic-net or flat coefficient prior (one form covers all four:
``c - Σ l1|β - μ| - ½ Σ l2 (β - μ)²``), a flat or normal intercept, in the whitened coordinates
``β = loc + L z`` the sampler uses. The code below is generic in the sizes and reads every number
from the model's own ``pm.Data`` containers, so one compilation per family (about 3 s, then loaded
from numba's disk cache in 0.2 s; :mod:`bayesreg.backend.disk_cache`) serves every data set, prior
and size. The loops may be reassociated (``fastmath`` ``reassoc``/``contract``: 2-4 times faster
once vectorised), so sums can differ from a strictly ordered sum in the last bits; on one machine
the same seed still draws the same.

The PyMC model stays the definition: a builder marks a model this module can stand in for
(:class:`bayesreg.backend.model.FixedStructure`), and ``tests/test_fixed_density.py`` checks the
log density, gradient and stored variables against PyMC's own on every combination of options
(to 1e-10 relative). Any model without the mark (hierarchical scales, Poisson, counts, several
classes, unwhitened fallbacks) takes the derived callbacks. A route never depends on what is cached,
so a seed draws the same in every process.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import sys
from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
import pymc as pm
from numba.core import cgutils, types
from numba.extending import intrinsic

from bayesreg.backend.disk_cache import _library_versions, cache_dir, generated
from bayesreg.backend.model import FixedStructure

__all__ = ["FixedCallbacks", "callbacks", "pack", "python_density", "structure_of"]

# Integer codes shared by the packer and the densities.
_GAUSSIAN, _BERNOULLI = 0, 1
_NOISE_CODES = {"known": 0, "halfnormal": 1, "halfcauchy": 2, "halfstudentt": 3, "exponential": 4, "flat": 5}
_LOG_2PI = math.log(2.0 * math.pi)

# ints layout: the header, then the permutation of the expanded vector.
_FAMILY, _P, _M, _ROWS, _FIT_INTERCEPT, _NOISE, _INTERCEPT_PRIOR, _N_EXPANDED, _HEADER = range(9)
# buf layout: loc (m), L (m*m), prior mean, l1, l2, x_mean (p each), then six scalars, then the family's data.
_CONST, _INT_MU, _INT_SD, _NOISE_VALUE, _NOISE_NU, _Y_MEAN = range(6)
_N_SCALARS = 6


def structure_of(model: pm.Model) -> FixedStructure | None:
    """The mark a builder left on ``model`` if a hand-written density stands in for it, else None.

    Examples
    --------
    >>> import pymc as pm
    >>> structure_of(pm.Model()) is None    # a model no bayesreg builder marked
    True
    """
    return getattr(model, "bayesreg_fixed_structure", None)


# --- the densities (numba compiles them on a cache miss only) ----------------------------------

_jit = numba.njit(error_model="numpy", fastmath={"reassoc", "contract"})


@_jit
def _location(x, buf, m):
    """β = loc + L z."""
    L = buf[m : m + m * m].reshape((m, m))
    beta = np.empty(m)
    for i in range(m):
        acc = buf[i]
        for j in range(m):
            acc += L[i, j] * x[j]
        beta[i] = acc
    return beta


@_jit
def _prior(beta, buf, ints, grad_beta):
    """Coefficient and intercept priors at β: their log density, their gradient added to ``grad_beta``."""
    p, m = ints[_P], ints[_M]
    o_mean = m + m * m
    o_l1, o_l2, o_xm = o_mean + p, o_mean + 2 * p, o_mean + 3 * p
    o_s = o_mean + 4 * p
    lp = buf[o_s + _CONST]
    for j in range(p):
        d = beta[j] - buf[o_mean + j]
        l1, l2 = buf[o_l1 + j], buf[o_l2 + j]
        sign = 1.0 if d > 0.0 else (-1.0 if d < 0.0 else 0.0)
        lp -= l1 * abs(d) + 0.5 * l2 * d * d
        grad_beta[j] -= l1 * sign + l2 * d
    if ints[_INTERCEPT_PRIOR]:
        intercept = beta[p]
        for j in range(p):
            intercept -= buf[o_xm + j] * beta[j]
        mu, sd = buf[o_s + _INT_MU], buf[o_s + _INT_SD]
        u = (intercept - mu) / sd
        lp -= 0.5 * u * u + math.log(sd) + 0.5 * _LOG_2PI
        d_intercept = -u / sd
        grad_beta[p] += d_intercept
        for j in range(p):
            grad_beta[j] -= d_intercept * buf[o_xm + j]
    return lp


@_jit
def _noise_prior(code, sigma, scale, nu):
    """Log density of the noise sd's prior at ``sigma`` and its derivative in log sigma."""
    if code == 1:  # HalfNormal(scale)
        r = sigma / scale
        return 0.5 * math.log(2.0 / math.pi) - math.log(scale) - 0.5 * r * r, -r * r
    if code == 2:  # HalfCauchy(scale)
        r2 = (sigma / scale) ** 2
        return math.log(2.0 / math.pi) - math.log(scale) - math.log1p(r2), -2.0 * r2 / (1.0 + r2)
    if code == 3:  # HalfStudentT(nu, scale)
        t = (sigma / scale) ** 2 / nu
        const = math.log(2.0) + math.lgamma(0.5 * (nu + 1.0)) - math.lgamma(0.5 * nu)
        lp = const - 0.5 * math.log(nu * math.pi) - math.log(scale) - 0.5 * (nu + 1.0) * math.log1p(t)
        return lp, -(nu + 1.0) * t / (1.0 + t)
    if code == 4:  # Exponential with mean ``scale``
        return -math.log(scale) - sigma / scale, -sigma / scale
    return 0.0, 0.0  # HalfFlat


@_jit
def _pull_back(grad_beta, buf, m, grad):
    """grad_z = Lᵀ grad_β."""
    L = buf[m : m + m * m].reshape((m, m))
    for j in range(m):
        grad[j] = 0.0
    for i in range(m):
        for j in range(m):
            grad[j] += L[i, j] * grad_beta[i]


@_jit
def _gaussian_logp(x, buf, ints, grad):
    """Gaussian likelihood on sufficient statistics: ‖qty − R β‖² + n (ȳ − b)², as the builder writes it."""
    p, m, k, fit_intercept, noise = ints[_P], ints[_M], ints[_ROWS], ints[_FIT_INTERCEPT], ints[_NOISE]
    o_s = m + m * m + 4 * p
    o_r = o_s + _N_SCALARS
    o_q = o_r + k * p
    n = buf[o_q + k]
    R = buf[o_r : o_r + k * p].reshape((k, p))
    beta = _location(x, buf, m)
    b = beta[p] if fit_intercept else 0.0
    resid = np.empty(k)
    rss = 0.0
    for r in range(k):
        acc = buf[o_q + r]
        for j in range(p):
            acc -= R[r, j] * beta[j]
        resid[r] = acc
        rss += acc * acc
    y_gap = buf[o_s + _Y_MEAN] - b
    rss += n * y_gap * y_gap
    if noise == 0:
        sigma = buf[o_s + _NOISE_VALUE]
        log_sigma = math.log(sigma)
    else:
        log_sigma = x[m]
        sigma = math.exp(log_sigma)
    precision = 1.0 / (sigma * sigma)
    grad_beta = np.zeros(m)
    for j in range(p):
        acc = 0.0
        for r in range(k):
            acc += R[r, j] * resid[r]
        grad_beta[j] = acc * precision
    if fit_intercept:
        grad_beta[p] = n * y_gap * precision
    lp = -n * log_sigma - 0.5 * n * _LOG_2PI - 0.5 * rss * precision
    lp += _prior(beta, buf, ints, grad_beta)
    _pull_back(grad_beta, buf, m, grad)
    if noise != 0:
        prior_lp, prior_grad = _noise_prior(noise, sigma, buf[o_s + _NOISE_VALUE], buf[o_s + _NOISE_NU])
        lp += prior_lp + log_sigma  # log sigma: the Jacobian of the log transform
        grad[m] = -n + rss * precision + prior_grad + 1.0
    return lp


# exp and log1p written so that LLVM vectorises them: numba calls libm once per value (about 20 ns
# each, half of a 10⁵-row gradient; numba has no vector maths library here), these take 1-2 ns.
# Both are checked against numpy to within 2 ulp in tests/test_fixed_density.py.
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split in two, so that k·ln 2 is exact for |k| < 2^20
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_BLOCK = 256  # rows per block: the block's η, exp and log1p stay in the L1 cache


@_jit
def _exp_nonpositive(x, out, n):
    """``out[:n] = exp(x[:n])`` for x <= 0 (values below -708 give exp(-708), under 1e-307)."""
    scale = np.empty(n, dtype=np.int64)
    for i in range(n):
        xi = max(x[i], -708.0)
        k = math.floor(xi * _INV_LN2 + 0.5)
        r = (xi - k * _LN2_HI) - k * _LN2_LO  # |r| <= ln 2 / 2
        # Taylor series of exp(r) to r^13 / 13!: the remainder is below 1e-17 on |r| <= 0.35.
        q = 1.0 / 479001600.0
        q = 1.0 / 39916800.0 + r * q
        q = 1.0 / 3628800.0 + r * q
        q = 1.0 / 362880.0 + r * q
        q = 1.0 / 40320.0 + r * q
        q = 1.0 / 5040.0 + r * q
        q = 1.0 / 720.0 + r * q
        q = 1.0 / 120.0 + r * q
        q = 1.0 / 24.0 + r * q
        q = 1.0 / 6.0 + r * q
        q = 0.5 + r * q
        q = 1.0 + r * q
        out[i] = 1.0 + r * q
        scale[i] = (np.int64(k) + 1023) << 52  # the bits of the double 2^k (k >= -1022)
    factor = scale.view(np.float64)
    for i in range(n):
        out[i] *= factor[i]


@_jit
def _log1p_unit(e, out, n):
    """``out[:n] = log1p(e[:n])`` for 0 <= e <= 1, as 2 atanh(u) with u = e / (2 + e) <= 1/3."""
    for i in range(n):
        u = e[i] / (2.0 + e[i])
        u2 = u * u
        s = 1.0 / 37.0  # atanh(u) / u = Σ u^2k / (2k + 1); the terms after k = 18 are below 1e-19
        for k in range(17, -1, -1):
            s = 1.0 / (2 * k + 1) + u2 * s
        out[i] = 2.0 * u * s


@_jit
def _bernoulli_logp(x, buf, ints, grad):
    """Bernoulli-logit likelihood Σ w_i log p(y_i | b + X_i β) on centred rows, in blocks of rows.

    With t = η for y = 0 and t = −η for y = 1, each row adds ``−w log(1 + exp(t))`` and its
    residual is ``∓w sigmoid(t)``; with e = exp(−|t|) = exp(−|η|), log(1 + exp(t)) = max(t, 0) +
    log1p(e) and sigmoid(t) is 1/(1 + e) or e/(1 + e): one exp and one log1p per row, no
    cancellation, no branch on y.
    """
    p, m, n, fit_intercept = ints[_P], ints[_M], ints[_ROWS], ints[_FIT_INTERCEPT]
    o_x = m + m * m + 4 * p + _N_SCALARS
    o_y = o_x + n * p
    o_w = o_y + n
    X = buf[o_x : o_x + n * p].reshape((n, p))  # a 2-D view: its loops vectorise, flat indexing did not
    y = buf[o_y : o_y + n]
    w = buf[o_w : o_w + n]
    beta = _location(x, buf, m)
    b = beta[p] if fit_intercept else 0.0
    grad_beta = np.zeros(m)
    minus_abs_eta = np.empty(_BLOCK)
    t = np.empty(_BLOCK)
    e = np.empty(_BLOCK)
    log1p_e = np.empty(_BLOCK)
    resid = np.empty(_BLOCK)
    lp = 0.0
    for start in range(0, n, _BLOCK):
        size = min(_BLOCK, n - start)
        for i in range(size):
            eta = b
            for j in range(p):
                eta += X[start + i, j] * beta[j]
            t[i] = eta * (1.0 - 2.0 * y[start + i])
            minus_abs_eta[i] = -abs(eta)
        _exp_nonpositive(minus_abs_eta, e, size)
        _log1p_unit(e, log1p_e, size)
        intercept_grad = 0.0
        for i in range(size):
            wi = w[start + i]
            lp -= wi * (max(t[i], 0.0) + log1p_e[i])
            sigmoid_t = (1.0 if t[i] >= 0.0 else e[i]) / (1.0 + e[i])
            r = wi * sigmoid_t * (2.0 * y[start + i] - 1.0)  # +w σ(−η) for y = 1, −w σ(η) for y = 0
            resid[i] = r
            intercept_grad += r
        for i in range(size):
            for j in range(p):
                grad_beta[j] += X[start + i, j] * resid[i]
        if fit_intercept:
            grad_beta[p] += intercept_grad
    lp += _prior(beta, buf, ints, grad_beta)
    _pull_back(grad_beta, buf, m, grad)
    return lp


def _logp(x, buf, ints, grad):
    """The density of the family in ``ints`` (plain Python dispatch, for :func:`python_density`)."""
    if ints[_FAMILY] == _GAUSSIAN:
        return _gaussian_logp(x, buf, ints, grad)
    return _bernoulli_logp(x, buf, ints, grad)


@_jit
def _expand(x, buf, ints, out):
    """Every stored variable at ``x``, in nutpie's order (the permutation after the ints' header).

    The canonical order is z, [log noise sd, noise sd], coef, [intercept_centered, intercept].
    """
    p, m, fit_intercept, noise = ints[_P], ints[_M], ints[_FIT_INTERCEPT], ints[_NOISE]
    o_xm = m + m * m + 3 * p
    beta = _location(x, buf, m)
    canonical = np.empty(ints[_N_EXPANDED])
    k = 0
    for j in range(m):
        canonical[k] = x[j]
        k += 1
    if ints[_FAMILY] == _GAUSSIAN and noise != 0:
        canonical[k] = x[m]
        canonical[k + 1] = math.exp(x[m])
        k += 2
    for j in range(p):
        canonical[k] = beta[j]
        k += 1
    if fit_intercept:
        intercept = beta[p]
        for j in range(p):
            intercept -= buf[o_xm + j] * beta[j]
        canonical[k] = beta[p]
        canonical[k + 1] = intercept
    for i in range(ints[_N_EXPANDED]):
        out[i] = canonical[ints[_HEADER + i]]


# --- packing a model's data ---------------------------------------------------------------------


def _canonical_blocks(structure: FixedStructure, p: int, m: int) -> list[tuple[str, int]]:
    blocks = [("z", m)]
    if structure.family == "gaussian" and structure.noise != "known":
        blocks += [("noise_sigma_log__", 1), ("noise_sigma", 1)]
    blocks.append(("coef", p))
    if structure.fit_intercept:
        blocks += [("intercept_centered", 1), ("intercept", 1)]
    return blocks


def _permutation(structure: FixedStructure, p: int, m: int, names: Sequence[str]) -> np.ndarray:
    """For each entry of nutpie's expanded vector (variables in ``names`` order), its canonical index."""
    offsets, start = {}, 0
    for name, size in _canonical_blocks(structure, p, m):
        offsets[name] = (start, size)
        start += size
    if sorted(names) != sorted(offsets):
        raise ValueError(f"the model stores {sorted(names)}, the fixed density {sorted(offsets)}")
    return np.concatenate([np.arange(offsets[n][0], offsets[n][0] + offsets[n][1]) for n in names])


def _prior_arrays(structure: FixedStructure, values: dict[str, np.ndarray], p: int):
    """(mean, l1, l2, constant) of the coefficient prior, read from the model's Data containers."""
    zeros = np.zeros(p)
    if structure.prior == "flat":
        return zeros, zeros, zeros, 0.0
    mean = np.broadcast_to(values["prior_mean"], (p,))
    if structure.prior == "normal":
        sigma = np.broadcast_to(values["prior_sigma"], (p,))
        const = float(np.sum(-np.log(sigma) - 0.5 * _LOG_2PI))
        return mean, zeros, 1.0 / sigma**2, const
    l1 = np.broadcast_to(values["prior_l1_weight"], (p,))
    l2 = np.broadcast_to(values["prior_l2_precision"], (p,))
    return mean, l1, l2, float(values["prior_log_normaliser"])


def pack(
    structure: FixedStructure, values: dict[str, np.ndarray], names: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """The density's (float64 buffer, int64 header) from the model's Data values and stored ``names``.

    ``names`` are the variables nutpie stores, in its order; the header ends with the permutation
    that puts the density's expanded vector in that order.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesreg.backend.model import FixedStructure
    >>> values = {"whitening_loc": np.zeros(2), "whitening_scale_tril": np.eye(2),
    ...           "prior_mean": np.zeros(2), "prior_sigma": np.ones(2),
    ...           "X_centered": np.ones((3, 2)), "y_observed": np.array([0, 1, 1])}
    >>> buf, ints = pack(FixedStructure("bernoulli", "normal", fit_intercept=False), values, ["coef", "z"])
    >>> buf.size, ints[-4:].tolist()    # coef is stored first, then z
    (32, [2, 3, 0, 1])
    """
    loc = np.asarray(values["whitening_loc"], dtype=float)
    scale_tril = np.asarray(values["whitening_scale_tril"], dtype=float)
    m = loc.size
    p = m - int(structure.fit_intercept)
    mean, l1, l2, const = _prior_arrays(structure, values, p)
    x_mean = values["x_mean"] if structure.fit_intercept else np.zeros(p)
    scalars = np.zeros(_N_SCALARS)
    scalars[_CONST] = const
    if structure.intercept_prior:
        scalars[_INT_MU] = values["intercept_prior_mean"]
        scalars[_INT_SD] = values["intercept_prior_sigma"]
    if structure.family == "gaussian":
        if structure.noise == "known":
            scalars[_NOISE_VALUE] = values["noise_sigma"]
        elif structure.noise != "flat":
            scalars[_NOISE_VALUE] = values["noise_prior_sigma"]
        if structure.noise == "halfstudentt":
            scalars[_NOISE_NU] = values["noise_prior_nu"]
        scalars[_Y_MEAN] = values["y_mean"]
        r_factor = np.asarray(values["r_factor"], dtype=float)
        rows = r_factor.shape[0]
        data = [r_factor.ravel(), np.asarray(values["qty"], dtype=float), [float(values["n_rows"])]]
        family = _GAUSSIAN
    else:
        X = np.asarray(values["X_centered"], dtype=float)
        rows = X.shape[0]
        weights = values["sample_weight"] if structure.weighted else np.ones(rows)
        data = [X.ravel(), np.asarray(values["y_observed"], dtype=float), np.asarray(weights, dtype=float)]
        family = _BERNOULLI
    blocks = _canonical_blocks(structure, p, m)
    header = np.zeros(_HEADER, dtype=np.int64)
    header[[_FAMILY, _P, _M, _ROWS, _FIT_INTERCEPT]] = family, p, m, rows, int(structure.fit_intercept)
    header[_NOISE] = _NOISE_CODES[structure.noise] if structure.family == "gaussian" else 0
    header[_INTERCEPT_PRIOR] = int(structure.intercept_prior)
    header[_N_EXPANDED] = sum(size for _, size in blocks)
    ints = np.concatenate([header, _permutation(structure, p, m, names)]).astype(np.int64)
    pieces = [loc, scale_tril.ravel(), mean, l1, l2, x_mean, scalars, *data]
    buf = np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in pieces])
    return np.ascontiguousarray(buf), np.ascontiguousarray(ints)


# --- the C callbacks ---------------------------------------------------------------------------


@intrinsic
def void_pointer(typingctx, address):
    """The integer ``address`` as a ``void*`` (numba has no cast for it)."""

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return types.voidptr(address), codegen


LOGP_SIG = types.int64(
    types.uint64,
    types.CPointer(types.double),
    types.CPointer(types.double),
    types.CPointer(types.double),
    types.voidptr,
)
EXPAND_SIG = types.int64(
    types.uint64, types.uint64, types.CPointer(types.double), types.CPointer(types.double), types.voidptr
)

# user_data: int64 [address of buf, its length, address of ints, their length].
_UNPACK = """
    meta = numba.carray(user_data_, (4,), np.int64)
    buf = numba.carray(void_pointer(meta[0]), (meta[1],), np.float64)
    ints = numba.carray(void_pointer(meta[2]), (meta[3],), np.int64)
    x = numba.carray(x_, (dim,))"""
_SOURCES = {
    "bayesreg_fixed_logp": f"""
def bayesreg_fixed_logp(dim, x_, out_, logp_, user_data_):{_UNPACK}
    out = numba.carray(out_, (dim,))
    logp = numba.carray(logp_, ())
    value = density(x, buf, ints, out)
    logp[()] = value
    for i in range(dim):
        if not np.isfinite(out[i]):
            return 3
    if not np.isfinite(value):
        return 4
    return 0
""",
    "bayesreg_fixed_expand": f"""
def bayesreg_fixed_expand(dim, expanded, x_, out_, user_data_):{_UNPACK}
    out = numba.carray(out_, (expanded,))
    expand(x, buf, ints, out)
    return 0
""",
}


class FixedCallbacks:
    """One family's compiled logp callback and the shared expand callback (numba cfuncs)."""

    def __init__(self, logp: Any, expand: Any):
        self.logp, self.expand = logp, expand


_DENSITIES = {"gaussian": _gaussian_logp, "bernoulli": _bernoulli_logp}
_compiled: dict[str, Any] = {}


def _key() -> str:
    """A hash of the module's source and the compiling libraries: editing either orphans the entry."""
    source = inspect.getsource(sys.modules[__name__])
    return hashlib.sha256(f"{_library_versions()}\n{source}".encode()).hexdigest()


def _cfunc(name: str, signature: Any, env: dict[str, Any]) -> Any:
    """Callback ``name`` (one of ``_SOURCES``), loaded from the disk cache or compiled and stored."""
    if name not in _compiled:
        key = f"{_key()}-{name}" if cache_dir() is not None else None
        source = _SOURCES[name.split(":")[0]]
        func, cache = generated(source, name.split(":")[0], env, key)
        try:
            _compiled[name] = numba.cfunc(signature, cache=cache)(func)
        except OSError:  # the cache could not be written after all (full disk, a race)
            func, _ = generated(source, name.split(":")[0], env, None)
            _compiled[name] = numba.cfunc(signature)(func)
    return _compiled[name]


def callbacks(family: str) -> FixedCallbacks:
    """The C callbacks of ``family``: compiled once per machine (about 3 s), then loaded (0.2 s).

    Examples
    --------
    >>> fixed = callbacks("gaussian")
    >>> fixed.logp.address > 0, fixed.expand.address > 0
    (True, True)
    """
    env = {"numba": numba, "np": np, "void_pointer": void_pointer, "expand": _expand}
    logp = _cfunc(f"bayesreg_fixed_logp:{family}", LOGP_SIG, env | {"density": _DENSITIES[family]})
    return FixedCallbacks(logp, _cfunc("bayesreg_fixed_expand", EXPAND_SIG, env))


def python_density(structure: FixedStructure, values: dict[str, np.ndarray], names: Sequence[str]):
    """The density and expansion as plain Python functions of a flat point (for tests and debugging).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesreg.backend.model import FixedStructure
    >>> s = FixedStructure("bernoulli", "normal", fit_intercept=False)
    >>> values = {"whitening_loc": np.zeros(1), "whitening_scale_tril": np.eye(1),
    ...           "prior_mean": np.zeros(1), "prior_sigma": np.ones(1),
    ...           "X_centered": np.ones((1, 1)), "y_observed": np.ones(1)}
    >>> logp, expand = python_density(s, values, ["z", "coef"])
    >>> value, grad = logp(np.zeros(1))
    >>> round(value, 6), grad.round(6).tolist()   # log(1/2) + log N(0 | 0, 1), and 1/2
    (-1.612086, [0.5])
    """
    buf, ints = pack(structure, values, names)

    def logp(x: np.ndarray) -> tuple[float, np.ndarray]:
        grad = np.empty_like(x)
        return _logp(np.asarray(x, dtype=float), buf, ints, grad), grad

    def expand(x: np.ndarray) -> np.ndarray:
        out = np.empty(int(ints[_N_EXPANDED]))
        _expand(np.asarray(x, dtype=float), buf, ints, out)
        return out

    return logp, expand

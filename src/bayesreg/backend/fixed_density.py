"""Hand-written log densities of bayesreg's linear, logistic and Poisson models, compiled at install.

nutpie needs the model's log density and gradient as a C callback. Derived from the PyMC graph
(:mod:`bayesreg.backend.nutpie_model`), numba compiles that callback for every new model structure
(10-30 s; issue 14), and even written once by hand and cached on disk by numba, a machine's first
fit still compiled it (about 3 s) and every process spent 0.4 s loading it. The structures most
fits use are written here in C instead (``_density.c``, built into ``bayesreg.backend._density``
when bayesreg is installed), so that no fit waits on a compiler:

- the Gaussian linear model on sufficient statistics (:func:`bayesreg.backend.model.build_linear_model`),
  with a known noise sd or a free one under any of its five priors, and the hierarchical one (a
  free prior sd under ``HalfNormal(prior_sigma_prior)``, normal prior, flat intercept) when sampled;
- the Bernoulli-logit model on rows (:func:`bayesreg.backend.model.build_logistic_model`), with or
  without ``sample_weight``;
- the binomial-logit model on rows of counts (:func:`bayesreg.backend.model.build_binomial_model`)
  and the multinomial (softmax) model of K classes
  (:func:`bayesreg.backend.model.build_multinomial_model`), with or without ``sample_weight``;
- the Poisson log-link model on rows (:func:`bayesreg.backend.model.build_poisson_model`), with or
  without ``sample_weight`` and an exposure;

each with a normal, Laplace, elastic-net or flat coefficient prior (one form covers all four:
``c - Σ l1|β - μ| - ½ Σ l2 (β - μ)²``; the multinomial takes the normal), a flat or normal
intercept (flat for K classes), in the whitened coordinates
``β = loc + L z`` the sampler uses. The C is generic in the sizes and reads every number from the
buffer :func:`pack` fills from the model's own ``pm.Data`` containers, so one build serves every
data set, prior and size. Its sums over rows and features may be reassociated (``omp simd``) to
vectorise, so they can differ from a strictly ordered sum in the last bits; on one machine the
same seed still draws the same.

The PyMC model stays the definition: a builder marks a model this module can stand in for
(:class:`bayesreg.backend.model.FixedStructure`), and ``tests/test_fixed_density.py`` checks the
log density, gradient and stored variables of the C functions against PyMC's own on every
combination of options (to 1e-10 relative). One difference is deliberate: for NUTS the L1 term of
a Laplace or elastic-net prior has the gradient of a smooth surrogate (:data:`L1_SMOOTHING`), which
leaves the log density, and so the posterior, exact; the test adds the surrogate's gradient, written
on the model's own L1 term, to PyMC's. A model without the mark (one a builder does not
mark, as a future one before its C is written) takes the derived callbacks. A route never depends
on what is cached, so a seed draws the same in every process.
"""

from __future__ import annotations

import ctypes
import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pymc as pm
from scipy import special

from bayesreg._dims import CLASS_DIM
from bayesreg.backend import _density  # type: ignore[attr-defined]  # the C extension
from bayesreg.backend.model import FEATURE_DIM, FixedStructure

__all__ = [
    "CallableDensity",
    "Callback",
    "FixedCallbacks",
    "callbacks",
    "map_density",
    "pack",
    "python_density",
    "structure_of",
]

# Integer codes shared by the packer and the densities (the enums of _density.c).
_FAMILIES = {"gaussian": 0, "bernoulli": 1, "poisson": 2, "binomial": 3, "multinomial": 4}
_NOISE_CODES = {"known": 0, "halfnormal": 1, "halfcauchy": 2, "halfstudentt": 3, "exponential": 4, "flat": 5}
_LOG_2PI = math.log(2.0 * math.pi)

# ints layout: the header, then the permutation of the expanded vector.
(
    _FAMILY,
    _P,
    _M,
    _ROWS,
    _FIT_INTERCEPT,
    _NOISE,
    _INTERCEPT_PRIOR,
    _N_EXPANDED,
    _CLASSES,
    _FREE_PRIOR_SD,
    _HEADER,
) = range(11)
# buf layout: loc (m), L (m*m), prior mean, l1, l2, x_mean (p each), then the scalars, then the family's data
# (the rows' X in blocks of _density.BLOCK rows, each column by column; the multinomial's row by row).
# p counts the coefficients (K q for K classes of q features, whose x_mean is then q entries, then zeros);
# m = p + the intercepts (1, or the K - 1 contrasts).
_CONST, _INT_MU, _INT_SD, _NOISE_VALUE, _NOISE_CONST, _NOISE_NU, _Y_MEAN, _PRIOR_SD_SCALE, _L1_SMOOTHING = (
    range(9)
)
_N_SCALARS = 9

# The sampler's densities give NUTS the gradient of a smooth surrogate of the L1 term,
# -l1 sqrt(d² + δ²) with δ = L1_SMOOTHING / (l1 √p), in place of -l1 |d| (d = β - μ); their log
# density stays exact. NUTS stays exact with it: leapfrog steps on any potential are reversible and
# volume-preserving, which is all NUTS needs for the target to be invariant when the trajectory's
# weights, and its divergence check, use the exact log density, as they do (the surrogate only
# shapes the proposals: Neal 2011, "MCMC using Hamiltonian dynamics", §5.5.5). The kinks of |d|
# forced small steps: on the breast-cancer Laplace posterior 30 leapfrog steps per draw at step size
# 0.16, against 15 at 0.27 with the surrogate, for the same ESS (benchmarks/README.md). The
# surrogate is within L1_SMOOTHING / √p of the L1 term per coefficient, so the energy it adds along a
# trajectory, a sum over the coefficients near their kinks, stays of one size whatever p.
L1_SMOOTHING = 0.5


def _check_extension() -> None:
    """Refuse an extension built from another _density.c than the one beside it (an edit not rebuilt)."""
    source = Path(__file__).with_name("_density.c")
    built_from = getattr(_density, "SOURCE_SHA256", None)
    stale = _density.N_SCALARS != _N_SCALARS
    if source.exists() and built_from is not None:
        stale = stale or hashlib.sha256(source.read_bytes()).hexdigest() != built_from
    if stale:
        raise ImportError(
            f"bayesreg.backend._density ({_density.__file__}) was built from another version of "
            f"{source.name}: rebuild it with `pip install -e .` (or `sh scripts/setup.sh`)."
        )


_check_extension()


def structure_of(model: pm.Model) -> FixedStructure | None:
    """The mark a builder left on ``model`` if a hand-written density stands in for it, else None.

    Examples
    --------
    >>> import pymc as pm
    >>> structure_of(pm.Model()) is None    # a model no bayesreg builder marked
    True
    """
    return getattr(model, "bayesreg_fixed_structure", None)


# --- packing a model's data ---------------------------------------------------------------------


def _n_intercepts(structure: FixedStructure, classes: int) -> int:
    """How many intercepts the location vector holds: 0, 1, or the K - 1 contrasts of K classes."""
    if not structure.fit_intercept:
        return 0
    return classes - 1 if structure.family == "multinomial" else 1


def _canonical_blocks(structure: FixedStructure, p: int, m: int, classes: int = 1) -> list[tuple[str, int]]:
    blocks = [("z", m)]
    if structure.free_prior_sigma:
        blocks += [("prior_sigma_log__", 1), ("prior_sigma", 1)]
    if structure.family == "gaussian" and structure.noise != "known":
        blocks += [("noise_sigma_log__", 1), ("noise_sigma", 1)]
    blocks.append(("coef", p))
    if structure.fit_intercept:
        n_reported = classes if structure.family == "multinomial" else 1
        blocks += [("intercept_centered", _n_intercepts(structure, classes)), ("intercept", n_reported)]
    return blocks


def _permutation(structure: FixedStructure, p: int, m: int, classes: int, names: Sequence[str]) -> np.ndarray:
    """For each entry of nutpie's expanded vector (variables in ``names`` order), its canonical index."""
    offsets, start = {}, 0
    for name, size in _canonical_blocks(structure, p, m, classes):
        offsets[name] = (start, size)
        start += size
    if sorted(names) != sorted(offsets):
        raise ValueError(f"the model stores {sorted(names)}, the fixed density {sorted(offsets)}")
    return np.concatenate([np.arange(offsets[n][0], offsets[n][0] + offsets[n][1]) for n in names])


def _prior_arrays(structure: FixedStructure, values: dict[str, np.ndarray], p: int, classes: int):
    """(mean, l1, l2, constant) of the coefficient prior, read from the model's Data containers.

    The multinomial's prior has mean 0 and one sd per feature, shared by the classes (p = K q).
    """
    zeros = np.zeros(p)
    if structure.prior == "flat":
        return zeros, zeros, zeros, 0.0
    if structure.free_prior_sigma:  # the C writes the terms in the free sd; here the constants
        scale = float(values["prior_sigma_prior"])
        const = -0.5 * p * _LOG_2PI + _noise_constant("halfnormal", scale, 0.0)
        return np.broadcast_to(values["prior_mean"], (p,)), zeros, zeros, const
    mean = zeros if structure.family == "multinomial" else np.broadcast_to(values["prior_mean"], (p,))
    if structure.prior == "normal":
        sigma = np.broadcast_to(values["prior_sigma"], (classes, p // classes)).ravel()
        const = float(np.sum(-np.log(sigma) - 0.5 * _LOG_2PI))
        return mean, zeros, 1.0 / sigma**2, const
    l1 = np.broadcast_to(values["prior_l1_weight"], (p,))
    l2 = np.broadcast_to(values["prior_l2_precision"], (p,))
    return mean, l1, l2, float(values["prior_log_normaliser"])


def _noise_constant(noise: str, scale: float, nu: float) -> float:
    """The part of the noise sd prior's log density that does not depend on the sd."""
    if noise == "halfnormal":
        return 0.5 * math.log(2.0 / math.pi) - math.log(scale)
    if noise == "halfcauchy":
        return math.log(2.0 / math.pi) - math.log(scale)
    if noise == "halfstudentt":
        log_gammas = math.lgamma(0.5 * (nu + 1.0)) - math.lgamma(0.5 * nu)
        return math.log(2.0) + log_gammas - 0.5 * math.log(nu * math.pi) - math.log(scale)
    if noise == "exponential":  # mean ``scale``
        return -math.log(scale)
    return 0.0  # known, or HalfFlat


def pack(
    structure: FixedStructure,
    values: dict[str, np.ndarray],
    names: Sequence[str],
    *,
    smooth_l1: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The density's (float64 buffer, int64 header) from the model's Data values and stored ``names``.

    ``names`` are the variables nutpie stores, in its order; the header ends with the permutation
    that puts the density's expanded vector in that order. ``smooth_l1`` gives the L1 term of the
    prior the gradient of its smooth surrogate (:data:`L1_SMOOTHING`), for the sampler; without it
    the gradient is the exact (sub)gradient of the log density, for the MAP and everything else.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesreg.backend.model import FEATURE_DIM, FixedStructure
    >>> values = {"whitening_loc": np.zeros(2), "whitening_scale_tril": np.eye(2),
    ...           "prior_mean": np.zeros(2), "prior_sigma": np.ones(2),
    ...           "X_centered": np.ones((3, 2)), "y_observed": np.array([0, 1, 1])}
    >>> buf, ints = pack(FixedStructure("bernoulli", "normal", fit_intercept=False), values, ["coef", "z"])
    >>> buf.size, ints[-4:].tolist()    # coef is stored first, then z
    (35, [2, 3, 0, 1])
    """
    loc = np.asarray(values["whitening_loc"], dtype=float)
    scale_tril = np.asarray(values["whitening_scale_tril"], dtype=float)
    m = loc.size
    classes = int(np.shape(values["y_onehot"])[1]) if structure.family == "multinomial" else 1
    p = m - _n_intercepts(structure, classes)
    mean, l1, l2, const = _prior_arrays(structure, values, p, classes)
    x_mean = np.zeros(p)
    if structure.fit_intercept:
        x_mean[: np.size(values["x_mean"])] = values["x_mean"]
    scalars = np.zeros(_N_SCALARS)
    scalars[_CONST] = const
    if smooth_l1 and p > 0:
        scalars[_L1_SMOOTHING] = L1_SMOOTHING / math.sqrt(p)
    if structure.free_prior_sigma:
        scalars[_PRIOR_SD_SCALE] = values["prior_sigma_prior"]
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
        scalars[_NOISE_CONST] = _noise_constant(structure.noise, scalars[_NOISE_VALUE], scalars[_NOISE_NU])
        scalars[_Y_MEAN] = values["y_mean"]
        r_factor = np.asarray(values["r_factor"], dtype=float)
        rows = r_factor.shape[0]
        data = [r_factor.ravel(), np.asarray(values["qty"], dtype=float), [float(values["n_rows"])]]
    else:  # rows: X, y (one-hot for K classes), their weights, and the Poisson offset or the binomial trials
        X = np.asarray(values["X_centered"], dtype=float)
        rows = X.shape[0]
        y_name = "y_onehot" if structure.family == "multinomial" else "y_observed"
        y = np.asarray(values[y_name], dtype=float)
        weights = np.asarray(values["sample_weight"] if structure.weighted else np.ones(rows), dtype=float)
        data = [X.ravel() if structure.family == "multinomial" else _column_blocks(X), y.ravel(), weights]
        if structure.family == "poisson":
            data.append(
                np.asarray(values["log_exposure"], dtype=float) if structure.offset else np.zeros(rows)
            )
            scalars[_CONST] -= float(np.sum(weights * special.gammaln(y + 1.0)))  # Σ w log y!: a constant
        elif structure.family == "binomial":
            trials = np.asarray(values["trials"], dtype=float)
            data.append(trials)
            # Σ w log C(n, k): a constant
            log_choose = special.gammaln(trials + 1.0) - special.gammaln(y + 1.0)
            log_choose -= special.gammaln(trials - y + 1.0)
            scalars[_CONST] += float(np.sum(weights * log_choose))
    blocks = _canonical_blocks(structure, p, m, classes)
    header = np.zeros(_HEADER, dtype=np.int64)
    header[[_FAMILY, _P, _M, _ROWS, _FIT_INTERCEPT]] = (
        _FAMILIES[structure.family],
        p,
        m,
        rows,
        int(structure.fit_intercept),
    )
    header[_NOISE] = _NOISE_CODES[structure.noise] if structure.family == "gaussian" else 0
    header[_INTERCEPT_PRIOR] = int(structure.intercept_prior)
    header[_N_EXPANDED] = sum(size for _, size in blocks)
    header[_CLASSES] = classes
    header[_FREE_PRIOR_SD] = int(structure.free_prior_sigma)
    ints = np.concatenate([header, _permutation(structure, p, m, classes, names)]).astype(np.int64)
    pieces = [loc, scale_tril.ravel(), mean, l1, l2, x_mean, scalars, *data]
    buf = np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in pieces])
    return np.ascontiguousarray(buf), np.ascontiguousarray(ints)


def _column_blocks(X: np.ndarray, block: int | None = None) -> np.ndarray:
    """X (n, p) as the row densities read it: blocks of ``block`` rows, each one column by column.

    The C block loops then run along contiguous columns (see ``_density.c``); ``block`` is the C
    extension's ``BLOCK`` unless given.

    Examples
    --------
    >>> X = np.arange(10.0).reshape(5, 2)    # rows (0, 1), (2, 3), ..., (8, 9)
    >>> _column_blocks(X, block=2).tolist()  # rows 0-1, then 2-3, then row 4: each by columns
    [0.0, 2.0, 1.0, 3.0, 4.0, 6.0, 5.0, 7.0, 8.0, 9.0]
    """
    block = _density.BLOCK if block is None else block
    n, p = X.shape
    whole = n - n % block
    full = X[:whole].reshape(-1, block, p).transpose(0, 2, 1).ravel()
    return np.concatenate([full, X[whole:].T.ravel()])


# --- the C functions ----------------------------------------------------------------------------


class Callback(NamedTuple):
    """A C function nutpie calls by its address (what it reads of a numba ``cfunc``)."""

    address: int


class FixedCallbacks(NamedTuple):
    """The logp callback (every family: the header names it) and the expand callback."""

    logp: Callback
    expand: Callback


def callbacks() -> FixedCallbacks:
    """The C callbacks nutpie calls, built when bayesreg was installed.

    Examples
    --------
    >>> fixed = callbacks()
    >>> fixed.logp.address > 0, fixed.expand.address > 0
    (True, True)
    """
    return FixedCallbacks(Callback(_density.logp), Callback(_density.expand))


# ctypes views of the same functions, for python_density, the tests and the benchmarks.
_LOGP = ctypes.CFUNCTYPE(
    ctypes.c_int64, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p
)
_EXPAND = ctypes.CFUNCTYPE(
    ctypes.c_int64, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p
)
_HESSIAN = ctypes.CFUNCTYPE(
    ctypes.c_int64, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p
)
_ELEMENTWISE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)
_NO_MEMORY, _NOT_COVERED = 5, 6


def _elementwise(name: str):
    function = _ELEMENTWISE(getattr(_density, name))

    def apply(x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=float)
        out = np.empty_like(x)
        function(x.ctypes.data, out.ctypes.data, x.size)
        return out

    return apply


# The vectorised exp and log1p (of 0 <= e <= 1) the row densities use, alone.
_exp = _elementwise("exp")
_log1p_unit = _elementwise("log1p_unit")


def python_density(
    structure: FixedStructure, values: dict[str, np.ndarray], names: Sequence[str], *, smooth_l1: bool = False
):
    """The C density and expansion as Python functions of a flat point (for tests and debugging).

    ``smooth_l1=True`` gives them as nutpie sees them, with the L1 term's surrogate gradient (see
    :func:`pack`); by default the gradient is the exact one.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesreg.backend.model import FEATURE_DIM, FixedStructure
    >>> s = FixedStructure("bernoulli", "normal", fit_intercept=False)
    >>> values = {"whitening_loc": np.zeros(1), "whitening_scale_tril": np.eye(1),
    ...           "prior_mean": np.zeros(1), "prior_sigma": np.ones(1),
    ...           "X_centered": np.ones((1, 1)), "y_observed": np.ones(1)}
    >>> logp, expand = python_density(s, values, ["z", "coef"])
    >>> value, grad = logp(np.zeros(1))
    >>> round(value, 6), grad.round(6).tolist()   # log(1/2) + log N(0 | 0, 1), and 1/2
    (-1.612086, [0.5])
    """
    density = CallableDensity(*pack(structure, values, names, smooth_l1=smooth_l1))
    return density.logp, density.expand


class CallableDensity:
    """The C functions on one packed buffer and header (which it keeps alive: user_data points at them).

    ``blocks`` names the expanded vector's pieces (name, size) in order, for :meth:`stored`.
    """

    def __init__(self, buf: np.ndarray, ints: np.ndarray, blocks: Sequence[tuple[str, int]] = ()):
        self.buf, self.ints, self.blocks = buf, ints, list(blocks)
        self.user_data = np.array([buf.ctypes.data, buf.size, ints.ctypes.data, ints.size], dtype=np.int64)
        fixed = callbacks()
        self._logp, self._expand = _LOGP(fixed.logp.address), _EXPAND(fixed.expand.address)
        self._hessian = _HESSIAN(_density.hessian)

    def logp(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """The log density at ``x`` and its gradient (not finite values are returned as they are)."""
        x = np.ascontiguousarray(x, dtype=float)
        grad, value = np.empty_like(x), np.full(1, np.nan)
        status = self._logp(
            x.size, x.ctypes.data, grad.ctypes.data, value.ctypes.data, self.user_data.ctypes.data
        )
        if status == _NO_MEMORY:
            raise MemoryError("the fixed density could not allocate its work space")
        return float(value[0]), grad

    def expand(self, x: np.ndarray) -> np.ndarray:
        """Every stored variable at ``x``, in the order of the ``names`` packed."""
        x = np.ascontiguousarray(x, dtype=float)
        out = np.empty(int(self.ints[_N_EXPANDED]))
        status = self._expand(x.size, out.size, x.ctypes.data, out.ctypes.data, self.user_data.ctypes.data)
        if status == _NO_MEMORY:
            raise MemoryError("the fixed density could not allocate its work space")
        return out

    def hessian(self, x: np.ndarray) -> np.ndarray:
        """The Hessian of the log density at ``x`` (the same with or without the log transform's Jacobian)."""
        x = np.ascontiguousarray(x, dtype=float)
        out = np.empty((x.size, x.size))
        status = self._hessian(x.size, x.ctypes.data, out.ctypes.data, self.user_data.ctypes.data)
        if status == _NOT_COVERED:
            raise ValueError("the fixed density has no Hessian with a free prior sd (the MAP fixes it)")
        if status == _NO_MEMORY:
            raise MemoryError("the fixed density could not allocate its work space")
        return out

    def stored(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Every stored variable at ``x`` by name (the pieces ``blocks`` names)."""
        expanded, named, start = self.expand(x), {}, 0
        for name, size in self.blocks:
            named[name] = expanded[start : start + size]
            start += size
        return named


# --- the MAP's density ----------------------------------------------------------------------------

_L1_TERM = "coef_prior_l1"  # the Potential find_map_l1 leaves out and handles itself


def map_density(
    model: pm.Model, output_vars: Sequence[str], exclude_terms: Sequence[str] = ()
) -> CallableDensity | None:
    """The C density of an unwhitened marked model, for its MAP; None if the model is not one it covers.

    Covered: an unwhitened model a builder marked, whose value variables are coef,
    [intercept_centered] and [noise_sigma_log__], reporting any of the stored variables, and leaving
    out nothing or the L1 term (``coef_prior_l1``). The density is packed with ``loc = 0`` and
    ``L = I``, so its z is (coef, intercept_centered), then log sigma;
    :class:`bayesreg.backend.inference.FixedObjective` puts it in the model's order.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesreg.backend.model import build_logistic_model
    >>> from bayesreg.stats.prior_terms import CoefficientPrior
    >>> prior = CoefficientPrior("normal", sigma=np.ones(1), mean=np.zeros(1))
    >>> model = build_logistic_model(np.ones((1, 1)), np.ones(1), feature_names=["x"], prior=prior,
    ...                              fit_intercept=False)
    >>> density = map_density(model, ["coef"])
    >>> round(density.logp(np.zeros(1))[0], 6), density.hessian(np.zeros(1)).tolist()  # -1/4 - 1
    (-1.612086, [[-1.25]])
    """
    structure = structure_of(model)
    if structure is None or structure.whitened or set(exclude_terms) - {_L1_TERM}:
        return None
    expected = ["coef"]
    if structure.fit_intercept:
        expected.append("intercept_centered")
    if structure.family == "gaussian" and structure.noise != "known":
        expected.append("noise_sigma_log__")
    classes = len(model.coords.get(CLASS_DIM, ())) if structure.family == "multinomial" else 1
    p = len(model.coords.get(FEATURE_DIM, ())) * classes
    m = p + _n_intercepts(structure, classes)
    blocks = _canonical_blocks(structure, p, m, classes)
    value_names = [v.name for v in model.value_vars]
    if sorted(value_names) != sorted(expected) or not set(output_vars) <= {name for name, _ in blocks}:
        return None
    values = {d.name: d.get_value() for d in model.data_vars}
    values["whitening_loc"], values["whitening_scale_tril"] = np.zeros(m), np.eye(m)
    if _L1_TERM in exclude_terms and structure.prior in ("laplace", "elasticnet"):
        values["prior_l1_weight"] = np.zeros(p)  # the caller handles the L1 term exactly
    return CallableDensity(*pack(structure, values, [name for name, _ in blocks]), blocks=blocks)

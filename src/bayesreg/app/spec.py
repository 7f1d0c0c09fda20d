"""Model specs: a TOML file that says which data, which model and which sampler settings to run.

A spec is parsed and checked here without importing PyMC, ArviZ or scikit-learn, so that
``bayesreg validate`` and ``bayesreg list`` are fast. Checks that need the data itself (the target
column, a binary target for the logistic model) live in :mod:`bayesreg.app.datasets`.

The format (``schema_version = 1``)::

    schema_version = 1
    description = "one line shown by `bayesreg list`"    # optional
    seed = 0                                            # -> random_state

    [data]                      # exactly one of: dataset, csv, generate
    dataset = "diabetes"        # a scikit-learn bundled set: "diabetes", "breast_cancer", "iris", "wine"
    # csv = "mydata.csv"        # a path relative to the spec file (any path: the file it names is read)
    # target = "y"              # required with csv
    # features = ["a", "b"]     # optional with csv; default: every other column
    # trials = "n"              # optional with csv and kind = "logistic": the column of trials per
                                # row; target then counts the successes (binomial counts)
    # exposure = "years"        # optional with csv and kind = "poisson": each row's exposure (time,
                                # area, population > 0); the rate is counts per unit of it
    # [data.generate]           # a noisy curve y = f(x) + N(0, noise_sd²), x ~ U(x_min, x_max)
    # function = "sin"          # "sin" (sin 2πx) or "cubic" (x³ − x)
    # n_samples = 30, noise_sd = 0.3, x_min = 0.0, x_max = 1.0, seed = 1

    [preprocessing]
    standardize = true          # scale each feature column to mean 0, sd 1 (after expansion)
    polynomial_degree = 1       # expand features into powers/products up to this degree

    [model]
    kind = "linear"             # or "logistic", "poisson" (a count target, log link)
    prior = "normal"            # or "laplace", "elasticnet", "flat"
    prior_sigma = 10.0          # the prior sd; or a list, e.g. [0.1, 1.0, 10.0], for a sweep
    prior_sigma_factor = { bmi = 2.0 }   # optional: feature j gets prior_sigma · factor (default 1)
    prior_mean = 0.0            # optional: a number, or a table keyed by feature name
    l1_ratio = 0.5              # prior = "elasticnet" only: the L1 share of the penalty
    intercept_prior_sigma = 100.0        # optional: a normal intercept prior (default flat)
    intercept_prior_mean = 0.0
    noise_sigma = 54.0          # a known noise sd, or "unknown" (linear only; default "unknown")
    noise_prior = "halfnormal"  # unknown noise: or "halfcauchy", "halfstudentt", "exponential", "flat"
    noise_prior_sigma = 100.0   # optional (linear, unknown noise only)
    noise_prior_nu = 3.0        # halfstudentt's degrees of freedom
    fit_intercept = true

    [sampler]
    method = "mcmc"             # "mcmc", "map", "exact" (linear, known noise), or "laplace"
    draws = 1000
    tune = 1000
    chains = 4
    sample_kwargs = { target_accept = 0.9 }   # optional, passed to pymc.sample
    compute_log_likelihood = true             # store the pointwise log likelihood (for LOO)

Every key of ``[model]`` (but ``kind``) and ``[sampler]`` is the estimator parameter of the same
name; ``seed`` is ``random_state``.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bayesreg.backend.options import RESERVED_SAMPLE_KWARGS
from bayesreg.estimators.validation import LINEAR_CONSTRAINTS, LOGISTIC_CONSTRAINTS, POISSON_CONSTRAINTS

ESTIMATOR_CONSTRAINTS = {
    "linear": LINEAR_CONSTRAINTS,
    "logistic": LOGISTIC_CONSTRAINTS,
    "poisson": POISSON_CONSTRAINTS,
}
# The estimators' rules in the spec's words (TOML has numbers, integers and true/false).
POSITIVE, AT_LEAST_1, AT_LEAST_0 = "a number > 0", "an integer >= 1", "an integer >= 0"

__all__ = [
    "BUNDLED_DATASETS",
    "SCHEMA_VERSION",
    "DataSpec",
    "GenerateSpec",
    "ModelSpec",
    "Spec",
    "SpecError",
    "load_spec",
    "parse_spec",
    "plural",
]

SCHEMA_VERSION = 1
BUNDLED_DATASETS = ("diabetes", "breast_cancer", "iris", "wine")
GENERATORS = ("sin", "cubic")

_TOP_KEYS = ("schema_version", "description", "seed", "data", "preprocessing", "model", "sampler")
_DATA_KEYS = ("dataset", "csv", "target", "features", "generate", "trials", "exposure")
_GENERATE_KEYS = ("function", "n_samples", "noise_sd", "x_min", "x_max", "seed")
_PREPROCESSING_KEYS = ("standardize", "polynomial_degree")
_MODEL_KEYS = (
    "kind",
    "prior",
    "prior_sigma",
    "prior_sigma_factor",
    "prior_mean",
    "l1_ratio",
    "intercept_prior_sigma",
    "intercept_prior_mean",
    "noise_sigma",
    "noise_prior",
    "noise_prior_sigma",
    "noise_prior_nu",
    "fit_intercept",
)
_LINEAR_ONLY_KEYS = ("noise_sigma", "noise_prior", "noise_prior_sigma", "noise_prior_nu")
_SAMPLER_KEYS = ("method", "draws", "tune", "chains", "sample_kwargs", "compute_log_likelihood")


def plural(count: int, word: str) -> str:
    """``count`` and ``word``, with an ``s`` unless the count is one.

    Examples
    --------
    >>> plural(1, "feature"), plural(10, "feature"), plural(0, "row")
    ('1 feature', '10 features', '0 rows')
    """
    return f"{count} {word}{'' if count == 1 else 's'}"


class SpecError(ValueError):
    """A spec that cannot be run; the message is one line that says what to fix."""


@dataclass(frozen=True)
class GenerateSpec:
    """A noisy curve ``y = f(x) + N(0, noise_sd²)`` with ``x ~ U(x_min, x_max)``, from ``seed``."""

    function: str = "sin"
    n_samples: int = 30
    noise_sd: float = 0.3
    x_min: float = 0.0
    x_max: float = 1.0
    seed: int = 0


@dataclass(frozen=True)
class DataSpec:
    """Where the rows come from: a bundled data set, a CSV file, or a generated curve.

    ``csv`` is the file's path (a relative one joined to the spec's folder), ``csv_text`` what the
    spec wrote. The path may point anywhere (``../../x.csv``, an absolute path): a spec reads
    the file it names.
    """

    dataset: str | None = None
    csv: Path | None = None
    csv_text: str | None = None
    target: str | None = None
    features: tuple[str, ...] | None = None
    generate: GenerateSpec | None = None
    trials: str | None = None  # the column of trials per row (binomial counts; csv only)
    exposure: str | None = None  # the column of each row's exposure (Poisson counts; csv only)

    @property
    def label(self) -> str:
        """A short human description, e.g. ``"scikit-learn data set 'diabetes'"``."""
        if self.dataset is not None:
            return f"scikit-learn data set '{self.dataset}'"
        if self.csv is not None:
            return f"CSV file '{self.csv.name}'"
        g = self.generate
        if g is None:
            raise RuntimeError("DataSpec has none of dataset, csv and generate set")
        return (
            f"generated curve '{g.function}' ({g.n_samples} points, noise sd {g.noise_sd:g}, seed {g.seed})"
        )


@dataclass(frozen=True)
class ModelSpec:
    """The model: its kind and the estimator parameters that define it."""

    kind: str = "linear"
    prior_sigma: tuple[float, ...] = (1.0,)
    noise_sigma: float | None = None
    noise_prior_sigma: float | None = None
    fit_intercept: bool = True
    prior: str = "normal"
    # Relative prior sds by feature name (unlisted features 1): feature j gets prior_sigma · factor_j,
    # so a sweep over prior_sigma keeps the features' relative scales (glmnet's penalty.factor).
    prior_sigma_factor: tuple[tuple[str, float], ...] = ()
    prior_mean: float | tuple[tuple[str, float], ...] = 0.0
    l1_ratio: float = 0.5
    intercept_prior_sigma: float | None = None
    intercept_prior_mean: float = 0.0
    noise_prior: str = "halfnormal"
    noise_prior_nu: float = 3.0

    def prior_params(self, prior_sigma: float, feature_names: list[str] | None) -> dict[str, Any]:
        """The estimator's prior parameters for one ``prior_sigma``, per-feature ones by name."""
        named = [name for name, _ in self.prior_sigma_factor]
        if isinstance(self.prior_mean, tuple):
            named += [name for name, _ in self.prior_mean]
        if named and feature_names is None:
            raise ValueError("per-feature prior settings need the feature names of the data")
        if feature_names is not None:
            unknown = sorted(set(named) - set(feature_names))
            if unknown:
                raise SpecError(
                    f"model.prior_sigma_factor / model.prior_mean name features {unknown} that the data "
                    f"does not have; its features (after preprocessing) are {feature_names}"
                )
        sigma: float | dict[str, float] = float(prior_sigma)
        if self.prior_sigma_factor:
            factor = dict(self.prior_sigma_factor)
            sigma = {f: float(prior_sigma) * factor.get(f, 1.0) for f in feature_names or []}
        mean: float | dict[str, float] = self.prior_mean if isinstance(self.prior_mean, float) else 0.0
        if isinstance(self.prior_mean, tuple):
            given = dict(self.prior_mean)
            mean = {f: given.get(f, 0.0) for f in feature_names or []}
        params: dict[str, Any] = {
            "prior_sigma": sigma,
            "prior": self.prior,
            "prior_mean": mean,
            "l1_ratio": self.l1_ratio,
            "intercept_prior_sigma": self.intercept_prior_sigma,
            "intercept_prior_mean": self.intercept_prior_mean,
        }
        if self.kind == "linear":
            params |= {
                "noise_sigma": self.noise_sigma,
                "noise_prior": self.noise_prior,
                "noise_prior_sigma": self.noise_prior_sigma,
                "noise_prior_nu": self.noise_prior_nu,
            }
        return params


@dataclass(frozen=True)
class Spec:
    """A parsed and checked spec; see the module docstring for the file format.

    Attributes
    ----------
    path : pathlib.Path
        The spec file (relative CSV paths are resolved against its folder).
    name : str
        The file's stem; the default output folder is ``runs/<name>``.
    """

    path: Path
    name: str
    data: DataSpec
    model: ModelSpec
    description: str = ""
    seed: int | None = None
    standardize: bool = True
    polynomial_degree: int = 1
    method: str = "mcmc"
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    sample_kwargs: Mapping[str, Any] | None = field(default=None, hash=False)
    compute_log_likelihood: bool = True
    schema_version: int = SCHEMA_VERSION

    @property
    def is_sweep(self) -> bool:
        """True when ``prior_sigma`` lists more than one value."""
        return len(self.model.prior_sigma) > 1

    @property
    def preprocessing_text(self) -> str:
        """What ``[preprocessing]`` does to the features, in words.

        Examples
        --------
        >>> parse_spec({"schema_version": 1, "data": {"dataset": "diabetes"}}, "a.toml").preprocessing_text
        'each feature standardised to mean 0, sd 1'
        """
        steps = []
        if self.polynomial_degree > 1:
            steps.append(f"polynomial features up to degree {self.polynomial_degree}")
        if self.standardize:
            steps.append("each feature standardised to mean 0, sd 1")
        return "; ".join(steps) if steps else "no preprocessing"

    def describe_data(self, n_rows: int, n_features: int, target: str) -> str:
        """One sentence on the data this spec loads, counts pluralised properly.

        Examples
        --------
        >>> spec = parse_spec({"schema_version": 1, "data": {"dataset": "diabetes"}}, "a.toml")
        >>> spec.describe_data(442, 1, "target").split(" (")[0]
        "scikit-learn data set 'diabetes': 442 rows, 1 feature, target 'target'"
        """
        counts = f"{plural(n_rows, 'row')}, {plural(n_features, 'feature')}"
        return f"{self.data.label}: {counts}, target {target!r} ({self.preprocessing_text})"

    def estimator_params(
        self, prior_sigma: float, *, progressbar: bool = True, feature_names: list[str] | None = None
    ) -> dict[str, Any]:
        """Keyword arguments for the estimator of one fit (one ``prior_sigma`` of a sweep).

        ``feature_names`` (the columns after preprocessing) resolve per-feature prior settings.

        Examples
        --------
        >>> spec = parse_spec(
        ...     {"schema_version": 1, "data": {"dataset": "diabetes"},
        ...      "model": {"kind": "linear", "prior_sigma": 2.0, "noise_sigma": 50.0}}, "demo.toml")
        >>> spec.estimator_params(2.0)["noise_sigma"]
        50.0
        """
        params: dict[str, Any] = self.model.prior_params(prior_sigma, feature_names) | {
            "fit_intercept": self.model.fit_intercept,
            "method": self.method,
            "draws": self.draws,
            "tune": self.tune,
            "chains": self.chains,
            "random_state": self.seed,
            "progressbar": progressbar,
            "sample_kwargs": dict(self.sample_kwargs) if self.sample_kwargs is not None else None,
            "compute_log_likelihood": self.compute_log_likelihood,
        }
        return params

    def with_overrides(self, **overrides: Any) -> Spec:
        """A copy with some of ``seed``, ``draws``, ``tune``, ``chains`` replaced (None keeps).

        The values are checked like the spec's own.

        Examples
        --------
        >>> spec = parse_spec({"schema_version": 1, "data": {"dataset": "diabetes"}}, "demo.toml")
        >>> spec.with_overrides(draws=50, tune=None).draws
        50
        """
        allowed = {"seed": _non_negative_int, "draws": _positive_int, "tune": _non_negative_int}
        allowed["chains"] = _positive_int
        changes: dict[str, Any] = {}
        for key, value in overrides.items():
            if key not in allowed:
                raise TypeError(f"cannot override {key!r}")
            if value is not None:
                changes[key] = allowed[key](value, f"--{key}")
        return replace(self, **changes)


# --- checks -----------------------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list"}
    return names.get(type(value), "a table" if isinstance(value, Mapping) else type(value).__name__)


def _estimator_value(value: Any, where: str, kind: str, param: str, words: str) -> Any:
    """``value`` for the estimator parameter ``param``, checked with the estimator's own constraint.

    The rule is the estimator's (``bayesreg.estimators.validation``), so a spec accepts exactly
    what the estimator will; ``words`` says it in the spec's terms (TOML numbers, true/false).
    """
    constraint = ESTIMATOR_CONSTRAINTS[kind][param]
    if constraint.options:
        return _choice(value, where, constraint.options)
    if constraint.accepts(value):
        return value
    got = repr(value) if constraint.right_kind(value) else f"{_type_name(value)} ({value!r})"
    raise SpecError(f"{where} must be {words}, got {got}")


def _positive_float(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(f"{where} must be a number > 0, got {_type_name(value)} ({value!r})")
    if not (math.isfinite(value) and value > 0):
        raise SpecError(f"{where} must be a number > 0, got {value!r}")
    return float(value)


def _float(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(f"{where} must be a finite number, got {_type_name(value)} ({value!r})")
    return float(value)


def _positive_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{where} must be an integer >= 1, got {_type_name(value)} ({value!r})")
    if value < 1:
        raise SpecError(f"{where} must be an integer >= 1, got {value!r}")
    return value


def _non_negative_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{where} must be an integer >= 0, got {_type_name(value)} ({value!r})")
    if not 0 <= value < 2**32:
        raise SpecError(f"{where} must be an integer in [0, 2**32), got {value!r}")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"{where} must be true or false, got {_type_name(value)} ({value!r})")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise SpecError(f"{where} must be a non-empty string, got {_type_name(value)} ({value!r})")
    return value


def _choice(value: Any, where: str, options: tuple[str, ...]) -> str:
    value = _str(value, where)
    if value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise SpecError(f"{where} must be one of {listed}, got {value!r}{_did_you_mean(value, options)}")
    return value


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SpecError(f"[{where}] must be a table, got {_type_name(value)} ({value!r})")
    return value


def _did_you_mean(word: str, options: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_keys(table: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in allowed:
            place = f"in [{where}]" if where else "at the top level"
            raise SpecError(
                f"unknown key {key!r} {place}{_did_you_mean(key, allowed)}; valid keys: {', '.join(allowed)}"
            )


# --- parsing ----------------------------------------------------------------------------------------


def load_spec(path: str | Path) -> Spec:
    """Read and check the TOML spec at ``path``.

    Parameters
    ----------
    path : str or pathlib.Path
        The spec file.

    Returns
    -------
    Spec

    Raises
    ------
    SpecError
        The file is missing, is not TOML, or breaks the schema; the message is one line.

    Examples
    --------
    >>> load_spec("no/such/spec.toml")
    Traceback (most recent call last):
    ...
    bayesreg.app.spec.SpecError: spec file not found: no/such/spec.toml
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"spec file not found: {path}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path} is not a UTF-8 text file") from None
    return parse_spec(raw, path)


def parse_spec(raw: Mapping[str, Any], path: str | Path) -> Spec:
    """Check a spec already read into a dict (as :mod:`tomllib` returns it).

    Parameters
    ----------
    raw : mapping
        The TOML document.
    path : str or pathlib.Path
        Where it came from: its stem names the run, its folder anchors relative CSV paths.

    Returns
    -------
    Spec

    Examples
    --------
    >>> spec = parse_spec({"schema_version": 1, "data": {"dataset": "diabetes"},
    ...                    "model": {"prior_sigma": [0.1, 1.0]}}, "models/sweep.toml")
    >>> spec.name, spec.is_sweep, spec.model.noise_sigma
    ('sweep', True, None)
    >>> parse_spec({"schema_version": 1, "data": {"dataset": "diabetes"}, "modle": {}}, "x.toml")
    Traceback (most recent call last):
    ...
    bayesreg.app.spec.SpecError: unknown key 'modle' at the top level (did you mean 'model'?); ...
    """
    path = Path(path)
    _check_keys(raw, _TOP_KEYS, "")
    if "schema_version" not in raw:
        raise SpecError(f"missing schema_version; add `schema_version = {SCHEMA_VERSION}` at the top")
    version = raw["schema_version"]
    if isinstance(version, bool) or version != SCHEMA_VERSION:
        raise SpecError(
            f"schema_version {version!r} is not supported; this bayesreg reads schema_version = "
            f"{SCHEMA_VERSION}"
        )
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise SpecError(f"description must be a string, got {_type_name(description)}")
    seed = _non_negative_int(raw["seed"], "seed") if "seed" in raw else None

    if "data" not in raw:
        raise SpecError("missing [data] table: give dataset = ..., csv = ... or [data.generate]")
    data = _parse_data(_table(raw["data"], "data"), path)

    pre = _table(raw.get("preprocessing", {}), "preprocessing")
    _check_keys(pre, _PREPROCESSING_KEYS, "preprocessing")
    standardize = _bool(pre.get("standardize", True), "preprocessing.standardize")
    degree = _positive_int(pre.get("polynomial_degree", 1), "preprocessing.polynomial_degree")

    model = _parse_model(_table(raw.get("model", {}), "model"))
    if data.trials is not None and model.kind != "logistic":
        raise SpecError(
            f"data.trials (binomial counts) needs model.kind = 'logistic', not {model.kind!r}: drop "
            "data.trials or set kind = 'logistic'"
        )
    if data.exposure is not None and model.kind != "poisson":
        raise SpecError(
            f"data.exposure (counts per unit of exposure) needs model.kind = 'poisson', not "
            f"{model.kind!r}: drop data.exposure or set kind = 'poisson'"
        )

    sampler = _table(raw.get("sampler", {}), "sampler")
    _check_keys(sampler, _SAMPLER_KEYS, "sampler")
    method = _estimator_value(sampler.get("method", "mcmc"), "sampler.method", model.kind, "method", "")
    if method == "exact" and model.noise_sigma is None:
        raise SpecError(
            'sampler.method = "exact" needs a known model.noise_sigma (a number); '
            'use method = "mcmc" for unknown noise'
        )
    if method == "exact" and model.prior in ("laplace", "elasticnet"):
        raise SpecError(
            f'sampler.method = "exact" needs model.prior = "normal" or "flat": the posterior under '
            f'prior = "{model.prior}" is not Gaussian; use method = "mcmc" or "map"'
        )
    sample_kwargs = sampler.get("sample_kwargs")
    if sample_kwargs is not None:
        sample_kwargs = dict(_table(sample_kwargs, "sampler.sample_kwargs"))
        reserved = sorted(set(sample_kwargs) & set(RESERVED_SAMPLE_KWARGS))
        if reserved:
            raise SpecError(
                f"sampler.sample_kwargs may not set {reserved}: use sampler.draws/tune/chains and seed"
            )

    return Spec(
        path=path,
        name=path.stem,
        description=description,
        seed=seed,
        data=data,
        standardize=standardize,
        polynomial_degree=degree,
        model=model,
        method=method,
        draws=_estimator_value(sampler.get("draws", 1000), "sampler.draws", model.kind, "draws", AT_LEAST_1),
        tune=_estimator_value(sampler.get("tune", 1000), "sampler.tune", model.kind, "tune", AT_LEAST_0),
        chains=_estimator_value(sampler.get("chains", 4), "sampler.chains", model.kind, "chains", AT_LEAST_1),
        sample_kwargs=sample_kwargs,
        compute_log_likelihood=_estimator_value(
            sampler.get("compute_log_likelihood", True),
            "sampler.compute_log_likelihood",
            model.kind,
            "compute_log_likelihood",
            "true or false",
        ),
    )


def _parse_data(table: Mapping[str, Any], spec_path: Path) -> DataSpec:
    _check_keys(table, _DATA_KEYS, "data")
    sources = [k for k in ("dataset", "csv", "generate") if k in table]
    if len(sources) != 1:
        got = f"got {', '.join(sources)}" if sources else "got none"
        raise SpecError(f"[data] needs exactly one of dataset, csv, generate ({got})")
    source = sources[0]
    if source != "csv":
        extra = [k for k in ("target", "features", "trials", "exposure") if k in table]
        if extra:
            raise SpecError(
                f"data.{extra[0]} is only used with data.csv (the {source} names its own columns)"
            )

    if source == "dataset":
        return DataSpec(dataset=_choice(table["dataset"], "data.dataset", BUNDLED_DATASETS))

    if source == "csv":
        return _parse_csv_source(table, spec_path)
    return DataSpec(generate=_parse_generate(table["generate"]))


def _parse_csv_source(table: Mapping[str, Any], spec_path: Path) -> DataSpec:
    text = _str(table["csv"], "data.csv")
    rel = Path(text)
    csv_path = rel if rel.is_absolute() else spec_path.parent / rel
    if not csv_path.is_file():
        raise SpecError(f"data.csv file not found: {csv_path} (paths are relative to the spec file)")
    if "target" not in table:
        raise SpecError("data.target is required with data.csv: name the column to predict")
    target = _str(table["target"], "data.target")
    features = None
    if "features" in table:
        feats = table["features"]
        if not isinstance(feats, list) or not feats or not all(isinstance(f, str) for f in feats):
            raise SpecError(f"data.features must be a non-empty list of column names, got {feats!r}")
        if target in feats:
            raise SpecError(f"data.features must not contain the target column {target!r}")
        if len(set(feats)) != len(feats):
            raise SpecError(f"data.features lists a column twice: {feats!r}")
        features = tuple(feats)
    trials = _row_column(
        table, "trials", target, features, "the trials of each row; the target counts the successes"
    )
    exposure = _row_column(table, "exposure", target, features, "each row's time, area or population")
    if trials is not None and exposure is not None:
        raise SpecError("data.trials (binomial counts) and data.exposure (Poisson counts) exclude each other")
    return DataSpec(
        csv=csv_path, csv_text=text, target=target, features=features, trials=trials, exposure=exposure
    )


def _row_column(
    table: Mapping[str, Any], key: str, target: str, features: tuple[str, ...] | None, meaning: str
) -> str | None:
    """``data.<key>``: a column of per-row numbers that is neither the target nor a feature."""
    if key not in table:
        return None
    column = _str(table[key], f"data.{key}")
    if column == target or (features is not None and column in features):
        raise SpecError(
            f"data.{key} names the column {column!r}, which is also the target or a feature: "
            f"it must be its own column ({meaning})"
        )
    return column


def _parse_generate(raw: Any) -> GenerateSpec:
    gen = _table(raw, "data.generate")
    _check_keys(gen, _GENERATE_KEYS, "data.generate")
    spec = GenerateSpec(
        function=_choice(gen.get("function", "sin"), "data.generate.function", GENERATORS),
        n_samples=_positive_int(gen.get("n_samples", 30), "data.generate.n_samples"),
        noise_sd=_positive_float(gen.get("noise_sd", 0.3), "data.generate.noise_sd"),
        x_min=_float(gen.get("x_min", 0.0), "data.generate.x_min"),
        x_max=_float(gen.get("x_max", 1.0), "data.generate.x_max"),
        seed=_non_negative_int(gen.get("seed", 0), "data.generate.seed"),
    )
    if not spec.x_min < spec.x_max:
        raise SpecError(f"data.generate.x_min ({spec.x_min:g}) must be below x_max ({spec.x_max:g})")
    return spec


def _parse_model(table: Mapping[str, Any]) -> ModelSpec:
    _check_keys(table, _MODEL_KEYS, "model")
    kind = _choice(table.get("kind", "linear"), "model.kind", tuple(ESTIMATOR_CONSTRAINTS))
    raw_sigma = table.get("prior_sigma", 1.0)
    if isinstance(raw_sigma, list):
        if not raw_sigma:
            raise SpecError("model.prior_sigma must not be an empty list")
        sigmas = tuple(
            float(_estimator_value(s, f"model.prior_sigma[{i}]", kind, "prior_sigma", POSITIVE))
            for i, s in enumerate(raw_sigma)
        )
        if len(set(sigmas)) != len(sigmas):
            raise SpecError(f"model.prior_sigma lists a value twice: {list(sigmas)}")
    else:
        sigmas = (float(_estimator_value(raw_sigma, "model.prior_sigma", kind, "prior_sigma", POSITIVE)),)

    noise_sigma = noise_prior_sigma = None
    if kind != "linear":
        for key in _LINEAR_ONLY_KEYS:
            if key in table:
                raise SpecError(f"model.{key} is only for kind = 'linear' (the {kind} model has no noise)")
    else:
        raw_noise = table.get("noise_sigma", "unknown")
        if raw_noise != "unknown":
            if isinstance(raw_noise, str):
                raise SpecError(f'model.noise_sigma must be a number > 0 or "unknown", got {raw_noise!r}')
            noise_sigma = float(
                _estimator_value(raw_noise, "model.noise_sigma", kind, "noise_sigma", POSITIVE)
            )
        if "noise_prior_sigma" in table:
            if noise_sigma is not None:
                raise SpecError('model.noise_prior_sigma is only used when noise_sigma = "unknown"')
            noise_prior_sigma = float(
                _estimator_value(
                    table["noise_prior_sigma"], "model.noise_prior_sigma", kind, "noise_prior_sigma", POSITIVE
                )
            )
    extra = _parse_prior_keys(table, kind, noise_sigma)
    spec = ModelSpec(
        kind=kind,
        prior_sigma=sigmas,
        noise_sigma=noise_sigma,
        noise_prior_sigma=noise_prior_sigma,
        fit_intercept=_estimator_value(
            table.get("fit_intercept", True), "model.fit_intercept", kind, "fit_intercept", "true or false"
        ),
        **extra,
    )
    _check_prior_combinations(spec)
    return spec


def _by_feature(value: Any, where: str, check) -> tuple[tuple[str, float], ...]:
    """A TOML table of numbers keyed by feature name, each checked by ``check``."""
    table = _table(value, where)
    if not table:
        raise SpecError(f"{where} must not be an empty table")
    return tuple((str(name), check(v, f"{where}.{name}")) for name, v in table.items())


def _parse_prior_keys(table: Mapping[str, Any], kind: str, noise_sigma: float | None) -> dict[str, Any]:
    """The prior keys of ``[model]`` beyond prior_sigma and the noise sd, checked one by one."""
    out: dict[str, Any] = {}
    if "prior" in table:
        out["prior"] = _estimator_value(table["prior"], "model.prior", kind, "prior", "")
    if "prior_sigma_factor" in table:
        out["prior_sigma_factor"] = _by_feature(
            table["prior_sigma_factor"], "model.prior_sigma_factor", _positive_float
        )
    if "prior_mean" in table:
        raw = table["prior_mean"]
        out["prior_mean"] = (
            _by_feature(raw, "model.prior_mean", _float)
            if isinstance(raw, Mapping)
            else _float(raw, "model.prior_mean")
        )
    if "l1_ratio" in table:
        out["l1_ratio"] = float(
            _estimator_value(table["l1_ratio"], "model.l1_ratio", kind, "l1_ratio", "a number in [0, 1]")
        )
    if "intercept_prior_sigma" in table:
        out["intercept_prior_sigma"] = _positive_float(
            table["intercept_prior_sigma"], "model.intercept_prior_sigma"
        )
    if "intercept_prior_mean" in table:
        out["intercept_prior_mean"] = _float(table["intercept_prior_mean"], "model.intercept_prior_mean")
    for key in ("noise_prior", "noise_prior_nu"):
        if key in table and noise_sigma is not None:
            raise SpecError(f'model.{key} is only used when noise_sigma = "unknown"')
    if "noise_prior" in table:
        out["noise_prior"] = _estimator_value(
            table["noise_prior"], "model.noise_prior", kind, "noise_prior", ""
        )
    if "noise_prior_nu" in table:
        out["noise_prior_nu"] = _positive_float(table["noise_prior_nu"], "model.noise_prior_nu")
    return out


def _check_prior_combinations(model: ModelSpec) -> None:
    """The estimators' checks of parameters taken together, in the spec's words."""
    from bayesreg.estimators.prior_params import check_prior_combinations

    params = {
        "prior": model.prior,
        "prior_sigma": dict(model.prior_sigma_factor) or model.prior_sigma[0],
        "prior_mean": dict(model.prior_mean) if isinstance(model.prior_mean, tuple) else model.prior_mean,
        "l1_ratio": model.l1_ratio,
        "intercept_prior_sigma": model.intercept_prior_sigma,
        "intercept_prior_mean": model.intercept_prior_mean,
        "noise_prior": model.noise_prior,
        "fit_intercept": model.fit_intercept,
    }
    try:
        check_prior_combinations(params, f"model (kind = {model.kind!r})")
    except ValueError as err:
        raise SpecError(str(err)) from None

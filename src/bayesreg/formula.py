"""Formulas: ``"y ~ x1 + C(g) + x1:x2"`` to a fitted estimator, with the design's names as coordinates.

The formula is parsed and the design built by `formulaic <https://matthewwardrop.github.io/formulaic/>`_,
so categorical terms (``C(g)``), interactions (``x1:x2``, ``x1*x2``), transforms (``np.log(x3)``,
``center(x)``, ``poly(x, 2)``) and the rest of its grammar work, on pandas, polars or pyarrow data.
The left-hand side gives ``y``; the columns of the right-hand side become the features, named as
formulaic names them (``"C(g)[T.b]"``, ``"x1:x2"``), and those names become ``feature_names_in_``
and the ``feature`` coordinate of the posterior. The design's intercept column is not a feature:
it is the estimator's ``fit_intercept`` (flat prior, as always), so ``y ~ x - 1`` or ``y ~ x + 0``
fits without an intercept. New data are encoded by the fitted ``model_spec_``, with the categories,
contrasts and transform states (``center``, ``scale``, ``poly``) of the training data.

Missing values are an error, not dropped: formulaic drops incomplete rows by default, which would
fit fewer rows than given, or predict fewer rows than asked for, without a word. The message names
the column and the rows. A category at predict time that the fit did not see is an error too
(formulaic would encode it as the base level, with a warning).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from bayesreg import from_formula
>>> rng = np.random.default_rng(0)
>>> data = pd.DataFrame({"x": rng.normal(size=60), "g": rng.choice(["a", "b", "c"], size=60)})
>>> data["y"] = 1.0 + 2.0 * data["x"] + 3.0 * (data["g"] == "b") + rng.normal(scale=0.5, size=60)
>>> model = from_formula("y ~ x + C(g)", data, prior_sigma=10.0, noise_sigma=0.5, method="map")
>>> model.feature_names_in_.tolist()
['x', 'C(g)[T.b]', 'C(g)[T.c]']
>>> model.coef_.round(1).tolist(), model.estimator_.fit_intercept
([2.0, 3.1, -0.1], True)
>>> model.predict(pd.DataFrame({"x": [0.0, 0.0], "g": ["a", "b"]})).round(1).tolist()
[1.0, 4.1]
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from bayesreg.estimators.linear import BayesianLinearRegression
from bayesreg.estimators.logistic import BayesianLogisticRegression
from bayesreg.estimators.poisson import BayesianPoissonRegression
from bayesreg.estimators.validation import Constraint, one_of, validate_params

__all__ = ["FormulaModel", "from_formula"]

# model= name -> the estimator the formula's design is given to.
MODELS: dict[
    str, type[BayesianLinearRegression] | type[BayesianLogisticRegression] | type[BayesianPoissonRegression]
] = {
    "linear": BayesianLinearRegression,
    "logistic": BayesianLogisticRegression,
    "poisson": BayesianPoissonRegression,
}
_CONSTRAINTS = {
    "formula": Constraint("a str such as 'y ~ x1 + x2'", lambda v: isinstance(v, str)),
    "model": one_of(*MODELS),
    "context": Constraint(
        "None or a dict (names the formula may use)", lambda v: v is None or isinstance(v, Mapping)
    ),
}
_OWN_PARAMS = ("formula", "model", "context")
_INTERCEPT_TERM = "1"  # formulaic's name of the intercept term


def _is_logistic(self: FormulaModel) -> bool:
    return self.model == "logistic"


class FormulaModel(BaseEstimator):
    """A Bayesian regression specified by a formula, fitted on a DataFrame.

    A scikit-learn meta-estimator: ``fit(data)`` builds the design of ``formula`` on ``data`` with
    formulaic and fits :class:`~bayesreg.BayesianLinearRegression` (``model="linear"``) or
    :class:`~bayesreg.BayesianLogisticRegression` (``model="logistic"``) to it; ``predict(data)``
    encodes new rows with the same categories, contrasts and transform states.

    Parameters
    ----------
    formula : str
        A formulaic formula with a left-hand side, e.g. ``"y ~ x1 + C(g) + x1:x2 + np.log(x3)"``.
        The left-hand side is ``y``: a numeric column or expression for the linear model; for the
        logistic model a column with two labels (0/1, booleans, two strings; ``classes_`` keeps
        them) or an expression giving 0/1. The intercept term decides ``fit_intercept``: a formula
        with ``- 1`` or ``+ 0`` fits none.
    model : {"linear", "logistic", "poisson"}, default "linear"
        Which estimator to fit (``"poisson"``: counts on the left, no exposure).
    context : dict or None, default None
        Extra names the formula may use, such as your own transform functions (formulaic's
        transforms and numpy as ``np`` are always there).
    **params
        Parameters of the estimator (``prior_sigma``, ``noise_sigma``, ``method``, ...), but not
        ``fit_intercept``, which the formula sets. ``get_params``/``set_params`` list and set them
        beside ``formula``, ``model`` and ``context``, so the model clones and grid-searches.

    Attributes
    ----------
    estimator_ : BayesianLinearRegression or BayesianLogisticRegression
        The fitted estimator, with the design's column names as ``feature_names_in_``.
    model_spec_ : formulaic.ModelSpecs
        The fitted specification: ``model_spec_.rhs.get_model_matrix(new_data)`` is the design of
        new rows (intercept column included), ``model_spec_.lhs`` that of ``y``.
    feature_names_in_ : ndarray of str
        The design's column names without the intercept: the coefficients' names, and the
        ``feature`` coordinate of ``idata_``.
    n_features_in_ : int
        Their number.
    coef_, intercept_, idata_ : read through to ``estimator_``
        As on the estimator (``intercept_`` is 0.0 when the formula has no intercept).
    classes_ : ndarray
        The two labels (``model="logistic"`` only).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> data = pd.DataFrame({"x": rng.normal(size=200)})
    >>> data["sick"] = np.where(rng.random(200) < 1 / (1 + np.exp(-2 * data["x"])), "yes", "no")
    >>> model = FormulaModel("sick ~ x", model="logistic", prior_sigma=5.0, method="map").fit(data)
    >>> model.classes_.tolist(), model.coef_.round(1).tolist()
    (['no', 'yes'], [1.9])
    >>> model.predict(pd.DataFrame({"x": [-3.0, 3.0]})).tolist()
    ['no', 'yes']
    """

    def __init__(
        self,
        formula: str,
        model: str = "linear",
        *,
        context: Mapping[str, Any] | None = None,
        **params: Any,
    ):
        self.formula = formula
        self.model = model
        self.context = context
        self._estimator_params = dict(params)

    # --- parameters: formula, model, context and the estimator's own -----------------------------

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """``formula``, ``model``, ``context`` and the estimator parameters given to the constructor."""
        return {
            "formula": self.formula,
            "model": self.model,
            "context": self.context,
            **self._estimator_params,
        }

    def set_params(self, **params: Any) -> FormulaModel:
        """Set ``formula``, ``model``, ``context`` or estimator parameters (checked by ``fit``)."""
        for name, value in params.items():
            if name in _OWN_PARAMS:
                setattr(self, name, value)
            else:
                self._estimator_params[name] = value
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier" if self.model == "logistic" else "regressor"
        tags.target_tags.required = False  # y comes from the formula's left-hand side
        return tags

    # --- fit and predict ---------------------------------------------------------------------------

    def fit(self, data: Any, y: None = None) -> FormulaModel:
        """Build the design of ``formula`` on ``data`` and fit the estimator to it.

        Parameters
        ----------
        data : DataFrame
            pandas, polars or pyarrow, holding every column the formula names.
        y : None
            Not used: ``y`` is the formula's left-hand side (the argument is there for scikit-learn's
            model selection, which passes ``y=None``).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For an unknown ``model``, a formula that does not parse, has no left-hand side or
            names a column ``data`` lacks, missing values in a column the formula uses (named, with
            their rows), or ``fit_intercept`` among the parameters.
        TypeError
            When ``data`` is not a DataFrame, or a parameter is not one of the estimator's.
        """
        for name in ("estimator_", "model_spec_", "feature_names_in_", "n_features_in_"):
            self.__dict__.pop(name, None)
        if y is not None:
            raise TypeError(
                f"FormulaModel.fit takes y from the left-hand side of the formula {self.formula!r}; "
                "got a y argument too. Pass only data."
            )
        validate_params("FormulaModel", self.get_params(), _CONSTRAINTS)
        estimator_class = MODELS[self.model]
        params = self._checked_estimator_params(estimator_class)
        formula = _parse(self.formula)
        frame = _frame(data, "data")
        matrices = _evaluate(
            "data",
            frame.columns,
            lambda: formula.get_model_matrix(data, na_action="ignore", context=self._context()),
        )
        spec = matrices.model_spec
        _check_missing(frame, spec.lhs.required_variables | spec.rhs.required_variables, "data")
        design, fit_intercept = _features(_unwrap(matrices.rhs), spec.rhs, "data")
        target = _target(frame, _unwrap(matrices.lhs), spec.lhs, self.formula)
        estimator = estimator_class(**params, fit_intercept=fit_intercept).fit(design, target)
        self.estimator_ = estimator
        self.model_spec_ = spec
        self.feature_names_in_ = estimator.feature_names_in_
        self.n_features_in_ = estimator.n_features_in_
        return self

    def predict(self, data: Any, **predict_params: Any) -> np.ndarray:
        """Predict for the rows of ``data``, encoded as the training data were.

        ``predict_params`` go to the estimator's ``predict`` (``return_std=True`` for the linear
        model). ``data`` needs the columns of the right-hand side only.
        """
        design = self._design(data)  # checks the fit first
        return self.estimator_.predict(design, **predict_params)

    @available_if(_is_logistic)
    def predict_proba(self, data: Any) -> np.ndarray:
        """Posterior predictive class probabilities, shape (n_rows, 2) (``model="logistic"``)."""
        design = self._design(data)
        estimator: Any = self.estimator_
        return estimator.predict_proba(design)

    @available_if(_is_logistic)
    def decision_function(self, data: Any) -> np.ndarray:
        """The linear predictor ``b + Xw`` of each row (``model="logistic"``)."""
        design = self._design(data)
        estimator: Any = self.estimator_
        return estimator.decision_function(design)

    def score(self, data: Any, y: None = None) -> float:
        """R² (linear) or accuracy (logistic) on ``data``, whose target is the formula's left-hand side."""
        check_is_fitted(self)
        if y is not None:
            raise TypeError("FormulaModel.score takes y from the formula's left-hand side; pass only data.")
        frame = _frame(data, "data")
        spec = self.model_spec_
        _check_missing(frame, spec.lhs.required_variables, "data")
        native = _for_materializer(spec.lhs, data, frame)
        lhs = _evaluate(
            "data", frame.columns, lambda: spec.lhs.get_model_matrix(native, context=self._context())
        )
        target = _target(frame, _unwrap(lhs), spec.lhs, self.formula)
        return float(self.estimator_.score(self._design(data), target))

    # --- read-through of the fitted estimator ------------------------------------------------------

    @property
    def coef_(self) -> np.ndarray:
        """``estimator_.coef_``: posterior means (or the MAP), one per design column."""
        return self.estimator_.coef_

    @property
    def intercept_(self) -> float:
        """``estimator_.intercept_`` (0.0 when the formula has no intercept)."""
        return self.estimator_.intercept_

    @property
    def idata_(self) -> Any:
        """``estimator_.idata_``: the posterior, its ``feature`` coordinate the design's column names."""
        return self.estimator_.idata_

    @property
    def classes_(self) -> np.ndarray:
        """``estimator_.classes_``: the two labels of ``y`` (``model="logistic"`` only)."""
        return self.estimator_.classes_

    # --- helpers -----------------------------------------------------------------------------------

    def _context(self) -> dict[str, Any]:
        return dict(self.context or {})

    def _checked_estimator_params(self, estimator_class: type) -> dict[str, Any]:
        params = self._estimator_params
        if "fit_intercept" in params:
            raise ValueError(
                "fit_intercept is set by the formula, not as a parameter: the formula has an "
                "intercept unless it says '- 1' or '+ 0' (e.g. 'y ~ x - 1'). Leave fit_intercept out."
            )
        known = set(estimator_class().get_params()) - {"fit_intercept"}
        unknown = sorted(set(params) - known)
        if unknown:
            raise TypeError(
                f"FormulaModel got parameters {unknown} that {estimator_class.__name__} "
                f"(model={self.model!r}) does not have; its parameters are {sorted(known)}."
            )
        return dict(params)

    def _design(self, data: Any) -> Any:
        """The features of new rows: the fitted spec's design without its intercept column."""
        check_is_fitted(self)
        frame = _frame(data, "data")
        rhs = self.model_spec_.rhs
        _check_missing(frame, rhs.required_variables, "data")
        native = _for_materializer(rhs, data, frame)
        matrix = _evaluate(
            "data", frame.columns, lambda: rhs.get_model_matrix(native, context=self._context())
        )
        design, _ = _features(_unwrap(matrix), rhs, "data")
        return design


def from_formula(formula: str, data: Any, *, model: str = "linear", **params: Any) -> FormulaModel:
    """Fit a Bayesian regression given by a formula: ``FormulaModel(formula, model, **params).fit(data)``.

    Parameters
    ----------
    formula : str
        A formulaic formula, e.g. ``"y ~ x1 + C(g) + x1:x2 + np.log(x3)"`` (see :class:`FormulaModel`).
    data : DataFrame
        pandas, polars or pyarrow, with every column the formula names.
    model : {"linear", "logistic"}, default "linear"
        :class:`~bayesreg.BayesianLinearRegression` or :class:`~bayesreg.BayesianLogisticRegression`.
    **params
        The estimator's parameters (``prior_sigma``, ``noise_sigma``, ``method``, ...), and
        ``context``; not ``fit_intercept``, which the formula sets (``- 1`` for none).

    Returns
    -------
    FormulaModel
        Fitted; ``estimator_`` is the fitted estimator, ``predict(new_data)`` encodes new rows as
        ``data`` was.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> data = pd.DataFrame({"x1": rng.normal(size=40), "x2": rng.normal(size=40)})
    >>> data["y"] = data["x1"] - data["x2"] + rng.normal(scale=0.1, size=40)
    >>> fit = from_formula("y ~ x1 + x2 - 1", data, noise_sigma=0.1, method="exact", random_state=0)
    >>> fit.estimator_.fit_intercept, fit.idata_["posterior"]["feature"].values.tolist()
    (False, ['x1', 'x2'])
    """
    return FormulaModel(formula, model, **params).fit(data)


# --- data, evaluation and checks -------------------------------------------------------------------


def _parse(formula: str) -> Any:
    """The formulaic formula of ``formula``: one left-hand side, one right-hand side."""
    from formulaic import Formula, SimpleFormula
    from formulaic.errors import FormulaicError

    try:
        parsed = Formula(formula)
    except FormulaicError as exc:
        raise ValueError(f"The 'formula' parameter of FormulaModel does not parse: {exc}") from exc
    if not hasattr(parsed, "lhs"):
        raise ValueError(
            f"The formula {formula!r} has no left-hand side: write the target before '~', as in "
            "'y ~ x1 + x2'."
        )
    if not (isinstance(parsed.lhs, SimpleFormula) and isinstance(parsed.rhs, SimpleFormula)):
        raise ValueError(
            f"The formula {formula!r} must have one left-hand side and one right-hand side "
            "(multi-part formulas, with '|', are not supported)."
        )
    return parsed


def _frame(data: Any, argument: str) -> Any:
    """``data`` as a narwhals DataFrame; a ``TypeError`` naming the argument if it is not a frame."""
    import narwhals.stable.v2 as nw

    if not nw.dependencies.is_into_dataframe(data):
        raise TypeError(
            f"{argument} must be a DataFrame (pandas, polars or pyarrow) holding the formula's "
            f"columns; got {type(data).__name__}."
        )
    return nw.from_native(data, eager_only=True)


def _for_materializer(spec: Any, data: Any, frame: Any) -> Any:
    """``data`` in a form the fitted spec's materializer reads.

    A spec fitted on pandas keeps formulaic's pandas materializer, which reads pandas only: other
    frames are converted. Specs fitted on polars or pyarrow use its narwhals materializer, which
    reads any of them.
    """
    if spec.materializer == "pandas" and not frame.implementation.is_pandas():
        return frame.to_pandas()
    return data


def _unwrap(matrix: Any) -> Any:
    """The native frame inside formulaic's ModelMatrix (a transparent proxy)."""
    return getattr(matrix, "__wrapped__", matrix)


def _evaluate(argument: str, columns: list[str], build: Any) -> Any:
    """Run a formulaic materialisation; its errors and data-mismatch warnings become ``ValueError``."""
    from formulaic.errors import DataMismatchWarning, FormulaicError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", DataMismatchWarning)
            return build()
    except DataMismatchWarning as exc:
        raise ValueError(
            f"{argument} has values the fitted formula has not seen (formulaic would encode them as "
            f"the base level): {str(exc).rstrip('. ')}. Refit on data with every level, or drop those rows."
        ) from None
    except FormulaicError as exc:
        shown = ", ".join(map(str, columns[:20])) + (" ..." if len(columns) > 20 else "")
        raise ValueError(
            f"The formula could not be evaluated on {argument} (columns: {shown}): {exc}"
        ) from exc


def _check_missing(frame: Any, variables: Any, argument: str) -> None:
    """Refuse null or NaN values in the columns of ``frame`` that the formula uses, naming them."""
    problems = []
    for name in sorted(v for v in variables if v in frame.columns):
        rows = np.flatnonzero(_missing(frame[name]))
        if rows.size:
            shown = f"{rows[:10].tolist()}{' ...' if rows.size > 10 else ''}"
            problems.append(f"{name!r} at rows {shown}")
    if problems:
        raise ValueError(
            f"{argument} has missing values (null or NaN) in {'; '.join(problems)}. bayesreg does "
            "not drop incomplete rows (formulaic's default): drop or fill them first, e.g. "
            "data.dropna(subset=[...]) in pandas or data.drop_nulls([...]) in polars."
        )


def _missing(column: Any) -> np.ndarray:
    mask = np.array(column.is_null().to_numpy(), dtype=bool)  # a copy: to_numpy may be read-only
    if column.dtype.is_float():  # polars keeps NaN apart from null
        mask |= np.isnan(np.asarray(column.to_numpy(), dtype=np.float64))
    return mask


def _features(matrix: Any, spec: Any, argument: str) -> tuple[Any, bool]:
    """The design without its intercept column, and whether it had one; non-finite cells refused."""
    import narwhals.stable.v2 as nw

    intercept = [c for s in spec.structure if str(s.term) == _INTERCEPT_TERM for c in s.columns]
    design = nw.from_native(matrix, eager_only=True).drop(intercept)
    if not design.columns:
        raise ValueError(
            f"The formula's right-hand side ({spec.formula}) has no terms besides the intercept: "
            "name at least one feature (the intercept alone is not a regression on anything)."
        )
    values = design.to_numpy().astype(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        rows, cols = np.nonzero(bad)
        names = sorted({design.columns[j] for j in cols})
        shown = f"{np.unique(rows)[:10].tolist()}{' ...' if np.unique(rows).size > 10 else ''}"
        raise ValueError(
            f"The formula's terms {names} are NaN or infinite on {argument} at rows {shown} (a "
            "transform outside its domain, such as np.log of a value <= 0?). Fix those values or "
            "the transform."
        )
    return design.to_native(), bool(intercept)


def _target(frame: Any, lhs_matrix: Any, lhs_spec: Any, formula: str) -> np.ndarray:
    """``y``: the raw column when the left-hand side names one (labels kept), else its one column."""
    import narwhals.stable.v2 as nw

    terms = [str(t).strip("`") for t in lhs_spec.terms]
    if len(terms) == 1 and terms[0] in frame.columns:
        return frame[terms[0]].to_numpy()
    lhs = nw.from_native(lhs_matrix, eager_only=True)
    if len(lhs.columns) != 1:
        raise ValueError(
            f"The left-hand side of {formula!r} gives {len(lhs.columns)} columns ({lhs.columns}); "
            "y must be one column (a numeric expression, or a column with two labels)."
        )
    return lhs[lhs.columns[0]].to_numpy()

"""Every bad input gets a clear error that names the argument and the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayesreg import BayesianLinearRegression, BayesianLogisticRegression

RNG = np.random.default_rng(0)
X_GOOD = RNG.normal(size=(20, 3))
Y_GOOD = X_GOOD @ [1.0, 2.0, 3.0] + RNG.normal(size=20)
LABELS = (Y_GOOD > 0).astype(int)


def linear(**kwargs):
    return BayesianLinearRegression(**({"method": "map"} | kwargs))


def logistic(**kwargs):
    return BayesianLogisticRegression(**({"method": "map"} | kwargs))


@pytest.mark.parametrize("value", [0.0, -1.0, np.inf, np.nan])
@pytest.mark.parametrize("make", [linear, logistic])
def test_prior_sigma_must_be_positive(make, value):
    y = Y_GOOD if make is linear else LABELS
    with pytest.raises(
        ValueError, match=r"'prior_sigma' parameter of Bayesian\w+ must be a float in the range \(0, inf\)"
    ):
        make(prior_sigma=value).fit(X_GOOD, y)


def test_prior_sigma_of_wrong_type():
    with pytest.raises(TypeError, match="'prior_sigma' parameter .* Got '1' instead"):
        linear(prior_sigma="1").fit(X_GOOD, Y_GOOD)


@pytest.mark.parametrize("name", ["noise_sigma", "noise_prior_sigma"])
def test_noise_sigmas_must_be_positive(name):
    with pytest.raises(ValueError, match=f"'{name}' parameter .* None or a float in the range"):
        linear(**{name: -2.0}).fit(X_GOOD, Y_GOOD)


@pytest.mark.parametrize(("name", "value"), [("draws", 0), ("chains", 0), ("tune", -1)])
def test_sampler_sizes(name, value):
    with pytest.raises(ValueError, match=f"'{name}' parameter .* must be an int in the range"):
        linear(**{name: value}).fit(X_GOOD, Y_GOOD)


def test_draws_must_be_int():
    with pytest.raises(TypeError, match="'draws' parameter"):
        linear(draws=10.5).fit(X_GOOD, Y_GOOD)


def test_unknown_method():
    with pytest.raises(
        ValueError, match=r"'method' parameter .* among \{'mcmc', 'map', 'exact', 'laplace'\}. Got 'mcm'"
    ):
        linear(method="mcm").fit(X_GOOD, Y_GOOD)
    with pytest.raises(ValueError, match=r"'method' .* among \{'mcmc', 'map', 'laplace'\}. Got 'exact'"):
        logistic(method="exact").fit(X_GOOD, LABELS)


def test_exact_needs_known_noise():
    with pytest.raises(ValueError, match="method='exact' needs a known noise sd.*Set noise_sigma"):
        linear(method="exact").fit(X_GOOD, Y_GOOD)


def test_sample_kwargs_cannot_override_estimator_parameters():
    with pytest.raises(ValueError, match=r"sample_kwargs may not set \['draws'\]"):
        linear(method="mcmc", noise_sigma=1.0, sample_kwargs={"draws": 5}).fit(X_GOOD, Y_GOOD)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("where", ["X", "y"])
def test_nan_and_inf(bad, where):
    X, y = X_GOOD.copy(), Y_GOOD.copy()
    if where == "X":
        X[3, 1] = bad
    else:
        y[5] = bad
    with pytest.raises(ValueError, match=f"Input {where} contains (NaN|infinity)"):
        linear().fit(X, y)


def test_length_mismatch():
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[20, 19\]"):
        linear().fit(X_GOOD, Y_GOOD[:-1])


def test_one_dimensional_x():
    with pytest.raises(ValueError, match="(?s)Expected 2D array, got 1D array.*Reshape your data"):
        linear().fit(X_GOOD[:, 0], Y_GOOD)


def test_empty_x():
    with pytest.raises(ValueError, match="0 sample"):
        linear().fit(np.empty((0, 3)), np.empty(0))
    with pytest.raises(ValueError, match="0 feature"):
        linear().fit(np.empty((5, 0)), np.ones(5))


def test_non_numeric_columns_are_named():
    frame = pd.DataFrame({"age": [1.0, 2.0, 3.0], "city": ["a", "b", "c"], "ok": [1, 2, 3]})
    with pytest.raises(TypeError, match=r"non-numeric columns \['city'\].*get_dummies"):
        linear().fit(frame, [1.0, 2.0, 3.0])


def test_logistic_one_class():
    # Three or more classes are the multinomial model (tests/test_multinomial.py); one is an error.
    with pytest.raises(ValueError, match=r"at least two classes.*got 1 class: \[1\]"):
        logistic().fit(X_GOOD, np.ones(20, dtype=int))


def test_logistic_continuous_target():
    with pytest.raises(ValueError, match="Unknown label type"):
        logistic().fit(X_GOOD, Y_GOOD)


def test_predict_needs_the_same_columns():
    est = linear(noise_sigma=1.0).fit(X_GOOD, Y_GOOD)
    with pytest.raises(ValueError, match="X has 2 features, but BayesianLinearRegression is expecting 3"):
        est.predict(X_GOOD[:, :2])


def test_predict_before_fit():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        linear().predict(X_GOOD)


def test_constant_y_with_unknown_noise_asks_for_a_scale():
    with pytest.raises(ValueError, match="y is constant.*noise_prior_sigma"):
        linear().fit(X_GOOD, np.ones(20))


def test_ridge_equivalent_with_unknown_noise_needs_a_fit():
    with pytest.raises(ValueError, match="fit the estimator first"):
        linear().ridge_equivalent()


def test_sparse_input_is_refused_clearly():
    from scipy import sparse

    with pytest.raises(TypeError, match="Sparse data was passed"):
        linear().fit(sparse.csr_matrix(X_GOOD), Y_GOOD)


# --- messages that name the cause -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "kwargs"),
    [
        (linear, {}),
        (linear, {"noise_sigma": 1.0}),
        (linear, {"method": "exact", "noise_sigma": 1.0}),
        (linear, {"fit_intercept": False}),
        (logistic, {}),
    ],
)
def test_x_whose_squares_overflow_is_named(make, kwargs):
    X = X_GOOD.copy()
    X[:, 1] *= 1e200  # finite, but its square is not
    y = Y_GOOD if make is linear else LABELS
    with pytest.raises(
        ValueError, match=r"Input X \(column \['x1'\]\) has values too large .* overflow"
    ) as info:
        make(**kwargs).fit(X, y)
    assert "NaN" not in str(info.value) and "infs" not in str(info.value)


def test_overflowing_columns_are_named_by_their_frame_names():
    frame = pd.DataFrame(X_GOOD * [1.0, 1e200, 1e180], columns=["age", "income", "debt"])
    with pytest.raises(ValueError, match=r"Input X \(columns \['income', 'debt'\]\) has values too large"):
        linear().fit(frame, Y_GOOD)


@pytest.mark.parametrize("kwargs", [{}, {"noise_sigma": 1.0}, {"method": "exact", "noise_sigma": 1.0}])
def test_y_whose_squares_overflow_is_named(kwargs):
    with pytest.raises(ValueError, match=r"Input y has values too large for float64 arithmetic.*overflow"):
        linear(**kwargs).fit(X_GOOD, Y_GOOD * 1e200)


@pytest.mark.parametrize("kwargs", [{}, {"noise_prior_sigma": 1e-200}, {"method": "mcmc"}])
def test_tiny_y_is_not_called_constant(kwargs):
    with pytest.raises(ValueError, match=r"Input y varies only by .* underflow float64.*Rescale y") as info:
        linear(**kwargs).fit(X_GOOD, Y_GOOD * 1e-200)
    assert "constant" not in str(info.value)


def test_tiny_y_with_known_noise_still_fits():
    # Only a learned noise sd needs the squares of y; with a known one the posterior mean is linear in y.
    from sklearn.linear_model import Ridge

    est = linear(method="exact", noise_sigma=1.0).fit(X_GOOD, Y_GOOD * 1e-200)
    np.testing.assert_allclose(est.coef_ * 1e200, Ridge(alpha=1.0).fit(X_GOOD, Y_GOOD).coef_, rtol=1e-10)


@pytest.mark.parametrize("value", [3.0, 3e-200])
def test_constant_y_is_constant_at_any_magnitude(value):
    with pytest.raises(ValueError, match=r"y is constant \(n_samples=20\)"):
        linear().fit(X_GOOD, np.full(20, value))


@pytest.mark.parametrize(
    "labels",
    [np.array(["a", None] * 10, dtype=object), ["a", None] * 10, np.array([1, None] * 10, dtype=object)],
    ids=["str-array", "str-list", "int-array"],
)
def test_labels_with_none_are_named(labels):
    with pytest.raises(ValueError, match=r"Input y has missing labels \(None\) at rows \[1, 3, 5,"):
        logistic().fit(X_GOOD, labels)


def test_labels_of_mixed_types_are_named():
    with pytest.raises(ValueError, match=r"Input y mixes labels of types \['int', 'str'\].*one type"):
        logistic().fit(X_GOOD, np.array(["a", 1] * 10, dtype=object))


@pytest.mark.parametrize("make", [linear, logistic])
def test_empty_list_says_there_are_no_rows(make):
    with pytest.raises(ValueError, match=r"fit got an empty X \(\[\]\) and no y: there are no rows to fit"):
        make().fit([])


@pytest.mark.parametrize("make", [linear, logistic])
def test_list_of_rows_without_y_says_y_is_missing(make):
    with pytest.raises(
        ValueError, match=r"target y is None: X is a list of 20 rows, and y must give their 20"
    ):
        make().fit(X_GOOD.tolist())


def test_blocks_as_lists_are_told_to_be_tuples():
    blocks = [[X_GOOD[:10], Y_GOOD[:10]], [X_GOOD[10:], Y_GOOD[10:]]]
    with pytest.raises(ValueError, match=r"X as a list of \[X_block, y_block\] lists.*must be tuples"):
        linear(compute_log_likelihood=False).fit(blocks)


@pytest.mark.parametrize("blocks", [iter([(X_GOOD, LABELS)]), [(X_GOOD, LABELS)]], ids=["iterator", "list"])
def test_logistic_refuses_chunks_saying_why(blocks):
    with pytest.raises(
        TypeError, match=r"BayesianLogisticRegression cannot fit chunked input.*every row in memory"
    ):
        logistic().fit(blocks)

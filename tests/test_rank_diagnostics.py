"""bayesreg's vectorised r̂ and ESS equal ArviZ's on chains of every kind the checks may meet."""

from __future__ import annotations

import arviz as az
import arviz_stats as azs
import numpy as np
import pytest
from arviz_stats.base import array_stats

from bayesreg.backend.diagnostics import check_convergence
from bayesreg.backend.rank_diagnostics import rhat_and_ess

# Both sides run the same arithmetic in a different order (vectorised over variables here, one
# variable at a time in ArviZ): the results differ by a few ulp at most.
RTOL = 1e-12


def _ar1(rng, shape, phi):
    noise = rng.normal(size=shape)
    x = np.zeros(shape)
    for t in range(1, shape[-1]):
        x[..., t] = phi * x[..., t - 1] + noise[..., t]
    return x


def _cases():
    rng = np.random.default_rng(1)
    with_nan = rng.normal(size=(3, 4, 100))
    with_nan[1, 2, 17] = np.nan
    return {
        "iid": rng.normal(size=(5, 4, 1000)),
        "ar1 0.9": _ar1(rng, (5, 4, 1000), 0.9),
        "ar1 0.99, odd draws": _ar1(rng, (4, 3, 501), 0.99),  # the middle draw is dropped by the split
        "antithetic": _ar1(rng, (3, 4, 400), -0.7),  # negative lag-1 autocorrelation: ESS > draws
        "cauchy": rng.standard_cauchy(size=(4, 4, 300)),
        "ties": rng.integers(0, 5, size=(3, 4, 200)).astype(float),  # average ranks of tied draws
        "shifted chain": rng.normal(size=(3, 4, 300)) + np.array([0.0, 0.0, 0.0, 3.0])[None, :, None],
        "random walk": np.cumsum(rng.normal(size=(3, 4, 300)), axis=2),
        "one chain": rng.normal(size=(3, 1, 300)),
        "constant": np.ones((2, 4, 100)),
        "a NaN draw": with_nan,
        "three draws": rng.normal(size=(2, 4, 3)),
        # Chains stuck at two values: every folded draw is equal, so the tail r̂ is 0 / 0 and ArviZ
        # keeps the bulk one.
        "stuck chains": np.repeat(np.array([0.0, 0.0, 1.0, 1.0])[None, :, None], 100, axis=2),
    }


CASES = _cases()


@pytest.mark.parametrize("name", list(CASES))
def test_equal_to_arviz(name):
    draws = CASES[name]
    prob = az.rcParams["stats.ci_prob"]
    with np.errstate(invalid="ignore", divide="ignore"):  # ArviZ's 0 / 0 for constant draws
        expected = {
            "rhat": array_stats.rhat(draws),
            "bulk": array_stats.ess(draws, method="bulk"),
            "tail": array_stats.ess(draws, method="tail", prob=prob),
        }
    got = dict(zip(["rhat", "bulk", "tail"], rhat_and_ess(draws), strict=True))
    for key in expected:
        np.testing.assert_allclose(got[key], np.asarray(expected[key], float), rtol=RTOL, err_msg=key)


def test_convergence_report_equals_arviz_over_variables_of_any_shape():
    rng = np.random.default_rng(5)
    posterior = {
        "coef": _ar1(rng, (3, 2, 4, 600), 0.8).transpose(2, 3, 0, 1),  # (chain, draw, 3, 2)
        "intercept": rng.normal(size=(4, 600)),
    }
    idata = az.from_dict({"posterior": posterior})
    report = check_convergence(idata)
    data = idata["posterior"].to_dataset()
    extreme = {
        "r_hat": max(float(azs.rhat(data)[v].max()) for v in posterior),
        "bulk": min(float(azs.ess(data, method="bulk")[v].min()) for v in posterior),
        "tail": min(float(azs.ess(data, method="tail")[v].min()) for v in posterior),
    }
    np.testing.assert_allclose(report.max_r_hat, extreme["r_hat"], rtol=RTOL)
    np.testing.assert_allclose(report.min_ess_bulk, extreme["bulk"], rtol=RTOL)
    np.testing.assert_allclose(report.min_ess_tail, extreme["tail"], rtol=RTOL)

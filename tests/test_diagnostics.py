"""Convergence checks on constructed chains whose answer is known."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
import xarray as xr

from bayesreg import ConvergenceWarning
from bayesreg.backend.diagnostics import check_convergence, warn_if_not_converged


def tree(draws, diverging=None):
    idata = az.from_dict({"posterior": {"x": draws}})
    if diverging is not None:
        idata["sample_stats"] = xr.Dataset({"diverging": (("chain", "draw"), diverging)})
    return idata


def test_iid_chains_converge():
    draws = np.random.default_rng(0).normal(size=(4, 500))
    report = check_convergence(tree(draws, np.zeros((4, 500), bool)))
    assert report.converged and report.max_r_hat < 1.01 and report.min_ess_bulk > 1500
    warn_if_not_converged(report)  # no warning (warnings are errors in this test suite)


def test_shifted_chain_fails_r_hat():
    draws = np.random.default_rng(1).normal(size=(4, 500))
    draws[0] += 1.0
    report = check_convergence(tree(draws))
    assert not report.converged
    assert any("r_hat" in p and "increase `tune`" in p for p in report.problems)


def test_sticky_chains_fail_ess():
    rng = np.random.default_rng(2)
    draws = np.cumsum(rng.normal(scale=0.05, size=(4, 500)), axis=1)  # random walks
    report = check_convergence(tree(draws))
    assert report.min_ess_bulk < 400
    assert any("effective sample size" in p for p in report.problems)


def test_divergences_are_counted_and_fail():
    draws = np.random.default_rng(3).normal(size=(4, 500))
    diverging = np.zeros((4, 500), bool)
    diverging[1, [3, 9]] = True
    report = check_convergence(tree(draws, diverging))
    assert report.n_divergences == 2
    assert not report.converged and "target_accept" in report.problems[0]
    with pytest.warns(ConvergenceWarning, match="2 divergent transitions"):
        warn_if_not_converged(report)


def test_one_chain_cannot_show_convergence():
    draws = np.random.default_rng(4).normal(size=(1, 1000))
    report = check_convergence(tree(draws))
    assert not report.converged
    assert any("at least two chains" in p for p in report.problems)

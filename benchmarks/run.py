"""Time bayesreg against plain PyMC and sklearn on the same data, in one run: linear and logistic.

Each (method, size) runs in its own subprocess so that peak memory (max RSS) is its own; inside it
the fit is repeated, the first (cold: compilation included) and the median of the rest (warm) are
reported. Ratios are against the plain row-wise PyMC model sampled by nutpie, measured in the same
run, and so is "max |z| vs plain": the largest ``|mean_a − mean_b| / sqrt(mcse_a² + mcse_b²)`` over
the coefficients (about 3 or less when both samplers target the same posterior). Sizes are
``NxP`` (linear, Gaussian noise) or ``logitNxP`` (logistic), or ``diabetes``. Usage::

    python benchmarks/run.py                      # default sizes, 3 repeats
    python benchmarks/run.py --sizes diabetes 1e4x20 logit1e4x20 --repeats 5
    python benchmarks/run.py --sizes diabetes logit1e4x20 --repeats 2 --draws 50   # smoke test

Nothing here asserts a time; the tests check that the fast paths give the same posterior.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

LINEAR_SIZES = ["diabetes", "1e4x20", "1e4x50", "1e5x50", "1e6x50"]
LOGISTIC_SIZES = ["logit1e4x20", "logit1e5x20"]
LINEAR_METHODS = ["sklearn_ridge", "bayesreg_exact", "bayesreg_mcmc", "plain_pymc_nutpie", "plain_pymc_pymc"]
# plain_pymc_nutpie_blas1: the same plain model, with BLAS held to one thread per chain as bayesreg
# does (nutpie's chains are threads; without the limit each row-wise gradient oversubscribes the CPUs).
LOGISTIC_METHODS = [
    "sklearn_logistic",
    "bayesreg_mcmc",
    "plain_pymc_nutpie",
    "plain_pymc_nutpie_blas1",
    "plain_pymc_pymc",
]
DRAWS, TUNE, CHAINS = 300, 300, 2
PRIOR_SIGMA, NOISE_SIGMA = 1.0, 2.0
PLAIN_MAX_ROWS = 100_000  # beyond this a plain row-wise fit takes tens of minutes here
DIABETES_ROWS = 442


def parse_size(size: str) -> tuple[str, int, int]:
    """``(model, n_rows, n_features)`` of a size name: "diabetes", "1e5x50" or "logit1e5x20"."""
    if size == "diabetes":
        return "linear", DIABETES_ROWS, 10
    model = "logistic" if size.startswith("logit") else "linear"
    n, p = (int(float(part)) for part in size.removeprefix("logit").split("x"))
    return model, n, p


def make_data(size: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    if size == "diabetes":
        from sklearn.datasets import load_diabetes

        X, y = load_diabetes(return_X_y=True)
        return (X - X.mean(0)) / X.std(0), y
    model, n, p = parse_size(size)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    if model == "linear":
        y = 1.0 + X @ rng.normal(size=p) + rng.normal(scale=NOISE_SIGMA, size=n)
        return X, y
    X = (X - X.mean(0)) / X.std(0)
    # Linear predictor sd about 2.2: far from separable at these n/p, yet informative.
    eta = -0.5 + X @ rng.normal(scale=0.5, size=p)
    y = (eta + rng.logistic(size=n) > 0).astype(np.int64)
    return X, y


def coef_summary(idata) -> tuple[np.ndarray, np.ndarray, float]:
    """Posterior means and MCSE of coef, and the smallest bulk ESS over coef."""
    import arviz as az

    post = idata["posterior"].to_dataset()[["coef"]]
    mean = post["coef"].mean(("chain", "draw")).values
    return mean, az.mcse(post)["coef"].values, float(az.ess(post)["coef"].values.min())


def plain_model(model: str, X: np.ndarray, y: np.ndarray):
    """The obvious row-wise PyMC model with bayesreg's priors (flat intercept, N(0, σ²) coef)."""
    import pymc as pm

    with pm.Model(coords={"feature": np.arange(X.shape[1])}) as pm_model:
        coef = pm.Normal("coef", 0.0, PRIOR_SIGMA, dims="feature")
        intercept = pm.Flat("intercept")
        eta = intercept + pm.math.dot(X, coef)
        if model == "linear":
            pm.Normal("y", eta, NOISE_SIGMA, observed=y)
        else:
            pm.Bernoulli("y", logit_p=eta, observed=y)
    return pm_model


def fit_once(method: str, model: str, X: np.ndarray, y: np.ndarray, seed: int, draws: int, tune: int):
    """One fit; returns (seconds, idata or None, coefficient means)."""
    import warnings

    start = time.perf_counter()
    if method == "sklearn_ridge":
        from sklearn.linear_model import Ridge

        coef = Ridge(alpha=NOISE_SIGMA**2 / PRIOR_SIGMA**2).fit(X, y).coef_
        return time.perf_counter() - start, None, coef
    if method == "sklearn_logistic":
        from sklearn.linear_model import LogisticRegression

        coef = LogisticRegression(C=PRIOR_SIGMA**2).fit(X, y).coef_[0]
        return time.perf_counter() - start, None, coef
    sampler = dict(draws=draws, tune=tune, chains=CHAINS, random_state=seed, progressbar=False)
    if method.startswith("bayesreg"):
        if model == "linear":
            from bayesreg import BayesianLinearRegression

            est = BayesianLinearRegression(
                PRIOR_SIGMA,
                noise_sigma=NOISE_SIGMA,
                method="exact" if method == "bayesreg_exact" else "mcmc",
                compute_log_likelihood=False,
                **sampler,
            )
        else:
            from bayesreg import BayesianLogisticRegression

            est = BayesianLogisticRegression(PRIOR_SIGMA, compute_log_likelihood=False, **sampler)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
        return time.perf_counter() - start, est.idata_, est.coef_
    import contextlib

    import pymc as pm
    from threadpoolctl import threadpool_limits

    one_blas_thread = method.endswith("_blas1")
    limit = threadpool_limits(limits=1, user_api="blas") if one_blas_thread else contextlib.nullcontext()
    with plain_model(model, X, y), limit:
        idata = pm.sample(
            draws,
            tune=tune,
            chains=CHAINS,
            random_seed=seed,
            progressbar=False,
            nuts_sampler=method.removeprefix("plain_pymc_").removesuffix("_blas1"),
            compute_convergence_checks=False,
        )
    seconds = time.perf_counter() - start
    return seconds, idata, idata["posterior"]["coef"].mean(("chain", "draw")).values


def worker(method: str, size: str, repeats: int, draws: int, tune: int) -> dict:
    model = parse_size(size)[0]
    X, y = make_data(size)
    times, ess_rates, mean, mcse = [], [], None, None
    for r in range(repeats):
        seconds, idata, coef = fit_once(method, model, X, y, seed=r, draws=draws, tune=tune)
        times.append(seconds)
        mean, mcse = np.asarray(coef), None
        if idata is not None:
            mean, mcse, min_ess = coef_summary(idata)
            ess_rates.append(min_ess / seconds)
    warm = times[1:] or times
    return {
        "method": method,
        "size": size,
        "cold_s": times[0],
        "warm_median_s": statistics.median(warm),
        "min_ess_per_s": statistics.median(ess_rates[1:] or ess_rates) if ess_rates else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        # Of the last repeat: what "max |z| vs plain" compares.
        "coef_mean": mean.tolist(),
        "coef_mcse": None if mcse is None else mcse.tolist(),
    }


def run(sizes: list[str], repeats: int, draws: int, tune: int) -> list[dict]:
    rows = []
    for size in sizes:
        model, n_rows, _ = parse_size(size)
        for method in LINEAR_METHODS if model == "linear" else LOGISTIC_METHODS:
            if method.startswith("plain") and n_rows > PLAIN_MAX_ROWS:
                continue
            reps = 1 if method.startswith("plain") and n_rows >= PLAIN_MAX_ROWS else repeats
            out = subprocess.run(
                [sys.executable, __file__, "--worker", method, size, str(reps), str(draws), str(tune)],
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(f"  {size:>11} {method:<18} warm {row['warm_median_s']:8.2f} s", file=sys.stderr)
    return rows


def max_abs_z(row: dict, reference: dict | None) -> str:
    """Largest |difference of posterior means| / joint MCSE over coef, against ``reference``."""
    if row["coef_mcse"] is None or row["method"] == "bayesreg_exact":
        return "-"
    if reference is None:
        return "n/a"
    if row is reference:
        return "-"
    diff = np.asarray(row["coef_mean"]) - np.asarray(reference["coef_mean"])
    joint = np.hypot(row["coef_mcse"], reference["coef_mcse"])
    return f"{np.max(np.abs(diff) / joint):.2f}"


def table(rows: list[dict]) -> str:
    lines = [
        "| size | method | cold (s) | warm median (s) | min ESS/s | peak RSS (MB) "
        "| warm speed-up vs plain nutpie | max \\|z\\| vs plain |",
        "|---|---|---|---|---|---|---|---|",
    ]
    plain = {r["size"]: r for r in rows if r["method"] == "plain_pymc_nutpie"}
    for r in rows:
        reference = plain.get(r["size"])
        ratio = f"{reference['warm_median_s'] / r['warm_median_s']:.1f}x" if reference else "n/a"
        ess = f"{r['min_ess_per_s']:.0f}" if r["min_ess_per_s"] is not None else "-"
        lines.append(
            f"| {r['size']} | {r['method']} | {r['cold_s']:.2f} | {r['warm_median_s']:.2f} | {ess} "
            f"| {r['peak_rss_mb']:.0f} | {ratio} | {max_abs_z(r, reference)} |"
        )
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        method, size, *numbers = sys.argv[2:]
        print(json.dumps(worker(method, size, *map(int, numbers))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=LINEAR_SIZES + LOGISTIC_SIZES)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--draws", type=int, default=DRAWS, help="draws and tuning steps per chain")
    args = parser.parse_args()
    for size in args.sizes:
        try:
            parse_size(size)
        except ValueError:
            parser.error(f"unknown size {size!r}: use diabetes, NxP or logitNxP (e.g. 1e4x20, logit1e4x20)")
    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}"
    )
    print(f"draws={args.draws} tune={args.draws} chains={CHAINS}, repeats={args.repeats}\n")
    print(table(run(args.sizes, args.repeats, args.draws, args.draws)))


if __name__ == "__main__":
    main()

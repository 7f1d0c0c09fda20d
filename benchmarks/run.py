"""Time bayesreg against plain PyMC, sklearn and the exact sampler on the same data, in one run.

Each (method, size) runs in its own subprocess so that peak memory (max RSS) is its own; inside it
the fit is repeated, the first (cold: compilation included) and the median of the rest (warm) are
reported. Ratios are against the plain row-wise PyMC model sampled by nutpie, measured in the same
run. Usage::

    python benchmarks/run.py                      # default sizes, 3 repeats
    python benchmarks/run.py --sizes diabetes 1e4x20 --repeats 5

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

LINEAR_SIZES = ["diabetes", "1e4x20", "1e5x50", "1e6x50"]
DRAWS, TUNE, CHAINS = 300, 300, 2
PLAIN_MAX_ROWS = 100_000  # beyond this a plain row-wise fit takes tens of minutes here


def make_data(size: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    if size == "diabetes":
        from sklearn.datasets import load_diabetes

        X, y = load_diabetes(return_X_y=True)
        return (X - X.mean(0)) / X.std(0), y
    n, p = (int(float(part)) for part in size.split("x"))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = 1.0 + X @ rng.normal(size=p) + rng.normal(scale=2.0, size=n)
    return X, y


def min_ess_per_second(idata, seconds: float) -> float:
    import arviz as az

    ess = az.ess(idata["posterior"].to_dataset()[["coef"]])["coef"].values
    return float(ess.min() / seconds)


def fit_once(method: str, X: np.ndarray, y: np.ndarray, seed: int):
    """One fit; returns (seconds, idata or None, coefficient means)."""
    import warnings

    start = time.perf_counter()
    if method == "sklearn_ridge":
        from sklearn.linear_model import Ridge

        coef = Ridge(alpha=4.0 / 1.0).fit(X, y).coef_
        return time.perf_counter() - start, None, coef
    if method.startswith("bayesreg"):
        from bayesreg import BayesianLinearRegression

        est = BayesianLinearRegression(
            1.0,
            noise_sigma=2.0,
            method="exact" if method == "bayesreg_exact" else "mcmc",
            draws=DRAWS,
            tune=TUNE,
            chains=CHAINS,
            random_state=seed,
            progressbar=False,
            compute_log_likelihood=False,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
        return time.perf_counter() - start, est.idata_, est.coef_
    import pymc as pm

    sampler = method.removeprefix("plain_pymc_")
    with pm.Model(coords={"feature": np.arange(X.shape[1])}):
        coef = pm.Normal("coef", 0.0, 1.0, dims="feature")
        intercept = pm.Flat("intercept")
        pm.Normal("y", intercept + pm.math.dot(X, coef), 2.0, observed=y)
        idata = pm.sample(
            DRAWS,
            tune=TUNE,
            chains=CHAINS,
            random_seed=seed,
            progressbar=False,
            nuts_sampler=sampler,
            compute_convergence_checks=False,
        )
    seconds = time.perf_counter() - start
    return seconds, idata, idata["posterior"]["coef"].mean(("chain", "draw")).values


def worker(method: str, size: str, repeats: int) -> dict:
    X, y = make_data(size)
    times, ess_rates, means = [], [], None
    for r in range(repeats):
        seconds, idata, coef = fit_once(method, X, y, seed=r)
        times.append(seconds)
        if idata is not None:
            ess_rates.append(min_ess_per_second(idata, seconds))
        means = np.asarray(coef).tolist()
    warm = times[1:] or times
    return {
        "method": method,
        "size": size,
        "cold_s": times[0],
        "warm_median_s": statistics.median(warm),
        "min_ess_per_s": statistics.median(ess_rates[1:] or ess_rates) if ess_rates else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "coef_mean": means,
    }


def run(sizes: list[str], repeats: int) -> list[dict]:
    rows = []
    methods = ["sklearn_ridge", "bayesreg_exact", "bayesreg_mcmc", "plain_pymc_nutpie", "plain_pymc_pymc"]
    for size in sizes:
        n_rows = len(make_data(size)[1])
        for method in methods:
            if method.startswith("plain") and n_rows > PLAIN_MAX_ROWS:
                continue
            reps = 1 if method.startswith("plain") and n_rows >= PLAIN_MAX_ROWS else repeats
            out = subprocess.run(
                [sys.executable, __file__, "--worker", method, size, str(reps)],
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(f"  {size:>9} {method:<18} warm {row['warm_median_s']:8.2f} s", file=sys.stderr)
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| size | method | cold (s) | warm median (s) | min ESS/s | peak RSS (MB) "
        "| warm speed-up vs plain nutpie |",
        "|---|---|---|---|---|---|---|",
    ]
    baseline = {r["size"]: r["warm_median_s"] for r in rows if r["method"] == "plain_pymc_nutpie"}
    for r in rows:
        base = baseline.get(r["size"])
        ratio = f"{base / r['warm_median_s']:.1f}x" if base else "n/a"
        ess = f"{r['min_ess_per_s']:.0f}" if r["min_ess_per_s"] is not None else "-"
        lines.append(
            f"| {r['size']} | {r['method']} | {r['cold_s']:.2f} | {r['warm_median_s']:.2f} | {ess} "
            f"| {r['peak_rss_mb']:.0f} | {ratio} |"
        )
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=LINEAR_SIZES)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}"
    )
    print(f"draws={DRAWS} tune={TUNE} chains={CHAINS}, repeats={args.repeats}\n")
    print(table(run(args.sizes, args.repeats)))


if __name__ == "__main__":
    main()

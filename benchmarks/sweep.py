"""Compile-once checks: import time, a cold fit, a warm refit, and a sweep over 10 prior scales.

Each figure is the median of several repeats, measured in this one process (the import time in fresh
subprocesses). Usage: ``python benchmarks/sweep.py [--size 1e4x20] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np


def import_seconds(repeats: int) -> float:
    code = "import time; t = time.perf_counter(); import bayesreg; print(time.perf_counter() - t)"
    runs = [float(subprocess.check_output([sys.executable, "-c", code], text=True)) for _ in range(repeats)]
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1e4x20")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n, p = (int(float(part)) for part in args.size.split("x"))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, p))
    y = 1.0 + X @ rng.normal(size=p) + rng.normal(scale=2.0, size=n)

    from bayesreg import BayesianLinearRegression

    def fit(sigma: float, seed: int) -> float:
        est = BayesianLinearRegression(
            sigma, noise_sigma=2.0, draws=300, tune=300, chains=2, random_state=seed,
            progressbar=False, compute_log_likelihood=False,
        )  # fmt: skip
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
        return time.perf_counter() - start

    print(f"import bayesreg: {import_seconds(args.repeats):.3f} s (median of {args.repeats})")
    cold = fit(1.0, 0)
    warm = statistics.median(fit(1.0, r) for r in range(1, args.repeats + 1))
    sigmas = np.logspace(-2, 2, 10)
    sweeps = []
    for r in range(args.repeats):
        start = time.perf_counter()
        for sigma in sigmas:
            fit(float(sigma), r)
        sweeps.append(time.perf_counter() - start)
    sweep = statistics.median(sweeps)
    print(f"data {args.size}, 2 chains x 300 draws (+300 tune)")
    print(f"first fit (compiles): {cold:.2f} s; same-shape refit: {warm:.2f} s ({cold / warm:.0f}x cheaper)")
    print(f"sweep over 10 prior scales: {sweep:.2f} s = {sweep / cold:.2f} x the first fit")


if __name__ == "__main__":
    main()

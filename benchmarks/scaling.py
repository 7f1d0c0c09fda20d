"""How the linear fit's cost grows with rows: 10⁴ × 50 against 10⁶ × 50, in one process.

The sampler's cost does not depend on the number of rows (the likelihood is written on sufficient
statistics), so what grows is the one pass over the data: input checks and the blocked QR of
``[Xc | yc]`` (``bayesreg.stats.suffstats``). Both sizes are fitted warm (after one compiling fit), with
the estimator's default draws (4 chains × 1000 + 1000 tune) and with run.py's short setting
(2 × 300 + 300), and the time of the statistics alone is shown beside them. Usage::

    python benchmarks/scaling.py [--repeats 5]

Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import warnings

import numpy as np

SIZES = [(10_000, 50), (1_000_000, 50)]
SETTINGS = {"defaults (4 x 1000+1000)": {}, "short (2 x 300+300)": {"draws": 300, "tune": 300, "chains": 2}}


def make_data(n: int, p: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, p))
    return X, 1.0 + X @ rng.normal(size=p) + rng.normal(scale=2.0, size=n)


def median_seconds(func, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from bayesreg import BayesianLinearRegression
    from bayesreg.stats.suffstats import sufficient_stats

    def fit(X, y, seed, **kw):
        est = BayesianLinearRegression(
            1.0, noise_sigma=2.0, random_state=seed, progressbar=False, compute_log_likelihood=False, **kw
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)

    data = {size: make_data(*size) for size in SIZES}
    fit(*data[SIZES[0]], 0)  # compile once; every later fit reuses the compiled model
    print(f"machine: {platform.machine()}, python {platform.python_version()}; medians of {args.repeats}\n")
    print("| setting | 1e4x50 fit (s) | 1e6x50 fit (s) | ratio | 1e6x50 statistics alone (s) |")
    print("|---|---|---|---|---|")
    stats_time = median_seconds(lambda: sufficient_stats(*data[SIZES[1]], fit_intercept=True), args.repeats)
    for label, kw in SETTINGS.items():
        seconds = [
            median_seconds(lambda d=data[size], kw=kw: fit(*d, 1, **kw), args.repeats) for size in SIZES
        ]
        ratio = seconds[1] / seconds[0]
        print(
            f"| {label} | {seconds[0]:.2f} | {seconds[1]:.2f} | {ratio:.2f}x | {stats_time:.2f} |", flush=True
        )


if __name__ == "__main__":
    main()

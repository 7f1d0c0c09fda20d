"""Peak memory and time of linear fits on data in chunks, against the same data in memory.

The rows are generated block by block from a fixed seed (block ``i`` uses seed ``(seed, i)``), so
every variant sees the same numbers, and a 10⁷ × 50 problem (4 GB as one float64 array) never
exists in full. Each variant runs in its own subprocess, so its peak RSS is its own; "generate
only" reads the same blocks without fitting, to separate the cost of making the data from the cost
of fitting it. Usage::

    python benchmarks/chunked.py                    # 1e6 and 1e7 rows, 50 features
    python benchmarks/chunked.py --rows 1e6 --repeats 3

Nothing here asserts a time; tests/test_chunks.py checks that chunked fits give the same posterior.
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

P = 50
BLOCK_ROWS = 100_000
DRAWS, TUNE, CHAINS = 1000, 1000, 4  # the estimator's defaults
VARIANTS = ["generate_only", "in_memory", "blocks", "dask"]
IN_MEMORY_MAX_ROWS = 1_000_000  # 10⁷ rows in memory would take 4 GB for X alone


def true_coef() -> np.ndarray:
    return np.random.default_rng(12345).normal(size=P)


def block(i: int, rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng((seed, i))
    X = rng.normal(size=(rows, P))
    y = 1.0 + X @ true_coef() + rng.normal(scale=2.0, size=rows)
    return X, y


def blocks(n_rows: int):
    for i, start in enumerate(range(0, n_rows, BLOCK_ROWS)):
        yield block(i, min(BLOCK_ROWS, n_rows - start))


def dask_data(n_rows: int):
    import dask
    import dask.array as da

    sizes = [min(BLOCK_ROWS, n_rows - s) for s in range(0, n_rows, BLOCK_ROWS)]
    parts = [dask.delayed(block)(i, rows) for i, rows in enumerate(sizes)]
    X = da.concatenate(
        [
            da.from_delayed(part[0], shape=(rows, P), dtype=float)
            for part, rows in zip(parts, sizes, strict=True)
        ]
    )
    y = da.concatenate(
        [
            da.from_delayed(part[1], shape=(rows,), dtype=float)
            for part, rows in zip(parts, sizes, strict=True)
        ]
    )
    return X, y


def run_variant(variant: str, n_rows: int) -> dict:
    import warnings

    from bayesreg import BayesianLinearRegression

    start = time.perf_counter()
    if variant == "generate_only":
        for _ in blocks(n_rows):
            pass
        return {"seconds": time.perf_counter() - start}
    est = BayesianLinearRegression(
        1.0,
        noise_sigma=2.0,
        draws=DRAWS,
        tune=TUNE,
        chains=CHAINS,
        random_state=0,
        progressbar=False,
        compute_log_likelihood=False,
    )
    if variant == "in_memory":
        X, y = np.empty((n_rows, P)), np.empty(n_rows)
        for i, (X_block, y_block) in enumerate(blocks(n_rows)):
            X[i * BLOCK_ROWS : i * BLOCK_ROWS + len(y_block)] = X_block
            y[i * BLOCK_ROWS : i * BLOCK_ROWS + len(y_block)] = y_block
        data = (X, y)
    elif variant == "blocks":
        data = (blocks(n_rows),)
    else:
        data = dask_data(n_rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(*data)
    seconds = time.perf_counter() - start
    post = est.idata_["posterior"].to_dataset()
    import arviz as az

    mcse = az.mcse(post[["coef"]])["coef"].values
    z = np.abs(est.coef_ - est.exact_posterior_.coef_mean) / mcse
    return {
        "seconds": seconds,
        "max_z_vs_exact": float(z.max()),
        "converged": bool(est.convergence_.converged),
    }


def worker(variant: str, n_rows: int, repeats: int) -> dict:
    runs = [run_variant(variant, n_rows) for _ in range(repeats)]
    return {
        "variant": variant,
        "rows": n_rows,
        "median_s": statistics.median(r["seconds"] for r in runs),
        "max_z_vs_exact": max((r.get("max_z_vs_exact", float("nan")) for r in runs), default=None),
        "converged": all(r.get("converged", True) for r in runs),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", default=["1e6", "1e7"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, python {platform.python_version()}")
    print(f"{P} features, blocks of {BLOCK_ROWS} rows, draws={DRAWS} tune={TUNE} chains={CHAINS}")
    print(f"median of {args.repeats} fits per variant (one process each; the first fit compiles)\n")
    print("| rows | variant | median wall (s) | peak RSS (MB) | X as one array (MB) | max abs z vs exact |")
    print("|---|---|---|---|---|---|")
    for rows_text in args.rows:
        n_rows = int(float(rows_text))
        for variant in VARIANTS:
            if variant == "in_memory" and n_rows > IN_MEMORY_MAX_ROWS:
                continue
            out = subprocess.run(
                [sys.executable, __file__, "--worker", variant, str(n_rows), str(args.repeats)],
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(out.stdout.strip().splitlines()[-1])
            z = row["max_z_vs_exact"]
            z_text = (
                "-"
                if z is None or np.isnan(z)
                else f"{z:.2f}" + ("" if row["converged"] else " (unconverged)")
            )
            print(
                f"| {rows_text} | {variant} | {row['median_s']:.2f} | {row['peak_rss_mb']:.0f} "
                f"| {n_rows * P * 8 / 2**20:.0f} | {z_text} |",
                flush=True,
            )


if __name__ == "__main__":
    main()

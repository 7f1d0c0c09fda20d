"""QR kernels on tall-skinny blocks, behind the choice of LAPACK ``dgeqrt`` in bayesreg.stats.suffstats.

Two measurements on 10⁶ rows × 50 features (plus y):

- per-block kernels: the 10⁶ × 51 centred ``[Xc, yc]`` cut into Fortran-ordered blocks (50 blocks of
  20,000 rows by default), each factored to its R by ``dgeqrt`` (as ``suffstats._r_factor`` does,
  panel nb=8, and a few other panels), ``dgeqrf`` (called directly, and through
  ``scipy.linalg.qr(mode="r")``) and ``numpy.linalg.qr(mode="r")``. Only the kernel is timed: the
  copy that restores each overwritten block is not (numpy's QR copies its input itself; that copy
  is part of its cost);
- whole data: ``bayesreg.stats.suffstats.sufficient_stats(X, y)`` against numpy's one-shot QR of the
  centred ``[Xc, yc]`` (centring included; what the previous implementation did, which also formed
  ``XcᵀXc``, shown too) and ``XᵀX`` alone (the Gram matrix: a floor for any one pass over X).

Figures are medians of ``--repeats`` runs; ratios are times over the one-shot numpy QR's. numpy and
scipy each bundle their own OpenBLAS, so the two ``dgeqrf`` rows separate the library from the
algorithm. Usage::

    python benchmarks/qr_kernels.py                   # 10⁶ × 50, blocks of 20,000 rows, 5 repeats
    python benchmarks/qr_kernels.py --block-rows 10280 --repeats 3

Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np
import scipy
from scipy import linalg
from scipy.linalg import lapack

from bayesreg.stats import suffstats

ROWS, P = 1_000_000, 50


def make_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(ROWS, P))
    y = 1.0 + X @ rng.normal(size=P) + rng.normal(scale=2.0, size=ROWS)
    return X, y


def centred_augmented(X: np.ndarray, y: np.ndarray, order: str = "C") -> np.ndarray:
    """``[X − x̄ | y − ȳ]`` in one new buffer (as the previous sufficient_stats built it)."""
    a = np.empty((X.shape[0], X.shape[1] + 1), order=order)
    np.subtract(X, X.mean(axis=0), out=a[:, :-1])
    np.subtract(y, y.mean(), out=a[:, -1])
    return a


def dgeqrt(nb: int) -> Callable[[np.ndarray], np.ndarray]:
    def kernel(a: np.ndarray) -> np.ndarray:
        factored, _, info = lapack.dgeqrt(nb, a, overwrite_a=True)
        if info != 0:
            raise linalg.LinAlgError(f"dgeqrt failed (info={info})")
        return np.triu(factored[: a.shape[1]])

    return kernel


def dgeqrf(a: np.ndarray) -> np.ndarray:
    lwork, _ = lapack.dgeqrf_lwork(*a.shape)  # the optimal (blocked) workspace
    factored, _, _, info = lapack.dgeqrf(a, lwork=int(lwork), overwrite_a=True)
    if info != 0:
        raise linalg.LinAlgError(f"dgeqrf failed (info={info})")
    return np.triu(factored[: a.shape[1]])


BLOCK_KERNELS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    f"dgeqrt nb={suffstats._QR_PANEL} (suffstats._r_factor)": suffstats._r_factor,
    "dgeqrt nb=4": dgeqrt(4),
    "dgeqrt nb=16": dgeqrt(16),
    "dgeqrt nb=32": dgeqrt(32),
    "dgeqrf (scipy's LAPACK, optimal lwork)": dgeqrf,
    'scipy.linalg.qr(mode="r") (dgeqrf)': lambda a: linalg.qr(
        a, mode="r", overwrite_a=True, check_finite=False
    )[0],
    'numpy.linalg.qr(mode="r") (dgeqrf)': lambda a: np.linalg.qr(a, mode="r"),
}


def time_blocks(kernel: Callable[[np.ndarray], np.ndarray], source: np.ndarray, block_rows: int) -> float:
    """Seconds in ``kernel`` summed over the row blocks of ``source`` (each copied in untimed)."""
    total = 0.0
    for start in range(0, source.shape[0], block_rows):
        block = np.asfortranarray(source[start : start + block_rows])
        tic = time.perf_counter()
        kernel(block)
        total += time.perf_counter() - tic
    return total


def previous_sufficient_stats(X: np.ndarray, y: np.ndarray) -> None:
    """The statistics as computed before the block-wise version: centre, Gram, one-shot QR."""
    a = centred_augmented(X, y)
    Xc, yc = a[:, :-1], a[:, -1]
    _ = Xc.T @ Xc, Xc.T @ yc, float(yc @ yc)
    np.linalg.qr(a, mode="r")


def interleaved_medians(runs: dict[str, Callable[[], float]], repeats: int) -> dict[str, float]:
    """Median of each run's seconds, the runs taken in turn in every repeat.

    Taking them in turn, rather than all repeats of one and then the next, spreads any change in
    the machine's load over all of them alike.
    """
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            times[name].append(run())
    return {name: statistics.median(t) for name, t in times.items()}


def wall(run: Callable[[], object]) -> Callable[[], float]:
    def timed() -> float:
        tic = time.perf_counter()
        run()
        return time.perf_counter() - tic

    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--block-rows", type=int, default=suffstats._block_rows(P))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(f"{i['filepath'].split('/')[-1]} x{i['num_threads']}" for i in threadpool_info())
    except ImportError:
        blas = "unknown"
    print(f"machine: {platform.machine()}, python {platform.python_version()}")
    print(f"numpy {np.__version__}, scipy {scipy.__version__}; BLAS: {blas}")
    n_blocks = -(-ROWS // args.block_rows)
    print(
        f"{ROWS} x {P} (+ y); {n_blocks} blocks of {args.block_rows} x {P + 1}; "
        f"median of {args.repeats} repeats (suffstats uses {suffstats._block_rows(P)}-row blocks here)\n"
    )
    X, y = make_data()
    whole = {
        'one-shot numpy.linalg.qr(mode="r") of centred [Xc, yc] (baseline)': wall(
            lambda: np.linalg.qr(centred_augmented(X, y), mode="r")
        ),
        "previous sufficient_stats (centring, XcᵀXc, one-shot QR)": wall(
            lambda: previous_sufficient_stats(X, y)
        ),
        "bayesreg.stats.suffstats.sufficient_stats(X, y)": wall(
            lambda: suffstats.sufficient_stats(X, y, fit_intercept=True)
        ),
        "X.T @ X alone (Gram matrix, floor)": wall(lambda: X.T @ X),
    }
    rows = [("whole", name, sec) for name, sec in interleaved_medians(whole, args.repeats).items()]
    baseline = rows[0][2]
    source = centred_augmented(X, y, order="F")
    blocks = {
        name: (lambda k=kernel: time_blocks(k, source, args.block_rows))
        for name, kernel in BLOCK_KERNELS.items()
    }
    from threadpoolctl import threadpool_limits

    for threads in (1, 2):  # the library reduces blocks with one BLAS thread
        with threadpool_limits(limits=threads, user_api="blas"):
            medians = interleaved_medians(blocks, args.repeats)
        rows += [(f"blocks, {threads} BLAS thread(s)", name, sec) for name, sec in medians.items()]

    print("| data | what | median (s) | vs one-shot numpy QR |")
    print("|---|---|---|---|")
    for data, name, seconds in rows:
        print(f"| {data} | {name} | {seconds:.3f} | {seconds / baseline:.2f}x |")


if __name__ == "__main__":
    main()

"""Logistic fits at 10⁵ and 10⁶ × 20: bayesreg's gradient against its floor, its fit against plain nutpie.

The target (issue 14): a logistic fit ≥ 5× faster than plain nutpie (wall, same draws, same
posterior). A row-wise fit's time is (leapfrog steps) × (cost of one gradient), so both are
measured, each size in its own subprocesses:

1. Per-gradient cost, on one thread (``OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=1`` in the worker's
   environment and a threadpoolctl limit), the median over ``--gradient-repeats`` timings of a loop
   of calls (each loop about 0.3 s), at a draw-like point:

   - ``bayesreg``: the hand-written density (the C function nutpie calls, from bayesreg's
     extension ``bayesreg.backend._density``), called through ctypes on the buffers ``pack`` builds
     for the whitened model of this data (``loc`` at the MAP, ``L`` the Cholesky factor of the
     Laplace covariance, from a few Newton steps here);
   - ``plain nutpie``: the C callback ``nutpie.compile_pymc_model`` builds for the plain row-wise
     model (PyTensor's numba backend: the log density and gradient in one function, ``X`` a graph
     constant as in ``run.py``), called through ctypes with the model's ``user_data``: exactly the
     function nutpie's sampler calls;
   - ``floor``: two passes over X, ``X @ β`` and ``Xᵀ @ r`` (numpy, BLAS gemv, one thread), which
     any exact gradient of a row-wise likelihood needs;
   - ``exp+log1p``: ``np.log1p(np.exp(-np.abs(η)))`` over the n rows (numpy): the transcendental
     functions every exact Bernoulli-logit gradient evaluates once per row.

   Each is reported in ms and as a multiple of the floor.

2. Wall time of the fit, the same chains, draws and tuning steps for both (4 chains; by default
   1000 + 1000 up to 10⁵ rows, 300 + 300 above): ``BayesianLogisticRegression(1.0,
   compute_log_likelihood=False, ...).fit(X, y)`` (MAP, whitening and sampling; the pointwise log
   likelihood is off since plain nutpie does not compute one either) against
   ``nutpie.sample(nutpie.compile_pymc_model(plain_model))`` with nutpie's defaults (chains as threads
   on every CPU, BLAS on its default threads), and again with one BLAS thread per process
   (``plain nutpie, BLAS 1``: what bayesreg itself does while sampling; ``--plain`` picks either or
   both). On 2 CPUs nutpie's default doubles up the threads (two chain threads, each calling a
   two-thread gemv), which made plain nutpie 2.3× slower at 10⁵ rows. Warm: each worker first
   runs a short fit (``--warmup-draws`` draws and tuning steps; for the plain model after
   ``compile_pymc_model``, timed on its own), which compiles everything, then times
   ``--repeats`` full fits (median). The plain model is compiled once per process, so its warm
   time has no compilation in it while bayesreg's includes the MAP: the ratio is conservative.

3. Leapfrog steps per draw (the mean of nutpie's ``n_steps`` over the kept draws, after tuning)
   and the divergences, of the last timed fit of each.

4. Same posterior: the largest ``|mean_bayesreg − mean_plain| / sqrt(mcse_a² + mcse_b²)`` over the
   coefficients (about 3 or less when both target the same posterior), between the last timed fits.

The data are ``benchmarks/run.py``'s ``make_data("logitNx20")`` (standardised normal X, linear
predictor sd about 2.2), so results compare with ``run.py``'s ``logit1e5x20``. Usage::

    python benchmarks/logistic_gradient.py                          # 1e5 and 1e6 rows
    python benchmarks/logistic_gradient.py --sizes 1e5 --repeats 3
    python benchmarks/logistic_gradient.py --sizes 1e6 --draws 100 --plain blas1 --warmup-draws 10
    python benchmarks/logistic_gradient.py --sizes 1e4 --draws 100 --warmup-draws 20   # smoke test

Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

P = 20
CHAINS = 4
PRIOR_SIGMA = 1.0
DEFAULT_SIZES = ["1e5", "1e6"]
LARGE_ROWS = 100_000  # above this the default draws and tuning steps are 300 + 300
# The plain fits: nutpie's defaults, and one BLAS thread per process (what bayesreg does).
PLAIN_ROUTES = {"plain_default": False, "plain_blas1": True}
ROUTE_NAMES = {"plain_default": "plain nutpie", "plain_blas1": "plain nutpie, BLAS 1"}
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _run_module():
    """``benchmarks/run.py`` (its data generator and plain model), loaded by path."""
    spec = importlib.util.spec_from_file_location("bench_run", Path(__file__).with_name("run.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def data(n: int) -> tuple[np.ndarray, np.ndarray]:
    return _run_module().make_data(f"logit{n}x{P}")


def plain_model(X: np.ndarray, y: np.ndarray):
    """The obvious row-wise PyMC model: N(0, 1) coef, flat intercept, Bernoulli-logit rows."""
    return _run_module().plain_model("logistic", X, y)


# --- 1. per-gradient cost ----------------------------------------------------------------------


def laplace(X: np.ndarray, y: np.ndarray, steps: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """MAP of (coef, centred intercept) and the Laplace covariance, by Newton's method (numpy)."""
    Xc = X - X.mean(0)
    A = np.hstack([Xc, np.ones((X.shape[0], 1))])
    precision = np.r_[np.full(X.shape[1], 1.0 / PRIOR_SIGMA**2), 0.0]
    theta = np.zeros(X.shape[1] + 1)
    for _ in range(steps):
        prob = 1.0 / (1.0 + np.exp(-(A @ theta)))
        grad = A.T @ (y - prob) - precision * theta
        hess = (A * (prob * (1.0 - prob))[:, None]).T @ A + np.diag(precision)
        theta = theta + np.linalg.solve(hess, grad)
    prob = 1.0 / (1.0 + np.exp(-(A @ theta)))
    hess = (A * (prob * (1.0 - prob))[:, None]).T @ A + np.diag(precision)
    return theta, np.linalg.inv(hess)


def per_call(fn, repeats: int, target_s: float = 0.3) -> float:
    """Median seconds per call of ``fn`` over ``repeats`` timed loops of about ``target_s`` each."""
    fn()
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    loops = max(3, int(target_s / max(once, 1e-7)))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        times.append((time.perf_counter() - start) / loops)
    return statistics.median(times)


def c_logp(compiled) -> tuple:
    """nutpie's logp callback of ``compiled`` as a Python function of a point (through ctypes)."""
    double_p = ctypes.POINTER(ctypes.c_double)
    signature = ctypes.CFUNCTYPE(
        ctypes.c_int64, ctypes.c_uint64, double_p, double_p, double_p, ctypes.c_void_p
    )
    func = signature(compiled.compiled_logp_func.address)  # a numba cfunc or bayesreg's C function
    user_data = compiled.user_data
    dim = compiled.n_dim
    grad, logp = np.empty(dim), np.empty(())
    grad_p = grad.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
    logp_p = logp.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
    user_p = ctypes.c_void_p(user_data.ctypes.data)

    def call(x: np.ndarray) -> tuple[int, float, np.ndarray]:
        code = func(dim, x.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), grad_p, logp_p, user_p)
        return code, float(logp), grad

    return call


def gradient_worker(n: int, repeats: int) -> dict:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    import nutpie

    from bayesreg.backend.model import Whitening, build_logistic_model
    from bayesreg.backend.nutpie_model import compile_nutpie_model
    from bayesreg.stats.prior_terms import CoefficientPrior

    X, y = data(n)
    theta, cov = laplace(X, y)
    scale_tril = np.linalg.cholesky(cov)
    z = np.random.default_rng(1).normal(size=P + 1)  # a draw-like point: z ~ N(0, I)
    beta = theta + scale_tril @ z  # the same point in the plain coordinates (centred intercept)

    # (a) bayesreg: the model the estimator samples, on its hand-written callbacks.
    model = build_logistic_model(
        X,
        y,
        feature_names=[f"x{j}" for j in range(P)],
        prior=CoefficientPrior("normal", sigma=np.full(P, PRIOR_SIGMA), mean=np.zeros(P)),
        fit_intercept=True,
        whitening=Whitening(loc=theta, scale_tril=scale_tril),
    )
    fixed = compile_nutpie_model(model)
    bayesreg_c = c_logp(fixed)
    code, bayesreg_value, _ = bayesreg_c(z)
    assert code == 0, f"bayesreg's callback returned {code}"
    bayesreg_callback = per_call(lambda: bayesreg_c(z), repeats)

    # (b) plain nutpie: the callback nutpie compiles for the row-wise model (coef, then intercept).
    start = time.perf_counter()
    compiled = nutpie.compile_pymc_model(plain_model(X, y))
    compile_s = time.perf_counter() - start
    x_mean = X.mean(0)
    x_plain = np.r_[beta[:P], beta[P] - x_mean @ beta[:P]]  # uncentred intercept
    plain_c = c_logp(compiled)
    code, plain_value, _ = plain_c(x_plain)
    assert code == 0, f"plain nutpie's callback returned {code}"
    plain = per_call(lambda: plain_c(x_plain), repeats)

    # (c) the floor: two passes over X. (d) the n exp + log1p alone.
    eta, g = np.empty(n), np.empty(P)
    r = np.random.default_rng(2).uniform(-1.0, 1.0, size=n)
    Xt = X.T

    def two_passes():
        np.dot(X, beta[:P], out=eta)
        np.dot(Xt, r, out=g)

    floor = per_call(two_passes, repeats)
    eta_point = X @ beta[:P] + beta[P]
    transcendental = per_call(lambda: np.log1p(np.exp(-np.abs(eta_point))), repeats)
    # The Jacobian of the whitening is constant, so the two log densities differ by a constant:
    # checked in tests/test_fixed_density.py; here only that both are finite at the point.
    assert np.isfinite(bayesreg_value) and np.isfinite(plain_value)
    return {
        "n": n,
        "bayesreg_ms": 1e3 * bayesreg_callback,
        "plain_ms": 1e3 * plain,
        "floor_ms": 1e3 * floor,
        "exp_log1p_ms": 1e3 * transcendental,
        "plain_compile_s": compile_s,
    }


# --- 2.-4. the fits ------------------------------------------------------------------------------


def fit_summary(idata, seconds: float) -> dict:
    import arviz as az

    post = idata["posterior"].to_dataset()[["coef"]]
    stats = idata["sample_stats"].to_dataset()
    return {
        "seconds": seconds,
        "mean": post["coef"].mean(("chain", "draw")).values.tolist(),
        "mcse": az.mcse(post)["coef"].values.tolist(),
        "min_ess": float(az.ess(post)["coef"].values.min()),
        "steps_per_draw": float(stats["n_steps"].mean()),
        "divergences": int(stats["diverging"].sum()),
    }


def bayesreg_worker(n: int, draws: int, tune: int, repeats: int, warmup: int) -> dict:
    import warnings

    from bayesreg import BayesianLogisticRegression
    from bayesreg.backend import inference

    sampling = []
    original = inference._sample_nutpie_cached

    def timed(*args, **kwargs):  # the sampler's share of the fit (the rest is MAP and setup)
        start = time.perf_counter()
        out = original(*args, **kwargs)
        sampling.append(time.perf_counter() - start)
        return out

    inference._sample_nutpie_cached = timed
    X, y = data(n)

    def fit(d: int, t: int, seed: int):
        est = BayesianLogisticRegression(
            PRIOR_SIGMA,
            draws=d,
            tune=t,
            chains=CHAINS,
            random_state=seed,
            progressbar=False,
            compute_log_likelihood=False,
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
        return time.perf_counter() - start, est.idata_

    first_s, _ = fit(warmup, warmup, 1000)
    runs = []
    for r in range(repeats):
        seconds, idata = fit(draws, tune, r)
        runs.append((seconds, sampling[-1], idata))
    last = fit_summary(runs[-1][2], runs[-1][0])
    return {
        "first_s": first_s,
        "warm_s": statistics.median(s for s, _, _ in runs),
        "sampling_s": statistics.median(s for _, s, _ in runs),
        **{k: v for k, v in last.items() if k != "seconds"},
    }


def plain_worker(n: int, draws: int, tune: int, repeats: int, warmup: int, blas1: bool) -> dict:
    import contextlib

    import nutpie
    from threadpoolctl import threadpool_limits

    X, y = data(n)
    start = time.perf_counter()
    compiled = nutpie.compile_pymc_model(plain_model(X, y))
    compile_s = time.perf_counter() - start

    def fit(d: int, t: int, seed: int):
        limit = threadpool_limits(limits=1, user_api="blas") if blas1 else contextlib.nullcontext()
        with limit:
            start = time.perf_counter()
            idata = nutpie.sample(
                compiled,
                draws=d,
                tune=t,
                chains=CHAINS,
                seed=seed,
                save_warmup=False,
                progress_bar=False,
            )
            return time.perf_counter() - start, idata

    first_s, _ = fit(warmup, warmup, 1000)
    runs = [fit(draws, tune, r) for r in range(repeats)]
    last = fit_summary(runs[-1][1], runs[-1][0])
    return {
        "compile_s": compile_s,
        "first_s": compile_s + first_s,
        "warm_s": statistics.median(s for s, _ in runs),
        **{k: v for k, v in last.items() if k != "seconds"},
    }


# --- driver --------------------------------------------------------------------------------------


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_worker(*args: str, one_thread: bool = False) -> dict:
    env = dict(os.environ, **ONE_THREAD) if one_thread else dict(os.environ)
    command = [sys.executable, __file__, "--worker", *args]
    out = subprocess.run(command, capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"worker {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def max_abs_z(a: dict, b: dict) -> float:
    diff = np.asarray(a["mean"]) - np.asarray(b["mean"])
    return float(np.max(np.abs(diff) / np.hypot(a["mcse"], b["mcse"])))


def measure(args) -> list[dict]:
    results = []
    for size in args.sizes:
        n = int(float(size))
        draws = args.draws or (1000 if n <= LARGE_ROWS else 300)
        tune = args.tune or draws
        fit_args = [str(n), str(draws), str(tune), str(args.repeats), str(args.warmup_draws)]
        row: dict = {"size": f"{n:.0e}x{P}".replace("e+0", "e"), "draws": draws, "tune": tune}
        row["gradient"] = run_worker("gradient", str(n), str(args.gradient_repeats), one_thread=True)
        log(f"  {row['size']}: gradients {row['gradient']}")
        row["bayesreg"] = run_worker("bayesreg", *fit_args)
        log(f"  {row['size']}: bayesreg {row['bayesreg']}")
        for key, blas1 in PLAIN_ROUTES.items():
            if args.plain in ("both", key.removeprefix("plain_")):
                row[key] = run_worker("plain", *fit_args, str(int(blas1)))
                log(f"  {row['size']}: {key} {row[key]}")
        results.append(row)
    return results


def tables(results: list[dict]) -> str:
    lines = [
        "Per-gradient cost (one thread; ms, and × the floor of two passes over X):",
        "",
        "| size | bayesreg (C callback) | plain nutpie (C callback) "
        "| floor: X @ β + Xᵀ r | exp+log1p alone | plain / bayesreg |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        g = r["gradient"]
        f = g["floor_ms"]
        cells = [
            f"{g[k]:.3f} ms ({g[k] / f:.2f}×)"
            for k in ("bayesreg_ms", "plain_ms", "floor_ms", "exp_log1p_ms")
        ]
        lines.append(f"| {r['size']} | {' | '.join(cells)} | {g['plain_ms'] / g['bayesreg_ms']:.1f}× |")
    lines += [
        "",
        f"Fits ({CHAINS} chains; warm = median of the timed fits after a short one; first = the short "
        "fit, compilation included):",
        "",
        "| size | route | draws + tune | first (s) | warm (s) | speed-up vs plain nutpie "
        "| vs plain nutpie, BLAS 1 | leapfrog steps/draw | divergences | min ESS | max \\|z\\| vs plain |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        plains = [r[key] for key in PLAIN_ROUTES if key in r]
        reference = plains[0]  # of max |z|: the default plain fit if it ran
        routes = [("bayesreg", r["bayesreg"])]
        routes += [(ROUTE_NAMES[key], r[key]) for key in PLAIN_ROUTES if key in r]
        for name, f in routes:
            ratios = [
                f"{r[key]['warm_s'] / f['warm_s']:.1f}×" if key in r else "not run" for key in PLAIN_ROUTES
            ]
            z = "-" if f is reference else f"{max_abs_z(f, reference):.2f}"
            extra = f" (sampling {f['sampling_s']:.2f})" if "sampling_s" in f else ""
            lines.append(
                f"| {r['size']} | {name} | {r['draws']} + {r['tune']} | {f['first_s']:.2f} "
                f"| {f['warm_s']:.2f}{extra} | {' | '.join(ratios)} | {f['steps_per_draw']:.2f} "
                f"| {f['divergences']} | {f['min_ess']:.0f} | {z} |"
            )
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, *numbers = sys.argv[2:]
        values = [int(v) for v in numbers]
        if kind == "gradient":
            out = gradient_worker(*values)
        elif kind == "bayesreg":
            out = bayesreg_worker(*values)
        else:
            out = plain_worker(*values[:5], blas1=bool(values[5]))
        print(json.dumps(out))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=DEFAULT_SIZES, help="rows (× 20 columns): 1e5 1e6")
    parser.add_argument("--draws", type=int, help="draws per chain (default 1000 up to 1e5 rows, 300 above)")
    parser.add_argument("--tune", type=int, help="tuning steps per chain (default: as many as draws)")
    parser.add_argument("--repeats", type=int, default=1, help="timed fits per route (median)")
    parser.add_argument("--warmup-draws", type=int, default=50, help="draws and tuning of the first fit")
    parser.add_argument("--gradient-repeats", type=int, default=7, help="timed loops per gradient cost")
    parser.add_argument(
        "--plain", choices=["both", "default", "blas1"], default="both", help="which plain fits to run"
    )
    parser.add_argument("--json", help="also write the raw results here")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"load average before: {os.getloadavg()}\n")
    results = measure(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f)
    print(tables(results))
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()

"""Before/after the whitening, on posteriordb's diamonds (5000 rows, 24 strongly correlated predictors).

Three ways to sample the same posterior (``coef ~ N(0, 1)``, flat intercept, noise sd
``~ HalfNormal(10)``, as in tests/test_refdata.py), with the same draws, tuning, chains and seeds:

- ``plain_rowwise``: the row-wise PyMC model, ``y ~ N(intercept + X coef, noise_sigma)`` on X as
  given, sampled by nutpie with its default diagonal mass matrix;
- ``suffstats_unwhitened``: bayesreg's sufficient-statistics model (centred intercept) built with
  ``whitening=None``, sampled by nutpie the same way (the "before");
- ``bayesreg_default``: ``BayesianLinearRegression(method="mcmc")``, whose NUTS runs on coordinates
  whitened by the Laplace covariance at the MAP (the "after"; its wall time includes the MAP).

Compilation is kept out of the timed runs and reported as "compile (s)" (for bayesreg's fit: one
tiny fit, MAP included, which fills its compile caches). Each variant is run ``--repeats`` times
with seeds 0, 1, ...; the table gives medians over runs, except max r_hat and max |z| (worst run)
and divergences (summed over runs). |z| compares posterior means of ``b[1..24]`` and ``sigma`` with
the reference posterior in ../shared/refdata (or $BAYESREG_REFDATA), in units of the joint MCSE.
Usage::

    python benchmarks/diamonds.py                              # 1000 draws + 1000 tune, 4 chains
    python benchmarks/diamonds.py --draws 100 --repeats 1      # smoke test

Nothing here asserts a time or a diagnostic.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

PRIOR_SIGMA, NOISE_PRIOR_SIGMA = 1.0, 10.0  # as in tests/test_refdata.py
DRAWS, TUNE, CHAINS = 1000, 1000, 4  # as in tests/test_refdata.py
VARIANTS = ["plain_rowwise", "suffstats_unwhitened", "bayesreg_default"]
REPO = Path(__file__).resolve().parents[1]


def refdata_dir() -> Path | None:
    """The reference data folder (as tests/conftest.py finds it), or None."""
    for candidate in (os.environ.get("BAYESREG_REFDATA"), REPO.parent / "shared" / "refdata"):
        if candidate and (Path(candidate) / "posteriordb" / "diamonds-diamonds").is_dir():
            return Path(candidate)
    return None


def load_diamonds(refdata: Path) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """X (without brms's column of ones), y, and the reference summary of b[1..24] and sigma."""
    folder = refdata / "posteriordb" / "diamonds-diamonds"
    data = json.loads((folder / "data.json").read_text())
    summary = pd.read_csv(folder / "reference_summary.csv", index_col="parameter")
    X = np.asarray(data["X"], dtype=float)[:, 1:]
    y = np.asarray(data["Y"], dtype=float)
    reference = summary.loc[[*(f"b[{i}]" for i in range(1, X.shape[1] + 1)), "sigma"]]
    return X, y, reference


def nutpie_runner(model, draws: int, tune: int) -> Callable[[int], object]:
    """Compile ``model`` for nutpie once; return ``seed -> DataTree`` (what pm.sample would run)."""
    import nutpie

    compiled = nutpie.compile_pymc_model(model)

    def sample(seed: int):
        return nutpie.sample(
            compiled, draws=draws, tune=tune, chains=CHAINS, seed=seed, save_warmup=False, progress_bar=False
        )

    return sample


def prepare(variant: str, X: np.ndarray, y: np.ndarray, draws: int, tune: int) -> Callable[[int], object]:
    """Build and compile one variant; return ``seed -> DataTree`` with coef, intercept, noise_sigma."""
    import pymc as pm

    if variant == "plain_rowwise":
        with pm.Model(coords={"feature": np.arange(X.shape[1])}) as model:
            coef = pm.Normal("coef", 0.0, PRIOR_SIGMA, dims="feature")
            intercept = pm.Flat("intercept")
            noise_sigma = pm.HalfNormal("noise_sigma", NOISE_PRIOR_SIGMA)
            pm.Normal("y", intercept + pm.math.dot(X, coef), noise_sigma, observed=y)
        return nutpie_runner(model, draws, tune)
    if variant == "suffstats_unwhitened":
        from bayesreg.backend.model import build_linear_model
        from bayesreg.stats.prior_terms import CoefficientPrior, NoisePrior
        from bayesreg.stats.suffstats import sufficient_stats

        p = X.shape[1]
        model = build_linear_model(
            sufficient_stats(X, y, fit_intercept=True),
            feature_names=[f"x{i}" for i in range(p)],
            prior=CoefficientPrior("normal", sigma=np.full(p, PRIOR_SIGMA), mean=np.zeros(p)),
            noise_sigma=None,
            noise_prior=NoisePrior("halfnormal", scale=NOISE_PRIOR_SIGMA),
            whitening=None,
        )
        return nutpie_runner(model, draws, tune)

    from bayesreg import BayesianLinearRegression

    def fit(seed: int, draws: int = draws, tune: int = tune):
        est = BayesianLinearRegression(
            PRIOR_SIGMA,
            noise_prior_sigma=NOISE_PRIOR_SIGMA,
            draws=draws,
            tune=tune,
            chains=CHAINS,
            random_state=seed,
            progressbar=False,
            compute_log_likelihood=False,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the diagnostics are reported below instead
            est.fit(X, y)
        return est.idata_

    fit(seed=0, draws=10, tune=10)  # compiles the MAP objective and the nutpie model
    return fit


def summarise(idata, seconds: float, reference: pd.DataFrame) -> dict:
    import arviz as az

    post = idata["posterior"].to_dataset()[["coef", "intercept", "noise_sigma"]]
    stats = idata["sample_stats"].to_dataset()
    ess_coef = float(az.ess(post[["coef"]])["coef"].values.min())
    mcse = az.mcse(post)
    mean = np.append(post["coef"].mean(("chain", "draw")).values, float(post["noise_sigma"].mean()))
    our_mcse = np.append(mcse["coef"].values, float(mcse["noise_sigma"]))
    joint = np.hypot(reference["mcse_mean"].to_numpy(), our_mcse)
    depth = stats["depth"] if "depth" in stats else stats["tree_depth"]  # nutpie / PyMC names
    at_max = stats["maxdepth_reached"] if "maxdepth_reached" in stats else stats["reached_max_treedepth"]
    return {
        "seconds": seconds,
        "min_ess": ess_coef,
        "min_ess_per_s": ess_coef / seconds,
        "max_rhat": float(max(np.max(v.values) for v in az.rhat(post).data_vars.values())),
        "divergences": int(stats["diverging"].sum()),
        "mean_depth": float(depth.mean()),
        "mean_steps": float(stats["n_steps"].mean()),
        "max_depth_pct": 100 * float(at_max.mean()),
        "max_abs_z": float(np.max(np.abs(mean - reference["mean"].to_numpy()) / joint)),
    }


def run_variant(variant: str, X, y, reference, draws: int, tune: int, repeats: int) -> dict:
    start = time.perf_counter()
    sample = prepare(variant, X, y, draws, tune)
    compile_s = time.perf_counter() - start
    runs = []
    for seed in range(repeats):
        start = time.perf_counter()
        idata = sample(seed)
        runs.append(summarise(idata, time.perf_counter() - start, reference))
        print(f"  {variant:<22} seed {seed}: {runs[-1]['seconds']:.2f} s", file=sys.stderr, flush=True)

    def median(key):
        return statistics.median(r[key] for r in runs)

    return {
        "variant": variant,
        "compile_s": compile_s,
        "wall_s": median("seconds"),
        "min_ess": median("min_ess"),
        "min_ess_per_s": median("min_ess_per_s"),
        "max_rhat": max(r["max_rhat"] for r in runs),
        "divergences": sum(r["divergences"] for r in runs),
        "mean_depth": median("mean_depth"),
        "mean_steps": median("mean_steps"),
        "max_depth_pct": median("max_depth_pct"),
        "max_abs_z": max(r["max_abs_z"] for r in runs),
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| variant | compile (s) | wall (s) | min bulk ESS (coef) | min ESS/s | max r_hat "
        "| divergences | mean tree depth | mean leapfrog steps | at max depth (%) "
        "| max \\|z\\| vs reference |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['variant']} | {r['compile_s']:.1f} | {r['wall_s']:.2f} | {r['min_ess']:.0f} "
            f"| {r['min_ess_per_s']:.1f} | {r['max_rhat']:.3f} | {r['divergences']} "
            f"| {r['mean_depth']:.1f} | {r['mean_steps']:.0f} | {r['max_depth_pct']:.0f} "
            f"| {r['max_abs_z']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=DRAWS, help="draws per chain")
    parser.add_argument("--tune", type=int, default=None, help="tuning steps per chain (default: --draws)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=VARIANTS)
    args = parser.parse_args()
    tune = args.draws if args.tune is None else args.tune
    refdata = refdata_dir()
    if refdata is None:
        sys.exit(
            "benchmarks/diamonds.py needs posteriordb's diamonds-diamonds from the shared reference "
            f"data: not found in $BAYESREG_REFDATA or {REPO.parent / 'shared' / 'refdata'}."
        )
    X, y, reference = load_diamonds(refdata)
    print(f"machine: {platform.machine()}, python {platform.python_version()}")
    print(
        f"diamonds-diamonds: {X.shape[0]} rows, {X.shape[1]} features, condition number of centred X "
        f"{np.linalg.cond(X - X.mean(0)):.0f}"
    )
    print(f"draws={args.draws} tune={tune} chains={CHAINS}, repeats={args.repeats} (seeds 0..)\n")
    rows = [run_variant(v, X, y, reference, args.draws, tune, args.repeats) for v in args.variants]
    print(table(rows))


if __name__ == "__main__":
    main()

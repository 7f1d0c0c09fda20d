"""The first fit of each prior and family structure in a fresh process: issue 14's "each new structure".

``cold_start.py`` times four models against plain PyMC; this script times bayesreg alone on every
structure its builders make, so that a structure that waits on a compiler, or loads numba, shows.
Each fit runs in its own subprocess: "cold" with an empty bayesreg cache and PyTensor compiledir,
"warm" a second process with the same folders. PyMC is imported before the timer, as in
``cold_start.py`` (bayesreg's own import does not load it). The baseline is the default normal
prior on the same data in the same run, and the ratio is warm / baseline warm, so that load on the
machine mostly cancels. Also reported: nutpie's leapfrog steps per draw (what a posterior's shape
costs the sampler), the largest r̂ and the number of convergence problems, and whether numba was
imported. Medians over the repeats, the structures interleaved within each repeat. Usage::

    python benchmarks/first_fits.py                  # every structure, 5 repeats
    python benchmarks/first_fits.py --repeats 3 --structures cancer cancer_laplace
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"

# structure -> (data set, estimator class, constructor arguments as Python source)
STRUCTURES: dict[str, tuple[str, str, str]] = {
    "diabetes": ("diabetes", "BayesianLinearRegression", "10.0, noise_sigma=54.0"),
    "diabetes_prior_mean": ("diabetes", "BayesianLinearRegression", "10.0, noise_sigma=54.0, prior_mean=1.0"),
    "diabetes_unknown_noise": ("diabetes", "BayesianLinearRegression", "10.0"),
    "diabetes_learned_prior_sd": (
        "diabetes",
        "BayesianLinearRegression",
        "10.0, noise_sigma=54.0, prior_sigma_prior=10.0",
    ),
    "diabetes_laplace": ("diabetes", "BayesianLinearRegression", "10.0, noise_sigma=54.0, prior='laplace'"),
    "cancer": ("cancer", "BayesianLogisticRegression", "1.0"),
    "cancer_per_feature": ("cancer", "BayesianLogisticRegression", "np.linspace(0.5, 2.0, 30)"),
    "cancer_laplace": ("cancer", "BayesianLogisticRegression", "1.0, prior='laplace'"),
    "cancer_elasticnet": ("cancer", "BayesianLogisticRegression", "1.0, prior='elasticnet'"),
    "claims_poisson_exposure": ("claims", "BayesianPoissonRegression", "1.0"),
}
BASELINES = {"diabetes": "diabetes", "cancer": "cancer", "claims": "claims_poisson_exposure"}

WORKER = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np
import pymc  # noqa: F401  (timed apart from the fit)
import bayesreg
from sklearn import datasets
data, name, args = {data!r}, {name!r}, {args!r}
fit_kwargs = {{}}
if data == "claims":
    import pandas as pd
    frame = pd.read_csv({claims!r})
    X = frame[["age", "vehicle_age", "urban"]].to_numpy(float)
    y = frame["claims"].to_numpy()
    fit_kwargs = {{"exposure": frame["years"].to_numpy()}}
elif data == "cancer":
    X, y = datasets.load_breast_cancer(return_X_y=True)
else:
    X, y = datasets.load_diabetes(return_X_y=True, scaled=False)
X = (X - X.mean(0)) / X.std(0)
est = eval(f"bayesreg.{{name}}({{args}}, random_state=0, progressbar=False)")
start = time.perf_counter()
est.fit(X, y, **fit_kwargs)
seconds = time.perf_counter() - start
report = est.convergence_
print(json.dumps({{
    "fit_s": seconds,
    "steps": float(est.idata_["sample_stats"]["n_steps"].mean()),
    "r_hat": float(report.max_r_hat),
    "problems": len(report.problems),
    "numba": "numba" in sys.modules,
}}))
"""


def run_worker(structure: str, cache: str) -> dict:
    """One fit of ``structure`` in a fresh process whose caches live in ``cache``."""
    data, name, args = STRUCTURES[structure]
    code = WORKER.format(data=data, name=name, args=args, claims=str(MODELS_DIR / "claims.csv"))
    env = {
        "BAYESREG_CACHE_DIR": str(Path(cache) / "bayesreg"),
        "PYTENSOR_FLAGS": f"compiledir={Path(cache) / 'pytensor'}",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True, timeout=900
    )
    if out.returncode != 0:
        raise RuntimeError(f"{structure} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--structures", nargs="+", default=list(STRUCTURES), choices=list(STRUCTURES))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="also write the raw results here")
    args = parser.parse_args()
    structures = list(
        dict.fromkeys([*args.structures, *(BASELINES[STRUCTURES[s][0]] for s in args.structures)])
    )

    results: dict[str, dict[str, list]] = {s: {"cold": [], "warm": []} for s in structures}
    began = time.perf_counter()
    for r in range(args.repeats):
        for structure in structures:
            with tempfile.TemporaryDirectory() as cache:
                for kind in ("cold", "warm"):
                    results[structure][kind].append(run_worker(structure, cache))
            cold, warm = (results[structure][k][-1]["fit_s"] for k in ("cold", "warm"))
            print(f"{r:3d} {structure:>26}  cold {cold:5.2f} s  warm {warm:5.2f} s", flush=True)

    def median(structure: str, kind: str, key: str) -> float:
        return statistics.median(run[key] for run in results[structure][kind])

    print(f"\n{args.repeats} repeats in {time.perf_counter() - began:.0f} s; medians\n")
    print(
        "| structure | cold fit (s) | warm fit (s) | warm / baseline warm | leapfrog steps per draw "
        "| max r̂ | problems | numba loaded |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for structure in args.structures:
        base = BASELINES[STRUCTURES[structure][0]]
        runs = results[structure]["cold"] + results[structure]["warm"]
        cold, warm = median(structure, "cold", "fit_s"), median(structure, "warm", "fit_s")
        ratio = warm / median(base, "warm", "fit_s")
        r_hat = max(run["r_hat"] for run in runs)
        problems = max(run["problems"] for run in runs)
        numba = "yes" if any(run["numba"] for run in runs) else "no"
        steps = median(structure, "warm", "steps")
        cells = [structure, f"{cold:.2f}", f"{warm:.2f}", f"{ratio:.2f}x", f"{steps:.1f}", f"{r_hat:.3f}"]
        print("| " + " | ".join([*cells, str(problems), numba]) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

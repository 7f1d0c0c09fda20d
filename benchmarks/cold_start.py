"""Time to the first posterior in a fresh process: each route cold (empty caches) and warm (second process).

Every fit runs in its own subprocess. For each repeat a new temporary folder holds every on-disk
cache a route can use (PyTensor's compiledir with its numba cache, numba's own cache, bayesreg's
cache, jax's compilation cache): the first process with it is "cold", the second "warm". Ratios are
against plain PyMC's cold (and warm) fit (``plain_pymc``) measured in the same invocation, the
routes interleaved within each repeat, so load on the machine mostly cancels. Medians over the
repeats.

Routes (``--routes``):

- ``plain_pymc``: the obvious row-wise PyMC model and ``pm.sample`` with its defaults: in PyMC 6
  that is nutpie (numba backend) whenever nutpie is installed and PyTensor's linker is numba, its
  default. ``plain_pymc_c``: the same on PyTensor's C backend (cvm), where ``pm.sample`` uses
  PyMC's own NUTS: the issue's "plain PyMC NUTS (C backend)".
- ``nutpie_numba``: bayesreg with ``nutpie.compile_pymc_model(model)``, the route before issue 14;
  ``nutpie_numba_cache``: the same with ``cache=True`` (numba's on-disk cache of nutpie's callback).
- ``nutpie_jax``: ``compile_pymc_model(model, backend="jax", freeze_model=False)`` with jax's
  persistent compilation cache (needs jax: ``--jax-path`` adds a folder holding it to sys.path).
- ``pymc_nuts`` / ``pymc_nuts_c``: bayesreg's (whitened) model sampled by PyMC's NUTS, on the numba
  and the C backend.
- ``bayesreg``: the default: nutpie with bayesreg's callbacks cached on disk by graph fingerprint,
  and (since issue 14 landed) the MAP objective compiled in PyTensor's FAST_COMPILE mode (Python,
  no numba): the MAP evaluates it only tens of times.
- ``bayesreg_map_cached``: the same, with the MAP objective's PyTensor functions numba-compiled and
  loaded from disk (``bayesreg.backend.numba_cache.cached_function``, patched in here).
- ``bayesreg_map_py``: FAST_COMPILE forced by a patch: the route that measured that choice before
  it became the default (now the same as ``bayesreg``).

Models (``--models``): ``diabetes`` (known noise sd 54, prior sd 10, X standardised),
``diabetes_unknown`` (noise sd sampled; bayesreg routes only), ``breast_cancer`` (logistic,
prior sd 1), ``binomial`` (400 rows of binomial counts, 1 to 20 trials, 6 standardised features,
prior sd 1) and ``iris`` (3 classes, the multinomial model in scikit-learn's symmetric form,
prior sd 1; it has no other prior, so no "new structure" run). "max |z|" is the largest
|mean − reference| / MCSE over the coefficients, against the exact posterior (known noise) or, for
the others, the plain PyMC fit of the same run. "same draws" says whether the warm process drew
exactly the cold one's draws (same seed). Usage::

    python benchmarks/cold_start.py                                  # all routes, 5 repeats
    python benchmarks/cold_start.py --routes plain_pymc bayesreg --repeats 3 --models diabetes
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROUTES = [
    "plain_pymc",
    "plain_pymc_c",
    "nutpie_numba",
    "nutpie_numba_cache",
    "nutpie_jax",
    "pymc_nuts",
    "pymc_nuts_c",
    "bayesreg",
    "bayesreg_map_cached",
    "bayesreg_map_py",
]
MODELS = ["diabetes", "breast_cancer", "binomial", "iris"]
LOGISTIC_MODELS = ("breast_cancer", "binomial", "iris")
PLAIN_ROUTES = ("plain_pymc", "plain_pymc_c")


NEW_STRUCTURE = "+new"  # suffix of a model name: the same data under another prior (see plain_fit)
NEW_INTERCEPT_SIGMA = 100.0


def load(model: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Standardised X, y, and the trials of the binomial counts (else None)."""
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

    model = model.removesuffix(NEW_STRUCTURE)
    trials = None
    if model == "binomial":
        rng = np.random.default_rng(20261203)
        X = rng.normal(size=(400, 6))
        trials = rng.integers(1, 21, size=400)
        y = rng.binomial(trials, 1.0 / (1.0 + np.exp(-(0.3 + X @ [0.8, -0.5, 0.3, 0.0, 0.2, -0.1]))))
    elif model == "iris":
        X, y = load_iris(return_X_y=True)
    elif model == "breast_cancer":
        X, y = load_breast_cancer(return_X_y=True)
    else:
        X, y = load_diabetes(return_X_y=True, scaled=False)
    return (X - X.mean(0)) / X.std(0), y, trials


def plain_fit(model: str, X: np.ndarray, y: np.ndarray, trials: np.ndarray | None, draws: int, seed: int):
    """The obvious row-wise model; ``+new``: a Laplace prior of the same sd and a N(0, 100²) intercept.

    iris: ``coef`` (class, feature) under N(0, 1), flat intercepts of the first two classes (the
    third's fixed at 0, which leaves the coefficients' posterior as in the symmetric form).
    """
    import pymc as pm

    new = model.endswith(NEW_STRUCTURE)
    model = model.removesuffix(NEW_STRUCTURE)
    sigma = 1.0 if model in LOGISTIC_MODELS else 10.0
    with pm.Model(coords={"feature": np.arange(X.shape[1]), "class": np.arange(3)}):
        if model == "iris":
            coef = pm.Normal("coef", 0.0, sigma, dims=("class", "feature"))
            contrasts = pm.Flat("intercept_contrasts", shape=2)
            eta = pm.math.concatenate([contrasts, np.zeros(1)])[None, :] + pm.math.dot(X, coef.T)
        elif new:
            coef = pm.Laplace("coef", 0.0, sigma / np.sqrt(2.0), dims="feature")
            eta = pm.Normal("intercept", 0.0, NEW_INTERCEPT_SIGMA) + pm.math.dot(X, coef)
        else:
            coef = pm.Normal("coef", 0.0, sigma, dims="feature")
            eta = pm.Flat("intercept") + pm.math.dot(X, coef)
        if model == "iris":
            pm.Categorical("y", logit_p=eta, observed=y)
        elif model == "breast_cancer":
            pm.Bernoulli("y", logit_p=eta, observed=y)
        elif model == "binomial":
            pm.Binomial("y", n=trials, logit_p=eta, observed=y)
        else:
            pm.Normal("y", eta, 54.0, observed=y)
        return pm.sample(
            draws, tune=draws, chains=4, random_seed=seed, progressbar=False, compute_convergence_checks=False
        )


class _CachedPyTensor:
    """``pytensor`` as bayesreg.backend.inference sees it, with ``function`` cached on disk."""

    def __getattr__(self, name: str):
        import pytensor

        return getattr(pytensor, name)

    python_mode = False

    def function(self, inputs, outputs, **kwargs):
        import pytensor

        from bayesreg.backend.numba_cache import cached_function

        if self.python_mode:
            return pytensor.function(inputs, outputs, **{**kwargs, "mode": "FAST_COMPILE"})
        return cached_function(inputs, outputs)  # numba-compiled, whatever mode bayesreg asks for


def use_route(route: str, cache: str) -> dict:
    """Patch bayesreg's compile step for the nutpie routes; return sample_kwargs for the PyMC ones."""
    if route in ("bayesreg_map_cached", "bayesreg_map_py"):
        from bayesreg.backend import inference

        patched = _CachedPyTensor()
        patched.python_mode = route == "bayesreg_map_py"
        inference.pytensor = patched  # type: ignore[assignment]
    if route in ("pymc_nuts", "pymc_nuts_c"):
        return {"nuts_sampler": "pymc"}
    if not route.startswith("nutpie"):
        return {}
    import nutpie

    from bayesreg.backend import nutpie_model

    options: dict = {"cache": True} if route == "nutpie_numba_cache" else {}
    if route == "nutpie_jax":
        import jax

        jax.config.update("jax_compilation_cache_dir", os.path.join(cache, "jax"))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
        # freeze_model defaults to True under jax: every pm.Data becomes a constant, which is why
        # with_data then fails with "Unknown data variable: prior_sigma".
        options = {"backend": "jax", "freeze_model": False}
    nutpie_model.compile_nutpie_model = lambda model: nutpie.compile_pymc_model(model, **options)
    return {}


def worker(route: str, model: str, draws: int, seed: int, cache: str) -> dict:
    import warnings

    start = time.perf_counter()
    import pymc  # noqa: F401  (imports are timed apart from the fit)

    from bayesreg import BayesianLinearRegression, BayesianLogisticRegression

    imported = time.perf_counter()
    X, y, trials = load(model)
    fit_kwargs = {} if trials is None else {"trials": trials}
    exact = None
    if route in PLAIN_ROUTES:
        t0 = time.perf_counter()
        idata = plain_fit(model, X, y, trials, draws, seed)
        seconds = time.perf_counter() - t0
    else:
        sample_kwargs = use_route(route, cache)
        kw = dict(draws=draws, tune=draws, chains=4, random_state=seed, progressbar=False)
        if model.endswith(NEW_STRUCTURE):
            kw |= {"prior": "laplace", "intercept_prior_sigma": NEW_INTERCEPT_SIGMA}
            model = model.removesuffix(NEW_STRUCTURE)
        if model in LOGISTIC_MODELS:
            est = BayesianLogisticRegression(1.0, sample_kwargs=sample_kwargs or None, **kw)
        else:
            noise = None if model == "diabetes_unknown" else 54.0
            est = BayesianLinearRegression(10.0, noise_sigma=noise, sample_kwargs=sample_kwargs or None, **kw)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y, **fit_kwargs)
        seconds = time.perf_counter() - t0
        idata = est.idata_
        if model == "diabetes" and est.exact_posterior_ is not None:
            exact = est.exact_posterior_.coef_mean.tolist()
    import arviz as az

    post = idata["posterior"].to_dataset()[["coef"]]
    coef = post["coef"].values
    return {
        "import_s": imported - start,
        "fit_s": seconds,
        "mean": coef.mean(axis=(0, 1)).tolist(),
        "mcse": az.mcse(post)["coef"].values.tolist(),
        "exact": exact,
        "draws_digest": float(np.sum(coef * np.arange(1, coef.size + 1).reshape(coef.shape))),
    }


def run_worker(route: str, model: str, draws: int, seed: int, cache: str, jax_path: str | None) -> dict:
    env = dict(os.environ)
    # Python's default: a process caches the bytecode of the modules it compiles (bayesreg's
    # editable sources among them) for the next. Sandboxes often turn that off; users rarely do.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    flags = [f"base_compiledir={os.path.join(cache, 'pytensor')}"]
    if route.endswith("_c"):
        flags.append("linker=cvm")
    env["PYTENSOR_FLAGS"] = ",".join(flags)
    env["NUMBA_CACHE_DIR"] = os.path.join(cache, "numba")
    env["BAYESREG_CACHE_DIR"] = os.path.join(cache, "bayesreg")
    if jax_path:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), jax_path) if p)
    args = [sys.executable, __file__, "--worker", route, model, str(draws), str(seed), cache]
    out = subprocess.run(args, capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"{route} {model} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def max_abs_z(row: dict, reference: list[float] | None, reference_mcse: list[float] | None) -> float | None:
    if reference is None:
        return None
    mcse = np.asarray(row["mcse"])
    if reference_mcse is not None:
        mcse = np.hypot(mcse, reference_mcse)
    return float(np.max(np.abs(np.asarray(row["mean"]) - reference) / mcse))


def measure(
    routes: list[str], models: list[str], repeats: int, draws: int, jax_path: str | None
) -> list[dict]:
    """Cold and warm runs, the routes interleaved within each repeat so that load drifts evenly."""
    results = {
        (model, route): {"model": model, "route": route, "cold": [], "warm": [], "new": []}
        for model in models
        for route in routes
        if not (route in PLAIN_ROUTES and model == "diabetes_unknown")
    }
    for r in range(repeats):
        for (model, route), row in results.items():
            with tempfile.TemporaryDirectory(prefix="bayesreg-cold-") as cache:
                row["cold"].append(run_worker(route, model, draws, r, cache, jax_path))
                row["warm"].append(run_worker(route, model, draws, r, cache, jax_path))
                # A third process, same caches: the first fit of a structure not seen before.
                if model != "iris":
                    row["new"].append(run_worker(route, model + NEW_STRUCTURE, draws, r, cache, jax_path))
            times = f"cold {row['cold'][-1]['fit_s']:6.2f} s  warm {row['warm'][-1]['fit_s']:6.2f} s"
            if row["new"]:
                times += f"  new structure {row['new'][-1]['fit_s']:6.2f} s"
            print(f"  {r} {model:>16} {route:<20} {times}", file=sys.stderr, flush=True)
    return list(results.values())


def table(results: list[dict]) -> str:
    lines = [
        "| model | route | cold fit (s) | warm fit (s) | new structure (s) | cold / plain cold "
        "| warm / plain warm | new / plain new | import (s) | max \\|z\\| | same draws cold→warm |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    plain = {(r["model"]): r for r in results if r["route"] == "plain_pymc"}

    def median_fit(runs: list[dict]) -> float:
        return statistics.median(x["fit_s"] for x in runs) if runs else float("nan")

    for r in results:
        cold, warm, new = median_fit(r["cold"]), median_fit(r["warm"]), median_fit(r["new"])
        imports = statistics.median(x["import_s"] for x in r["warm"])
        ref = plain.get(r["model"])
        if ref is not None:
            ref_cold, ref_warm, ref_new = (
                median_fit(ref["cold"]),
                median_fit(ref["warm"]),
                median_fit(ref["new"]),
            )
            ratios = " | ".join(
                "-" if np.isnan(ratio) else f"{ratio:.2f}x"
                for ratio in (cold / ref_cold, warm / ref_warm, new / ref_new)
            )
        else:
            ratios = "n/a | n/a | n/a"
        last = r["warm"][-1]
        if last["exact"] is not None:
            z = max_abs_z(last, last["exact"], None)
        elif ref is not None and r is not ref:
            z = max_abs_z(last, ref["warm"][-1]["mean"], ref["warm"][-1]["mcse"])
        else:
            z = None
        same = all(c["draws_digest"] == w["draws_digest"] for c, w in zip(r["cold"], r["warm"], strict=True))
        new_text = "-" if np.isnan(new) else f"{new:.2f}"
        lines.append(
            f"| {r['model']} | {r['route']} | {cold:.2f} | {warm:.2f} | {new_text} | {ratios} "
            f"| {imports:.2f} | {'-' if z is None else f'{z:.2f}'} | {'yes' if same else 'no'} |"
        )
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        route, model, draws, seed, cache = sys.argv[2:]
        print(json.dumps(worker(route, model, int(draws), int(seed), cache)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", nargs="+", default=ROUTES, choices=ROUTES)
    parser.add_argument("--models", nargs="+", default=MODELS, choices=[*MODELS, "diabetes_unknown"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--draws", type=int, default=1000, help="draws and tuning steps per chain (4 chains)")
    parser.add_argument("--jax-path", help="a folder holding jax, for the nutpie_jax route")
    parser.add_argument("--json", help="also write the raw results here")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"4 chains x {args.draws} draws (+{args.draws} tune), {args.repeats} repeats\n")
    results = measure(args.routes, args.models, args.repeats, args.draws, args.jax_path)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f)
    print(table(results))


if __name__ == "__main__":
    main()

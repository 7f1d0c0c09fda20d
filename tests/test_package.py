"""Package-level promises: a cheap import and a public API with the fixed names."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_import_does_not_load_pymc_arviz_or_sklearn():
    code = (
        "import sys, bayesreg; "
        "from bayesreg import priors; "
        "print(sorted(m for m in ('pymc', 'arviz', 'sklearn', 'pytensor', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_fits_without_the_sampler_load_neither_the_arviz_umbrella_nor_matplotlib():
    # `import arviz` loads arviz_plots and with it matplotlib.pyplot (half a second in a fresh
    # process); the exact and Laplace fits need only arviz_base and arviz_stats.
    code = (
        "import sys, numpy as np; from bayesreg import BayesianLinearRegression as B; "
        "X = np.random.default_rng(0).normal(size=(40, 3)); y = X @ [1.0, -1.0, 0.5]; "
        "[B(1.0, noise_sigma=1.0, method=m, progressbar=False).fit(X, y) for m in ('exact', 'laplace')]; "
        "print(sorted(m for m in ('arviz', 'arviz_plots', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_nuts_fit_loads_neither_numba_nor_the_plotting_stack_and_arviz_stays_the_real_package():
    # nutpie's module-level `import arviz` would load arviz_plots and matplotlib.pyplot (about half
    # a second of a warm first fit); bayesreg.backend.nutpie_import gives it arviz_base's names. Its
    # `from numba.extending import intrinsic` would load numba (0.2-0.3 s), which a model on a fixed
    # density never uses.
    code = (
        "import sys, numpy as np, arviz_base; from bayesreg import BayesianLogisticRegression as B; "
        "X = np.random.default_rng(0).normal(size=(60, 2)); y = (X[:, 0] > 0).astype(int); "
        "B(1.0, draws=100, tune=100, chains=2, random_state=0, progressbar=False).fit(X, y); "
        "loaded = ('arviz', 'arviz_plots', 'matplotlib.pyplot', 'numba'); "
        "print(sorted(m for m in loaded if m in sys.modules)); "
        "seen = sys.modules['nutpie.sample'].arviz; "
        "print(seen.from_dict is arviz_base.from_dict, seen.dict_to_dataset is arviz_base.dict_to_dataset); "
        "import arviz; print(type(arviz).__name__, seen.plot_dist is arviz.plot_dist, "
        "seen.__version__ == arviz.__version__)"
    )
    run = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[:3] == ["[]", "True True", "module True True"]


def test_nutpie_sees_the_real_arviz_when_it_is_already_imported():
    code = (
        "import sys, arviz; from bayesreg.backend.nutpie_import import import_nutpie; import_nutpie(); "
        "print(sys.modules['nutpie.sample'].arviz is arviz)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


NUTPIE_NUMBA_FIT = """
import sys
import arviz as az, pymc as pm
from bayesreg.backend.nutpie_import import import_nutpie
nutpie = import_nutpie()
print("numba" in sys.modules)
with pm.Model() as model:  # a Data container: nutpie's numba code reads it through the helper
    pm.Normal("x", pm.Data("mu", 2.0), 0.5)
compiled = nutpie.compile_pymc_model(model)
trace = nutpie.sample(compiled, draws=500, tune=500, chains=2, seed=1, progress_bar=False)
post = trace["posterior"].to_dataset()
print(abs(float(post["x"].mean()) - 2.0) < 4 * float(az.mcse(post)["x"]))
"""


def test_nutpie_still_compiles_with_numba_after_being_imported_without_it():
    # import_nutpie hides numba while nutpie is imported, so nutpie leaves its numba helper
    # undecorated; the helper must get numba's `intrinsic` back before nutpie's own numba compile.
    run = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", NUTPIE_NUMBA_FIT], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False", "True"]


PUBLIC_API = {
    "BayesianLinearRegression",
    "BayesianLogisticRegression",
    "BayesianPoissonRegression",
    "ConvergenceWarning",
    "FormulaModel",
    "OptimizerWarning",
    "PriorScaleWarning",
    "RegularizationPath",
    "RidgeComparison",
    "__version__",
    "compare_prior_scale_choices",
    "compare_with_ridge",
    "from_formula",
    "priors",
    "regularization_path",
}


def test_public_names_are_the_fixed_list_and_each_one_resolves():
    # dir() is built from __all__, so comparing the two proves nothing: resolve every name
    # in a fresh interpreter, where nothing has been loaded yet.
    code = "import bayesreg; print(sorted(n for n in bayesreg.__all__ if getattr(bayesreg, n, None) is None))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    import bayesreg

    assert set(bayesreg.__all__) == PUBLIC_API
    assert bayesreg.BayesianLinearRegression.__module__ == "bayesreg.estimators.linear"


def test_unknown_names_raise_attribute_error():
    import bayesreg

    with pytest.raises(AttributeError, match="has no attribute 'BayesianRidge'"):
        bayesreg.BayesianRidge  # noqa: B018


@pytest.mark.parametrize(
    ("old", "new", "name"),
    [
        ("bayesreg.conjugate", "bayesreg.stats.evidence", "log_evidence"),
        ("bayesreg.conjugate", "bayesreg.stats.conjugate", "gaussian_posterior"),
        ("bayesreg.linear", "bayesreg.estimators.linear", "BayesianLinearRegression"),
        ("bayesreg.persistence", "bayesreg.estimators.persistence", "load_estimator"),
        ("bayesreg.runner", "bayesreg.app.runner", "run_spec"),
    ],
)
def test_module_paths_of_0_1_are_deprecated_aliases(old, new, name):
    code = (
        "import importlib, warnings\n"
        "warnings.simplefilter('error')\n"
        f"try:\n    importlib.import_module({old!r})\nexcept DeprecationWarning as w:\n    print(w)\n"
        "warnings.simplefilter('ignore')\n"
        f"old = importlib.import_module({old!r}); new = importlib.import_module({new!r})\n"
        f"print(getattr(old, {name!r}) is getattr(new, {name!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    message, same = out.stdout.strip().splitlines()
    assert message.startswith(f"{old} has moved to") and new in message
    assert same == "True"


def test_old_spelling_of_the_path_plot_warns_and_forwards():
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from bayesreg import plotting

    tables = {s: pd.DataFrame({"map": [s, -s]}, index=["a", "b"]) for s in (0.5, 1.0)}
    with pytest.warns(DeprecationWarning, match="use plot_regularization_path"):
        ax = plotting.plot_regularisation_path(tables)
    assert ax.get_title() == "Regularization path"

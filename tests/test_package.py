"""Package-level promises: a cheap import and a public API with the fixed names."""

from __future__ import annotations

import subprocess
import sys


def test_import_does_not_load_pymc_arviz_or_sklearn():
    code = (
        "import sys, bayesreg; "
        "from bayesreg import priors; "
        "print(sorted(m for m in ('pymc', 'arviz', 'sklearn', 'pytensor', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names():
    import bayesreg

    for name in ("BayesianLinearRegression", "BayesianLogisticRegression", "compare_with_ridge", "priors"):
        assert hasattr(bayesreg, name)
    assert set(bayesreg.__all__) <= set(dir(bayesreg))

"""The ``bayesreg`` command: TOML specs, data sets, the runner, result records and the report.

Only this layer prints; it uses the estimators and the analysis modules and is used by nothing.
"""

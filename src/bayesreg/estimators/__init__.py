"""The scikit-learn estimators: one abstract base with a declared contract, and its subclasses.

Input and parameter validation, chunked input, the penalised twin of each model
(:class:`~bayesreg.estimators.penalty.Penalty`), the registry of estimator classes and
persistence live here too. The public classes are re-exported lazily by :mod:`bayesreg`; this
``__init__`` imports nothing, so no import through it can form a cycle.
"""

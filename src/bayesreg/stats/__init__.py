"""The mathematics every other layer calls, in numpy and scipy only.

Sufficient statistics of the Gaussian likelihood (:mod:`~bayesreg.stats.suffstats`), its
closed-form posterior (:mod:`~bayesreg.stats.conjugate`), the evidence and the modes of the prior
scales (:mod:`~bayesreg.stats.evidence`), the Laplace evidence of the logistic model
(:mod:`~bayesreg.stats.laplace`) and simulation-based calibration (:mod:`~bayesreg.stats.calibration`).
Nothing here imports PyMC, ArviZ or any other bayesreg layer.
"""

"""The only layer that imports PyMC, PyTensor and nutpie.

Model building from small parts (:mod:`~bayesreg.backend.model`), the MAP with its convergence
certificate and NUTS with the compile cache (:mod:`~bayesreg.backend.inference`), convergence
diagnostics as data (:mod:`~bayesreg.backend.diagnostics`). :mod:`~bayesreg.backend.results` and
:mod:`~bayesreg.backend.options` are PyMC-free, so that loading a saved fit never imports PyMC.
This ``__init__`` imports nothing.
"""

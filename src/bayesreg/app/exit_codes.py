"""Exit codes of the ``bayesreg`` command, shared by the runner (which decides 0 or 1) and the CLI."""

EXIT_OK = 0  # every fit converged and its MAP equals the sklearn solution
EXIT_NOT_CONVERGED = 1  # report written, but a fit did not converge or did not agree with ridge
EXIT_USAGE = 2  # bad spec, data or usage, or an output folder that may not be replaced
EXIT_FAILED = 3  # unexpected failure; nothing written
EXIT_INTERRUPTED = 130  # Ctrl-C; nothing written

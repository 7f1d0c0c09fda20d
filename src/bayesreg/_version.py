"""The version of bayesreg, written here and nowhere else (pyproject reads it from this file)."""

__version__ = "0.1.0"

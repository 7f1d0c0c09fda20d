"""Compile the small PyTensor functions of a fit without a C compiler.

Beside its log density a fit compiles a few PyTensor functions that run a handful of times: a
model's initial point, a transform of a starting value, a dimension's length. PyTensor's default
(and its ``FAST_COMPILE`` mode) builds them on its C virtual machine, which it compiles once per
machine, and C code for some of their ops: about a second of a first fit that compiles nothing
else (issue 14). Inside :func:`without_c` they run on PyTensor's Python implementations instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytensor

__all__ = ["without_c"]


@contextlib.contextmanager
def without_c() -> Iterator[None]:
    """PyTensor functions compiled inside run in Python: no C compiler is called.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> with without_c():
    ...     float(pt.exp(pt.as_tensor(0.0)).eval())
    1.0
    """
    with pytensor.config.change_flags(cxx=""):
        yield

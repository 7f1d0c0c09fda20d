"""Warnings that point at the user's line, wherever inside bayesreg they are raised.

A hard-coded ``stacklevel`` is right for one call path and wrong for the next (a warning from
``find_map`` used to land inside ``linear.py``). Python 3.12's ``skip_file_prefixes`` skips every
frame inside the package, so the warning names the first line outside it.
"""

from __future__ import annotations

import os
import warnings

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn_user(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` attributed to the first calling frame outside the bayesreg package."""
    warnings.warn(message, category, skip_file_prefixes=(PACKAGE_DIR,))

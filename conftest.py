"""Repository-wide pytest setup.

The notebooks read their posterior draw count from ``BAYESREG_NOTEBOOK_DRAWS`` (1000 per chain when it
is unset, as in the committed runs). Under pytest, e.g. ``pytest --nbmake notebooks``, the kernels
inherit this environment, so CI runs every notebook with fewer draws; the notebooks' assertions use
tolerances derived from the Monte Carlo standard error, so they still hold.
"""

import os

os.environ.setdefault("BAYESREG_NOTEBOOK_DRAWS", "600")

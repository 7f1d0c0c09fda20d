"""``python -m bayesreg``: the same as the ``bayesreg`` command."""

import sys

from bayesreg.app.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""``python -m bayesreg``: the same as the ``bayesreg`` command."""

import sys

from bayesreg.cli import main

if __name__ == "__main__":
    sys.exit(main())

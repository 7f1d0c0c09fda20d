"""``python -m bayesreg``: the same as the ``bayesreg`` command."""

from bayesreg.app.cli import entry

if __name__ == "__main__":
    entry()

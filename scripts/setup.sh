#!/bin/sh
# Set up .venv with bayesreg installed (editable), on a Python >= 3.12 found by find_python.sh,
# whatever python3 is here; with no such Python it stops with one line that says what to install.
#
#   sh scripts/setup.sh              bayesreg alone
#   sh scripts/setup.sh test,docs    with extras (see [project.optional-dependencies] in pyproject.toml)
#
# --clear empties a .venv left by an earlier attempt: venv run over a .venv made by Python 3.11
# would keep that 3.11 in .venv/bin, and pip would then refuse bayesreg (requires-python >= 3.12).
set -eu
cd "$(dirname "$0")/.."
python=$(sh scripts/find_python.sh)
echo "setup: $("$python" --version) ($python) -> .venv"
"$python" -m venv --clear .venv
.venv/bin/python -m pip install -e ".${1:+[$1]}"

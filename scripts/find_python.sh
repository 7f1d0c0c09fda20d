#!/bin/sh
# Print the path of a Python >= 3.12 (what bayesreg needs: PyMC 6 and ArviZ 1 do), or say in one line
# on stderr which Python to install and how, and exit 1. POSIX sh: it runs before any Python does.
#
# Looked for in this order; the first that runs and is new enough wins: python3.13, python3.12,
# python3 and python on the PATH; the versions pyenv has installed, newest first (pyenv's shims run
# only the selected version, so under a global 3.11 `python3.12` fails even with a 3.12 installed);
# the Pythons uv manages (`uv python find`, or where `uv python install` puts them). It prints the
# base interpreter, never one inside a virtual environment, so that `-m venv --clear .venv` is
# never run by the .venv it empties.
# Used by scripts/setup.sh (the README's set-up) and .ci/run.

# Exit 1 below 3.12; else print the interpreter that a venv made with it is based on.
probe='import sys
if sys.version_info < (3, 12):
    sys.exit(1)
print(sys._base_executable)'

usable() {
    "$1" -c "$probe" 2>/dev/null
}

for name in python3.13 python3.12 python3 python; do
    exe=$(command -v "$name" 2>/dev/null) || continue
    usable "$exe" && exit 0
done

pyenv_root=$(pyenv root 2>/dev/null) || pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
if [ -d "$pyenv_root/versions" ]; then
    for dir in $(ls -1 "$pyenv_root/versions" | sort -rV); do
        usable "$pyenv_root/versions/$dir/bin/python3" && exit 0
    done
fi

if command -v uv >/dev/null 2>&1; then
    exe=$(uv python find --system '>=3.12' 2>/dev/null) && usable "$exe" && exit 0
fi
# Where `uv python install` puts them, for a uv that is not on the PATH (yet).
for exe in "${UV_PYTHON_INSTALL_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/uv/python}"/cpython-3.*/bin/python3; do
    [ -x "$exe" ] && usable "$exe" && exit 0
done

found=$(python3 --version 2>&1) && found="python3 is ${found#Python }" || found="no python3 on the PATH"
echo "bayesreg needs Python >= 3.12 and found none ($found): install one with \`uv python install 3.12\` (uv: https://docs.astral.sh/uv/) or \`pyenv install 3.12\`, then run this again." >&2
exit 1

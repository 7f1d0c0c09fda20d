"""The C extension, the one thing pyproject.toml does not configure (its table for it is experimental).

``bayesreg.backend._density`` holds the hand-written log densities, gradients and Hessians of the
linear, logistic and Poisson models (:mod:`bayesreg.backend.fixed_density`), compiled here, at install,
rather than by numba during a user's first fit (seconds; issue 14). Any C99 compiler will do.
"""

import hashlib
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

SOURCE = "src/bayesreg/backend/_density.c"
# The module carries the hash of the source it was built from, so that bayesreg can tell a
# developer who edited _density.c that the extension needs rebuilding (fixed_density checks it).
SOURCE_HASH = hashlib.sha256((Path(__file__).parent / SOURCE).read_bytes())

# gcc and clang: -O3 vectorises the row loops, -fopenmp-simd lets the sums marked `omp simd`
# vectorise too (no OpenMP runtime is linked), -fno-math-errno lets maths functions be inlined.
UNIX_FLAGS = ["-O3", "-fopenmp-simd", "-fno-math-errno"]


class BuildWithFlags(build_ext):
    """Adds the optimisation flags where the compiler understands them (not MSVC)."""

    def build_extensions(self) -> None:  # noqa: D102 (setuptools documents it)
        if self.compiler.compiler_type == "unix":
            for extension in self.extensions:
                extension.extra_compile_args = [*extension.extra_compile_args, *UNIX_FLAGS]
        super().build_extensions()


setup(
    ext_modules=[
        Extension(
            "bayesreg.backend._density",
            sources=[SOURCE],
            define_macros=[("SOURCE_SHA256", f'"{SOURCE_HASH.hexdigest()}"')],
        )
    ],
    cmdclass={"build_ext": BuildWithFlags},
)

"""Build the compiled kernel. Everything else about the package lives in pyproject.toml.

Cython directives are set once, here. ``ACL_DEBUG_CYTHON=1`` turns bounds, wraparound and
initialisation checks back on for a debug build. ``ACL_NO_EXTENSIONS=1`` at build time skips
the extension entirely (the pure-Python twin is then used).
"""

import os

from setuptools import Extension, setup

DEBUG = os.environ.get("ACL_DEBUG_CYTHON", "") not in ("", "0")
DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": not DEBUG,
    "embedsignature": True,
}


def extensions() -> list[Extension]:
    if os.environ.get("ACL_NO_EXTENSIONS", "") not in ("", "0"):
        return []
    from Cython.Build import cythonize

    flags = ["-O3"] if not DEBUG else ["-O0", "-g"]
    modules = [
        # The kernel.
        Extension("acl._fast", ["src/acl/_fast.pyx"], extra_compile_args=flags),
        # decision.py compiled as is (decision.pxd declares it): decisions from a free list.
        Extension("acl.decision", ["src/acl/decision.py"], extra_compile_args=flags),
    ]
    return cythonize(modules, compiler_directives=DIRECTIVES, include_path=["src"])


setup(ext_modules=extensions())

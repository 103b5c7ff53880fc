"""Build the compiled extensions: address parsing, the kernel, the log scanners. Everything
else about the package lives in pyproject.toml.

Cython directives are set once, here. ``ACL_DEBUG_CYTHON=1`` turns bounds, wraparound and
initialisation checks back on for a debug build. ``ACL_NO_EXTENSIONS=1`` at build time skips
the extensions entirely (the pure-Python twins are then used).
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
        # Address parsing in C (_addr.pxd), cimported by the kernel and the log scanners.
        Extension("acl._addr", ["src/acl/_addr.pyx"], extra_compile_args=flags),
        # The kernel.
        Extension("acl._fast", ["src/acl/_fast.pyx"], extra_compile_args=flags),
        # The log scanners (W3C splitter, audit JSON lines).
        Extension("acl.logs._scan", ["src/acl/logs/_scan.pyx"], extra_compile_args=flags),
        # decision.py compiled as is (decision.pxd declares it): decisions from a free list.
        Extension("acl.decision", ["src/acl/decision.py"], extra_compile_args=flags),
    ]
    return cythonize(modules, compiler_directives=DIRECTIVES, include_path=["src"])


setup(ext_modules=extensions())

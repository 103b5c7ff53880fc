"""The few names of Cython's pure-Python mode that :mod:`acl.decision` uses, for when Cython
is not installed.

Cython is needed only to build the compiled kernel. Compiled, ``decision.py`` never imports
this module (the compiler resolves ``cython.*`` itself); uncompiled without Cython, these
stand in for the ``cython`` shadow module: the decorators return the class unchanged and
``compiled`` is false, exactly as the shadow module behaves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = ["cclass", "compiled", "final", "freelist", "no_gc"]

T = TypeVar("T")

compiled = False


def _unchanged(target: T) -> T:
    return target


cclass = _unchanged
final = _unchanged
no_gc = _unchanged


def freelist(size: int) -> Callable[[T], T]:
    """``@cython.freelist(size)``: a free list for the compiled class; nothing uncompiled."""
    del size
    return _unchanged

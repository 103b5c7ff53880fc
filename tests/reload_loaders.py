"""Loaders for the reload tests, at module level so that pickle can send them to the reload
child (a new interpreter, which imports this module: keep its imports light)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import acl


def record_pid_and_load(pid_file: Path, path: Path) -> acl.Site:
    """Note the loading process's pid in ``pid_file``, then load ``path``."""
    with pid_file.open("a") as out:
        out.write(f"{os.getpid()}\n")
    return acl.load(path)


def hang_outside(parent: int, path: Path) -> acl.Site:
    """Load ``path`` in the process ``parent``; hang anywhere else."""
    if os.getpid() != parent:
        time.sleep(30)
    return acl.load(path)


def print_then_load(path: Path) -> acl.Site:
    """Write to standard output, as a chatty loader might, then load ``path``."""
    print("a loader that prints", flush=True)
    sys.stdout.buffer.write(b"\x00" * 64)
    sys.stdout.flush()
    return acl.load(path)


def die_outside(parent: int, path: Path) -> acl.Site:
    """Load ``path`` in ``parent``; elsewhere die of SIGKILL, as an out-of-memory kill does."""
    if os.getpid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)
    return acl.load(path)


def fail_outside(parent: int, path: Path) -> acl.Site:
    """Load ``path`` in ``parent``; elsewhere load a file that is not there."""
    return acl.load(path if os.getpid() == parent else path.with_name("missing.json"))


LOCK = threading.Lock()
"""Held by a thread of the test's process through a reload: a forked child would inherit it
held, a new interpreter has its own."""


def lock_then_load(path: Path) -> acl.Site:
    """Take :data:`LOCK` (as a loader taking a logging or import lock would), then load."""
    if not LOCK.acquire(timeout=5):
        raise RuntimeError("the lock stayed held: this process is a fork of a threaded one")
    try:
        return acl.load(path)
    finally:
        LOCK.release()

"""Live rules: a compiled rule set that can be replaced while requests are being decided.

:class:`LiveRules` holds the :class:`RulesSnapshot` in use (one attribute read per request)
and swaps in a new one on :meth:`~LiveRules.reload` (``acl serve`` calls it on SIGHUP and
``POST /-/reload``) or when a watcher thread sees the rules file change; a file that does
not load keeps the old rules. Reloads load and compile in a child process (a new Python
interpreter, never a fork of a threaded server), so that parsing and compiling a large rule
table do not stall the requests being decided.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import hashlib
import json
import logging
import os
import pickle
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Union

from ..compiler import tables_from_arrays
from ..decision import Decision
from ..engine import ARRAY_FIELDS, FAMILIES, Engine
from ..engine import compile as compile_site
from ..errors import AclError
from ..formats import load
from ..model import Site
from ..serialize import site_to_dict
from .protocol import FILTER_KEYS, WSGI_KEYS

__all__ = ["RELOAD_TIMEOUT", "LiveRules", "RulesInput", "RulesSnapshot", "live_rules"]

logger = logging.getLogger("acl.middleware")

RulesInput = Union[str, "os.PathLike[str]", Site, Engine]
"""What the middleware and the service accept as rules: a file path, a Site or an Engine."""


@dataclass(frozen=True, slots=True)
class RulesSnapshot:
    """One loaded rule set: the compiled engine and where it came from.

    Attributes:
        engine: the compiled :class:`~acl.engine.Engine`.
        digest: the SHA-256 of the rules file (or of the site's JSON form when the rules
            did not come from a file), hex.
        loaded_at: when it was loaded (seconds since the epoch).
        source: the rules file, if any.
        filter_headers: the header names (documented spelling) that some rule filters on:
            only these are read from requests and handed to the engine, since no other
            header can change a decision.
    """

    engine: Engine
    digest: str
    loaded_at: float
    source: str | None
    filter_headers: frozenset[str] = frozenset()
    header_keys: dict[bytes, str] = field(init=False, repr=False, compare=False)
    """ASGI header name (lower-case bytes) to spelling, for :attr:`filter_headers`."""
    wsgi_keys: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)
    """WSGI environ key to spelling, for :attr:`filter_headers`."""

    def __post_init__(self) -> None:
        keys = {k: v for k, v in FILTER_KEYS.items() if v in self.filter_headers}
        object.__setattr__(self, "header_keys", keys)
        object.__setattr__(
            self, "wsgi_keys", tuple((k, v) for k, v in WSGI_KEYS if v in self.filter_headers)
        )

    @property
    def uses_headers(self) -> bool:
        """Whether any rule has a header filter (else no header is read)."""
        return bool(self.filter_headers)

    def decide(
        self, ip: str, host: str | None, pairs: list[tuple[str, str]] | None, *, all_four: bool
    ) -> Decision:
        """Decide with the engine; ``pairs`` are the request's filter headers, read with
        :attr:`header_keys` or, when ``all_four`` (for the decision log), all four names."""
        if pairs:
            if all_four:
                pairs = [pair for pair in pairs if pair[0] in self.filter_headers]
            if pairs:
                decision: Decision = self.engine.decide(ip, host=host, headers=pairs)
                return decision
        decision = self.engine.decide(ip, host=host)
        return decision

    @property
    def version(self) -> str:
        """``<first 12 hex digits of the digest>@<load time, UTC>``: the rule set version."""
        stamp = datetime.fromtimestamp(self.loaded_at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{self.digest[:12]}@{stamp}"


def _file_signature(path: str) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def _file_digest(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


class LiveRules:
    """A compiled rule set that can be replaced while requests are decided.

    Readers take :attr:`current` (one attribute read) and use that snapshot for the whole
    request; :meth:`reload` builds the new engine aside and swaps the one reference, so a
    request sees the old rules or the new ones, never a mix. A file that fails to load
    keeps the old rules; the error is logged and kept in :attr:`last_error`.

    Args:
        rules: a rules file (any supported format), a :class:`~acl.model.Site` or an
            :class:`~acl.engine.Engine`.
        loader: how to load the site again on reload (default: ``acl.load(rules,
            **load_options)``); the CLI passes its own so that every loading option holds.
        reload_interval: seconds between checks of the file for changes (a background
            thread; ``None`` or 0: no checks). :meth:`close` stops it.
        kernel: the engine's kernel (``None``: the default).
        settle: seconds a changed file must stay unchanged before the watcher loads it.
        isolate: load and compile reloads in a new Python process (default: on POSIX,
            when the loader can be pickled); a child silent for :data:`RELOAD_TIMEOUT`
            seconds is killed and the reload fails. The child is a fresh interpreter, never
            a fork of this one (a fork of a process whose other threads are inside gRPC or
            hold a lock can die or hang), so the loader is sent to it with :mod:`pickle`: a
            module-level function or a :func:`functools.partial` of one, never a closure.
        load_options: :func:`acl.load` keywords (``service_tags``, ``format``, ...).
    """

    def __init__(
        self,
        rules: RulesInput,
        *,
        loader: Callable[[], Site] | None = None,
        reload_interval: float | None = None,
        kernel: str | None = None,
        settle: float = 1.0,
        isolate: bool | None = None,
        **load_options: Any,
    ) -> None:
        if not settle >= 0:
            raise ValueError(f"settle {settle!r} must be a number of seconds, 0 or more")
        self.settle = settle
        """Seconds the file must stay unchanged (size, mtime, inode) before the watcher
        loads it: a file caught mid-write is not served."""
        self.isolate = os.name == "posix" if isolate is None else isolate
        """Reloads load and compile in a child process, so that the GIL-holding stretches
        of parsing and compiling never stall the requests being decided."""
        self._pending: tuple[tuple[int, int, int] | None, float] | None = None
        self._lock = threading.Lock()
        self._kernel = kernel
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self.reloads = 0
        """Successful reloads so far."""
        self.failed_reloads = 0
        """Reloads that kept the old rules because the new ones did not load."""
        self.last_error: str | None = None
        """The message of the last failed reload (None after a successful one)."""
        if isinstance(rules, (Site, Engine)):
            if load_options:
                raise TypeError("load options need a rules file, not a Site or an Engine")
            self.path: str | None = None
            self._loader = loader
            engine = rules if isinstance(rules, Engine) else compile_site(rules, kernel=kernel)
            digest = hashlib.sha256(
                json.dumps(site_to_dict(engine.site), sort_keys=True).encode("utf-8")
            ).hexdigest()
            self._signature: tuple[int, int, int] | None = None
            self.current = _snapshot(engine, digest, engine.site.source)
        else:
            self.path = os.fspath(rules)
            self._loader = loader or functools.partial(_load_file, self.path, load_options)
            self._signature = None
            self.current = self._load()
        if self.isolate and self._loader is not None:
            try:
                pickle.dumps(self._loader)
            except Exception as exc:
                if isolate:
                    raise TypeError(
                        f"isolate=True sends the loader {self._loader!r} to a new process, "
                        f"and pickle cannot send it ({exc}); give a module-level function "
                        "or a functools.partial of one"
                    ) from None
                logger.info(
                    "reloads run in this process: the loader %r cannot be pickled for a "
                    "child process (%s)",
                    self._loader,
                    exc,
                )
                self.isolate = False
        if reload_interval:
            self.watch(reload_interval)

    def _load(self) -> RulesSnapshot:
        """Load and compile the file (see :func:`_load_rules`)."""
        assert self._loader is not None
        snapshot, self._signature = _load_rules(self._loader, self.path, self._kernel)
        return snapshot

    @property
    def engine(self) -> Engine:
        """The engine in use now."""
        return self.current.engine

    @property
    def version(self) -> str:
        """The rule set version in use now (see :attr:`RulesSnapshot.version`)."""
        return self.current.version

    def reload(self) -> bool:
        """Load the rules again and swap them in; False (old rules kept, error logged) when
        the new ones do not load.

        Raises:
            TypeError: the rules were given as a Site or an Engine, with no loader.
        """
        if self._loader is None:
            raise TypeError("nothing to reload: the rules were given as a Site or an Engine")
        with self._lock:
            try:
                snapshot = self._load_isolated() if self.isolate else self._load()
            except Exception as exc:
                self.failed_reloads += 1
                self.last_error = str(exc) if isinstance(exc, AclError) else repr(exc)
                logger.error(
                    "reloading the rules failed; the old rules (%s) stay in force: %s",
                    self.current.version,
                    self.last_error,
                )
                return False
            old = self.current
            self.current = snapshot
            self.reloads += 1
            self.last_error = None
        logger.info("rules reloaded: %s (was %s)", snapshot.version, old.version)
        return True

    def changed(self) -> bool:
        """True when the rules file changed since it was last read."""
        return self.path is not None and _file_signature(self.path) != self._signature

    def check(self) -> bool:
        """Reload when the file changed and has then stayed unchanged for :attr:`settle`
        seconds (a writer may be half-way through it); True when new rules were swapped in.
        A file that fails to load is not tried again until it changes again."""
        if not self.changed():
            self._pending = None
            return False
        signature = _file_signature(self.path) if self.path else None
        now = time.monotonic()
        pending = self._pending
        if pending is None or pending[0] != signature:
            self._pending = (signature, now)
            if self.settle > 0:
                return False
        elif now - pending[1] < self.settle:
            return False
        self._pending = None
        ok = self.reload()
        if not ok:
            self._signature = signature
        return ok

    def _load_isolated(self) -> RulesSnapshot:
        """:meth:`_load` in a new Python process; the engine comes back over a pipe in small
        pickled pieces, each unpickled in a few milliseconds, so the requests decided
        meanwhile on this process wait for the GIL for no longer than that."""
        request = pickle.dumps((self._loader, self.path, self._kernel))
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD_MAIN],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        assert child.stdin is not None and child.stdout is not None
        collecting = gc.isenabled()
        try:
            with child.stdin:
                pickle.dump(list(sys.path), child.stdin)
                child.stdin.write(request)
            gc.disable()  # a collection amid the new objects would be one long GIL-held pause
            pipe = _Pipe(child.stdout.fileno(), time.monotonic() + RELOAD_TIMEOUT, child)
            return self._receive(pipe)
        except BrokenPipeError:
            raise _ChildError(_ended(child)) from None
        finally:
            if collecting:
                gc.enable()
            if child.poll() is None:  # timed out, or the pipe broke
                child.kill()
            child.wait()
            child.stdout.close()

    def _receive(self, pipe: _Pipe) -> RulesSnapshot:
        def frame() -> Any:
            size = int.from_bytes(pipe.read(8), "little")
            return pickle.loads(pipe.read(size))

        head = frame()
        if head[0] == "error":
            raise _ChildError(head[1])
        _, meta = head
        fields: dict[str, Any] = {}
        for name, count in meta["chunked"]:
            items: list[Any] = []
            for _ in range(count):
                items.extend(frame())
            fields[name] = tuple(items)
        site = dataclasses.replace(meta["shell"], **fields)
        tables = tables_from_arrays(site, meta["families"], meta["arrays"])
        engine = Engine(site, tables, kernel=self._kernel)
        self._signature = meta["signature"]
        return _snapshot(engine, meta["digest"], meta["source"])

    def watch(self, interval: float) -> None:
        """Check the file every ``interval`` seconds in a background thread."""
        if interval <= 0:
            raise ValueError(f"reload interval {interval!r} must be positive")
        if self.path is None:
            raise TypeError("nothing to watch: the rules were given as a Site or an Engine")
        if self._watcher is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.check()
                except Exception:  # pragma: no cover - check() logs its own errors
                    logger.exception("checking the rules file failed")

        self._watcher = threading.Thread(target=loop, name="acl-rules-watch", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        """Stop watching the file (if :meth:`watch` or ``reload_interval`` started it)."""
        self._stop.set()
        watcher, self._watcher = self._watcher, None
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join(timeout=5)


def live_rules(
    rules: RulesInput | LiveRules, *, reload_interval: float | None = None, **load_options: Any
) -> LiveRules:
    """``rules`` as :class:`LiveRules`: given ones as they are, else new ones over the file,
    Site or Engine (what the middleware and the service accept).

    Raises:
        TypeError: load options or a reload interval given with :class:`LiveRules`, which
            have their own.
    """
    if isinstance(rules, LiveRules):
        if load_options or reload_interval:
            raise TypeError("give load options and reload_interval to LiveRules itself")
        return rules
    return LiveRules(rules, reload_interval=reload_interval, **load_options)


class _ChildError(Exception):
    """Loading the rules failed in the child process; the message is the child's."""

    def __str__(self) -> str:
        return str(self.args[0])


_CHUNK = 64
"""Rules per pickled piece sent back by the reload child (a few milliseconds to unpickle)."""


def _snapshot_frames(
    snapshot: RulesSnapshot, signature: tuple[int, int, int] | None
) -> list[bytes]:
    """The pieces of a snapshot for the pipe: the site without its long rule tuples, the
    engine's arrays and the file's signature first, then the rules ``_CHUNK`` at a time."""
    site = snapshot.engine.site
    tables = snapshot.engine.tables
    chunked: list[tuple[str, int]] = []
    pieces: list[bytes] = []
    emptied: dict[str, Any] = {}
    for item in dataclasses.fields(site):
        value = getattr(site, item.name)
        if item.init and isinstance(value, tuple) and len(value) > _CHUNK:
            emptied[item.name] = ()
            chunked.append((item.name, -(-len(value) // _CHUNK)))
            pieces += [
                pickle.dumps(value[i : i + _CHUNK], protocol=pickle.HIGHEST_PROTOCOL)
                for i in range(0, len(value), _CHUNK)
            ]
    meta = {
        "shell": dataclasses.replace(site, **emptied),
        "chunked": chunked,
        "families": {name: getattr(tables, name) for name in FAMILIES},
        "arrays": {name: getattr(tables, name) for name in ARRAY_FIELDS},
        "digest": snapshot.digest,
        "source": snapshot.source,
        "signature": signature,
    }
    return [pickle.dumps(("ok", meta), protocol=pickle.HIGHEST_PROTOCOL), *pieces]


RELOAD_TIMEOUT = 600.0
"""Seconds a reload's child process may take to load, compile and send the rules; then it
is killed and the reload fails (the old rules stay)."""


class _Pipe:
    """The reload child's output, read with a deadline."""

    def __init__(self, fd: int, deadline: float, child: subprocess.Popen[bytes]) -> None:
        self.fd = fd
        self.deadline = deadline
        self.child = child

    def read(self, size: int) -> bytes:
        parts: list[bytes] = []
        while size:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.fd], [], [], remaining)[0]:
                raise _ChildError(
                    f"loading the rules took more than {RELOAD_TIMEOUT:g} s; the child "
                    "process was stopped"
                )
            data = os.read(self.fd, min(size, 1 << 20))
            if not data:
                raise _ChildError(_ended(self.child))
            parts.append(data)
            size -= len(data)
        return b"".join(parts)


def _ended(child: subprocess.Popen[bytes]) -> str:
    """Why the reload child sent nothing (it has ended, or is about to)."""
    try:
        code = child.wait(timeout=5)
    except subprocess.TimeoutExpired:
        return "the process loading the rules closed its output before sending them"
    how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
    return (
        f"the process loading the rules ended ({how}) before sending them; its error "
        "output is in this service's log"
    )


def _load_file(path: str, options: dict[str, Any]) -> Site:
    """The default loader: :func:`acl.load` of the rules file with the load options."""
    return load(path, **options)


def _snapshot(engine: Engine, digest: str, source: str | None) -> RulesSnapshot:
    names = frozenset(header.name for rule in engine.site.all_rules() for header in rule.headers)
    return RulesSnapshot(engine, digest, time.time(), source, names)


def _load_rules(
    loader: Callable[[], Site], path: str | None, kernel: str | None
) -> tuple[RulesSnapshot, tuple[int, int, int] | None]:
    """Load and compile the rules, and the file's signature as it was read; the digest is of
    the bytes that were loaded (read before and after, again while a writer changes the
    file under us)."""
    for _ in range(5):
        signature = _file_signature(path) if path else None
        before = _file_digest(path) if path else ""
        site = loader()
        engine = compile_site(site, kernel=kernel)
        after = _file_digest(path) if path else ""
        if before == after:
            break
    return _snapshot(engine, after, path or site.source), signature


_CHILD_MAIN = (
    "import pickle, sys; sys.path[:] = pickle.load(sys.stdin.buffer); "
    "from acl.gateway.live import _reload_child; _reload_child()"
)
"""The reload child's program: the parent's import path first, then :func:`_reload_child`."""


def _reload_child() -> None:
    """The reload child process's main: read the pickled loader,
    path and kernel from standard input, load and compile, and write the snapshot's pieces,
    each after its length, to the output the parent reads. Whatever the loader prints goes
    to standard error, never into that stream."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    try:
        loader, path, kernel = pickle.load(sys.stdin.buffer)
        snapshot, signature = _load_rules(loader, path, kernel)
        frames = _snapshot_frames(snapshot, signature)
    except BaseException as exc:  # every failure goes back to the parent
        message = str(exc) if isinstance(exc, AclError) else repr(exc)
        frames = [pickle.dumps(("error", message))]
    with out:
        for frame in frames:
            out.write(len(frame).to_bytes(8, "little"))
            out.write(frame)

"""Output files: never one of the command's inputs, and present only when complete.

Every file a command writes (``acl check --out`` and ``--report``, ``acl whatif --report``,
``acl convert --output``) goes through :class:`AtomicOutput`: the data is written to a
temporary file in the same folder (``.NAME.XXXXXXXX.tmp``), flushed to disk, and renamed to
NAME only when all of it was written. A full disk, an error or an interrupt removes the
temporary file and leaves an earlier file of that name as it was. A name that exists and is
not a regular file (``/dev/stdout``, a FIFO) is written to directly.

:func:`refuse_inputs` runs before anything is read: an output that is an input (the same file
by device and inode), that a log glob would match, or that is named by two options is refused.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import IO, Any

from .errors import AclError, Origin, OutputError
from .logs import glob_matches

__all__ = ["AtomicOutput", "refuse_inputs"]


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


class AtomicOutput:
    """One output file, written under a temporary name and renamed into place by
    :meth:`commit`; :meth:`discard` (or leaving a ``with`` block by an exception) removes it.

    The temporary file is made at once, so a missing folder or a folder that cannot be written
    is an :class:`~acl.errors.OutputError` before any work is done.

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with AtomicOutput(folder / "r.txt") as out:
    ...     _ = out.open("w").write("done")
    >>> (folder / "r.txt").read_text(), sorted(p.name for p in folder.iterdir())
    ('done', ['r.txt'])

    Raises:
        OutputError: the file cannot be made or written (the message names it and why).
    """

    def __init__(self, path: str | os.PathLike[str], *, what: str = "output") -> None:
        self.path = os.fspath(path)
        self.what = what
        self._handle: IO[Any] | None = None
        self._done = False
        folder = os.path.dirname(os.path.abspath(self.path))
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            info = None
        except OSError as exc:
            raise self._error(exc) from None
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise OutputError(f"cannot write the {what}: it is a folder", Origin(file=self.path))
        self.direct = info is not None and not stat.S_ISREG(info.st_mode)
        """Written in place: the name is a device or a pipe, not a regular file."""
        self._mode = stat.S_IMODE(info.st_mode) if info is not None else None
        if self.direct:
            self.temp = self.path
            return
        if not os.path.isdir(folder):
            raise OutputError(
                f"cannot write the {what}: the folder {folder!r} does not exist",
                Origin(file=self.path),
            )
        try:
            handle, self.temp = tempfile.mkstemp(
                dir=folder, prefix=f".{os.path.basename(self.path)}.", suffix=".tmp"
            )
            os.close(handle)
        except OSError as exc:
            raise self._error(exc) from None

    def _error(self, exc: OSError) -> OutputError:
        return OutputError(f"cannot write the {self.what}: {_why(exc)}", Origin(file=self.path))

    def open(self, mode: str = "w") -> IO[Any]:
        """The temporary file opened for writing (text is UTF-8 with ``\\n`` line ends);
        :meth:`commit` closes it."""
        try:
            if "b" in mode:
                self._handle = open(self.temp, mode)  # noqa: SIM115 - closed by commit/discard
            else:
                self._handle = open(self.temp, mode, encoding="utf-8", newline="")  # noqa: SIM115
        except OSError as exc:
            self.discard()
            raise self._error(exc) from None
        return self._handle

    def write_text(self, text: str) -> None:
        """The whole output as text, then :meth:`commit`."""
        try:
            self.open("w").write(text)
        except OSError as exc:
            self.discard()
            raise self._error(exc) from None
        self.commit()

    def commit(self) -> None:
        """Close, flush to disk and rename into place."""
        if self._done:
            return
        try:
            if self._handle is not None:
                self._handle.flush()
                if not self.direct:
                    os.fsync(self._handle.fileno())
                self._handle.close()
                self._handle = None
            if not self.direct:
                if self._mode is None:
                    umask = os.umask(0)
                    os.umask(umask)
                    self._mode = 0o666 & ~umask
                os.chmod(self.temp, self._mode)
                os.replace(self.temp, self.path)
        except OSError as exc:
            self.discard()
            raise self._error(exc) from None
        self._done = True

    def discard(self) -> None:
        """Remove the temporary file (an output written in place stays as far as it got)."""
        if self._done:
            return
        self._done = True
        if self._handle is not None:
            with contextlib.suppress(OSError):  # a full disk fails the close: the file goes
                self._handle.close()
            self._handle = None
        if not self.direct:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.temp)

    def __enter__(self) -> AtomicOutput:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.commit()
            return
        self.discard()
        if isinstance(exc, OSError) and not isinstance(exc, AclError):
            raise self._error(exc) from None


def _same(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def refuse_inputs(
    outputs: Iterable[tuple[str, str | None]],
    inputs: Iterable[tuple[str, str | None]],
    globs: Sequence[str] = (),
) -> None:
    """Refuse outputs that are inputs. ``outputs`` and ``inputs`` are ``(option, path)``
    pairs (a None path or ``-`` is skipped); ``globs`` are the log patterns, which must not
    match an output even when it does not exist yet. A device or pipe (``/dev/stdout``) is
    written in place and not compared: a terminal may be both ``/dev/stdin`` and ``/dev/stdout``.

    Raises:
        OutputError: the first clash, naming both options.
    """
    outs = [(option, path) for option, path in outputs if path and path != "-"]
    ins = [(option, path) for option, path in inputs if path and path != "-"]
    for index, (option, path) in enumerate(outs):
        try:
            special = not stat.S_ISREG(os.stat(path).st_mode)
        except OSError:
            special = False
        for other, other_path in outs[:index]:
            if not special and _same(path, other_path):
                raise OutputError(
                    f"{option} and {other} name the same file: give each its own",
                    Origin(file=path),
                )
        for source, source_path in ins:
            if not special and _same(path, source_path):
                raise OutputError(
                    f"{option} would overwrite the input given as {source}: choose another file",
                    Origin(file=path),
                )
        for pattern in globs:
            if any(ch in pattern for ch in "*?[") and (
                glob_matches(pattern, path) or glob_matches(pattern, os.path.realpath(path))
            ):
                raise OutputError(
                    f"{option} matches the log glob {pattern!r}, so it would be read as a log:"
                    " choose a file outside it",
                    Origin(file=path),
                )

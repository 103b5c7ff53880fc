"""One log file read in parts: byte ranges of whole lines, each read on its own (by its own
process, so that one big file uses every core).

A part starts at the start of a line. Its reader needs what a reader of the whole file would
know there: the number of that line (the line ends before it are counted, ``\\r\\n``, ``\\n``
and a lone ``\\r`` alike, as :class:`~acl.logs.NumberedLines` counts them) and, for W3C, the
last ``#Fields:`` and ``#Date:`` directives before it, which are read first and not counted
again. So the parts of a file give the same requests, rejects and line numbers as the whole
file, in the same order.

Only W3C files are split (uncompressed regular files of at least :data:`MIN_PART` bytes a
part): their lines depend on nothing but the directives before them. JSON lines are read
whole, because a line that is cut short after a comma opens a document that the reader
reads on to the end of the source, whatever lies beyond a part's end. Anything else is read
whole too.

>>> plan_parts("-", 2) is None
True
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import IO, Any

from . import READERS, Batch, NumberedLines, ReadOptions, Reject, sniff_format

__all__ = ["MIN_PART", "SPLIT_FORMATS", "Part", "plan_parts", "read_part"]

MIN_PART = 16 << 20
"""Bytes a part has at least: a smaller file is not worth a second process."""
SPLIT_FORMATS = ("w3c",)
"""The formats whose files are split: one record a line, no state but the directives."""
_CHUNK = 1 << 22
_DIRECTIVES = (b"#fields:", b"#date:")
"""The directives a part's reader needs from before it, lower case (matched without case)."""


@dataclass(frozen=True, slots=True)
class Part:
    """Bytes ``start`` to ``stop`` (whole lines) of the log file ``name``, in ``format``."""

    name: str
    format: str
    start: int
    stop: int


def plan_parts(name: str, parts: int, options: ReadOptions | None = None) -> list[Part] | None:
    """``parts`` parts of a log file of about equal size, or None when it is read whole (see
    the module docstring): stdin, a compressed or small file, another format, a mapping."""
    opts = options or ReadOptions()
    if parts < 2 or name == "-" or opts.mapping or not os.path.isfile(name):
        return None
    size = os.path.getsize(name)
    parts = min(parts, size // MIN_PART)
    if parts < 2:
        return None
    with open(name, "rb") as handle:
        if handle.read(2) == b"\x1f\x8b" or name.endswith(".gz"):
            return None
        handle.seek(0)
        fmt = opts.format or sniff_format(NumberedLines(handle).first, name)
        if fmt not in SPLIT_FORMATS:
            return None
        cuts = [0]
        for k in range(1, parts):
            cut = _line_start(handle, max(cuts[-1], size * k // parts))
            if cut is None or cut >= size:
                break
            cuts.append(cut)
    cuts.append(size)
    found = [Part(name, fmt, a, b) for a, b in pairwise(cuts) if b > a]
    return found if len(found) > 1 else None


def _line_start(handle: IO[bytes], at: int) -> int | None:
    """The start of the first line after byte ``at``, or None when there is none within a
    chunk. A line ends at ``\n``, or at a ``\r`` that no ``\n`` follows."""
    handle.seek(at)
    data = handle.read(_CHUNK + 1)
    end = 0
    while True:
        ends = [k for k in (data.find(b"\n", end), data.find(b"\r", end)) if k >= 0]
        if not ends:
            return None
        end = min(ends) + 1
        if end >= len(data):
            return None
        if data[end - 1 : end + 1] != b"\r\n":  # else the \n after it ends the line
            return at + end


def _context(handle: IO[bytes], part: Part) -> tuple[int, list[str]]:
    """The number of the part's first line, and the directives in effect there (W3C)."""
    lines = 0
    held_cr = False
    last: dict[bytes, bytes] = {}
    position = 0
    handle.seek(0)
    while position < part.start:
        data = handle.read(min(_CHUNK, part.start - position))
        if not data:
            break
        if position + len(data) < part.start and not data.endswith(b"\n"):
            data += handle.readline(part.start - position - len(data))
        if position == 0 and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        lines += data.count(b"\n")
        if b"\r" in data:
            lines += data.count(b"\r") - data.count(b"\r\n")
        if held_cr and data.startswith(b"\n"):
            lines -= 1  # a \r\n across two chunks is one line end
        held_cr = data.endswith(b"\r")
        if part.format == "w3c":
            for directive in _DIRECTIVES:
                line = _last_line_with(data, directive)
                if line is not None:
                    last[directive] = line
        position = handle.tell()
    prelude = [
        text.decode("utf-8", "replace").rstrip("\r\n")
        for directive, text in sorted(last.items(), key=lambda item: _DIRECTIVES.index(item[0]))
    ]
    return lines + 1, prelude


def _last_line_with(data: bytes, directive: bytes) -> bytes | None:
    """The last line of ``data`` (whole lines) that starts with ``directive`` (which starts
    with ``#``: rare in data lines, and found by ``memchr``, where a longer pattern is not)."""
    at = -1
    found = data.find(b"#")
    while found >= 0:
        if (found == 0 or data[found - 1] in b"\r\n") and (
            data[found : found + len(directive)].lower() == directive
        ):
            at = found
        found = data.find(b"#", found + 1)
    if at < 0:
        return None
    ends = [k for k in (data.find(b"\n", at), data.find(b"\r", at)) if k >= 0]
    return data[at : min(ends)] if ends else data[at:]


class _Slice:
    """The bytes of a part after the prelude's, for :class:`NumberedLines`."""

    def __init__(self, handle: IO[bytes], head: bytes, left: int) -> None:
        self._handle = handle
        self._head = head
        self._left = left

    def read(self, size: int = -1) -> bytes:
        if self._head:
            out, self._head = self._head, b""
            return out
        if self._left <= 0:
            return b""
        data = self._handle.read(min(size if size > 0 else self._left, self._left))
        self._left -= len(data)
        return data


def read_part(part: Part, options: ReadOptions | None = None) -> Iterator[Batch]:
    """The batches of one part, as :func:`~acl.logs.read_logs` gives them for the whole file
    (the same line numbers; the prelude's directives are not counted again)."""
    opts = replace(options or ReadOptions(), format=part.format)
    with open(part.name, "rb") as handle:
        first, prelude = _context(handle, part)
        handle.seek(part.start)
        head = "".join(line + "\n" for line in prelude).encode()
        stream: Any = _Slice(handle, head, part.stop - part.start)
        lines = NumberedLines(stream, first=first - len(prelude))
        uncounted = len(prelude)
        for batch in READERS[part.format](lines, part.name, opts):
            if uncounted:
                batch.metadata -= uncounted
                uncounted = 0
            batch.rejects.extend(
                Reject(part.name, line, reason) for line, reason in lines.take_rejects()
            )
            yield batch
        if lines.rejects:
            yield Batch(
                part.name,
                part.format,
                rejects=[Reject(part.name, line, reason) for line, reason in lines.take_rejects()],
            )

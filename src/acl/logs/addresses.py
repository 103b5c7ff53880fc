"""A plain list of addresses, one per line (``#`` comments and blank lines allowed).

>>> from acl.logs import ReadOptions
>>> batches = list(read_addresses(iter([(1, "192.0.2.1"), (2, "# note"), (3, "2001:db8::1 ")]), "x", ReadOptions()))
>>> batches[0].ip, batches[0].metadata
(['192.0.2.1', '2001:db8::1'], 1)
"""

from __future__ import annotations

from collections.abc import Iterator

from . import Batch, BatchBuilder, Lines, ReadOptions

__all__ = ["READERS", "SNIFFERS", "read_addresses"]


def read_addresses(lines: Lines, source: str, options: ReadOptions) -> Iterator[Batch]:
    builder = BatchBuilder(source, "addresses", batch_size=options.batch_size)
    for number, text in lines:
        value = text.strip()
        if not value or value.startswith("#"):
            builder.metadata()
            continue
        if " " in value or "\t" in value or "," in value:
            builder.reject(number, "expected one address per line", text)
            continue
        builder.add(number, value)
        if builder.full:
            yield builder.take()
    yield from builder.flush()


def _looks_like_addresses(first: list[str]) -> bool:
    return all(
        len(line.split()) == 1 and (line.count(".") == 3 or ":" in line) and "{" not in line
        for line in first
        if not line.lstrip().startswith("#")
    )


READERS = {"addresses": read_addresses}
SNIFFERS = [("addresses", _looks_like_addresses)]

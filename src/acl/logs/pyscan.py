"""The pure-Python twin of the compiled block scanners (:mod:`acl.logs._scan`): the same
columns from the same block, for ``ACL_NO_EXTENSIONS=1`` and builds without a compiler.
There is no audit scanner here: the audit reader then parses every line with orjson."""

from __future__ import annotations

__all__ = ["split_columns"]


def split_columns(
    text: str,
    count: int,
    wanted: tuple[int | tuple[int, int], ...],
    flags: tuple[int, ...] | None = None,
) -> list[list[str | None]] | None:
    """Columns of a block of space-separated lines, or None when a line does not fit (the
    twin of the compiled ``split_columns``: same entries and flags)."""
    if flags is not None and len(flags) != len(wanted):
        raise ValueError("flags must have one entry per wanted column")
    if not text:
        return [[] for _ in wanted]
    if not text.endswith("\n"):
        return None
    tokens = text.replace("\n", " \n ").split(" ")
    step = count + 1
    lines = (len(tokens) - 1) // step
    end = lines * step
    if len(tokens) != end + 1 or tokens[count:end:step].count("\n") != lines:
        return None
    outs: list[list[str | None]] = []
    for k, entry in enumerate(wanted):
        flag = flags[k] if flags is not None else 0
        if isinstance(entry, tuple):
            first, second = entry
            raw = [
                a + " " + b
                for a, b in zip(tokens[first:end:step], tokens[second:end:step], strict=True)
            ]
            flag &= ~2
        else:
            raw = tokens[entry:end:step]
            if flag & 4 and ("-" in raw or "" in raw):
                return None
        values: list[str | None] = list(raw)
        if flag & 8:
            values = [v.replace("+", " ") for v in raw]
        if flag & 2:
            values = [None if r == "-" or not r else v for r, v in zip(raw, values, strict=True)]
        outs.append(values)
    return outs

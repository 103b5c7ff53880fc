"""Type stubs for the compiled log scanners (see _scan.pyx; the pure-Python twin of
split_columns is acl._purepy.split_columns)."""

from typing import Any

def split_columns(
    text: str,
    count: int,
    wanted: tuple[int | tuple[int, int], ...],
    flags: tuple[int, ...] | None = None,
) -> list[list[str | None]] | None: ...
def scan_audit(text: str, start: int = 0) -> tuple[tuple[list[Any], ...], int] | None: ...

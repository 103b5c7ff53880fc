"""Type stubs for the compiled kernel (see _fast.pyx and its twin _purepy.py)."""

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .compiler import Tables

def parse_address(text: object) -> tuple[int, int]: ...
def split_columns(
    text: str,
    count: int,
    wanted: tuple[int | tuple[int, int], ...],
    flags: tuple[int, ...] | None = None,
) -> list[list[str | None]] | None: ...
def scan_audit(text: str) -> tuple[list[Any], ...] | None: ...

class Kernel:
    def __init__(
        self,
        tables: Tables,
        site: Any,
        decision_type: type,
        slow: Callable[..., Any],
        is_scm_host: Callable[[str], bool],
    ) -> None: ...
    def arrays(self) -> list[Any]: ...
    def decide(
        self,
        request: Any,
        *,
        host: str | None = None,
        headers: Any = None,
        subnet: str | None = None,
        service_endpoint: bool = False,
        private_endpoint: bool = False,
        explain: bool = False,
    ) -> Any: ...
    def code_one(
        self,
        version: int,
        hi: int,
        lo: int,
        coll: int,
        endpoint: bool,
        private: bool,
        subnet: int,
        sat: Sequence[Iterable[int]],
    ) -> int: ...
    def codes(
        self,
        version: npt.NDArray[np.uint8],
        hi: npt.NDArray[np.uint64],
        lo: npt.NDArray[np.uint64],
        v4: npt.NDArray[np.uint32],
        coll: npt.NDArray[np.uint8],
        endpoint: npt.NDArray[np.uint8],
        private: npt.NDArray[np.uint8],
        subnet: npt.NDArray[np.int32],
        hv: npt.NDArray[np.int32],
        sat_off: npt.NDArray[np.int32],
        sat_ids: npt.NDArray[np.int32],
        out_code: npt.NDArray[np.int32],
        out_action: npt.NDArray[np.uint8],
    ) -> None: ...
    def codes_plain(
        self,
        version: npt.NDArray[np.uint8],
        hi: npt.NDArray[np.uint64],
        lo: npt.NDArray[np.uint64],
        v4: npt.NDArray[np.uint32],
        coll: int,
        out_code: npt.NDArray[np.int32],
        out_action: npt.NDArray[np.uint8],
    ) -> None: ...
    def parse_objects(self, seq: Iterable[object], version: Any, hi: Any, lo: Any) -> int: ...
    def parse_bytes_matrix(self, text: Any, version: Any, hi: Any, lo: Any) -> int: ...
    def parse_ucs4_matrix(self, text: Any, version: Any, hi: Any, lo: Any) -> int: ...
    def parse_offsets(
        self, offsets: Any, data: Any, valid: Any, version: Any, hi: Any, lo: Any
    ) -> int: ...

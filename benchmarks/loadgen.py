"""A bounded HTTP/1.1 load test against a server on loopback, from a separate process.

:func:`load_test` runs this file as a process (``python loadgen.py --load-test``, the test's
spec as JSON on stdin) so that the load generator never shares a core's interpreter with the
server, and returns a :class:`LoadReport`. Only loopback targets and source addresses are
accepted. The gateway benchmarks (``test_gateway_bench.py``) use it.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from acl.addresses import parse_address
from acl.errors import AddressError

__all__ = ["LoadReport", "generator_main", "load_test"]


@dataclass(frozen=True)
class LoadReport:
    """The outcome of :func:`load_test`.

    Latencies are in milliseconds, from the moment a request was due (with ``rate``: its
    slot in the schedule, so a slow answer delays the ones behind it and that shows) to the
    end of its response.
    """

    requests: int
    errors: int
    seconds: float
    statuses: dict[int, int]
    by_source: dict[str, dict[int, int]]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    error_samples: tuple[str, ...] = field(default=())
    timed_out: bool = False

    @property
    def rate(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        statuses = ", ".join(f"{code}: {count}" for code, count in sorted(self.statuses.items()))
        return (
            f"{self.requests} requests in {self.seconds:.2f} s ({self.rate:,.0f}/s), "
            f"{self.errors} errors; latency p50 {self.p50_ms:.2f} ms, p90 {self.p90_ms:.2f} ms, "
            f"p99 {self.p99_ms:.2f} ms, max {self.max_ms:.2f} ms; statuses {{{statuses}}}"
        )


def _loopback(address: str, what: str) -> str:
    try:
        version, value = parse_address(address)
    except AddressError as exc:
        raise ValueError(f"{what}: {exc.message}") from None
    if not ((version == 4 and value >> 24 == 127) or (version == 6 and value == 1)):
        raise ValueError(
            f"{what} {address!r} is not a loopback address: the load test only sends to "
            "127.0.0.0/8 and ::1"
        )
    return address


def load_test(
    port: int,
    *,
    host: str = "127.0.0.1",
    requests: int = 3000,
    connections: int = 32,
    rate: float | None = None,
    time_limit: float = 30.0,
    variants: Sequence[tuple[str, str, Sequence[tuple[str, str]]]] = (("GET", "/", ()),),
    sources: Sequence[str] = (),
    cpu: int | None = None,
) -> LoadReport:
    """A bounded HTTP/1.1 load test against a server on loopback, from a separate process.

    ``connections`` keep-alive connections send ``requests`` requests in all (fewer when
    ``time_limit`` seconds pass first), cycling through ``variants`` (method, path,
    headers; the Host header is added when missing). With ``rate`` the requests are
    scheduled at that many per second (open loop); without it each connection sends the
    next request as soon as the previous answer is in. Connection ``i`` binds to source
    address ``sources[i % len(sources)]`` (on Linux the whole 127.0.0.0/8 is local, so
    ``127.0.0.2`` and so on stand for different clients). ``cpu`` pins the load generator
    to one CPU. Only loopback targets and sources are accepted.

    Connection errors, timeouts and malformed answers count as ``errors``; a server that
    closes a connection after answering is reconnected to without counting an error.
    """
    _loopback(host, "target")
    for source in sources:
        _loopback(source, "source address")
    if requests < 1 or connections < 1:
        raise ValueError("requests and connections must be at least 1")
    spec = {
        "host": host,
        "port": int(port),
        "requests": int(requests),
        "connections": int(connections),
        "rate": rate,
        "time_limit": float(time_limit),
        "variants": [[m, p, [list(h) for h in hs]] for m, p, hs in variants],
        "sources": list(sources),
        "cpu": cpu,
    }
    done = subprocess.run(
        [sys.executable, __file__, "--load-test"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=time_limit + 60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed ({done.returncode}): {done.stderr[-2000:]}")
    data = json.loads(done.stdout)
    return LoadReport(
        requests=data["requests"],
        errors=data["errors"],
        seconds=data["seconds"],
        statuses={int(k): v for k, v in data["statuses"].items()},
        by_source={s: {int(k): v for k, v in c.items()} for s, c in data["by_source"].items()},
        p50_ms=data["p50_ms"],
        p90_ms=data["p90_ms"],
        p99_ms=data["p99_ms"],
        max_ms=data["max_ms"],
        error_samples=tuple(data["error_samples"]),
        timed_out=data["timed_out"],
    )


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[index]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """One response: its status and whether the connection stays open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ValueError(f"malformed status line {lines[0]!r}")
    status = int(parts[1])
    length: int | None = None
    chunked = False
    keep = parts[0] == "HTTP/1.1"
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        value = value.strip()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
        elif name == "connection":
            keep = value.lower() != "close" if keep else value.lower() == "keep-alive"
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length is not None:
        await reader.readexactly(length)
    else:
        await reader.read()
        keep = False
    return status, keep


async def _generate(spec: dict[str, Any]) -> dict[str, Any]:
    host, port = spec["host"], spec["port"]
    total, rate, limit = spec["requests"], spec["rate"], spec["time_limit"]
    sources = spec["sources"]
    payloads = []
    for method, path, headers in spec["variants"]:
        lines = [f"{method} {path} HTTP/1.1"]
        if not any(name.lower() == "host" for name, _ in headers):
            lines.append(f"Host: {host}:{port}")
        lines.extend(f"{name}: {value}" for name, value in headers)
        payloads.append(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    by_source: dict[str, dict[int, int]] = {}
    samples: list[str] = []
    errors = 0
    issued = 0
    start = time.perf_counter()
    deadline = start + limit
    timed_out = False

    async def connect(source: str | None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        local = (source, 0) if source else None
        return await asyncio.wait_for(
            asyncio.open_connection(host, port, local_addr=local), timeout=10
        )

    async def worker(index: int) -> None:
        nonlocal issued, errors, timed_out
        source = sources[index % len(sources)] if sources else None
        counts = by_source.setdefault(source or "", {})
        stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while issued < total:
            now = time.perf_counter()
            if now >= deadline:
                timed_out = True
                break
            number = issued
            issued += 1
            due = now
            if rate:
                # event loop timers are coarse (libuv: whole milliseconds, and late by one
                # or two): sleep on a timer until a few ms before the slot, then yield until
                # it comes, so that requests leave on time
                due = start + number / rate
                if due - now > 0.005:
                    await asyncio.sleep(due - now - 0.004)
                while time.perf_counter() < due:
                    await asyncio.sleep(0)
            else:
                due = time.perf_counter()
            try:
                if stream is None:
                    stream = await connect(source)
                reader, writer = stream
                writer.write(payloads[number % len(payloads)])
                status, keep = await asyncio.wait_for(_read_response(reader), timeout=10)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                errors += 1
                if len(samples) < 10:
                    samples.append(f"{type(exc).__name__}: {exc}")
                if stream is not None:
                    stream[1].close()
                stream = None
                continue
            latencies.append(time.perf_counter() - due)
            statuses[status] = statuses.get(status, 0) + 1
            counts[status] = counts.get(status, 0) + 1
            if not keep:
                stream[1].close()
                stream = None
        if stream is not None:
            stream[1].close()

    await asyncio.gather(*(worker(i) for i in range(spec["connections"])))
    seconds = time.perf_counter() - start
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": seconds,
        "statuses": {str(k): v for k, v in statuses.items()},
        "by_source": {s: {str(k): v for k, v in c.items()} for s, c in by_source.items()},
        "p50_ms": _percentile(ordered, 0.50) * 1000,
        "p90_ms": _percentile(ordered, 0.90) * 1000,
        "p99_ms": _percentile(ordered, 0.99) * 1000,
        "max_ms": (ordered[-1] * 1000) if ordered else 0.0,
        "error_samples": samples,
        "timed_out": timed_out,
    }


def generator_main() -> None:
    spec = json.loads(sys.stdin.read())
    if spec.get("cpu") is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(spec["cpu"])})
    if importlib.util.find_spec("uvloop") is not None:
        import uvloop

        result = uvloop.run(_generate(spec))
    else:
        result = asyncio.run(_generate(spec))
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python benchmarks/loadgen.py")
    parser.add_argument(
        "--load-test", action="store_true", help="run a load test: JSON spec on stdin (internal)"
    )
    if parser.parse_args().load_test:
        generator_main()
    else:
        parser.print_help()

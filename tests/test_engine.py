"""The compiled engine against the reference evaluator, for both kernels."""

from __future__ import annotations

import ipaddress
import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import acl
from acl.compiler import DEFAULT, INVALID, PRIVATE_ENDPOINT, PUBLIC_ACCESS_DISABLED
from acl.engine import KERNELS, load_engine
from acl.reference import evaluate

from .conftest import EXAMPLES, rule, site_of
from .strategies import (
    DICTIONARY_KINDS,
    TEXT_KINDS,
    batch_sizes,
    flag_column,
    requests,
    satisfying_requests,
    site_configs,
    site_from_config,
    text_column,
)

FDID = "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"
"""The X-Azure-FDID of examples/frontdoor-site."""


def same(a: acl.Decision, b: acl.Decision) -> None:
    assert (a.action, a.reason, a.collection) == (b.action, b.reason, b.collection), (a, b)
    assert a.rule is b.rule, (a, b)
    assert a.address == b.address


def columns(reqs: list[acl.Request]) -> dict[str, object]:
    def joined(r: acl.Request, name: str) -> str | None:
        copies = r.header(name)
        return ", ".join(copies) if copies else None

    return {
        "hosts": [r.host for r in reqs],
        "headers": {name: [joined(r, name) for r in reqs] for name in acl.headers.HEADER_NAMES},
        "subnets": [r.subnet for r in reqs],
        "service_endpoint": np.array([r.service_endpoint for r in reqs]),
        "private_endpoint": np.array([r.private_endpoint for r in reqs]),
    }


def check_bulk(engine: acl.Engine, reqs: list[acl.Request], expected: list[acl.Decision]) -> None:
    result = engine.decide_many([r.ip for r in reqs], **columns(reqs))  # type: ignore[arg-type]
    assert result.invalid == 0
    for i, want in enumerate(expected):
        assert result.action[i] == int(want.allowed), (i, reqs[i], want)
        code = int(result.code[i])
        assert engine.rule(code) is want.rule, (i, reqs[i], want, code)
        if want.rule is None:
            reason = {
                DEFAULT: "default",
                PRIVATE_ENDPOINT: "private-endpoint",
                PUBLIC_ACCESS_DISABLED: "public-access-disabled",
            }[code]
            assert reason == want.reason
            assert result.rule[i] == code
        else:
            assert result.rule[i] == want.rule.position
        assert result.collection[i] == (1 if want.collection == "scm" else 0)
        same(result.decision(i, reqs[i].ip), want)


@given(config=site_configs(), data=st.data())
def test_compiled_engine_equals_reference(config: dict[str, object], data: st.DataObject) -> None:
    site = site_from_config(config)
    reqs = data.draw(st.lists(requests(site), min_size=1, max_size=12))
    expected = [evaluate(site, r) for r in reqs]
    base = acl.compile(site)
    for name in KERNELS:
        engine = base.with_kernel(name)
        for request, want in zip(reqs, expected, strict=True):
            same(engine.decide(request), want)
            plain = acl.Request(request.ip, host=request.host)
            same(engine.decide(request.ip, host=request.host), evaluate(site, plain))
            if not (request.subnet or request.service_endpoint or request.private_endpoint):
                # Headers as a gateway passes them: a dict, names in any case, one string
                # for a single copy (decided without building a Request).
                given: dict[str, Any] = {}
                for name, value in request.headers:
                    key = name.upper() if name.endswith(("id", "probe")) else name
                    given.setdefault(key, []).append(value)
                given = {k: v[0] if len(v) == 1 else v for k, v in given.items()}
                decided = engine.decide(request.ip, host=request.host, headers=given)
                same(decided, want)
                assert decided.explain() == want.explain()
        check_bulk(engine, reqs, expected)


@given(config=site_configs(), data=st.data())
def test_saved_engines_load_and_decide_the_same(
    config: dict[str, object], data: st.DataObject
) -> None:
    """Every compiled engine passes the checks of a saved engine and decides the same."""
    site = site_from_config(config)
    reqs = data.draw(st.lists(requests(site), min_size=1, max_size=8))
    engine = acl.compile(site)
    copy = pickle.loads(pickle.dumps(engine))  # a pickle is a saved engine's bytes
    for name in KERNELS:
        a, b = engine.with_kernel(name), copy.with_kernel(name)
        cols = columns(reqs)
        assert np.array_equal(
            a.decide_many([r.ip for r in reqs], **cols).code,  # type: ignore[arg-type]
            b.decide_many([r.ip for r in reqs], **cols).code,  # type: ignore[arg-type]
        )
        for r in reqs:
            x, y = a.decide(r), b.decide(r)
            assert (x.action, x.reason, x.collection, x.rule) == (
                y.action,
                y.reason,
                y.collection,
                y.rule,
            )


HOST_SCALARS = ["app.azurewebsites.net", "app.scm.azurewebsites.net", "APP.SCM.x:443", ""]


@given(config=site_configs(), data=st.data())
def test_every_batch_shape_and_column_kind_equals_decide(
    config: dict[str, object], data: st.DataObject
) -> None:
    """decide_many, on batches of 0 to 300 rows with each optional column given or omitted,
    as a column of any kind or as one scalar, equals the reference (and decide) row by row."""
    site = site_from_config(config)
    kinds = st.one_of(requests(site), satisfying_requests(site))
    pool = data.draw(st.lists(kinds, min_size=1, max_size=6), label="pool")
    n = data.draw(batch_sizes, label="rows")
    rows = data.draw(st.lists(st.integers(0, len(pool) - 1), min_size=n, max_size=n))
    text_kind = st.sampled_from(TEXT_KINDS)
    header_kind = st.sampled_from(TEXT_KINDS + DICTIONARY_KINDS)
    flag_kind = st.sampled_from(["list", "bool", "int", "series"])
    # How the batch passes each optional column: omitted, a column (of some kind) or one
    # scalar for all rows; and what each pool request becomes under that choice (a
    # request's own value when its column is given, the scalar, or the default).
    makers: dict[str, Any] = {}  # argument -> (rows -> value)
    host_of: list[Any] = [None] * len(pool)
    collection = data.draw(st.sampled_from(["omit", "hosts", "host", "scm", "one-scm"]))
    if collection == "hosts":
        host_of = [r.host for r in pool]
        kind = data.draw(text_kind)
        makers["hosts"] = lambda rs, k=kind: text_column([host_of[i] for i in rs], k)
    elif collection == "host":
        one_host = data.draw(st.sampled_from(HOST_SCALARS))
        makers["hosts"] = lambda rs, h=one_host: h
        host_of = [one_host or None] * len(pool)
    elif collection == "scm":
        flags = [bool(r.host) and r.collection == "scm" for r in pool]
        host_of = ["a.scm.b" if f else None for f in flags]
        kind = data.draw(flag_kind)
        makers["scm"] = lambda rs, k=kind: flag_column([flags[i] for i in rs], k)
    elif collection == "one-scm":
        one_scm = data.draw(st.booleans())
        makers["scm"] = lambda rs, v=one_scm: v
        host_of = ["a.scm.b" if one_scm else None] * len(pool)
    names = data.draw(
        st.one_of(
            st.just(list(acl.headers.HEADER_NAMES)),
            st.lists(st.sampled_from(acl.headers.HEADER_NAMES), unique=True),
        )
    )
    headers_of: list[list[tuple[str, str]]] = [
        [(k, v) for k, v in r.headers if acl.headers.canonical_header(k) in names] for r in pool
    ]
    if names:
        header_kinds = {name: data.draw(header_kind) for name in names}

        def header_columns(rs: list[int]) -> dict[str, Any]:
            return {
                name: text_column([", ".join(pool[i].header(name)) or None for i in rs], kind)
                for name, kind in header_kinds.items()
            }

        makers["headers"] = header_columns
    subnet_of: list[str | None] = [None] * len(pool)
    if data.draw(st.booleans()):
        subnet_of = [r.subnet for r in pool]
        kind = data.draw(text_kind)
        makers["subnets"] = lambda rs, k=kind: text_column([subnet_of[i] for i in rs], k)
    endpoint_of = [False] * len(pool)
    private_of = [False] * len(pool)
    for name, of in (("service_endpoint", endpoint_of), ("private_endpoint", private_of)):
        mode = data.draw(st.sampled_from(["omit", "column", "scalar"]))
        if mode == "column":
            of[:] = [getattr(r, name) for r in pool]
            kind = data.draw(flag_kind)
            makers[name] = lambda rs, k=kind, of=of: flag_column([of[i] for i in rs], k)
        elif mode == "scalar":
            one = data.draw(st.booleans())
            makers[name] = lambda rs, v=one: v
            of[:] = [one] * len(pool)
    effective = [
        acl.Request(
            r.ip,
            host=host_of[i],
            headers=headers_of[i],
            subnet=subnet_of[i],
            service_endpoint=endpoint_of[i] or subnet_of[i] is not None,
            private_endpoint=private_of[i],
        )
        for i, r in enumerate(pool)
    ]
    expected = [evaluate(site, r) for r in effective]
    ips_kind = data.draw(text_kind)
    base = acl.compile(site)
    # The drawn batch, and every pool request alone in a batch of one row.
    batches = [rows, *([i] for i in range(len(pool)))]
    for name in KERNELS:
        engine = base.with_kernel(name)
        decided = [engine.decide(r) for r in effective]
        for want, got in zip(expected, decided, strict=True):
            same(got, want)
        for batch in batches:
            kwargs = {key: make(batch) for key, make in makers.items()}
            ips = text_column([pool[i].ip for i in batch], ips_kind)
            result = engine.decide_many(ips, **kwargs)
            assert len(result) == len(batch) and result.invalid == 0
            for row, i in enumerate(batch):
                want = expected[i]
                assert result.action[row] == int(want.allowed), (row, effective[i], want, kwargs)
                assert engine.rule(int(result.code[row])) is want.rule, (row, effective[i], want)
                assert result.collection[row] == (1 if want.collection == "scm" else 0)
                same(result.decision(row, effective[i].ip), want)


@given(config=site_configs(), data=st.data())
def test_numeric_columns_equal_reference(config: dict[str, object], data: st.DataObject) -> None:
    site = site_from_config(config)
    reqs = data.draw(st.lists(requests(site), min_size=1, max_size=20))
    v4 = [r for r in reqs if r.version == 4]
    v6 = [r for r in reqs if r.version == 6]
    for name in KERNELS:
        engine = acl.compile(site, kernel=name)
        if v4:
            got = engine.decide_many(np.array([r.value for r in v4], dtype=np.uint32))
            for i, r in enumerate(v4):
                want = evaluate(site, acl.Request(r.ip))
                assert engine.rule(int(got.code[i])) is want.rule
                assert got.action[i] == want.allowed
            scm = engine.decide_many(np.array([r.value for r in v4], dtype=np.uint32), scm=True)
            for i, r in enumerate(v4):
                want = evaluate(site, acl.Request(r.ip, host="a.scm.b"))
                assert engine.rule(int(scm.code[i])) is want.rule
        if v6:
            hi = np.array([r.value >> 64 for r in v6], dtype=np.uint64)
            lo = np.array([r.value & (2**64 - 1) for r in v6], dtype=np.uint64)
            got = engine.decide_many((hi, lo))
            for i, r in enumerate(v6):
                want = evaluate(site, acl.Request(r.ip))
                assert engine.rule(int(got.code[i])) is want.rule
                assert got.action[i] == want.allowed


# --------------------------------------------------------------------------- parsing in C

ALPHABET = "0123456789abcdefABCDEFx:./% "


@given(
    st.one_of(
        st.text(alphabet=ALPHABET, max_size=45),
        st.integers(0, 2**32 - 1).map(lambda v: str(ipaddress.IPv4Address(v))),
        st.integers(0, 2**128 - 1).map(lambda v: ipaddress.IPv6Address(v).exploded),
        st.integers(0, 2**128 - 1).map(lambda v: str(ipaddress.IPv6Address(v))),
        st.integers(0, 2**32 - 1).map(lambda v: "::ffff:" + str(ipaddress.IPv4Address(v))),
        st.lists(
            st.sampled_from(["", "0", "1", "ffff", "00000", "1.2.3.4", "01.2.3.4", "g"]),
            max_size=10,
        ).map(":".join),
    )
)
def test_c_parser_agrees_with_python(text: str) -> None:
    from acl import _fast, _purepy

    assert _fast.parse_address(text) == _purepy.parse_address(text)


def test_c_parser_examples() -> None:
    from acl import _fast

    assert _fast.parse_address("192.0.2.1") == (4, 0xC0000201)
    assert _fast.parse_address("::ffff:192.0.2.1") == (4, 0xC0000201)
    assert _fast.parse_address("2001:db8::1") == (6, 0x20010DB8 << 96 | 1)
    for bad in ("010.1.1.1", "1.2.3", "fe80::1%eth0", "1::2::3", "1.2.3.4 ", "", "::ffff:01.2.3.4"):
        assert _fast.parse_address(bad) == (0, 0), bad


FIELDS = st.sampled_from(["-", "", "a", "a+b", "192.0.2.1", "+", "é", "2024-05-01", "x" * 300])


@st.composite
def split_cases(draw: Any) -> tuple[str, int, tuple[Any, ...], tuple[int, ...] | None]:
    count = draw(st.integers(1, 6))
    rows = draw(st.lists(st.lists(FIELDS, min_size=count, max_size=count), max_size=12))
    if rows and draw(st.booleans()):  # a line with one field too many or too few
        at = draw(st.integers(0, len(rows) - 1))
        rows[at] = rows[at][:-1] if draw(st.booleans()) else [*rows[at], "z"]
    text = "".join(" ".join(row) + "\n" for row in rows)
    if text and draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]  # cut anywhere: no final newline
    field = st.integers(0, count - 1)
    wanted = tuple(
        draw(st.lists(st.one_of(field, st.tuples(field, field)), min_size=1, max_size=5))
    )
    flags = draw(st.one_of(st.none(), st.tuples(*[st.integers(0, 15) for _ in wanted])))
    return text, count, wanted, flags


@given(split_cases())
def test_c_splitter_agrees_with_python(case: tuple[str, int, tuple[Any, ...], Any]) -> None:
    from acl.logs import _scan, pyscan

    assert _scan.split_columns(*case) == pyscan.split_columns(*case)


def test_c_splitter_flags() -> None:
    from acl.logs import _scan

    text = "1.2.3.4 a+b - 2024-05-01 10:00:00\n1.2.3.5 a+b x 2024-05-01 10:00:00\n"
    ip, plus, dash, when = _scan.split_columns(text, 5, (0, 1, 2, (3, 4)), (4, 9, 2, 1))  # type: ignore[misc]
    assert ip == ["1.2.3.4", "1.2.3.5"]
    assert plus == ["a b", "a b"] and plus[0] is plus[1]  # 8: "+" is a space; 1: reused
    assert dash == [None, "x"] and when == ["2024-05-01 10:00:00"] * 2 and when[0] is when[1]
    assert _scan.split_columns(text, 5, (2,), (4,)) is None  # 4: "-" sends the block back
    assert _scan.split_columns(text, 4, (0,)) is None  # a line does not fit


# --------------------------------------------------------------------------- columns


@pytest.fixture
def example_engine(kernel: str) -> acl.Engine:
    return acl.compile(acl.load(EXAMPLES / "frontdoor-site" / "site.json"), kernel=kernel)


ADDRESSES = [
    "203.0.113.10",
    "bad",
    "2001:db8:cafe::1",
    "203.0.113.66",
    "::ffff:203.0.113.10",
    "1.2.3.4",
]
EXPECTED_RULE = [2, INVALID, 2, 1, 2, DEFAULT]


@pytest.mark.parametrize(
    "make",
    [
        list,
        lambda a: np.array(a),
        lambda a: np.array(a, dtype=object),
        lambda a: np.array([s.encode() for s in a]),
        lambda a: __import__("pyarrow").array(a),
        lambda a: __import__("pyarrow").array(a, type=__import__("pyarrow").large_string()),
        lambda a: __import__("pyarrow").chunked_array([a[:2], a[2:]]),
        lambda a: __import__("pyarrow").array(a).slice(0),
    ],
    ids=[
        "list",
        "numpy-U",
        "numpy-object",
        "numpy-S",
        "arrow",
        "arrow-large",
        "arrow-chunked",
        "arrow-slice",
    ],
)
def test_string_columns(example_engine: acl.Engine, make: object) -> None:
    result = example_engine.decide_many(make(ADDRESSES))  # type: ignore[operator]
    assert result.rule.tolist() == EXPECTED_RULE
    assert result.action.tolist() == [1, 0, 1, 0, 1, 0]
    assert result.invalid == 1


def test_arrow_nulls_and_offsets_are_invalid_rows(example_engine: acl.Engine) -> None:
    pa = pytest.importorskip("pyarrow")
    array = pa.array(["1.2.3.4", None, "203.0.113.10", "203.0.113.66"]).slice(1, 3)
    result = example_engine.decide_many(array)
    assert result.rule.tolist() == [INVALID, 2, 1]
    assert result.invalid == 1


def test_invalid_rows_never_raise(example_engine: acl.Engine) -> None:
    result = example_engine.decide_many(["", None, 5, "1.2.3.4", "x" * 500])
    assert result.invalid == 4
    assert result.action.tolist() == [0, 0, 0, 0, 0]
    with pytest.raises(acl.RequestError, match="row 0"):
        result.decision(0)


def test_header_and_subnet_columns(example_engine: acl.Engine) -> None:
    subnet = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/shop-vnet/subnets/jobs"
    result = example_engine.decide_many(
        ["147.243.1.1", "147.243.1.1", "10.0.0.1", "10.0.0.1", "192.0.2.1"],
        headers={"x-azure-fdid": [FDID, f"{FDID}, {FDID}", None, "", None]},
        subnets=[None, None, subnet.upper(), None, None],
        hosts=[
            "a.azurewebsites.net",
            None,
            "a.azurewebsites.net",
            "a.azurewebsites.net",
            "a.scm.azurewebsites.net",
        ],
    )
    assert result.rule.tolist() == [0, DEFAULT, 3, DEFAULT, 0]
    assert result.collection.tolist() == [0, 0, 0, 0, 1]
    with pytest.raises(acl.RequestError, match="not one of"):
        example_engine.decide_many(["1.2.3.4"], headers={"X-Client-IP": ["1.2.3.4"]})
    with pytest.raises(ValueError, match="2 values for 1 requests"):
        example_engine.decide_many(["1.2.3.4"], hosts=["a", "b"])


def test_private_endpoint_and_public_access_codes(kernel: str) -> None:
    site = site_of(rule("all", 1, "0.0.0.0/0"), publicNetworkAccess="Disabled")
    engine = acl.compile(site, kernel=kernel)
    result = engine.decide_many(
        np.array([1, 2], dtype=np.uint32), private_endpoint=np.array([True, False])
    )
    assert result.rule.tolist() == [PRIVATE_ENDPOINT, PUBLIC_ACCESS_DISABLED]
    assert result.action.tolist() == [1, 0]
    assert engine.decide_many(np.array([1], dtype=np.uint32)).rule.tolist() == [
        PUBLIC_ACCESS_DISABLED
    ]


def test_one_row_batches_read_their_columns(example_engine: acl.Engine) -> None:
    """A one-row column has the shape of "one value for all": the header, endpoint and
    collection columns of a one-row batch still decide it."""
    front_door = ["147.243.0.1"]
    for headers in ({"X-Azure-FDID": [FDID]}, {"x-azure-fdid": np.array([FDID])}):
        result = example_engine.decide_many(front_door, headers=headers)
        assert result.action.tolist() == [1] and result.rule.tolist() == [0]
    assert (
        example_engine.decide_many(front_door, headers={"X-Azure-FDID": ["x"]}).rule[0] == DEFAULT
    )
    assert (
        example_engine.decide_many(("147.243.0.1",), headers={"X-Azure-FDID": (FDID,)}).rule[0] == 0
    )  # a tuple of one address is a column, not a (hi, lo) pair
    two = example_engine.decide_many(
        ("147.243.0.1", "1.2.3.4"), headers={"X-Azure-FDID": (FDID, FDID)}
    )
    assert two.rule.tolist() == [0, DEFAULT]
    agents = example_engine.decide_many(["192.0.2.3"], scm=[True])
    assert agents.rule.tolist() == [0] and agents.collection.tolist() == [1]
    assert example_engine.decide_many(["192.0.2.3"], private_endpoint=[True]).rule.tolist() == [
        PRIVATE_ENDPOINT
    ]


def test_long_header_values_are_decided_but_not_remembered(example_engine: acl.Engine) -> None:
    """Header values longer than the memo keeps are decided exactly (a padded FDID, a long
    X-Forwarded-Host list or X-Forwarded-For chain can still match) and never kept."""
    site = site_of(
        rule("fd", 100, "Any", headers={"X-Azure-FDID": [FDID]}),
        rule("probe", 200, "Any", headers={"X-FD-HealthProbe": ["1"]}),
        rule("xfh", 300, "Any", headers={"X-Forwarded-Host": ["www.contoso.com"]}),
        rule("xff", 400, "Any", headers={"X-Forwarded-For": ["198.51.100.0/24"]}),
        ipSecurityRestrictionsDefaultAction="Deny",
    )
    chain = ", ".join(f"10.{i // 256 % 256}.{i % 256}.1" for i in range(20_000))
    cases = [
        {"X-Azure-FDID": " " * 300 + FDID + " " * 300},
        {"X-Azure-FDID": FDID + "x" * 500},
        {"X-FD-HealthProbe": "1" + " " * 1000},
        {"X-Forwarded-Host": "a.example, " * 200 + "www.contoso.com"},
        {"X-Forwarded-Host": "w" * 5000 + ".contoso.com"},
        {"X-Forwarded-For": chain + ", 198.51.100.7"},
        {"X-Forwarded-For": chain},
    ]
    for name in KERNELS:
        engine = acl.compile(site, kernel=name)
        for headers in cases:
            want = evaluate(site, acl.Request("192.0.2.1", headers=headers))
            same(engine.decide("192.0.2.1", headers=headers), want)
            same(engine.decide(acl.Request("192.0.2.1", headers=headers)), want)
            bulk = engine.decide_many(["192.0.2.1"], headers={k: [v] for k, v in headers.items()})
            assert engine.rule(int(bulk.code[0])) is want.rule
        assert engine._satisfied == {}  # none of them was short enough to keep
        engine.decide("192.0.2.1", headers={"X-Azure-FDID": FDID})
        assert len(engine._satisfied) == 1


def _traced_growth(work: Any) -> tuple[int, int]:
    """(bytes still held after ``work()``, peak bytes during it), traced by tracemalloc."""
    import gc
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        work()
        gc.collect()
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return after - before, peak - before


FILTER_OF = {"X-Azure-FDID": FDID, "X-Forwarded-Host": "www.contoso.com"}


@pytest.mark.parametrize(
    ("header", "count"), [("X-Azure-FDID", 300), ("X-Forwarded-Host", 40), ("X-Forwarded-For", 40)]
)
def test_distinct_huge_header_values_keep_memory_bounded(
    kernel: str, header: str, count: int
) -> None:
    """Requests with distinct 1 MB header values: the engine keeps none of them (before,
    its memo kept up to 4,096 whole values: 300 MB for the 300 X-Azure-FDID values)."""
    value = FILTER_OF.get(header, "203.0.113.0/24")
    engine = acl.compile(site_of(rule("h", 1, "Any", headers={header: [value]})), kernel=kernel)
    mib = 1 << 20

    def work() -> None:
        for i in range(count):
            if header == "X-Forwarded-For":
                value = f"203.0.113.{i % 250}, " + "1" * (mib - 20)
            else:
                value = f"{i:08d}" + "a" * (mib - 8)
            headers: Any = {header: value} if i % 2 else [(header, value)]
            allowed = header == "X-Forwarded-For"  # its chain starts with a matching address
            assert engine.decide("147.243.0.1", headers=headers).allowed is allowed

    held, peak = _traced_growth(work)
    assert held < mib, held
    assert peak < 12 * mib, peak  # a few copies of one value at a time, never all of them

    def memo_fill() -> None:
        for i in range(20_000):
            engine.decide("147.243.0.1", headers={header: f"{i}"})

    held, _ = _traced_growth(memo_fill)
    assert 0 < held < 2 * acl.engine.MEMO_BYTES, held  # short values: kept up to the bound
    assert engine._satisfied_bytes <= acl.engine.MEMO_BYTES


def test_distinct_huge_hosts_keep_memory_bounded(kernel: str) -> None:
    """The kernel remembers whether a host is scm only for hosts of a DNS name's length."""
    engine = acl.compile(acl.load(EXAMPLES / "frontdoor-site" / "site.json"), kernel=kernel)
    mib = 1 << 20

    def work() -> None:
        for i in range(300):
            host = f"{i:08d}" + "a" * (mib - 30) + ".scm.azurewebsites.net"
            assert engine.decide("192.0.2.3", host=host).decided_by == "build-agents"

    held, peak = _traced_growth(work)
    assert held < mib, held
    assert peak < 8 * mib, peak


def test_batch_header_memo_is_per_batch(example_engine: acl.Engine) -> None:
    """decide_many remembers a batch's header values only while deciding that batch."""
    mib = 1 << 20
    column = [f"{i:08d}" + "a" * (mib - 8) for i in range(40)]
    ips = ["147.243.0.1"] * len(column)

    def work() -> None:
        result = example_engine.decide_many(ips, headers={"X-Azure-FDID": column})
        assert result.rule.tolist() == [DEFAULT] * len(column)

    held, peak = _traced_growth(work)
    assert held < mib, held
    assert peak < 4 * mib, peak


def test_compiled_arrays_are_read_only(example_engine: acl.Engine, tmp_path: Path) -> None:
    path = tmp_path / "engine.acl"
    example_engine.save(path)
    for engine in (example_engine, load_engine(path), pickle.loads(pickle.dumps(example_engine))):
        for array in engine.tables.arrays():
            with pytest.raises(ValueError, match="read-only"):
                array[...] = 0
        with pytest.raises(ValueError, match="read-only"):
            engine.tables.defaults[0] = 1


def test_empty_batches(example_engine: acl.Engine) -> None:
    assert len(example_engine.decide_many(np.zeros(0, dtype=np.uint32))) == 0
    assert len(example_engine.decide_many([])) == 0


def test_threads_decide_in_parallel(example_engine: acl.Engine) -> None:
    rng = np.random.default_rng(1)
    ips = rng.integers(0, 2**32, 200_000, dtype=np.uint64).astype(np.uint32)
    whole = example_engine.decide_many(ips)
    parts: dict[int, np.ndarray] = {}

    def work(k: int) -> None:
        parts[k] = example_engine.decide_many(ips[k::2]).code

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert np.array_equal(parts[0], whole.code[0::2])
    assert np.array_equal(parts[1], whole.code[1::2])


# --------------------------------------------------------------------------- one request


def test_single_call_errors(example_engine: acl.Engine) -> None:
    with pytest.raises(acl.RequestError, match=r"'1\.2\.3'"):
        example_engine.decide("1.2.3")
    with pytest.raises(TypeError, match="not both"):
        example_engine.decide(acl.Request("1.2.3.4"), host="x")
    with pytest.raises(acl.RequestError, match="neither a Request"):
        example_engine.decide(12)  # type: ignore[arg-type]


def test_headers_as_a_dict(example_engine: acl.Engine) -> None:
    """A gateway's dict of headers is decided without a Request, exactly as with one."""
    front_door = "147.243.1.2"
    cases: list[dict[str, Any]] = [
        {"X-Azure-FDID": FDID},
        {"x-azure-fdid ": FDID, "Accept": "*/*"},  # any case, spaces, other headers ignored
        {"X-Azure-FDID": [FDID, FDID]},  # two copies never match
        {"X-Azure-FDID": FDID, "x-azure-fdid": FDID},  # nor do two spellings
        {"X-Azure-FDID": "0d1c7c2e-6a4b-4b0e-9d6a-000000000000"},
        {},
    ]
    pairs: list[Any] = [
        [("X-Azure-FDID", FDID)],  # the middleware's (name, value) pairs
        [("X-Azure-FDID", FDID), ("X-Azure-FDID", FDID)],
        [("X-Forwarded-For", "203.0.113.9"), ("x-azure-fdid", FDID)],
    ]
    for headers in [*cases, *pairs]:
        for host in (None, "contoso-shop.scm.azurewebsites.net"):
            want = evaluate(
                example_engine.site, acl.Request(front_door, host=host, headers=headers)
            )
            got = example_engine.decide(front_door, host=host, headers=headers)
            same(got, want)
            assert got.explain() == want.explain()
    assert example_engine.decide(front_door, headers={"X-Azure-FDID": FDID}).allowed
    assert not example_engine.decide(front_door, headers={"X-Azure-FDID": [FDID, FDID]}).allowed
    with pytest.raises(acl.RequestError, match="neither a string nor a list of strings"):
        example_engine.decide(front_door, headers={"X-Azure-FDID": 7})
    with pytest.raises(acl.RequestError, match=r"'1\.2\.3'"):
        example_engine.decide("1.2.3", headers={"X-Azure-FDID": FDID})


def test_fast_path_decisions_explain_on_demand(example_engine: acl.Engine) -> None:
    d = example_engine.decide("192.0.2.3", host="x.scm.azurewebsites.net")
    assert d.trace is None
    assert d.decided_by == "build-agents"
    assert "build-agents" in d.explain()
    assert d.with_trace().trace is not None
    traced = example_engine.decide("192.0.2.3", explain=True)
    assert traced.trace is not None


# --------------------------------------------------------------------------- persistence


def test_pickle_and_save_round_trip(example_engine: acl.Engine, tmp_path: Path) -> None:
    ips = ["203.0.113.10", "147.243.1.1", "2001:db8:cafe::1", "192.0.2.1"]
    want = example_engine.decide_many(ips, hosts=["a", "a", "a", "b.scm.c"]).code
    copy = pickle.loads(pickle.dumps(example_engine))
    assert np.array_equal(copy.decide_many(ips, hosts=["a", "a", "a", "b.scm.c"]).code, want)
    assert copy.decide("203.0.113.10").decided_by == "office"
    path = tmp_path / "engine.acl"
    example_engine.save(path)
    loaded = load_engine(path)
    assert np.array_equal(loaded.decide_many(ips, hosts=["a", "a", "a", "b.scm.c"]).code, want)
    assert loaded.site == example_engine.site
    assert len(pickle.dumps(example_engine)) < 20_000


def test_load_engine_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.acl"
    bad.write_bytes(b"not a zip")
    with pytest.raises(acl.ConfigError, match="not a saved acl engine"):
        load_engine(bad)
    with pytest.raises(acl.ConfigError, match="cannot read"):
        load_engine(tmp_path / "missing.acl")


def test_use_main_shares_tables(kernel: str) -> None:
    site = site_of(rule("a", 1, "10.0.0.0/8"), scmIpSecurityRestrictionsUseMain=True)
    engine = acl.compile(site, kernel=kernel)
    assert engine.tables.v4_scm is engine.tables.v4_main
    assert engine.decide("10.1.1.1", host="x.scm.y").decided_by == "a"


def test_no_extensions_switch_selects_the_python_kernel() -> None:
    env = {**os.environ, "ACL_NO_EXTENSIONS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", "import acl.engine as e; print(e.KERNEL)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "python"
    out = subprocess.run(
        [sys.executable, "-c", "import acl.engine as e; print(e.KERNEL)"],
        env={k: v for k, v in os.environ.items() if k != "ACL_NO_EXTENSIONS"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "cython"


def test_dictionary_encoded_header_columns(example_engine: acl.Engine) -> None:
    pa = pytest.importorskip("pyarrow")
    ips = ["147.243.1.1", "147.243.1.2", "147.243.1.3", "147.243.1.4"]
    values = [FDID, "other", None, FDID]
    expected = [0, DEFAULT, DEFAULT, 0]
    codes = np.array([0, 1, -1, 0])
    for column in (
        values,
        (codes, [FDID, "other"]),
        pa.array(values).dictionary_encode(),
    ):
        result = example_engine.decide_many(ips, headers={"X-Azure-FDID": column})
        assert result.rule.tolist() == expected
    with pytest.raises(ValueError, match="dictionary codes"):
        example_engine.decide_many(ips, headers={"X-Azure-FDID": (np.array([0, 5, 0, 0]), [FDID])})
    with pytest.raises(acl.RequestError, match="not a string"):
        example_engine.decide_many(ips, headers={"X-Azure-FDID": [FDID, 5, None, None]})


def test_ipv6_and_mapped_numeric_columns(example_engine: acl.Engine) -> None:
    office = int(ipaddress.IPv6Address("2001:db8:cafe::1"))
    mapped = int(ipaddress.IPv6Address("::ffff:203.0.113.66"))
    hi = np.array([office >> 64, mapped >> 64], dtype=np.uint64)
    lo = np.array([office & (2**64 - 1), mapped & (2**64 - 1)], dtype=np.uint64)
    assert example_engine.decide_many((hi, lo)).rule.tolist() == [2, 1]


# --------------------------------------------------------------------------- saved engines


def _members(data: bytes) -> dict[str, np.ndarray]:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            m.removesuffix(".npy"): np.load(io.BytesIO(archive.read(m)), allow_pickle=False)
            for m in archive.namelist()
        }


def _repack(
    arrays: dict[str, Any], *, meta: dict[str, Any] | None = None, digest: bool = True
) -> bytes:
    """A saved engine from these arrays: the meta (changed as given) re-digested, as a
    deliberate edit would be, unless ``digest`` is false (the old digest is kept)."""
    import io
    import json

    from acl import saved

    body = {k: v for k, v in arrays.items() if k not in ("meta", "digest")}
    meta_bytes = json.dumps(meta).encode() if meta is not None else arrays["meta"].tobytes()
    old = arrays.get("digest", np.zeros(64, np.uint8))
    new = np.frombuffer(saved.digest_of(meta_bytes, body).encode(), np.uint8)
    members = {"meta": np.frombuffer(meta_bytes, np.uint8), "digest": new if digest else old}
    buffer = io.BytesIO()
    saved.write_members(buffer, {**members, **body})
    return buffer.getvalue()


def _tampered(arrays: dict[str, np.ndarray]) -> dict[str, tuple[bytes, str]]:
    """Per case, a tampered file and a pattern its ConfigError must match."""
    import json

    cases: dict[str, tuple[bytes, str]] = {}
    for name, array in arrays.items():
        if name in ("meta", "digest"):
            continue
        field = name.rpartition(".")[2]
        site_column = name.startswith("site.")

        def case(
            label: str,
            value: Any,
            pattern: str | None = None,
            name: str = name,
            array: np.ndarray = array,
        ) -> None:
            if value.dtype == array.dtype and np.array_equal(value, array):
                return  # the same array: nothing was tampered with
            pattern = pattern or re_name(name)
            cases[f"{name}:{label}"] = (_repack({**arrays, name: value}), pattern)
            undigested = _repack({**arrays, name: value}, digest=False)
            cases[f"{name}:{label}:undigested"] = (undigested, f"digest does not match|{pattern}")

        other = np.int64 if array.dtype != np.int64 else np.int32
        case("dtype", array.astype(other))
        if array.dtype.itemsize > 1:
            case("big-endian", array.astype(array.dtype.newbyteorder(">")))
        case("2-d", array.reshape(1, -1))
        case("shorter", array[:-1] if len(array) else np.zeros(1, array.dtype))
        case("longer", np.append(array, array[-1:] if len(array) else [0]).astype(array.dtype))
        if not len(array):
            continue
        high = array.copy()
        high[-1] = np.iinfo(array.dtype).max
        case("huge", high)
        if array.dtype.kind == "i":
            low = array.copy()
            low[0] = -1
            case("negative", low)
        if site_column:
            continue  # the site's own data: a digested edit is a deliberate one (see below)
        if len(array) >= 2:
            case("reversed", array[::-1].copy())
        if field in ("ranges", "root", "list_rules", "list_offsets", "starts_lo"):
            beyond = array.copy()
            beyond[len(array) // 2] += {"starts_lo": 2**40}.get(field, 1000)
            case("beyond", beyond)
        if not field.startswith(("starts", "ranges", "root", "list_", "endpoint_")):
            flipped = array.copy()
            flipped[0] ^= 1
            case("not-its-site", flipped, "does not match its site")
    meta = json.loads(arrays["meta"].tobytes().decode())
    cases["meta:old-format"] = (
        _repack(arrays, meta={**meta, "format": "acl-engine/1"}),
        "acl-engine/1.*save the engine again",
    )
    cases["meta:other-format"] = (_repack(arrays, meta={**meta, "format": "x"}), "not a saved")
    cases["meta:shared"] = (_repack(arrays, meta={**meta, "shared_scm": "no"}), "malformed")
    cases["meta:shared-wrong"] = (
        _repack(arrays, meta={**meta, "shared_scm": not meta["shared_scm"]}),
        "do not fit its meta|scm shares",
    )
    extra = {**arrays, "surprise": np.zeros(1, np.uint8)}
    cases["extra-member"] = (_repack(extra), "unexpected member")
    cases["missing-member"] = (
        _repack({k: v for k, v in arrays.items() if k != "v6_main.root"}),
        "missing",
    )
    fdid = meta["site"]
    cases["meta:site-edited"] = (
        _repack(arrays, meta={**meta, "site": {**fdid, "name": "x"}}, digest=False),
        "digest does not match",
    )
    ranges = arrays["v4_main.ranges"].copy()
    ranges[0] = (ranges[0] + 1) % (len(arrays["list_offsets"]) - 1)
    for column, value, pattern in (
        ("site.prefix_version", 5, "neither 4 nor 6"),
        ("site.prefix_length", 200, "malformed prefix length"),
        ("site.prefix_lo", 1, "host bits"),
    ):
        edited = arrays[column].copy()
        short = np.nonzero(arrays["site.prefix_length"] < 32)[0]  # a prefix with host bits
        if len(short):
            edited[short[0]] |= value
            cases[f"{column}:bad"] = (_repack({**arrays, column: edited}), pattern)
    cases["digest:zeroed"] = (
        _repack({k: v for k, v in arrays.items() if k != "digest"}, digest=False),
        "digest does not match",
    )
    cases["v4_main.ranges:undigested"] = (
        _repack({**arrays, "v4_main.ranges": ranges}, digest=False),
        "digest does not match",
    )
    return cases


def re_name(name: str) -> str:
    import re

    return re.escape(repr(name))


LOAD_ALL = """
import sys, acl
from pathlib import Path
for path in sorted(Path(sys.argv[1]).iterdir()):
    print("TRY", path.name, flush=True)
    try:
        engine = acl.load_engine(path)
    except acl.ConfigError as exc:
        print("ERR", path.name, str(exc).replace("\\n", " "), flush=True)
    else:
        codes = engine.decide_many(sys.argv[2].split(","), hosts=sys.argv[3].split(",")).code
        print("OK", path.name, ",".join(map(str, codes.tolist())), flush=True)
"""


def _load_in_subprocess(folder: Path, ips: list[str], hosts: list[str]) -> dict[str, str]:
    """Load every file of ``folder`` in a child process (where a crash cannot take pytest
    down): per file name, ``ERR <message>`` or ``OK <codes>``."""
    out = subprocess.run(
        [sys.executable, "-c", LOAD_ALL, str(folder), ",".join(ips), ",".join(hosts)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = out.stdout.splitlines()
    assert out.returncode == 0, (out.returncode, lines[-1:] or None, out.stderr[-2000:])
    results: dict[str, str] = {}
    for line in lines:
        kind, name, *rest = line.split(" ", 2)
        if kind != "TRY":
            results[name] = f"{kind} {rest[0] if rest else ''}"
    return results


DELIBERATE = {
    "list_offsets:longer",
    "list_rules:reversed",
    "v4_main.ranges:reversed",
    "v6_main.ranges:reversed",
    "v4_scm.ranges:reversed",
    "v6_scm.ranges:reversed",
    "v6_main.starts_lo:huge",
    "v6_scm.starts_lo:huge",
}
"""Edits that leave a well-formed engine, loaded when the editor also recomputes the digest
(as anyone who can write the file can): one more, empty, candidate list; ranges leading to
other lists of their collection (or, where every list holds one rule, the lists reordered), or a last IPv6 range start moved (these can turn a deny
into an allow: the digest catches them unless recomputed, so an engine file is to be
trusted like code)."""

PROBES = ["203.0.113.10", "203.0.113.66", "147.243.1.1", "192.0.2.3", "2001:db8:cafe::1", "::1"]
PROBE_HOSTS = ["a", "a", "a", "x.scm.y", "a", "x.scm.y"]


@pytest.mark.parametrize("use_main", [False, True])
def test_tampered_saved_engines_are_refused(tmp_path: Path, use_main: bool) -> None:
    """Every array of a saved engine, tampered (wrong dtype or shape, an index out of range,
    starts out of order) even with a recomputed digest, gives a ConfigError naming the array;
    an undigested edit, a flipped byte or a truncated file gives one too. Loaded in a child
    process, so a crash fails the test."""
    site = acl.load(EXAMPLES / "frontdoor-site" / "site.json")
    if use_main:
        from acl.serialize import site_from_dict, site_to_dict

        site = site_from_dict({**site_to_dict(site), "scm_use_main": True})
    engine = acl.compile(site)
    good = acl.saved.to_bytes(engine.site, engine.tables)
    arrays = _members(good)
    cases = _tampered(arrays)
    folder = tmp_path / "files"
    folder.mkdir()
    patterns: dict[str, str] = {}
    for i, (_, (blob, pattern)) in enumerate(sorted(cases.items())):
        patterns[f"{i:03d}"] = pattern
        (folder / f"{i:03d}").write_bytes(blob)
    for k, cut in enumerate(sorted({0, 1, 30, len(good) // 3, len(good) // 2, len(good) - 1})):
        name = f"truncated-{k}"
        (folder / name).write_bytes(good[:cut])
        patterns[name] = "not a saved acl engine"
    for k in range(0, len(good), max(1, len(good) // 300)):
        name = f"flipped-{k:06d}"
        (folder / name).write_bytes(good[:k] + bytes([good[k] ^ 0x10]) + good[k + 1 :])
        patterns[name] = ""
    (folder / "untouched").write_bytes(good)
    results = _load_in_subprocess(folder, PROBES, PROBE_HOSTS)
    want = engine.decide_many(PROBES, hosts=PROBE_HOSTS).code.tolist()
    assert results.pop("untouched") == "OK " + ",".join(map(str, want))
    assert set(results) == set(patterns)
    import re

    labels = {f"{i:03d}": label for i, label in enumerate(sorted(cases))}
    for name in [k for k in results if k.startswith("flipped-")]:
        # a flip in the zip's own bookkeeping (a date, a version) changes nothing
        if not results[name].startswith("ERR "):
            assert results.pop(name) == "OK " + ",".join(map(str, want)), name
    loaded = {labels.get(k, k) for k, v in results.items() if not v.startswith("ERR ")}
    assert loaded <= DELIBERATE, sorted(
        (labels.get(k, k), results[k]) for k in results if not results[k].startswith("ERR ")
    )
    for name, result in results.items():
        if labels.get(name) in DELIBERATE:
            continue
        assert result.startswith("ERR "), (labels.get(name, name), result)
        assert re.search(patterns[name], result), (labels.get(name, name), patterns[name], result)


# ------------------------------------------------- flags read strictly, never by truthiness

FLAG_SITE = (
    '[{"name": "deny-10", "priority": 100, "action": "Deny", "ipAddress": "10.0.0.0/8"},'
    ' {"name": "anyvnets", "priority": 200, "ipAddress": "AnyVnets"}]'
)


@pytest.mark.parametrize("flag", ["service_endpoint", "private_endpoint"])
@pytest.mark.parametrize("value", ["False", "false", "True", "no", "", 2, None, 0.0])
def test_a_single_request_flag_must_be_a_bool(flag: str, value: Any) -> None:
    """``bool("False")`` is True: a text would have counted as "came through an endpoint"
    (a private endpoint allows without any rule). A request's flags are bools, 0 or 1."""
    engine = acl.compile(acl.loads(FLAG_SITE))
    with pytest.raises(acl.RequestError, match=rf"{flag} .* is not valid: expected True or False"):
        acl.Request("10.0.0.4", **{flag: value})
    if value:  # a falsy value takes the kernel's fast path, as False does
        with pytest.raises(acl.RequestError, match=flag):
            engine.decide("10.0.0.4", **{flag: value})
    assert engine.decide("10.0.0.4", **{flag: 0}).decided_by == "deny-10"
    assert acl.Request("10.0.0.4", **{flag: np.True_}).__getattribute__(flag) is True


def test_flag_columns_read_texts_as_logs_write_them() -> None:
    """The audit table's ServiceEndpoint is the text "True"/"False": in every column form
    it is read as what it says, and anything else is an error naming the value and row."""
    pd = pytest.importorskip("pandas")
    pa = pytest.importorskip("pyarrow")
    engine = acl.compile(acl.loads(FLAG_SITE))
    ips = ["10.0.0.4"] * 4
    texts = ["False", "TRUE", None, " true "]
    for column in (
        texts,
        np.array(texts, dtype=object),
        np.array(["False", "TRUE", "", " true "]),
        pd.Series(texts, dtype="string"),
        pa.array(texts),
        [False, True, False, True],
        np.array([0, 1, 0, 1]),
    ):
        got = engine.decide_many(ips, service_endpoint=column)
        assert got.rule.tolist() == [0, 1, 0, 1], column
    private = engine.decide_many(ips, private_endpoint=texts)
    assert private.rule.tolist()[0] == 0 and private.action.tolist()[1] == 1
    for bad, shown in ((["False", "no"], "'no'"), ([0, 2], "2"), ([0.0, 1.0], "0.0")):
        with pytest.raises(ValueError, match=rf"service_endpoint\[\d\] {shown} is not a boolean"):
            engine.decide_many(ips[:2], service_endpoint=bad)
    with pytest.raises(TypeError, match="give True or False for every row"):
        engine.decide_many(ips, private_endpoint="False")

"""Large tables: a 10^5-rule site, built once, decided alike in bulk, one by one, by both
kernels and by the reference; threads; the front door's types."""

from __future__ import annotations

import functools
import types
import typing
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import acl
import acl.compiler
from acl.addresses import Prefix
from acl.engine import Decide, Engine
from acl.errors import Origin
from acl.formats.restrictions import header_filter
from acl.model import Action, Rule, Site, Source
from acl.reference import evaluate

from .conftest import EXAMPLES

RULES = 100_000


@functools.cache
def big_engine() -> Engine:
    """A seeded site of 10^5 IPv4 and IPv6 rules (/16 to /32 and /32 to /128, random
    priorities and actions; a twentieth with an X-Azure-FDID filter), compiled once."""
    rng = np.random.default_rng(19)
    v6 = rng.random(RULES) < 0.2
    lengths = np.where(v6, rng.integers(32, 129, RULES), rng.integers(16, 33, RULES))
    values = rng.integers(0, 1 << 62, (RULES, 2), dtype=np.uint64)
    priorities = rng.integers(100, 100 + RULES // 2, RULES).tolist()
    allow = (rng.random(RULES) < 0.7).tolist()
    fdid = (rng.random(RULES) < 0.05).tolist()
    filters = (header_filter("X-Azure-FDID", ("f1",), Origin()),)
    rules = []
    for k in range(RULES):
        length = int(lengths[k])
        if v6[k]:
            value = ((int(values[k, 0]) | 1 << 61) << 64 | int(values[k, 1])) & ~(
                (1 << (128 - length)) - 1
            )
            prefix = Prefix(6, value, length)
        else:
            value = int(values[k, 0]) & 0xFFFFFFFF & ~((1 << (32 - length)) - 1)
            prefix = Prefix(4, value, length)
        rules.append(
            Rule(
                position=k,
                priority=priorities[k],
                action=Action.ALLOW if allow[k] else Action.DENY,
                sources=(Source("cidr", str(prefix), (prefix,)),),
                name=f"r{k}",
                headers=filters if fdid[k] else (),
            )
        )
    return acl.compile(Site(main_rules=tuple(rules), main_default=Action.DENY))


def probes(engine: Engine, count: int, seed: int) -> np.ndarray:
    """IPv4 addresses: range starts, the address before each, and uniform ones."""
    rng = np.random.default_rng(seed)
    starts = engine.tables.v4_main.starts_lo.astype(np.int64)
    picked = starts[rng.integers(0, len(starts), count)]
    edges = np.concatenate([picked, picked - 1, [0, 0xFFFFFFFF]])
    uniform = rng.integers(0, 1 << 32, count)
    return np.clip(np.concatenate([edges, uniform]), 0, 0xFFFFFFFF).astype(np.uint32)


def text(values: np.ndarray) -> list[str]:
    import ipaddress

    return [str(ipaddress.IPv4Address(int(v))) for v in values.tolist()]


def test_bulk_equals_single_and_the_other_kernel_on_a_large_table() -> None:
    engine = big_engine()
    assert len(engine.tables.rules) == RULES and engine.tables.v4_main.root_bits > 16
    numeric = probes(engine, 3000, seed=1)
    bulk = engine.decide_many(numeric)
    assert np.array_equal(engine.decide_many(text(numeric)).code, bulk.code)
    python = engine.with_kernel("python").decide_many(numeric)
    assert np.array_equal(python.code, bulk.code) and np.array_equal(python.action, bulk.action)
    for ip, code in zip(text(numeric[:400]), bulk.code[:400].tolist(), strict=True):
        decision = engine.decide(ip)
        assert (decision.rule is None and code < 0) or decision.rule is engine.rule(code)
    # The reference walks 10^5 rules per request: a few of them.
    for ip, code, action in zip(
        text(numeric[:6]), bulk.code[:6].tolist(), bulk.action[:6].tolist(), strict=True
    ):
        want = evaluate(engine.site, acl.Request(ip))
        assert want.rule == engine.rule(code) and want.allowed == bool(action)


def test_header_rows_of_a_large_table_agree_with_single_decisions() -> None:
    engine = big_engine()
    numeric = probes(engine, 300, seed=2)
    fdids = ["f1" if k % 3 else None for k in range(len(numeric))]
    bulk = engine.decide_many(numeric, headers={"X-Azure-FDID": fdids})
    for ip, value, code in zip(text(numeric), fdids, bulk.code.tolist(), strict=True):
        headers = {"X-Azure-FDID": value} if value else None
        decision = engine.decide(ip, headers=headers)
        assert decision.rule is (engine.rule(code) if code >= 0 else None)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_batches_of_one_to_five_rows_equal_single_decisions(data: st.DataObject) -> None:
    engine = big_engine()
    starts = engine.tables.v4_main.starts_lo
    near = st.integers(0, len(starts) - 1).flatmap(
        lambda i: st.sampled_from([int(starts[i]), max(int(starts[i]) - 1, 0)])
    )
    values = data.draw(st.lists(near | st.integers(0, 0xFFFFFFFF), min_size=1, max_size=5))
    numeric = np.array(values, dtype=np.uint32)
    threads = data.draw(st.sampled_from([None, 1, 2]))
    bulk = engine.decide_many(numeric, threads=threads)
    assert np.array_equal(bulk.code, engine.decide_many(text(numeric)).code)
    for ip, code in zip(text(numeric), bulk.code.tolist(), strict=True):
        decision = engine.decide(ip)
        assert decision.rule is (engine.rule(code) if code >= 0 else None)


@pytest.mark.parametrize("kernel", ["cython", "python"])
def test_threads_decide_alike(kernel: str) -> None:
    engine = big_engine().with_kernel(kernel)
    rng = np.random.default_rng(3)
    numeric = rng.integers(0, 1 << 32, 300_000 if kernel == "cython" else 20_000).astype(np.uint32)
    one = engine.decide_many(numeric, threads=1)
    for threads in (None, 2, 3):
        many = engine.decide_many(numeric, threads=threads)
        assert np.array_equal(many.code, one.code) and np.array_equal(many.action, one.action)
    hosts = ["a.scm.b" if k % 2 else "a" for k in range(len(numeric))]
    both = [engine.decide_many(numeric, hosts=hosts, threads=t).code for t in (1, 2)]
    assert np.array_equal(both[0], both[1])
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        engine.decide_many(numeric, threads=0)


def test_compile_is_the_function_and_compiler_the_module() -> None:
    assert callable(acl.compile) and not isinstance(acl.compile, types.ModuleType)
    assert isinstance(acl.compiler, types.ModuleType) and hasattr(acl.compiler, "build_tables")


def test_the_front_door_is_typed() -> None:
    hints = typing.get_type_hints(Engine)
    assert hints["decide"] is Decide
    returned = Decide.__call__.__annotations__["return"]
    assert eval(returned, vars(acl.engine)) is acl.Decision
    assert typing.get_type_hints(Engine.rule)["return"] == Rule | None


def test_tables_arrays_are_read_only() -> None:
    engine = big_engine()
    for array in engine.tables.arrays():
        assert not array.flags.writeable
        with pytest.raises(ValueError):
            array[:1] = 0


def test_commands_that_take_rules_take_a_saved_engine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from acl.cli import main

    rules = EXAMPLES / "frontdoor-site" / "site.json"
    saved = tmp_path / "site.acl"
    acl.compile(acl.load(rules)).save(saved)
    outputs = []
    for path in (rules, saved):
        assert main(["eval", "--rules", str(path), "--ip", "203.0.113.10"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and "'office'" in outputs[0]


prefix_blocks = st.lists(
    st.tuples(
        st.sampled_from([0x0A000000, 0x0A010000, 0xC0A80100, 0xFFFFFF00])
        | st.integers(0, 2**32 - 1),
        st.sampled_from([0, 1, 8, 16, 24, 31, 32]) | st.integers(0, 32),
        st.integers(0, 40),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(items=prefix_blocks, everywhere=st.lists(st.integers(0, 40), max_size=2))
def test_the_array_partition_equals_the_sweep(
    items: list[tuple[int, int, int]], everywhere: list[int]
) -> None:
    from acl.partition import partition, plain_partition_v4

    blocks = [(value >> (32 - size) << (32 - size), size, rule) for value, size, rule in items]
    unconditional = [True] * 41
    answers = []
    for sweep in (partition, plain_partition_v4):
        lists: dict[tuple[int, ...], int] = {}
        starts, ids = sweep(list(blocks), everywhere, unconditional, 32, lists)
        by_id = {v: k for k, v in lists.items()}
        answers.append((starts, [by_id[i] for i in ids]))
    assert answers[0] == answers[1]

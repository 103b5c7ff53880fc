"""acl bench: the generated rule sets and traffic have the requested shapes, and the command
runs and prints its tables (``--quick``)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import acl
from acl.cli import main
from acl.cli.bench import harness
from acl.engine import KERNEL
from acl.headers import XAZUREFDID

# the harness lives in the checkout's benchmarks/, not in the package
bench = harness("bench")
workload = harness("workload")


@pytest.mark.parametrize("size", [8, 512, 10_000])
def test_ipv4_rule_set_has_the_requested_size_and_shape(size: int) -> None:
    ruleset = workload.generate(size, "ipv4", seed=3)
    site = ruleset.site
    assert ruleset.rules == len(site.main_rules) == ruleset.prefixes == size
    assert [rule.position for rule in site.main_rules] == list(range(size))
    assert all(
        len(rule.sources) == 1 and rule.sources[0].kind == "cidr" for rule in site.main_rules
    )
    assert {p.version for rule in site.main_rules for p in rule.sources[0].prefixes} == {4}
    assert site.main_default is acl.Action.DENY
    assert not any(rule.headers for rule in site.main_rules)
    priorities = [rule.priority for rule in site.main_rules]
    assert len(set(priorities)) < size  # ties
    assert {rule.action for rule in site.main_rules} == {acl.Action.ALLOW, acl.Action.DENY}


def test_texts_and_prefixes_agree() -> None:
    ruleset = workload.generate(512, "mixed", seed=5)
    for rule in ruleset.site.main_rules:
        (prefix,) = rule.sources[0].prefixes
        assert str(prefix) == rule.ip_address == rule.sources[0].text
        assert not prefix.host_bits
    ordered = ruleset.site.rules("main")
    assert ruleset.texts == [rule.ip_address for rule in ordered]


@pytest.mark.parametrize(("family", "versions"), [("ipv6", {6}), ("mixed", {4, 6})])
def test_other_families(family: str, versions: set[int]) -> None:
    ruleset = workload.generate(512, family, seed=1)
    found = {p.version for rule in ruleset.site.main_rules for p in rule.sources[0].prefixes}
    assert found == versions
    assert ruleset.family == family
    v6 = [p for rule in ruleset.site.main_rules for p in rule.sources[0].prefixes if p.version == 6]
    assert all(p.network >> 125 == 1 for p in v6)  # 2000::/3


def test_header_share_and_determinism() -> None:
    ruleset = workload.generate(1000, "ipv4", header_share=0.2, seed=9)
    with_headers = [rule for rule in ruleset.site.main_rules if rule.headers]
    assert len(with_headers) == 200
    assert {rule.headers[0].name for rule in with_headers} == {XAZUREFDID}
    assert {rule.headers[0].values[0] for rule in with_headers} <= set(ruleset.fdids)
    assert len(ruleset.fdids) == workload.FDID_POOL
    again = workload.generate(1000, "ipv4", header_share=0.2, seed=9)
    assert again.site.main_rules == ruleset.site.main_rules
    other = workload.generate(1000, "ipv4", header_share=0.2, seed=10)
    assert other.site.main_rules != ruleset.site.main_rules


def test_bad_generator_arguments() -> None:
    with pytest.raises(ValueError, match="family"):
        workload.generate(8, "ipv5")
    with pytest.raises(ValueError, match="header_share"):
        workload.generate(8, "ipv4", header_share=2.0)


@pytest.mark.parametrize("family", workload.FAMILIES)
def test_traffic_is_half_inside_rules(family: str) -> None:
    ruleset = workload.generate(512, family, seed=2)
    traffic = workload.make_traffic(ruleset, 20_000, seed=2)
    assert len(traffic) == 20_000
    engine = acl.compile(ruleset.site)
    numeric = engine.decide_many(traffic.numeric)
    text = engine.decide_many(traffic.text)
    assert numeric.invalid == text.invalid == 0
    assert np.array_equal(numeric.code, text.code)
    inside = np.count_nonzero(numeric.code >= 0) / len(traffic)
    assert 0.5 <= inside < 0.6  # half inside, and a few uniform ones land in a rule
    if family == "ipv4":
        assert isinstance(traffic.numeric, np.ndarray) and traffic.numeric.dtype == np.uint32
    else:
        hi, lo = traffic.numeric
        assert hi.dtype == lo.dtype == np.uint64
    row = int(np.flatnonzero(numeric.code >= 0)[0])
    assert engine.decide(traffic.text[row]).rule is engine.rule(int(numeric.code[row]))


def test_header_traffic_column() -> None:
    ruleset = workload.generate(64, "ipv4", header_share=0.2, seed=4)
    traffic = workload.make_traffic(ruleset, 1000, seed=4)
    assert traffic.fdid is not None
    codes, categories = traffic.fdid
    assert len(codes) == 1000 and codes.min() == -1
    assert set(ruleset.fdids) < set(categories)
    plain = traffic.fdid_list()
    assert plain[int(np.flatnonzero(codes == -1)[0])] is None
    engine = acl.compile(ruleset.site)
    encoded = engine.decide_many(traffic.numeric, headers={XAZUREFDID: traffic.fdid})
    listed = engine.decide_many(traffic.numeric, headers={XAZUREFDID: plain})
    assert np.array_equal(encoded.code, listed.code)


def test_azure_cloud_rule_set() -> None:
    ruleset = workload.azure_cloud()
    tags = acl.ServiceTags.bundled()
    regional = [t.name for t in tags if t.name.lower().startswith("azurecloud.")]
    assert ruleset.rules == len(regional) > 50
    assert ruleset.prefixes == sum(len(tags.prefixes(name)) for name in regional) > 10_000
    assert all(rule.sources[0].kind == "service_tag" for rule in ruleset.site.main_rules)
    assert {int(v) for v in np.unique(ruleset.version)} == {4, 6}


def test_measure_cross_checks_and_missing_peers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pytricia", None)  # import fails: "not installed"
    ruleset = workload.generate(64, "ipv4", seed=8)
    traffic = workload.make_traffic(ruleset, 4000, seed=8)
    result = bench.measure(ruleset, traffic, repeats=1)
    assert result.numpy_agrees and result.reference_agrees
    pytricia = result.peer("pytricia")
    assert pytricia is not None and pytricia.status == "not installed" and pytricia.rate is None
    ipaddress_peer = result.peer("ipaddress")
    assert ipaddress_peer is not None and ipaddress_peer.rate and not ipaddress_peer.extrapolated
    report = bench.format_report([result], bench.Options(requests=4000, repeats=1))
    assert "not installed" in report


def test_bench_quick_prints_the_tables(capsys: pytest.CaptureFixture[str]) -> None:
    # The pure-Python kernel (ACL_NO_EXTENSIONS=1) is ~100x slower: fewer requests there.
    fewer = [] if KERNEL == "cython" else ["--requests", "5000"]
    assert main(["bench", "--quick", *fewer]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"acl bench: {'5,000' if fewer else '100,000'} requests")
    for label in ("8 ipv4", "512 ipv6", "512 mixed", "512 ipv4 +hdr", "AzureCloud.*"):
        assert f"\n{label} " in out
    assert "decide()/peer" in out and "pytricia" in out
    assert "numpy agrees on all" in out and "DISAGREES" not in out
    assert "targets (one core)" in out
    assert "bulk uint32 / numpy searchsorted" in out


def test_bench_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "--rules", "8", "--requests", "2000", "--family", "ipv6"]
    assert main([*argv, "--no-peers", "--no-real", "--format", "json", "--repeats", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["label"] for r in data["results"]] == ["8 ipv6"]
    assert data["results"][0]["requests"] == 2000 and data["results"][0]["peers"] == []
    assert any(t["measured"] == "not run" for t in data["targets"])


def test_bench_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--rules", "8,lots"]) == 2
    assert main(["bench", "--family", "ipv5"]) == 2
    assert main(["bench", "--requests", "0"]) == 2
    assert "acl: error: acl bench: argument" in capsys.readouterr().err

"""Hypothesis strategies: small sites whose rules overlap a lot, and requests biased to the
edges of their prefixes."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from hypothesis import strategies as st

import acl

FDIDS = ["0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10", "11111111-2222-3333-4444-555555555555"]
HOSTS = ["www.contoso.com", "*.contoso.com", "api.fabrikam.com", "bücher.example"]
SUBNETS = [
    "/subscriptions/0/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/a",
    "/subscriptions/0/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/b",
]
TAGS = ["AzureFrontDoor.Backend", "AzureTrafficManager", "ActionGroup"]
V4_BASES = [
    "0.0.0.0",
    "10.0.0.0",
    "10.0.0.128",
    "10.0.1.0",
    "192.0.2.0",
    "192.0.2.255",
    "255.255.255.0",
    "147.243.0.0",
]
V6_BASES = [
    "::",
    "2001:db8::",
    "2001:db8:0:1::",
    "2a01:111:2050::",
    "ffff:ffff::",
    "::ffff:10.0.0.0",
    "fd00::",
]


@st.composite
def cidrs(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        base = draw(st.sampled_from(V4_BASES))
        length = draw(st.sampled_from([0, 1, 8, 16, 23, 24, 25, 31, 32]))
    else:
        base = draw(st.sampled_from(V6_BASES))
        length = draw(st.sampled_from([0, 1, 16, 32, 48, 96, 120, 127, 128]))
    if draw(st.integers(0, 4)) == 0:
        # host bits set: still a leading-bit match
        version = 6 if ":" in base else 4
        bits = 128 if version == 6 else 32
        value = int(ipaddress.ip_address(base)) | draw(
            st.integers(0, (1 << (bits - length)) - 1 if length < bits else 0)
        )
        base = str(ipaddress.IPv6Address(value) if version == 6 else ipaddress.IPv4Address(value))
    return f"{base}/{length}"


@st.composite
def header_filters(draw: st.DrawFn) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    if draw(st.integers(0, 3)) == 0:
        headers["X-Azure-FDID"] = draw(
            st.lists(st.sampled_from(FDIDS), min_size=1, max_size=2, unique=True)
        )
    if draw(st.integers(0, 4)) == 0:
        headers["x-fd-healthprobe"] = ["1"]
    if draw(st.integers(0, 4)) == 0:
        headers["X-Forwarded-For"] = draw(st.lists(cidrs(), min_size=1, max_size=2))
    if draw(st.integers(0, 4)) == 0:
        headers["X-Forwarded-Host"] = draw(
            st.lists(st.sampled_from(HOSTS), min_size=1, max_size=2, unique=True)
        )
    if draw(st.integers(0, 8)) == 0:
        headers["X-Azure-FDID"] = []
    return headers


@st.composite
def rules(draw: st.DrawFn, name: str) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "name": name,
        "priority": draw(st.sampled_from([100, 100, 200, 300, 65000, 2147483647])),
        "action": draw(st.sampled_from(["Allow", "Deny"])),
    }
    kind = draw(st.sampled_from(["cidr", "cidr", "cidr", "tag", "any", "anyvnets", "subnet"]))
    if kind == "cidr":
        rule["ipAddress"] = ",".join(draw(st.lists(cidrs(), min_size=1, max_size=3)))
    elif kind == "tag":
        rule["ipAddress"] = ",".join(
            draw(st.lists(st.sampled_from(TAGS), min_size=1, max_size=2, unique=True))
        )
        rule["tag"] = "ServiceTag"
    elif kind == "any":
        rule["ipAddress"] = "Any"
    elif kind == "anyvnets":
        rule["ipAddress"] = "AnyVnets"
    else:
        rule["vnetSubnetResourceId"] = draw(st.sampled_from(SUBNETS))
    headers = draw(header_filters())
    if headers:
        rule["headers"] = headers
    return rule


@st.composite
def site_configs(draw: st.DrawFn) -> dict[str, Any]:
    # names that a target language or an argument parser could misread: a leading "-" (an
    # option to argparse), "[...]" (an ARM expression), quotes, "$" and backticks
    prefix = draw(st.sampled_from(["", "", "", "-", "--", "[", "$x ", "'", '"', "`", "é "]))
    suffix = "]" if prefix == "[" else draw(st.sampled_from(["", "", "]", " $HOME"]))
    main = [draw(rules(f"{prefix}m{i}{suffix}")) for i in range(draw(st.integers(0, 7)))]
    scm = [draw(rules(f"{prefix}s{i}{suffix}")) for i in range(draw(st.integers(0, 4)))]
    config: dict[str, Any] = {"ipSecurityRestrictions": main, "scmIpSecurityRestrictions": scm}
    for key in ("ipSecurityRestrictionsDefaultAction", "scmIpSecurityRestrictionsDefaultAction"):
        value = draw(st.sampled_from([None, "Allow", "Deny"]))
        if value is not None:
            config[key] = value
    config["scmIpSecurityRestrictionsUseMain"] = draw(st.booleans())
    if draw(st.integers(0, 10)) == 0:
        config["publicNetworkAccess"] = draw(st.sampled_from(["Enabled", "Disabled"]))
    return config


def site_from_config(config: dict[str, Any]) -> acl.Site:
    return acl.loads(json.dumps(config))


def edges(site: acl.Site) -> list[str]:
    """Addresses at and around every prefix edge of the site (first, last, one beyond)."""
    found: set[str] = set()
    for rule in site.all_rules():
        prefixes = [p for s in rule.sources for p in s.prefixes][:40]
        for flt in rule.headers:
            prefixes.extend(flt.prefixes)
        for prefix in prefixes:
            bits = 32 if prefix.version == 4 else 128
            for value in (prefix.first - 1, prefix.first, prefix.last, prefix.last + 1):
                if 0 <= value < (1 << bits):
                    found.add(
                        str(
                            ipaddress.ip_address(value)
                            if bits == 32
                            else ipaddress.IPv6Address(value)
                        )
                    )
    return sorted(found)


@st.composite
def addresses(draw: st.DrawFn, site: acl.Site) -> str:
    pool = edges(site)
    choice = draw(st.integers(0, 9))
    if pool and choice < 6:
        return draw(st.sampled_from(pool))
    if choice < 8:
        return str(ipaddress.IPv4Address(draw(st.integers(0, 2**32 - 1))))
    if choice == 8:
        return str(ipaddress.IPv6Address(draw(st.integers(0, 2**128 - 1))))
    return "::ffff:" + str(ipaddress.IPv4Address(draw(st.integers(0, 2**32 - 1))))


@st.composite
def request_headers(draw: st.DrawFn, site: acl.Site) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    if draw(st.booleans()):
        headers["X-Azure-FDID"] = draw(
            st.lists(
                st.sampled_from([*FDIDS, FDIDS[0].upper(), f"{FDIDS[0]},{FDIDS[1]}", ""]),
                min_size=1,
                max_size=2,
            )
        )
    if draw(st.integers(0, 2)) == 0:
        headers["X-FD-HealthProbe"] = draw(
            st.lists(st.sampled_from(["1", "0", " 1 "]), min_size=1, max_size=2)
        )
    if draw(st.booleans()):
        chain = draw(
            st.lists(
                st.one_of(addresses(site), st.sampled_from(["unknown", "garbage", ""])),
                min_size=1,
                max_size=3,
            )
        )
        chain = [f"[{a}]:443" if ":" in a and draw(st.booleans()) else a for a in chain]
        headers["X-Forwarded-For"] = [", ".join(chain)]
    if draw(st.booleans()):
        headers["X-Forwarded-Host"] = [
            draw(
                st.sampled_from(
                    [
                        "www.contoso.com",
                        "WWW.CONTOSO.COM:443",
                        "a.contoso.com",
                        "a.b.contoso.com",
                        "contoso.com",
                        "api.fabrikam.com",
                        "xn--bcher-kva.example",
                        "bücher.example",
                        "x, www.contoso.com",
                    ]
                )
            )
        ]
    return headers


@st.composite
def requests(draw: st.DrawFn, site: acl.Site) -> acl.Request:
    subnet = draw(st.sampled_from([None, None, *SUBNETS, SUBNETS[0].upper() + "/"]))
    return acl.Request(
        draw(addresses(site)),
        host=draw(
            st.sampled_from(
                [None, "app.azurewebsites.net", "app.scm.azurewebsites.net", "APP.SCM.x:443"]
            )
        ),
        headers=draw(request_headers(site)),
        subnet=subnet,
        service_endpoint=draw(st.booleans()) if subnet is None else True,
        private_endpoint=draw(st.integers(0, 15)) == 0,
    )


# ---------------------------------------------------------------------------- site state


@st.composite
def site_states(draw: st.DrawFn) -> dict[str, Any]:
    """Site state beyond the rules, as ``dataclasses.replace`` arguments: a private
    endpoint, an App Service Environment, IP-based SSL and every publicNetworkAccess
    spelling, in all combinations."""
    return {
        "has_private_endpoint": draw(st.booleans()),
        "hosting": draw(st.sampled_from(["multi-tenant", "multi-tenant", "ase"])),
        "ip_based_ssl": draw(st.integers(0, 3)) == 0,
        "public_network_access": draw(
            st.sampled_from([None, None, None, "", "Enabled", "enabled", "Disabled"])
        ),
    }


@st.composite
def stateful_sites(draw: st.DrawFn) -> acl.Site:
    """A generated site (:func:`site_configs`) with generated site state (:func:`site_states`)."""
    import dataclasses

    site = site_from_config(draw(site_configs()))
    return dataclasses.replace(site, **draw(site_states()))


@st.composite
def endpoint_requests(draw: st.DrawFn, site: acl.Site) -> acl.Request:
    """A request (:func:`requests`), half of them through a service endpoint (with or
    without a subnet), some through a private endpoint."""
    request = draw(requests(site))
    if request.service_endpoint or draw(st.booleans()):
        return request
    return acl.Request(
        request.ip,
        host=request.host,
        headers=request.headers,
        subnet=draw(st.sampled_from([None, *SUBNETS])),
        service_endpoint=True,
        private_endpoint=request.private_endpoint,
    )


# ---------------------------------------------------------------------------- bulk columns

TEXT_KINDS = ("list", "tuple", "U", "S", "object", "series", "arrow", "chunked")
"""How a column of text (or None) can be given to ``decide_many``."""
DICTIONARY_KINDS = ("arrow-dictionary", "categorical", "categorical-series", "codes")
"""How a header column can also be given: dictionary-encoded."""

batch_sizes = st.one_of(
    st.sampled_from([0, 1, 1, 1, 2, 3]), st.sampled_from([1, 1, 2, 3]), st.integers(0, 300)
)
"""Batch lengths from 0 to 300, biased to 0, 1, 2 and 3 rows (most often 1)."""


@st.composite
def satisfying_requests(draw: st.DrawFn, site: acl.Site) -> acl.Request:
    """A request that meets every header filter of one of the site's rules, from an address
    of that rule (so that the rule's header filters decide it), or any request when no rule
    has header filters."""
    candidates = [r for r in site.all_rules() if r.headers]
    if not candidates:
        return draw(requests(site))
    rule = draw(st.sampled_from(candidates))
    prefixes = [p for s in rule.sources for p in s.prefixes]
    if prefixes:
        prefix = draw(st.sampled_from(prefixes))
        value = draw(st.sampled_from([prefix.first, prefix.last]))
        ip = str(
            ipaddress.ip_address(value) if prefix.version == 4 else ipaddress.IPv6Address(value)
        )
    else:
        ip = draw(addresses(site))
    headers: list[tuple[str, str]] = []
    for flt in rule.headers:
        if flt.prefixes:
            p = draw(st.sampled_from(flt.prefixes))
            text = str(
                ipaddress.ip_address(p.first) if p.version == 4 else ipaddress.IPv6Address(p.first)
            )
        elif flt.hosts:
            host = draw(st.sampled_from(flt.hosts))
            text = "a." + host[2:] if host.startswith("*.") else host
        elif flt.values:
            text = draw(st.sampled_from(flt.values))
        else:
            continue
        headers.append((flt.name, text))
    source = draw(requests(site))
    return acl.Request(
        ip,
        host=draw(st.sampled_from([None, "app.scm.azurewebsites.net"])),
        headers=headers,
        subnet=source.subnet,
        service_endpoint=source.service_endpoint,
        private_endpoint=source.private_endpoint,
    )


def text_column(values: list[str | None], kind: str) -> Any:
    """``values`` as a column of the given kind (in numpy ``U``/``S``, None is ``""``:
    absent for every column that takes text)."""
    import numpy as np

    if kind == "list":
        return list(values)
    if kind == "tuple":
        return tuple(values)
    if kind == "U":
        return np.array(["" if v is None else v for v in values], dtype=str)
    if kind == "S":
        return np.array([b"" if v is None else v.encode() for v in values], dtype=bytes)
    if kind == "object":
        return np.array(values, dtype=object)
    if kind == "series":
        import pandas as pd

        return pd.Series(values, dtype=object)
    import pyarrow as pa

    array = pa.array(values, type=pa.string())
    if kind == "arrow":
        return array
    if kind == "chunked":
        cut = len(values) // 2
        return pa.chunked_array([array[:cut], array[cut:]], type=pa.string())
    if kind == "arrow-dictionary":
        return array.dictionary_encode()
    import pandas as pd

    if kind == "categorical":
        return pd.Categorical(values)
    if kind == "categorical-series":
        return pd.Series(pd.Categorical(values))
    if kind == "codes":
        categories = sorted({v for v in values if v is not None})
        codes = np.array([-1 if v is None else categories.index(v) for v in values])
        return codes, categories
    raise ValueError(kind)


def flag_column(values: list[bool], kind: str) -> Any:
    """Booleans as a list, a numpy bool or integer array, or a pandas Series."""
    import numpy as np

    if kind == "list":
        return list(values)
    if kind == "bool":
        return np.array(values, dtype=bool)
    if kind == "int":
        return np.array(values, dtype=np.uint8)
    import pandas as pd

    return pd.Series(values, dtype=bool)

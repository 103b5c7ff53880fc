"""The reference evaluator: ``SEMANTICS.md`` as plain Python. It is the oracle every faster
path is tested against, so it favours reading like the contract over speed.

>>> from acl import Request, loads
>>> site = loads('[{"name": "office", "priority": 100, "ipAddress": "198.51.100.0/24"}]')
>>> evaluate(site, Request("198.51.100.7")).decided_by
'office'
>>> evaluate(site, Request("192.0.2.1")).reason
'default'
"""

from __future__ import annotations

from .decision import Decision
from .headers import (
    XAZUREFDID,
    XFDHEALTHPROBE,
    XFORWARDEDFOR,
    XFORWARDEDHOST,
    forwarded_hosts,
    host_matches,
    single_value,
    xff_addresses,
)
from .model import (
    Action,
    HeaderFilter,
    Outcome,
    Request,
    Rule,
    Site,
    TraceStep,
    normalize_subnet,
)

__all__ = [
    "SERVICE_ENDPOINT_BLOCKED_DETAIL",
    "endpoint_traffic",
    "evaluate",
    "header_matches",
    "source_matches",
]

SERVICE_ENDPOINT_BLOCKED_DETAIL = (
    "came through a service endpoint, and a site with a private endpoint receives no "
    "service-endpoint traffic; no rule is evaluated"
)


def endpoint_traffic(site: Site, request: Request) -> bool:
    """Whether a request is matched as service-endpoint traffic (§4): it came through a
    service endpoint and the site is multi-tenant. In an App Service Environment service
    endpoints cannot be used, so such a request is matched as ordinary address traffic."""
    return request.service_endpoint and site.hosting != "ase"


def source_matches(rule: Rule, request: Request, site: Site | None = None) -> bool:
    """Whether any of the rule's sources matches the request (§3, §4) on ``site`` (a
    multi-tenant site without a private endpoint or IP-based SSL when None).

    Service-endpoint traffic to a multi-tenant site is matched only by ``Any``, ``AnyVnets``
    and subnet rules, never by IP or service-tag rules, whatever address it carries. Subnet
    and ``AnyVnets`` rules never match on a site with a private endpoint, in an App Service
    Environment, or with IP-based SSL.
    """
    site = site if site is not None else Site()
    via_endpoint = endpoint_traffic(site, request)
    vnet_rules = site.service_endpoint_rules_ignored() is None
    for source in rule.sources:
        if source.kind == "any":
            return True
        if source.kind == "any_vnets":
            if vnet_rules and via_endpoint:
                return True
        elif source.kind == "subnet":
            if (
                vnet_rules
                and via_endpoint
                and request.subnet is not None
                and source.subnet == normalize_subnet(request.subnet)
            ):
                return True
        elif not via_endpoint and any(
            p.contains(request.version, request.value) for p in source.prefixes
        ):
            return True
    return False


def _missed(rule: Rule, request: Request, site: Site) -> str:
    """Why a rule's source did not match, in words."""
    kinds = {source.kind for source in rule.sources}
    if kinds & {"any_vnets", "subnet"}:
        ignored = site.service_endpoint_rules_ignored()
        if ignored is not None:
            return f"source did not match: service-endpoint rules never match because {ignored}"
        return "source did not match"
    if kinds & {"cidr", "service_tag"} and endpoint_traffic(site, request):
        return (
            "source did not match: IP rules never match a request that came through a service "
            "endpoint (multi-tenant App Service)"
        )
    return "source did not match"


def header_matches(header: HeaderFilter, request: Request) -> bool:
    """Whether the request passes one header filter (§5). A missing header never does."""
    copies = request.header(header.name)
    if not copies:
        return False
    if header.name == XFORWARDEDFOR:
        return any(
            prefix.contains(version, value)
            for version, value in xff_addresses(copies)
            for prefix in header.prefixes
        )
    if header.name == XFORWARDEDHOST:
        return any(
            host_matches(pattern, host)
            for host in forwarded_hosts(copies)
            for pattern in header.hosts
        )
    assert header.name in (XAZUREFDID, XFDHEALTHPROBE)
    value = single_value(copies)
    return value is not None and value in header.values


def _step(rule: Rule, request: Request, site: Site) -> TraceStep:
    if not source_matches(rule, request, site):
        return TraceStep(rule, "source-missed", _missed(rule, request, site))
    for header in rule.headers:
        if not header_matches(header, request):
            got = request.header(header.name)
            seen = f"got {got!r}" if got else "header missing"
            return TraceStep(rule, "header-missed", f"header {header.name} did not match ({seen})")
    return TraceStep(rule, "matched", "source and every header filter matched")


def evaluate(site: Site, request: Request) -> Decision:
    """Decide one request, keeping the explanation trace (§2)."""
    collection = request.collection
    ip = request.address
    if request.private_endpoint:
        detail = "arrived through a private endpoint; no rule is evaluated"
        return Decision(Outcome(Action.ALLOW, collection, "private-endpoint", None, detail), ip, ())
    if site.public_access_disabled:
        detail = site.public_access_explained()
        return Decision(
            Outcome(Action.DENY, collection, "public-access-disabled", None, detail), ip, ()
        )
    if site.has_private_endpoint and request.service_endpoint:
        detail = SERVICE_ENDPOINT_BLOCKED_DETAIL
        return Decision(
            Outcome(Action.DENY, collection, "service-endpoint-blocked", None, detail), ip, ()
        )
    trace: list[TraceStep] = []
    for rule in site.rules(collection):
        step = _step(rule, request, site)
        trace.append(step)
        if step.outcome == "matched":
            outcome = Outcome(rule.action, collection, "rule", rule, f"rule {rule.label} matched")
            return Decision(outcome, ip, tuple(trace))
    action, why = site.default_explained(collection)
    return Decision(Outcome(action, collection, "default", None, why), ip, tuple(trace))

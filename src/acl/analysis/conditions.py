"""The vocabulary of the exact analyses: decision and endpoint codes, rule conditions,
request states, and the described header and endpoint conditions a result carries.

:mod:`acl.analysis.space` builds these for whole sites; this module only defines them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import AnalysisError
from ..model import HeaderFilter, Request, normalize_subnet

__all__ = [
    "BLOCKED",
    "DEFAULT",
    "DISABLED",
    "EP_DIRECT",
    "EP_NEVER",
    "EP_NONE",
    "EP_SERVICE",
    "STATE_LIMIT",
    "AnalysisError",
    "Atom",
    "Cond",
    "Condition",
    "EndpointCondition",
    "EndpointKind",
    "HeaderCondition",
    "State",
    "endpoint_ok",
    "matches",
]

EP_NONE = 0
"""Endpoint state: the request did not come through a service endpoint. As a requirement:
the rule does not look at endpoints."""
EP_SERVICE = -1
"""Endpoint state: a service endpoint whose subnet no rule names. As a requirement: the
rule is ``AnyVnets``."""
EP_DIRECT = -2
"""A requirement only: not through a service endpoint (an IP or service-tag rule on a
multi-tenant site)."""
EP_NEVER = -3
"""A requirement only: never met (a subnet or ``AnyVnets`` rule where service-endpoint
rules cannot be used)."""

DEFAULT = -1
"""Decision code: the unmatched-rule action decided."""
DISABLED = -3
"""Decision code: public access is disabled, no rule is evaluated."""
BLOCKED = -5
"""Decision code: service-endpoint traffic to a site with a private endpoint is denied, no
rule is evaluated."""

STATE_LIMIT = 1 << 16
"""The most header/endpoint states compared for one pair of decision lists. Beyond it the
analysis says it is incomplete rather than sample."""


# ---------------------------------------------------------------------------- conditions


@dataclass(frozen=True, slots=True)
class Cond:
    """A rule's condition beyond its source: all ``filters`` satisfied, and ``endpoint``
    (``0`` none, ``-1`` AnyVnets, ``s > 0`` that subnet, :data:`EP_DIRECT` not through a
    service endpoint, :data:`EP_NEVER` never)."""

    filters: frozenset[int]
    endpoint: int

    @property
    def unconditional(self) -> bool:
        return not self.filters and self.endpoint == EP_NONE


def endpoint_ok(required: int, state: int) -> bool:
    """Whether an endpoint state meets a rule's endpoint requirement."""
    if required == EP_DIRECT:
        return state == EP_NONE
    if required == EP_NEVER:
        return False
    return required in (EP_NONE, state) or (required == EP_SERVICE and state != EP_NONE)


@dataclass(frozen=True, slots=True)
class State:
    """A class of requests that every rule in view treats alike.

    ``filters`` are the satisfied filter ids, ``endpoint`` the endpoint state, ``headers``
    the request header elements that realise them (header name, elements). For a state
    projected onto some filters, ``relevant`` and ``endpoints`` say which filters and which
    endpoint requirements it was projected onto.
    """

    endpoint: int
    filters: frozenset[int]
    headers: tuple[tuple[str, tuple[str, ...]], ...] = ()
    relevant: frozenset[int] | None = None
    endpoints: frozenset[int] | None = None

    @property
    def complexity(self) -> int:
        """How much a request needs to look like this: headers plus an endpoint."""
        return len(self.headers) + (self.endpoint != EP_NONE)


def matches(cond: Cond, state: State) -> bool:
    return cond.filters <= state.filters and endpoint_ok(cond.endpoint, state.endpoint)


@dataclass(frozen=True, slots=True)
class Atom:
    """A set of filter ids that one request header element satisfies, and that element."""

    filters: frozenset[int]
    element: str


# ---------------------------------------------------------------------------- described conditions


@dataclass(frozen=True, slots=True)
class HeaderCondition:
    """What a request's header must do: satisfy every filter of ``matches`` and none of
    ``does_not_match`` (each filter shown as its configured values)."""

    header: str
    matches: tuple[HeaderFilter, ...]
    does_not_match: tuple[HeaderFilter, ...]

    def holds(self, request: Request) -> bool:
        from ..reference import header_matches

        return all(header_matches(f, request) for f in self.matches) and not any(
            header_matches(f, request) for f in self.does_not_match
        )

    def __str__(self) -> str:
        def show(flt: HeaderFilter) -> str:
            return "[" + ", ".join(flt.values) + "]"

        parts: list[str] = []
        if self.matches:
            parts.append("matches " + " and ".join(show(f) for f in self.matches))
        if self.does_not_match:
            word = "not " if self.matches else "matches none of "
            parts.append(word + ", ".join(show(f) for f in self.does_not_match))
        return f"{self.header} " + ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "header": self.header,
            "matches": [list(f.values) for f in self.matches],
            "does_not_match": [list(f.values) for f in self.does_not_match],
        }


EndpointKind = Literal["any", "none", "service", "subnet", "not-subnets"]


@dataclass(frozen=True, slots=True)
class EndpointCondition:
    """What a request's endpoint must be.

    ``any``; ``none`` (no service endpoint); ``service`` (a service endpoint, from none of
    ``excluded``); ``subnet`` (from ``subnet``); ``not-subnets`` (no service endpoint, or
    one from none of ``excluded``).
    """

    kind: EndpointKind = "any"
    subnet: str | None = None
    excluded: tuple[str, ...] = ()

    def holds(self, request: Request) -> bool:
        subnet = normalize_subnet(request.subnet) if request.subnet is not None else None
        if self.kind == "any":
            return True
        if self.kind == "none":
            return not request.service_endpoint
        if self.kind == "subnet":
            return subnet == self.subnet
        if self.kind == "service":
            return request.service_endpoint and subnet not in self.excluded
        return subnet not in self.excluded

    def __str__(self) -> str:
        if self.kind == "any":
            return "any endpoint"
        if self.kind == "none":
            return "no service endpoint"
        if self.kind == "subnet":
            return f"service endpoint from subnet {self.subnet}"
        others = f" (from none of {', '.join(self.excluded)})" if self.excluded else ""
        if self.kind == "service":
            return "service endpoint" + others
        return f"not through subnet {', '.join(self.excluded)}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.subnet is not None:
            out["subnet"] = self.subnet
        if self.excluded:
            out["excluded"] = list(self.excluded)
        return out


@dataclass(frozen=True, slots=True)
class Condition:
    """A header and endpoint condition: the part of a request besides its address and
    collection that a difference or finding depends on."""

    endpoint: EndpointCondition = field(default_factory=EndpointCondition)
    headers: tuple[HeaderCondition, ...] = ()

    def holds(self, request: Request) -> bool:
        """Whether a request meets this condition (private endpoints aside)."""
        return self.endpoint.holds(request) and all(h.holds(request) for h in self.headers)

    def __str__(self) -> str:
        parts = [str(h) for h in self.headers]
        if self.endpoint.kind != "any":
            parts.append(str(self.endpoint))
        return "; ".join(parts) if parts else "any headers, any endpoint"

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint.to_dict(),
            "headers": [h.to_dict() for h in self.headers],
        }

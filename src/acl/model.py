"""The values ``acl`` works with: rules, sites, requests and decisions. No I/O.

All of them are frozen: a loaded site cannot change, and neither can a decision. Loose input
(JSON, Terraform, a dict of headers) becomes these values through the loaders in
:mod:`acl.formats` and through :class:`Request`'s constructor, which parses strictly.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .addresses import Prefix, format_address, parse_address, split_host_port
from .errors import AddressError, Origin, RequestError
from .headers import canonical_header

__all__ = [
    "COLLECTIONS",
    "HOSTINGS",
    "REASONS",
    "Action",
    "HeaderFilter",
    "Outcome",
    "Request",
    "Rule",
    "Site",
    "Source",
    "TraceStep",
    "is_scm_host",
    "normalize_subnet",
]

Collection = Literal["main", "scm"]
COLLECTIONS: tuple[Collection, ...] = ("main", "scm")

Hosting = Literal["multi-tenant", "ase"]
HOSTINGS: tuple[Hosting, ...] = ("multi-tenant", "ase")
"""Where a site runs: the multi-tenant service (the default) or an App Service Environment,
which changes how service-endpoint traffic and private ranges match."""

REASONS = (
    "rule",
    "default",
    "private-endpoint",
    "public-access-disabled",
    "service-endpoint-blocked",
)
"""Why a decision was made: a rule matched, the unmatched-rule action, or one of the three
checks that come before any rule (a private endpoint lets the request in; public access is
disabled; service-endpoint traffic to a site with a private endpoint is refused)."""


class Action(enum.Enum):
    """What a rule or a default does."""

    ALLOW = "Allow"
    DENY = "Deny"

    @property
    def word(self) -> str:
        """``allow`` or ``deny``: the spelling of the JSON output and expectation files."""
        return self.value.lower()


def normalize_subnet(resource_id: str) -> str:
    """A subnet resource id as compared: lower case, no trailing slash.

    >>> normalize_subnet("/SUBSCRIPTIONS/x/Subnets/App/")
    '/subscriptions/x/subnets/app'
    """
    return resource_id.strip().rstrip("/").lower()


def is_scm_host(host: str | None) -> bool:
    """True when a Host header names the scm site: ``scm`` is its second label.

    >>> is_scm_host("APP.SCM.azurewebsites.net:443"), is_scm_host("app.azurewebsites.net")
    (True, False)
    """
    if not host:
        return False
    labels = split_host_port(host.strip()).lower().split(".")
    return len(labels) >= 2 and labels[1] == "scm"


SourceKind = Literal["cidr", "service_tag", "any", "any_vnets", "subnet"]


@dataclass(frozen=True, slots=True)
class Source:
    """One source of a rule: a CIDR, a service tag (with its prefixes), ``Any``,
    ``AnyVnets`` or a service-endpoint subnet."""

    kind: SourceKind
    text: str
    prefixes: tuple[Prefix, ...] = ()
    subnet: str | None = None
    """The normalised subnet resource id, for ``kind == "subnet"``."""


@dataclass(frozen=True, slots=True)
class HeaderFilter:
    """A rule's filter on one header: the request matches when one value matches.

    ``values`` are the configured strings as written. ``prefixes`` holds the parsed
    X-Forwarded-For CIDRs and ``hosts`` the normalised X-Forwarded-Host names.
    """

    name: str
    values: tuple[str, ...]
    prefixes: tuple[Prefix, ...] = ()
    hosts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    """One access restriction rule, with every ``IpSecurityRestriction`` field.

    ``position`` is the rule's index in the list it was written in (0-based, synthetic
    ``Allow all``/``Deny all`` entries counted), ``collection`` the list it belongs to, and
    ``origin`` the file and JSON path (or line) it came from.
    """

    position: int
    priority: int
    action: Action
    sources: tuple[Source, ...]
    collection: Collection = "main"
    name: str | None = None
    description: str | None = None
    ip_address: str | None = None
    subnet_mask: str | None = None
    vnet_subnet_resource_id: str | None = None
    vnet_traffic_tag: int | None = None
    subnet_traffic_tag: int | None = None
    tag: str | None = None
    headers: tuple[HeaderFilter, ...] = ()
    origin: Origin | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        """How the rule is named in messages: ``'office' (#2, priority 100)``."""
        name = repr(self.name) if self.name is not None else "(unnamed)"
        return f"{name} (#{self.position}, priority {self.priority})"

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON reference to this rule used by decisions and reports."""
        return {
            "position": self.position,
            "name": self.name,
            "priority": self.priority,
            "action": self.action.word,
            "collection": self.collection,
        }


def _ordered(rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
    # sorted() is stable: equal priorities keep the listed order.
    return tuple(sorted(rules, key=lambda rule: rule.priority))


@dataclass(frozen=True, slots=True)
class Site:
    """A web app's access restriction configuration.

    ``main_rules`` and ``scm_rules`` are in the order they were written; evaluation uses
    :meth:`rules` (priority order, stable). ``main_default`` and ``scm_default`` are the
    unmatched-rule actions as configured (None when absent).

    Site state beyond the rules: ``has_private_endpoint`` (the site has an approved private
    endpoint connection), ``hosting`` (``"multi-tenant"`` or ``"ase"``, an App Service
    Environment), ``ip_based_ssl`` (an ``IpBasedEnabled`` SSL binding), ``ip_mode`` (read
    and kept; it only changes DNS). ``ignored_rules`` are entries the loader read but Azure
    ignores (a ``Deny all`` entry in a template), kept so the linter can point at them.
    """

    main_rules: tuple[Rule, ...] = ()
    scm_rules: tuple[Rule, ...] = ()
    main_default: Action | None = None
    scm_default: Action | None = None
    scm_use_main: bool = False
    public_network_access: str | None = None
    name: str | None = None
    source: str | None = None
    service_tags_change: int | None = None
    has_private_endpoint: bool = False
    hosting: Hosting = "multi-tenant"
    ip_based_ssl: bool = False
    ip_mode: str | None = None
    ignored_rules: tuple[Rule, ...] = ()
    _ordered_main: tuple[Rule, ...] = field(init=False, repr=False, compare=False)
    _ordered_scm: tuple[Rule, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ordered_main", _ordered(self.main_rules))
        object.__setattr__(self, "_ordered_scm", _ordered(self.scm_rules))

    @property
    def public_access_disabled(self) -> bool:
        """``publicNetworkAccess`` is ``Disabled``, or absent/empty on a site with a private
        endpoint (which makes the default "disabled"); ``Enabled`` keeps public access."""
        setting = (self.public_network_access or "").strip().lower()
        if setting == "disabled":
            return True
        return not setting and self.has_private_endpoint

    def public_access_explained(self) -> str:
        """Why public access is disabled, as decisions say it (see
        :attr:`public_access_disabled`)."""
        if (self.public_network_access or "").strip().lower() == "disabled":
            return "publicNetworkAccess is Disabled"
        return "publicNetworkAccess is absent and the site has a private endpoint"

    def service_endpoint_rules_ignored(self) -> str | None:
        """Why subnet and ``AnyVnets`` rules never match on this site, or None when they can:
        a private endpoint, an App Service Environment, or IP-based SSL."""
        reasons = []
        if self.has_private_endpoint:
            reasons.append("the site has a private endpoint")
        if self.hosting == "ase":
            reasons.append("the site runs in an App Service Environment")
        if self.ip_based_ssl:
            reasons.append("the site has IP-based SSL")
        return " and ".join(reasons) if reasons else None

    def effective_collection(self, collection: Collection) -> Collection:
        """The collection whose rules and default apply: scm uses main when told to."""
        if collection == "scm" and self.scm_use_main:
            return "main"
        return collection

    def rules(self, collection: Collection) -> tuple[Rule, ...]:
        """The rules that decide requests for ``collection``, in evaluation order."""
        if self.effective_collection(collection) == "main":
            return self._ordered_main
        return self._ordered_scm

    def default_action(self, collection: Collection) -> Action:
        """The unmatched-rule action that applies to ``collection`` (the truth table)."""
        return self.default_explained(collection)[0]

    def default_explained(self, collection: Collection) -> tuple[Action, str]:
        """The unmatched-rule action and a sentence saying where it comes from."""
        effective = self.effective_collection(collection)
        configured = self.main_default if effective == "main" else self.scm_default
        via = " (scm uses the main rules)" if effective != collection else ""
        if configured is not None:
            return configured, f"unmatched-rule action {configured.value} is configured{via}"
        count = len(self.rules(collection))
        if count == 0:
            return Action.ALLOW, f"no rules and no unmatched-rule action: Allow{via}"
        return (
            Action.DENY,
            f"{count} rule(s) and no unmatched-rule action: the implicit Deny{via}",
        )

    def all_rules(self) -> tuple[Rule, ...]:
        return self.main_rules + self.scm_rules


HeadersInput = Mapping[str, "str | Sequence[str]"] | Iterable[tuple[str, str]] | None


def _normalize_headers(headers: HeadersInput) -> tuple[tuple[str, str], ...]:
    if headers is None:
        return ()
    pairs: list[tuple[str, str]] = []
    items: Iterable[Any] = headers.items() if isinstance(headers, Mapping) else headers
    for item in items:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise RequestError(f"header {item!r} is not a (name, value) pair") from None
        if not isinstance(name, str):
            raise RequestError(f"header name {name!r} is not a string")
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, (list, tuple)):
            raise RequestError(
                f"header {name!r}: value {value!r} is neither a string nor a list of strings"
            )
        for one in values:
            if not isinstance(one, str):
                raise RequestError(f"header {name!r}: value {one!r} is not a string")
            pairs.append((name.strip().lower(), one))
    return tuple(pairs)


def _flag(value: object, name: str) -> bool:
    """A request's boolean: True or False (0 and 1 too), never a text such as ``"False"``,
    which ``bool()`` would take as true."""
    if value is True or value is False:
        return value
    kind = type(value)
    numpy_bool = kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_")
    if numpy_bool or (isinstance(value, int) and value in (0, 1)):
        return bool(value)
    raise RequestError(f"{name} {value!r} is not valid: expected True or False")


@dataclass(frozen=True, slots=True, init=False)
class Request:
    """An inbound request as the front end sees it.

    Args:
        ip: the TCP peer address. ``::ffff:a.b.c.d`` is the IPv4 address; a zone is an error.
        host: the Host header; ``x.scm.y`` selects the scm collection.
        headers: a mapping of name to a value or a list of values (one per copy of the
            header), or a list of ``(name, value)`` pairs. Names are case-insensitive.
        subnet: the source subnet's resource id when the request came through a service
            endpoint; implies ``service_endpoint``.
        service_endpoint: the request came through a service endpoint.
        private_endpoint: the request came through a private endpoint.

    Raises:
        RequestError: a value cannot be used; the message names it.

    >>> Request(ip="::ffff:192.0.2.1").address
    '192.0.2.1'
    """

    ip: str
    host: str | None
    headers: tuple[tuple[str, str], ...]
    subnet: str | None
    service_endpoint: bool
    private_endpoint: bool
    version: int
    value: int

    def __init__(
        self,
        ip: str,
        host: str | None = None,
        headers: HeadersInput = None,
        subnet: str | None = None,
        service_endpoint: bool = False,
        private_endpoint: bool = False,
    ) -> None:
        try:
            version, value = parse_address(ip, what="request address")
        except AddressError as exc:
            raise RequestError(exc.message) from None
        if host is not None and not isinstance(host, str):
            raise RequestError(f"host {host!r} is not a string")
        if subnet is not None and not isinstance(subnet, str):
            raise RequestError(f"subnet {subnet!r} is not a string")
        if subnet is not None and not subnet.strip():
            subnet = None
        setter = object.__setattr__
        setter(self, "ip", ip)
        setter(self, "host", host)
        setter(self, "headers", _normalize_headers(headers))
        setter(self, "subnet", subnet)
        setter(
            self,
            "service_endpoint",
            _flag(service_endpoint, "service_endpoint") or subnet is not None,
        )
        setter(self, "private_endpoint", _flag(private_endpoint, "private_endpoint"))
        setter(self, "version", version)
        setter(self, "value", value)

    @property
    def address(self) -> str:
        """The source address in canonical form (IPv4-mapped addresses as IPv4)."""
        return format_address(self.version, self.value)

    @property
    def collection(self) -> Collection:
        return "scm" if is_scm_host(self.host) else "main"

    def header(self, name: str) -> list[str]:
        """Every copy of a header, in order (case-insensitive name)."""
        key = name.lower()
        return [value for header, value in self.headers if header == key]

    def to_dict(self) -> dict[str, Any]:
        """The request in the expectation-file shape."""
        out: dict[str, Any] = {"ip": self.ip}
        if self.host is not None:
            out["host"] = self.host
        if self.headers:
            grouped: dict[str, list[str]] = {}
            for name, value in self.headers:
                spelled = canonical_header(name) or name
                grouped.setdefault(spelled, []).append(value)
            out["headers"] = {k: v[0] if len(v) == 1 else v for k, v in grouped.items()}
        if self.subnet is not None:
            out["subnet"] = self.subnet
        if self.service_endpoint and self.subnet is None:
            out["service_endpoint"] = True
        if self.private_endpoint:
            out["private_endpoint"] = True
        return out


TraceOutcome = Literal["matched", "source-missed", "header-missed"]


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One rule considered during evaluation and why it did or did not match."""

    rule: Rule
    outcome: TraceOutcome
    detail: str

    def __str__(self) -> str:
        return f"{self.rule.label} {self.rule.action.value}: {self.outcome}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What was decided, apart from the request: shared by every request decided alike.

    The engine builds one per rule and per reason when it compiles a site, so deciding a
    request allocates nothing but one small :class:`~acl.decision.Decision`.
    """

    action: Action
    collection: Collection
    reason: str
    rule: Rule | None = None
    detail: str = ""

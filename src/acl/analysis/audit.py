"""A whole fleet at once: every site of some files and folders, each linted, with whether
its collections are open to the internet, whether Front Door is locked to a profile, and
which sites share a rule set; and which sites admit one request (``who``).

Every answer is exact: the internet and Front Door answers decide every address range
(:mod:`acl.analysis.reach`), the findings are :func:`acl.analysis.lint`'s, and ``who``
evaluates the request on every site.

>>> from acl.analysis.audit import audit
>>> fleet = audit(["examples/frontdoor-site/site.json"])
>>> [(s.name, s.internet["main"], s.front_door["main"].status) for s in fleet.sites]
[('contoso-shop', {'ipv4': 'some', 'ipv6': 'some'}, 'locked')]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ..errors import AclError
from ..formats import TEXT_FORMATS, sniff_path
from ..formats.many import SiteFile, fleet_files, load_sites
from ..headers import XAZUREFDID
from ..model import COLLECTIONS, Action, Collection, Request, Rule, Site
from ..reference import evaluate
from .findings import Finding, RuleRef, Severity, severity_at_least
from .frontdoor import front_door_ranges, front_door_rules, profile_ids
from .lint import lint
from .reach import Reach, header_state, reach
from .space import CollectionModel, Space

__all__ = [
    "AUDIT_FORMAT",
    "Admitted",
    "Audit",
    "AuditedSite",
    "FrontDoorLock",
    "LoadFailure",
    "WhoAnswer",
    "admitted",
    "audit",
    "audit_sites",
    "rule_set_key",
    "who",
]

AUDIT_FORMAT = "acl-audit/1"
Admitted = Literal["all", "some", "none"]
FAMILIES = {4: "ipv4", 6: "ipv6"}
EVERY = {4: [(0, (1 << 32) - 1)], 6: [(0, (1 << 128) - 1)]}
HOSTS = {"main": "app.azurewebsites.net", "scm": "app.scm.azurewebsites.net"}


def admitted(model: CollectionModel, pieces: Sequence[Reach]) -> Admitted:
    """``all`` when every piece is allowed, ``none`` when none is, else ``some``."""
    allowed = [model.action(p.code) is Action.ALLOW for p in pieces]
    if allowed and all(allowed):
        return "all"
    return "some" if any(allowed) else "none"


@dataclass(frozen=True, slots=True)
class FrontDoorLock:
    """Front Door on one collection: ``none`` (no Allow rule for AzureFrontDoor.Backend),
    ``locked`` (only the ``profiles`` it names get in from Front Door's ranges) or
    ``any-profile`` (a request from another Front Door profile gets in)."""

    status: Literal["none", "locked", "any-profile"]
    profiles: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "profiles": list(self.profiles)}


@dataclass(frozen=True, slots=True)
class AuditedSite:
    """One site of the fleet: where it is (``source``, ``name``), its lint ``findings``, per
    collection whether an internet client without headers gets in per family
    (``internet``), its Front Door lock, and ``rule_set``: the number of its rule set in the
    audit (sites with the same number have identical rules and settings)."""

    source: str
    name: str
    site: Site
    findings: tuple[Finding, ...]
    internet: dict[Collection, dict[str, Admitted]]
    front_door: dict[Collection, FrontDoorLock]
    rule_set: int = 0
    same_as: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.source}: {self.name}" if self.name != self.source else self.source

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "site": self.name,
            "findings": [finding.to_dict() for finding in self.findings],
            "internet": {c: dict(v) for c, v in self.internet.items()},
            "front_door": {c: lock.to_dict() for c, lock in self.front_door.items()},
            "rule_set": self.rule_set,
            "same_rules_as": list(self.same_as),
        }


@dataclass(frozen=True, slots=True)
class LoadFailure:
    """A file (or folder) that could not be loaded, and why."""

    source: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "message": self.message}


@dataclass(frozen=True, slots=True)
class WhoAnswer:
    """How one site's collection decides the asked request: ``allowed``, and the deciding
    ``rule`` (None: the unmatched-rule action or the site state decided, ``reason``)."""

    source: str
    site: str
    collection: Collection
    allowed: bool
    reason: str
    rule: RuleRef | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "site": self.site,
            "collection": self.collection,
            "allowed": self.allowed,
            "reason": self.reason,
            "rule": self.rule.to_dict() if self.rule is not None else None,
        }


@dataclass(frozen=True)
class Audit:
    """The audit of a fleet: its sites in file order, and the files that failed to load."""

    sites: tuple[AuditedSite, ...]
    errors: tuple[LoadFailure, ...] = ()
    who: tuple[WhoAnswer, ...] | None = None
    request: Request | None = field(default=None, compare=False)

    def findings(self) -> list[Finding]:
        return [f for s in self.sites for f in s.findings]

    def fails(self, level: Severity) -> bool:
        """Whether some site has a finding at or above ``level``."""
        return any(severity_at_least(f.severity, level) for f in self.findings())

    def exit_code(self, level: Severity | Literal["none"]) -> int:
        """2 when a file failed to load, else 1 when a finding reaches ``level``, else 0."""
        if self.errors:
            return 2
        return 1 if level != "none" and self.fails(level) else 0

    def to_dict(self) -> dict[str, Any]:
        groups: dict[int, list[str]] = {}
        for s in self.sites:
            groups.setdefault(s.rule_set, []).append(s.label)
        counts = {"error": 0, "warning": 0, "info": 0}
        for f in self.findings():
            counts[f.severity] += 1
        out: dict[str, Any] = {
            "format": AUDIT_FORMAT,
            "sites": [s.to_dict() for s in self.sites],
            "shared_rule_sets": [labels for labels in groups.values() if len(labels) > 1],
            "errors": [e.to_dict() for e in self.errors],
            "summary": {"sites": len(self.sites), "files_failed": len(self.errors), **counts},
        }
        if self.who is not None and self.request is not None:
            out["who"] = {
                "request": self.request.to_dict(),
                "answers": [a.to_dict() for a in self.who],
            }
        return out


def rule_set_key(site: Site) -> tuple[Any, ...]:
    """What decides a site's requests, without names, origins or sources: two sites with
    the same key decide every request alike."""

    def rule_key(rule: Rule) -> tuple[Any, ...]:
        return (
            rule.action.value,
            rule.priority,
            tuple(sorted(repr(s.prefixes) + s.kind + (s.subnet or "") for s in rule.sources)),
            tuple(sorted((h.name, tuple(h.values)) for h in rule.headers)),
        )

    return (
        site.public_access_disabled,
        site.has_private_endpoint,
        site.hosting,
        site.ip_based_ssl,
        site.scm_use_main,
        *(
            (site.default_action(c).value, tuple(rule_key(r) for r in site.rules(c)))
            for c in COLLECTIONS
        ),
    )


def _other_profile(profiles: Iterable[str | None]) -> str:
    taken = {p for p in profiles if p is not None}
    n = 0
    while f"{n:08x}-0000-4000-8000-000000000000" in taken:
        n += 1
    return f"{n:08x}-0000-4000-8000-000000000000"


def _front_door(space: Space, model: CollectionModel) -> FrontDoorLock:
    rules = front_door_rules(model.rules)
    if not rules:
        return FrontDoorLock("none")
    profiles = profile_ids(rules)
    other = header_state(space, [(XAZUREFDID, _other_profile(profiles))])
    pieces = reach(model, front_door_ranges(rules), other)
    named = tuple(p for p in profiles if p is not None)
    if any(model.action(p.code) is Action.ALLOW for p in pieces):
        return FrontDoorLock("any-profile", named)
    return FrontDoorLock("locked", named)


def _audit_site(loaded: SiteFile, *, strict_azure: bool, ignore: Sequence[str]) -> AuditedSite:
    site = loaded.site
    space = Space([site])
    internet: dict[Collection, dict[str, Admitted]] = {}
    front_door: dict[Collection, FrontDoorLock] = {}
    plain = header_state(space, [])
    for collection in COLLECTIONS:
        model = space.model(site, collection)
        internet[collection] = {
            FAMILIES[v]: admitted(model, reach(model, {v: EVERY[v]}, plain)) for v in (4, 6)
        }
        front_door[collection] = _front_door(space, model)
    findings = tuple(lint(site, strict_azure=strict_azure, ignore=ignore))
    return AuditedSite(loaded.source, loaded.name, site, findings, internet, front_door)


def audit_sites(
    sites: Iterable[SiteFile],
    *,
    strict_azure: bool = False,
    ignore: Sequence[str] = (),
    errors: Sequence[LoadFailure] = (),
) -> Audit:
    """The audit of sites already loaded (:func:`acl.formats.many.load_sites`)."""
    audited = [_audit_site(s, strict_azure=strict_azure, ignore=ignore) for s in sites]
    numbers: dict[tuple[Any, ...], int] = {}
    keys = [rule_set_key(s.site) for s in audited]
    for key in keys:
        numbers.setdefault(key, len(numbers) + 1)
    by_number: dict[int, list[str]] = {}
    for s, key in zip(audited, keys, strict=True):
        by_number.setdefault(numbers[key], []).append(s.label)
    out = []
    for s, key in zip(audited, keys, strict=True):
        number = numbers[key]
        others = tuple(label for label in by_number[number] if label != s.label)
        out.append(replace(s, rule_set=number, same_as=others))
    return Audit(tuple(out), tuple(errors))


def audit(
    paths: Iterable[str | os.PathLike[str]],
    *,
    strict_azure: bool = False,
    ignore: Sequence[str] = (),
    **options: Any,
) -> Audit:
    """Audit every site of these files and folders (see :func:`acl.formats.many.fleet_files`).

    A file that cannot be loaded is a :class:`LoadFailure` of the result; the other files
    are still audited. Keyword arguments are :class:`~acl.formats.LoadOptions` fields for
    every file (``service_tags``, ``variables``...).
    """
    loaded: list[SiteFile] = []
    errors: list[LoadFailure] = []
    for path in paths:
        try:
            files = fleet_files([path])
        except AclError as exc:
            errors.append(LoadFailure(os.fspath(path), str(exc)))
            continue
        for file in files:
            try:
                loaded.extend(load_sites(file, **_options_for(file, options)))
            except AclError as exc:
                errors.append(LoadFailure(file, str(exc)))
    return audit_sites(loaded, strict_azure=strict_azure, ignore=ignore, errors=errors)


def _options_for(file: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options for one file of a fleet: variables only for the formats that read them
    (Terraform and scripts), so that one ``--var`` does not refuse every JSON export."""
    if "variables" not in options:
        return options
    try:
        reads = sniff_path(file) in TEXT_FORMATS
    except AclError:
        reads = False  # the load says what is wrong with the file
    return options if reads else {k: v for k, v in options.items() if k != "variables"}


def who(fleet: Audit, request: Request) -> Audit:
    """The audit with the answer to "which sites admit this request": for every site and
    collection, the decision of ``request`` (its Host is replaced by the collection's)."""
    answers: list[WhoAnswer] = []
    for s in fleet.sites:
        for collection in COLLECTIONS:
            asked = Request(
                request.ip,
                host=HOSTS[collection],
                headers=list(request.headers),
                subnet=request.subnet,
                service_endpoint=request.service_endpoint,
                private_endpoint=request.private_endpoint,
            )
            decision = evaluate(s.site, asked)
            rule = decision.rule
            answers.append(
                WhoAnswer(
                    s.source,
                    s.name,
                    collection,
                    decision.allowed,
                    decision.reason,
                    RuleRef.of(rule, s.site) if rule is not None else None,
                )
            )
    return replace(fleet, who=tuple(answers), request=request)

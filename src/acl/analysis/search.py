"""Find a request with a given outcome, or prove that none exists.

Whether a rule decides somewhere only needs its **minimal states** (the smallest header
and endpoint states that satisfy it): the rules before it match more as a request carries
more headers, so if the rule decides in some state it decides in a minimal one too. The
unmatched-rule action is reached somewhere in a range exactly when it is reached in one
of the two bottom states: no header and no service endpoint, or no header and a service
endpoint from a subnet no rule names (an IP rule on a multi-tenant site never matches the
second, an ``AnyVnets`` rule never the first). A site with a private endpoint denies the
second before any rule. So a search tries, for every decision list of the collection, the
bottom states and the minimal states of every rule with the wanted action: a finite, exact
search over the whole address, header and endpoint space.

Requests through a private endpoint are always allowed and never evaluated against the
rules; a search looks at every other request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..decision import Decision
from ..headers import HEADER_NAMES, canonical_header
from ..model import COLLECTIONS, Action, Collection, Request, Rule, Site
from ..reference import evaluate
from .space import (
    BLOCKED,
    DEFAULT,
    DISABLED,
    EP_NONE,
    EP_SERVICE,
    NICE_ADDRESSES,
    AnalysisError,
    CollectionModel,
    Space,
    State,
    pick_address,
)

__all__ = ["Endpoint", "Witness", "search"]

Endpoint = Literal["any", "none", "service"]


@dataclass(frozen=True, slots=True)
class Witness:
    """A concrete request with the asked-for outcome, checked with :func:`acl.evaluate`."""

    request: Request
    decision: Decision

    @property
    def collection(self) -> Collection:
        return self.decision.collection

    @property
    def rule(self) -> Rule | None:
        return self.decision.rule

    def __str__(self) -> str:
        return self.decision.summary()

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request.to_dict(), "decision": self.decision.to_dict()}


@dataclass(frozen=True, slots=True)
class Found:
    """Where a search found its request: a family, a range, a state, a decision code."""

    version: int
    first: int
    last: int
    state: State
    code: int


def _bottoms(endpoint: str) -> list[State]:
    """The bottom states under an endpoint constraint, simplest first."""
    states = []
    if endpoint != "service":
        states.append(State(EP_NONE, frozenset()))
    if endpoint != "none":
        states.append(State(EP_SERVICE, frozenset()))
    return states


def find(
    space: Space,
    model: CollectionModel,
    action: Action,
    *,
    rules: Iterable[int] | None = None,
    families: Sequence[int] = (4, 6),
    endpoint: str = "any",
    without: frozenset[str] = frozenset(),
) -> Found | None:
    """The simplest place where ``model`` decides ``action`` (by one of ``rules`` when
    given), or None when there is none. Rules are indexes into ``model.rules``."""
    bottoms = _bottoms(endpoint)
    bottom = bottoms[0]
    if model.disabled:
        if action is not Action.DENY or rules is not None:
            return None
        for version in families:
            for first, last, _ in model.segments(version):
                return Found(version, first, last, bottom, DISABLED)
        return None
    wanted = (
        set(rules)
        if rules is not None
        else {k for k, rule in enumerate(model.rules) if rule.action is action}
    )
    wanted = {k for k in wanted if model.rules[k].action is action}
    use_default = rules is None and model.default is action
    use_blocked = rules is None and action is Action.DENY and model.blocked
    minimal: dict[int, list[State]] = {}
    checked: dict[int, tuple[State, int] | None] = {}
    best: Found | None = None
    for version in families:
        for first, last, list_id in nice_first(model.segments(version), version):
            if list_id in checked:
                continue
            hit = _in_list(
                space,
                model,
                model.cut1[list_id],
                wanted,
                use_default,
                use_blocked,
                bottoms,
                minimal,
                endpoint,
                without,
            )
            checked[list_id] = hit
            if hit is None:
                continue
            state, code = hit
            if best is None or state.complexity < best.state.complexity:
                best = Found(version, first, last, state, code)
                if state.complexity == bottom.complexity:
                    return best
    return best


def nice_first(
    segments: Iterable[tuple[int, int, int]], version: int
) -> list[tuple[int, int, int]]:
    """The ranges holding a documentation address first (their witnesses read well)."""
    items = list(segments)
    nice = [s for s in items if any(s[0] <= a <= s[1] for a in NICE_ADDRESSES[version])]
    return nice + [s for s in items if s not in nice]


def _in_list(
    space: Space,
    model: CollectionModel,
    members: tuple[int, ...],
    wanted: set[int],
    use_default: bool,
    use_blocked: bool,
    bottoms: list[State],
    minimal: dict[int, list[State]],
    endpoint: str,
    without: frozenset[str],
) -> tuple[State, int] | None:
    best: tuple[State, int] | None = None
    for bottom in bottoms:
        code = model.decide(members, bottom)
        if (use_default and code == DEFAULT) or (use_blocked and code == BLOCKED):
            if bottom is bottoms[0]:
                return bottom, code
            best = best or (bottom, code)
    for position, k in enumerate(members):
        if k not in wanted:
            continue
        if k not in minimal:
            minimal[k] = space.minimal_states([model.conds[k]], endpoint=endpoint, without=without)
        earlier = members[:position]
        for state in minimal[k]:
            if model.decide(earlier, state) == DEFAULT and (
                best is None or state.complexity < best[0].complexity
            ):
                best = (state, k)
    return best


def witness(space: Space, model: CollectionModel, found: Found) -> Witness:
    """The request of a search result, checked with the reference evaluator."""
    address = pick_address(found.version, found.first, found.last)
    request = space.request(model, found.version, address, found.state)
    decision = evaluate(model.site, request)
    expected_rule = model.rules[found.code] if found.code >= 0 else None
    if (
        decision.action is not model.action(found.code)
        or decision.rule is not expected_rule
        or decision.reason != model.reason(found.code)
    ):
        raise AssertionError(
            f"search witness {request.to_dict()} is decided {decision.summary()}, not by "
            f"code {found.code}: the analysis disagrees with the reference evaluator"
        )
    return Witness(request, decision)


def resolve_rules(site: Site, model: CollectionModel, rule: str | Rule) -> list[int] | None:
    """Indexes of the rules named ``rule`` (a name, ``#position``, or a :class:`Rule`) in
    the collection. None: the rule exists in the site but is never evaluated here (scm
    rules while scm uses main).

    Raises:
        AnalysisError: no rule of the site has this name or position.
    """
    if isinstance(rule, Rule):
        found = [k for k, r in enumerate(model.rules) if r is rule]
        if found:
            return found
        if any(r is rule for r in site.all_rules()):
            return None
        raise AnalysisError(f"rule {rule.label} is not a rule of this site")
    text = rule.strip()
    if text.startswith("#") and text[1:].isdigit():
        position = int(text[1:])
        found = [k for k, r in enumerate(model.rules) if r.position == position]
        others = [r for r in site.all_rules() if r.position == position]
    else:
        found = [k for k, r in enumerate(model.rules) if r.name == text]
        others = [r for r in site.all_rules() if r.name == text]
    if found:
        return found
    if others:
        return None
    names = sorted({r.name for r in model.rules if r.name is not None})
    raise AnalysisError(
        f"rule {rule!r} is not in the {model.effective} collection"
        + (f": its rules are {', '.join(repr(n) for n in names)}" if names else ": it has no rules")
        + " (give a name or #position)"
    )


def parse_family(family: int | str | None) -> tuple[int, ...]:
    if family is None:
        return (4, 6)
    text = str(family).lower().removeprefix("ipv")
    if text in ("4", "6"):
        return (int(text),)
    raise AnalysisError(f"family {family!r} is not valid: expected 'ipv4' or 'ipv6'")


def parse_headers(names: str | Iterable[str] | None) -> frozenset[str]:
    if names is None:
        return frozenset()
    if isinstance(names, str):
        names = [names]
    out: set[str] = set()
    for name in names:
        canonical = canonical_header(name)
        if canonical is None:
            raise AnalysisError(
                f"header {name!r} is not one App Service filters on: expected one of "
                f"{', '.join(HEADER_NAMES)}"
            )
        out.add(canonical)
    return frozenset(out)


def parse_action(decision: str | Action) -> Action:
    if isinstance(decision, Action):
        return decision
    for action in Action:
        if str(decision).strip().lower() == action.word:
            return action
    raise AnalysisError(f"decision {decision!r} is not valid: expected 'allow' or 'deny'")


def search(
    site: Site,
    decision: str | Action = "allow",
    collection: Collection = "main",
    rule: str | Rule | None = None,
    family: int | str | None = None,
    without_header: str | Iterable[str] | None = None,
    endpoint: Endpoint = "any",
) -> Witness | None:
    """A request that ``site`` decides as asked, or None when provably none exists.

    Args:
        site: the site.
        decision: ``"allow"`` or ``"deny"`` (or an :class:`~acl.Action`).
        collection: ``"main"`` or ``"scm"``: the site the request is for.
        rule: only requests decided by this rule: a name, ``"#position"`` or a
            :class:`~acl.Rule`.
        family: only addresses of this family: ``4``/``"ipv4"`` or ``6``/``"ipv6"``.
        without_header: header name(s) the request must not carry.
        endpoint: ``"none"``: not through a service endpoint (from the internet);
            ``"service"``: through one; ``"any"``.

    Raises:
        AnalysisError: an unknown rule, header, family or option.

    >>> import acl
    >>> site = acl.loads('''{"scmIpSecurityRestrictions": [
    ...     {"name": "agents", "priority": 100, "ipAddress": "192.0.2.0/28"}]}''')
    >>> print(search(site, "allow", "scm"))
    ALLOW 200 OK [scm] 192.0.2.7: rule 'agents' (#0, priority 100) matched
    >>> search(site, "allow", "scm", family="ipv6") is None
    True
    """
    if collection not in COLLECTIONS:
        raise AnalysisError(f"collection {collection!r} is not valid: expected 'main' or 'scm'")
    if endpoint not in ("any", "none", "service"):
        raise AnalysisError(
            f"endpoint {endpoint!r} is not valid: expected 'any', 'none' or 'service'"
        )
    action = parse_action(decision)
    families = parse_family(family)
    without = parse_headers(without_header)
    space = Space([site])
    model = space.model(site, collection)
    indexes: list[int] | None = None
    if rule is not None:
        indexes = resolve_rules(site, model, rule)
        if indexes is None:
            return None
    found = find(
        space, model, action, rules=indexes, families=families, endpoint=endpoint, without=without
    )
    return None if found is None else witness(space, model, found)


def describe_search(
    decision: str | Action,
    collection: Collection,
    rule: str | Rule | None,
    family: int | str | None,
    without_header: str | Iterable[str] | None,
    endpoint: Endpoint,
) -> str:
    """The question a search answered, in words (for its "none exists" statement)."""
    action = parse_action(decision)
    parts = ["allowed" if action is Action.ALLOW else "denied"]
    if rule is not None:
        parts.append(f"by rule {rule.label if isinstance(rule, Rule) else repr(rule)}")
    limits: list[str] = []
    if family is not None:
        limits.append(f"IPv{parse_family(family)[0]} only")
    for name in sorted(parse_headers(without_header)):
        limits.append(f"without {name}")
    if endpoint == "none":
        limits.append("not through a service endpoint")
    elif endpoint == "service":
        limits.append("through a service endpoint")
    limits.append("private endpoints aside")
    return f"no request to {collection} is {' '.join(parts)} ({', '.join(limits)})"

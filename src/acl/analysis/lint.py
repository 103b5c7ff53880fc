"""Findings about a rule set, without traffic.

Each finding has a stable code (:data:`CHECKS`), a severity, the rules involved, a
one-sentence explanation and a fix hint. The findings about what rules decide (shadowed,
redundant, correlated, generalising, equal priorities, unmatchable, open families and
sites) are exact over the whole address, header and endpoint space (see
:mod:`acl.analysis.space`) and are found here; the findings about the configuration as
written are in :mod:`acl.analysis.written`, the Front Door ones in
:mod:`acl.analysis.frontdoor`, and the catalogue of codes in :mod:`acl.analysis.findings`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from ..model import COLLECTIONS, Action, Collection, Request, Rule, Site
from .diff import diff
from .findings import (
    CHECKS,
    CHECKS_BY_NAME,
    SEVERITIES,
    Check,
    Finding,
    Findings,
    RuleRef,
    Severity,
    severity_at_least,
)
from .frontdoor import health_probes
from .search import Found, find, nice_first, witness
from .space import (
    DEFAULT,
    EP_NEVER,
    EP_NONE,
    EP_SERVICE,
    STATE_LIMIT,
    AnalysisError,
    CollectionModel,
    Space,
    State,
    matches,
)
from .written import written

__all__ = [
    "CHECKS",
    "SEVERITIES",
    "Check",
    "Finding",
    "RuleRef",
    "Severity",
    "lint",
    "severity_at_least",
]

UNKNOWN = -99
"""A decision code for "too many states to tell"."""


def _labels(rules: Iterable[Rule]) -> str:
    return ", ".join(rule.label for rule in rules)


def _some(rules: Sequence[Rule], most: int = 5) -> str:
    """``'a' (#0, priority 1)``, or several, at most ``most`` named."""
    word = "rule" if len(rules) == 1 else "rules"
    shown = _labels(rules[:most])
    more = f" and {len(rules) - most} more" if len(rules) > most else ""
    return f"{word} {shown}{more}"


def _opposite(rule: Rule) -> str:
    return "allow" if rule.action is Action.DENY else "deny"


# ---------------------------------------------------------------------------- the linter


class _Linter(Findings):
    def __init__(self, site: Site, strict_azure: bool) -> None:
        super().__init__(site, strict_azure)
        # Rule analyses look at the rules as written, even when public access is off.
        self.analysed = (
            replace(site, public_network_access="Enabled") if site.public_access_disabled else site
        )
        self.space = Space([self.analysed])
        self.incomplete: set[tuple[int, ...]] = set()

    def collections(self) -> list[Collection]:
        return ["main"] if self.site.scm_use_main else list(COLLECTIONS)

    # -- the rules as a decision procedure

    def decisions(self, collection: Collection) -> None:
        space = self.space
        model = space.model(self.analysed, collection)
        rules = model.rules
        count = len(rules)
        lists_of: list[list[int]] = [[] for _ in range(count)]
        for list_id, members in enumerate(model.lists):
            for k in members:
                lists_of[k].append(list_id)
        member_sets = [frozenset(members) for members in model.lists]
        known = [self.states(model, [k]) for k in range(count)]
        minimal = [states or [] for states in known]
        decides = [
            states is None or self._decides(model, k, lists_of[k], minimal[k])
            for k, states in enumerate(known)
        ]
        for k, rule in enumerate(rules):
            if known[k] is None or model.conds[k].endpoint == EP_NEVER:
                continue  # site state makes it never match: ACL027-ACL029 say why
            if not lists_of[k]:
                self.add(
                    "ACL006",
                    f"rule {rule.label} can never match: its sources cover no address a "
                    "request can have (IPv4-mapped IPv6 prefixes, or a service tag without "
                    "prefixes)",
                    collection=collection,
                    rules=[rule],
                )
            elif not minimal[k]:
                self.add(
                    "ACL006",
                    f"rule {rule.label} can never match: no request can satisfy all its header "
                    "filters and endpoint condition (a value with a comma, or a host name no "
                    "request header can carry)",
                    collection=collection,
                    rules=[rule],
                )
            elif not decides[k]:
                self._shadowed(model, k, lists_of[k], minimal[k])
            else:
                self._redundant(model, k, lists_of[k])
        self._pairs(model, lists_of, member_sets, minimal, decides)

    def states(self, model: CollectionModel, rules: Sequence[int]) -> list[State] | None:
        """The minimal states in which all these rules match, or None (and an ACL099
        finding) when there are too many to check."""
        try:
            states = self.space.minimal_states([model.conds[k] for k in rules])
            if model.blocked:  # service-endpoint traffic never reaches the rules
                states = [state for state in states if state.endpoint == EP_NONE]
            return states
        except AnalysisError:
            if tuple(rules) not in self.incomplete:
                self.incomplete.add(tuple(rules))
                named = [model.rules[k] for k in rules]
                self.add(
                    "ACL099",
                    f"{_labels(named)}: more than {STATE_LIMIT} minimal header states; the "
                    "findings that need them were skipped",
                    collection=model.collection,
                    rules=named,
                )
            return None

    def _decides(
        self, model: CollectionModel, k: int, lists: list[int], minimal: list[State]
    ) -> bool:
        for list_id in lists:
            members = model.lists[list_id]
            earlier = members[: members.index(k)]
            if any(model.conds[q].unconditional for q in earlier):
                continue
            for state in minimal:
                if model.decide(earlier, state) == DEFAULT:
                    return True
        return False

    def _shadowed(
        self, model: CollectionModel, k: int, lists: list[int], minimal: list[State]
    ) -> None:
        rule = model.rules[k]
        points: set[frozenset[int]] = set()
        for list_id in lists:
            members = model.lists[list_id]
            earlier = members[: members.index(k)]
            for state in minimal:
                points.add(frozenset(q for q in earlier if matches(model.conds[q], state)))
        cover = _cover(points)
        covering = [model.rules[q] for q in sorted(cover)]
        actions = {r.action for r in covering}
        if actions == {rule.action}:
            tail = f"they {rule.action.word} too, so the rule is redundant"
        elif rule.action in actions:
            tail = f"some of them do not {rule.action.word}"
        else:
            tail = f"its {rule.action.value} never applies"
        self.add(
            "ACL001",
            f"rule {rule.label} never decides a request: {_labels(covering)} "
            f"match{'es' if len(covering) == 1 else ''} every request it matches; {tail}",
            collection=model.collection,
            rules=[rule],
            related=covering,
        )

    def _redundant(self, model: CollectionModel, k: int, lists: list[int]) -> None:
        """Report rule ``k`` when removing it changes no allow/deny.

        Removing it changes a decision exactly where it decides and the next matching rule
        (or the unmatched-rule action) has the other action. Such a request exists iff a
        minimal state of "``k`` and that next rule both match" is matched by no rule before
        ``k`` and none between the two (those are conditions that only shrink as states
        shrink), so no header state enumeration is needed.
        """
        rule = model.rules[k]
        site = self.analysed
        configured = site.main_default if model.effective == "main" else site.scm_default
        if configured is None and len(model.rules) == 1:
            # Removing the only rule turns the implicit Deny into Allow: compare whole sites.
            if not diff(site, _without(site, rule)).identical:
                return
            self._report_redundant(model, k, {DEFAULT})
            return
        if self._next_decider(model, k, lists, same=False):
            return
        instead = self._next_decider(model, k, lists, same=True)
        if UNKNOWN not in instead:
            self._report_redundant(model, k, instead)

    def _next_decider(
        self, model: CollectionModel, k: int, lists: list[int], *, same: bool
    ) -> set[int]:
        """The rules (or :data:`DEFAULT`) that decide, in place of rule ``k``, some request
        it decides, among those whose action is the same as ``k``'s (``same``) or not.
        Without ``same`` it stops at the first one found. :data:`UNKNOWN` is in the result
        when some pair had too many states to check."""
        action = model.rules[k].action
        conds = model.conds
        found: set[int] = set()
        for list_id in lists:
            members = model.lists[list_id]
            position = members.index(k)
            earlier = members[:position]
            if any(conds[q].unconditional for q in earlier):
                continue
            between: list[int] = []
            later: list[int] = []
            for q in members[position + 1 :]:
                later.append(q)
                if conds[q].unconditional:
                    break
            else:
                later.append(DEFAULT)
            for q in later:
                if (
                    (model.action(q) is action) == same
                    and q not in found
                    and (q == DEFAULT or self.space.compatible(conds[k], conds[q]))
                ):
                    states = self.states(model, [k] if q == DEFAULT else [k, q])
                    if states is None:
                        found.add(UNKNOWN)
                        return found
                    blockers = (*earlier, *between)
                    if any(model.decide(blockers, state) == DEFAULT for state in states):
                        found.add(q)
                        if not same:
                            return found
                if q != DEFAULT:
                    between.append(q)
        return found

    def _report_redundant(self, model: CollectionModel, k: int, instead: set[int]) -> None:
        rule = model.rules[k]
        later = [model.rules[q] for q in sorted(q for q in instead if q >= 0)]
        said = []
        if later:
            said.append(_labels(later))
        if DEFAULT in instead:
            said.append(f"the unmatched-rule action ({model.default.value})")
        self.add(
            "ACL002",
            f"rule {rule.label} is redundant: wherever it decides, {' and '.join(said)} would "
            f"decide {rule.action.word} too",
            collection=model.collection,
            rules=[rule],
            related=later,
        )

    def _pairs(
        self,
        model: CollectionModel,
        lists_of: list[list[int]],
        member_sets: list[frozenset[int]],
        minimal: list[list[State]],
        decides: list[bool],
    ) -> None:
        rules = model.rules
        overlapping: list[tuple[int, int]] = []
        found: set[tuple[int, int]] = set()
        joint: dict[tuple[int, int], list[State]] = {}
        for list_id, members in enumerate(model.lists):
            deciders = model.cut1[list_id]
            for position, i in enumerate(deciders):
                if not decides[i]:
                    continue
                earlier = deciders[:position]
                for j in members[position + 1 :]:
                    if (i, j) in found or rules[i].action is rules[j].action:
                        continue
                    if not decides[j] and rules[i].priority != rules[j].priority:
                        continue
                    if not self.space.compatible(model.conds[i], model.conds[j]):
                        continue
                    if (i, j) not in joint:
                        joint[(i, j)] = self.states(model, [i, j]) or []
                    if any(model.decide(earlier, s) == DEFAULT for s in joint[(i, j)]):
                        found.add((i, j))
                        overlapping.append((i, j))
        exceptions: dict[int, list[int]] = {}
        correlated: dict[int, list[int]] = {}
        for i, j in sorted(overlapping):
            first, second = rules[i], rules[j]
            if first.priority == second.priority:
                self.add(
                    "ACL005",
                    f"rules {first.label} ({first.action.word}) and {second.label} "
                    f"({second.action.word}) have the same priority and overlap: "
                    f"{first.label} wins only because it is listed first",
                    collection=model.collection,
                    rules=[first, second],
                )
                continue
            if not decides[j]:
                continue
            inside = all(j in member_sets[lid] for lid in lists_of[i]) and all(
                matches(model.conds[j], s) for s in minimal[i]
            )
            (exceptions if inside else correlated).setdefault(j, []).append(i)
        for j, before in sorted(exceptions.items()):
            later = rules[j]
            named = [rules[i] for i in before]
            self.add(
                "ACL004",
                f"rule {later.label} ({later.action.word}) is more general than the earlier "
                f"{_some(named)} ({_opposite(later)}), "
                f"{'an exception' if len(named) == 1 else 'exceptions'} to it",
                collection=model.collection,
                rules=[later],
                related=named,
            )
        for j, before in sorted(correlated.items()):
            later = rules[j]
            named = [rules[i] for i in before]
            self.add(
                "ACL003",
                f"rule {later.label} ({later.action.word}) overlaps partly with the earlier "
                f"{_some(named)} ({_opposite(later)}); where both match, the earlier "
                f"rule decides",
                collection=model.collection,
                rules=[later],
                related=named,
            )

    # -- defaults and collections

    def defaults(self, collection: Collection) -> None:
        site = self.site
        rules = site.rules(collection)
        configured = site.main_default if collection == "main" else site.scm_default
        label = "main" if collection == "main" else "scm"
        if site.public_access_disabled:
            return  # every request is denied anyway (ACL026)
        if rules and configured is None and all(r.action is Action.DENY for r in rules):
            self.add(
                "ACL020",
                f"the {label} collection has {len(rules)} Deny rule(s), no Allow rule and no "
                "unmatched-rule action: every request is denied",
                collection=collection,
                rules=rules,
            )
        if rules and configured is Action.ALLOW:
            model = self.space.model(self.analysed, collection)
            reached = _default_reached(model)
            if reached is not None:
                example = witness(self.space, model, reached).request
                allows = [r for r in rules if r.action is Action.ALLOW]
                self.add(
                    "ACL021",
                    f"the {label} collection has {len(rules)} rule(s) but its unmatched-rule "
                    "action is Allow, so unmatched traffic is let in (e.g. "
                    f"{example.address}{_via(example)}; Terraform azurerm 3.95+ sends Allow "
                    "by default)",
                    collection=collection,
                    rules=allows,
                    severity="warning" if allows else "info",
                    example=example,
                )
        if site.default_action(collection) is not Action.ALLOW:
            return
        space = self.space
        model = space.model(self.analysed, collection)
        deny_all: dict[int, list[Rule]] = {4: [], 6: []}
        for k, rule in enumerate(model.rules):
            cond = model.conds[k]
            if rule.action is not Action.DENY or cond.filters or cond.endpoint == EP_NEVER:
                continue  # (an IP rule decides all traffic not through a service endpoint)
            for source in rule.sources:
                if source.kind == "any":
                    deny_all[4].append(rule)
                    deny_all[6].append(rule)
                for prefix in source.prefixes:
                    if prefix.length == 0:
                        deny_all[prefix.version].append(rule)
        self._ipv6_open(collection, model, rules, deny_all[4])
        for closed, open_ in ((4, 6), (6, 4)):
            if not deny_all[closed] or deny_all[open_]:
                continue
            found = find(space, model, Action.ALLOW, families=(open_,), endpoint="none")
            if found is None:
                continue
            example = witness(space, model, found).request
            self.add(
                "ACL022",
                f"{_labels(deny_all[closed][:1])} denies all of IPv{closed}, but nothing denies "
                f"all of IPv{open_} and the unmatched-rule action is Allow: IPv{open_} clients "
                f"get in (e.g. {example.address})",
                collection=collection,
                rules=deny_all[closed][:1],
                example=example,
            )

    def _ipv6_open(
        self,
        collection: Collection,
        model: CollectionModel,
        rules: Sequence[Rule],
        ipv4_deny_all: Sequence[Rule],
    ) -> None:
        """ACL035: IP rules for IPv4 only, and the unmatched-rule action lets IPv6 in (ACL022
        says it when a rule denies all of IPv4). ``ipMode`` does not matter: it is DNS only."""
        if ipv4_deny_all:
            return
        ip_rules = [r for r in rules if any(s.kind in ("cidr", "service_tag") for s in r.sources)]
        if not ip_rules:
            return
        for rule in rules:
            for source in rule.sources:
                if source.kind == "any" or any(p.version == 6 for p in source.prefixes):
                    return
        found = find(self.space, model, Action.ALLOW, families=(6,), endpoint="none")
        if found is None:
            return
        example = witness(self.space, model, found).request
        mode = self.site.ip_mode
        dns = f" (ipMode {mode} only changes DNS)" if mode is not None else ""
        label = "main" if collection == "main" else "scm"
        self.add(
            "ACL035",
            f"the {label} collection's {len(ip_rules)} IP rule(s) are IPv4 only and its "
            f"unmatched-rule action is Allow: every IPv6 client gets in (e.g. "
            f"{example.address}){dns}",
            collection=collection,
            rules=ip_rules[:1],
            example=example,
        )

    def open_sites(self) -> None:
        site = self.site
        if site.scm_use_main or site.public_access_disabled or _bare_rule_list(site):
            return
        space = self.space
        models = {c: space.model(self.analysed, c) for c in COLLECTIONS}
        open_ = {c: find(space, models[c], Action.DENY) is None for c in COLLECTIONS}
        pairs: tuple[tuple[Collection, Collection, str], ...] = (
            ("scm", "main", "ACL023"),
            ("main", "scm", "ACL024"),
        )
        for wide, other, code in pairs:
            if open_[wide] and not open_[other]:
                found = find(space, models[wide], Action.ALLOW)
                example = witness(space, models[wide], found).request if found else None
                self.add(
                    code,
                    f"the {wide} site allows every request, while the {other} site denies some",
                    collection=wide,
                    rules=site.rules(wide),
                    example=example,
                )


def _via(request: Request) -> str:
    return " through a service endpoint" if request.service_endpoint else ""


def _default_reached(model: CollectionModel) -> Found | None:
    """Where the unmatched-rule action decides (None: nowhere, every request matches a rule):
    not through a service endpoint first, then through one (IP rules on a multi-tenant site
    never match that)."""
    for bottom in (State(EP_NONE, frozenset()), State(EP_SERVICE, frozenset())):
        for version in (4, 6):
            for first, last, list_id in nice_first(model.segments(version), version):
                if model.decide(model.cut1[list_id], bottom) == DEFAULT:
                    return Found(version, first, last, bottom, DEFAULT)
    return None


def _bare_rule_list(site: Site) -> bool:
    """True for a site loaded from a bare rule list: it says nothing about scm."""
    return (
        bool(site.main_rules)
        and not site.scm_rules
        and site.scm_default is None
        and all(
            r.origin is not None and (r.origin.path or "").startswith("$[") for r in site.main_rules
        )
    )


def _cover(points: set[frozenset[int]]) -> set[int]:
    """A small set of rules that hits every point (each point: the earlier rules that
    match one minimal state of the shadowed rule), greedy, then pruned to be minimal."""
    left = [p for p in points]
    chosen: list[int] = []
    while left:
        counts: dict[int, int] = {}
        for point in left:
            for q in point:
                counts[q] = counts.get(q, 0) + 1
        if not counts:
            raise AnalysisError("a shadowed rule has a state no earlier rule matches")
        best = min(counts, key=lambda q: (-counts[q], q))
        chosen.append(best)
        left = [p for p in left if best not in p]
    for q in list(reversed(chosen)):
        rest = set(chosen) - {q}
        if all(point & rest for point in points):
            chosen.remove(q)
    result = set(chosen)
    if not all(point & result for point in points):
        raise AssertionError("the covering rules do not cover the shadowed rule")
    return result


def _without(site: Site, rule: Rule) -> Site:
    return replace(
        site,
        main_rules=tuple(r for r in site.main_rules if r is not rule),
        scm_rules=tuple(r for r in site.scm_rules if r is not rule),
    )


def lint(site: Site, *, strict_azure: bool = False, ignore: Iterable[str] = ()) -> list[Finding]:
    """Every finding about a site, in file order (site-wide findings first).

    Args:
        site: the site.
        strict_azure: report crossed Azure limits as errors.
        ignore: finding codes (``ACL001``) or names (``shadowed-rule``) to leave out.

    Raises:
        AnalysisError: an unknown code in ``ignore``.

    >>> import acl
    >>> site = acl.loads('''[
    ...   {"name": "everyone", "priority": 100, "action": "Allow", "ipAddress": "0.0.0.0/0"},
    ...   {"name": "office", "priority": 200, "action": "Allow", "ipAddress": "198.51.100.0/24"}]''')
    >>> [f.code for f in lint(site)]
    ['ACL001']
    >>> print(lint(site)[0].message)
    rule 'office' (#1, priority 200) never decides a request: 'everyone' (#0, priority 100) matches every request it matches; they allow too, so the rule is redundant
    """
    skip: set[str] = set()
    for item in ignore:
        for part in item.split(","):
            wanted = part.strip()
            if not wanted:
                continue
            check = CHECKS.get(wanted.upper()) or CHECKS_BY_NAME.get(wanted.lower())
            if check is None:
                raise AnalysisError(
                    f"finding code {wanted!r} is unknown: expected one of {', '.join(CHECKS)} "
                    "or their names"
                )
            skip.add(check.code)
    linter = _Linter(site, strict_azure)
    written(linter)
    for collection in linter.collections():
        linter.defaults(collection)
        linter.decisions(collection)
        if not site.public_access_disabled:
            health_probes(linter, linter.space, linter.space.model(linter.analysed, collection))
    linter.open_sites()
    order = {c: i for i, c in enumerate(COLLECTIONS)}

    def key(finding: Finding) -> tuple[Any, ...]:
        if not finding.rules:
            return (-1, -1, finding.code)
        ref = finding.rules[0]
        return (order[ref.collection], ref.position, finding.code)

    return sorted((f for f in linter.findings if f.code not in skip), key=key)

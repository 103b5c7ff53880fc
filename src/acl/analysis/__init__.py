"""Analysis of rule sets without traffic: lint, diff and search, exact over every request.

* :func:`lint` finds shadowed, redundant, correlated and conflicting rules, Front Door
  rules without their header, surprising defaults, open families and sites, and crossed
  Azure limits (:data:`CHECKS` lists every code).
* :func:`diff` gives the exact difference between two sites: the address ranges, per
  collection and header condition, whose decision changes, with a checked example each.
* :func:`search` finds a request with a given outcome, or proves that none exists.
* :mod:`acl.analysis.tags` says what a service tag update changes, per tag and per site
  (``acl tags diff``); :mod:`acl.analysis.addressmap` draws the address space a site's
  rules let in, with a diff's changed ranges outlined (``--format html``).

Every answer is computed over the whole address space and every header and endpoint state
(:mod:`acl.analysis.space` says how), and every example request is checked with the
reference evaluator before it is returned.

>>> import acl, acl.analysis
>>> site = acl.load("examples/frontdoor-site/site.json")
>>> [(f.code, f.name) for f in acl.analysis.lint(site)]
[('ACL004', 'generalisation')]
>>> print(acl.analysis.search(site, "allow", "scm"))
ALLOW 200 OK [scm] 192.0.2.7: rule 'build-agents' (#0, priority 100) matched
"""

from __future__ import annotations

from .diff import Compare, Diff, Difference, Side, Unresolved, diff
from .lint import CHECKS, SEVERITIES, Check, Finding, RuleRef, Severity, lint
from .search import Endpoint, Witness, search
from .space import (
    STATE_LIMIT,
    AnalysisError,
    Condition,
    EndpointCondition,
    HeaderCondition,
)

__all__ = [
    "CHECKS",
    "SEVERITIES",
    "STATE_LIMIT",
    "AnalysisError",
    "Check",
    "Compare",
    "Condition",
    "Diff",
    "Difference",
    "Endpoint",
    "EndpointCondition",
    "Finding",
    "HeaderCondition",
    "RuleRef",
    "Severity",
    "Side",
    "Unresolved",
    "Witness",
    "diff",
    "lint",
    "search",
]

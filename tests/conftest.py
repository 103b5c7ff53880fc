"""Shared fixtures: the shared contract folder beside the checkout, and small site builders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import acl

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CONFORMANCE = SHARED / "conformance"
EXAMPLES = ROOT / "examples"


def site_of(*rules: dict[str, Any], **config: Any) -> acl.Site:
    """A site from a siteConfig with these main rules and extra siteConfig keys."""
    return acl.loads(json.dumps({"ipSecurityRestrictions": list(rules), **config}))


def rule(
    name: str, priority: int, source: str, action: str = "Allow", **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "priority": priority, "action": action}
    if source.startswith("/subscriptions/"):
        out["vnetSubnetResourceId"] = source
    else:
        out["ipAddress"] = source
    out.update(extra)
    return out


@pytest.fixture(scope="session")
def example_site() -> acl.Site:
    return acl.load(EXAMPLES / "frontdoor-site" / "site.json")


# Hypothesis: "dev" by default, "ci" (more examples) when HYPOTHESIS_PROFILE=ci.
import os  # noqa: E402

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

KERNELS = ("cython", "python")


@pytest.fixture(params=KERNELS)
def kernel(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name

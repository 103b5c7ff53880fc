"""The azurerm schema check: an argument or block name that ``terraform validate`` refuses
in the blocks acl reads is an error, with a did-you-mean hint.
"""

from __future__ import annotations

import difflib

from ...errors import ConfigError, Origin, quote
from ._azurerm_schema import ARGUMENTS, BLOCKS
from .nodes import Node, Skipped

# ---------------------------------------------------------------------------- azurerm schema

_RESOURCE_META = frozenset(
    {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"}
)
"""Terraform's meta-arguments and blocks, valid in every resource block; ``timeouts`` is
the azurerm block every resource takes."""


def check_schema(node: Node, resource_type: str, address: str) -> None:
    """Refuse what ``terraform validate`` refuses in the blocks acl reads: an argument or
    block the azurerm schema does not have at the resource's top level, in ``site_config``,
    its ``ip_restriction``/``scm_ip_restriction`` blocks and their ``headers``, and (for a
    private endpoint) ``private_service_connection``. A name that is not there would be
    ignored by a looser reader, and a typo'd ``ip_restrictions`` block leaves the site
    open."""
    top = ARGUMENTS.get(resource_type)
    if top is None:
        return
    _check_names(node, top | _RESOURCE_META | {"timeouts"}, resource_type, address, "")
    nested = BLOCKS.get(resource_type, {})

    def walk(parent: Node, prefix: str) -> None:
        for name, _, _ in parent.names():
            path = f"{prefix}{name}"
            valid = nested.get(path)
            if valid is None:
                continue
            for child in parent.children(name):
                if isinstance(child, Skipped):  # its content needs a plan: refused later
                    continue
                _check_names(child, valid, resource_type, address, path)
                walk(child, path + ".")

    walk(node, "")


def _check_names(
    node: Node, valid: frozenset[str], resource_type: str, address: str, path: str
) -> None:
    for name, kind, line in node.names():
        if name in valid:
            continue
        where = f"{address}.{path}" if path else address
        origin = Origin(file=node.file, line=line, path=f"{where}.{name}")
        if name in ("ip_restriction_default_action", "scm_ip_restriction_default_action"):
            raise ConfigError(
                f"{name} is not an argument of {resource_type}: only azurerm_linux_web_app, "
                "azurerm_windows_web_app, the function apps and their slots (azurerm 3.95 and "
                "later), azurerm_function_app_flex_consumption and azurerm_logic_app_standard "
                "(azurerm 4.67 and later) have it",
                origin,
            )
        close = difflib.get_close_matches(name, sorted(valid), n=1, cutoff=0.6)
        hint = f'did you mean "{close[0]}"? ' if close else ""
        inside = f"in {path} of {resource_type}" if path else f"in {resource_type}"
        raise ConfigError(
            f"unsupported {kind} {quote(name)} {inside}: the azurerm provider has no such "
            f"name there and `terraform validate` refuses it; {hint}fix or remove it",
            origin,
        )

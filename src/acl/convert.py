"""Write a loaded site back out: an ARM template, Terraform, az CLI commands, or acl-site JSON.

:func:`convert` is ``acl convert --to TARGET``. Loading what it writes (``acl.load``) gives a
site that decides every request as the original does:

===============  =================================================================================
``arm``          a deployment template with one ``Microsoft.Web/sites/config`` resource
                 (``sites/slots/config`` for ``app/slot``) named ``web``: the access restriction
                 keys of the siteConfig, as they are; the site name is the ``siteName`` parameter
``terraform``    an ``azurerm_linux_web_app`` (or ``resource_type``) resource with only
                 ``public_network_access_enabled`` and the ``site_config`` block: copy them into
                 the real resource. Every value is explicit, so provider defaults do not matter
``azcli``        a bash script of ``az webapp config access-restriction add`` commands, then
                 ``set`` for the scm and default-action settings (and ``az webapp update --set
                 publicNetworkAccess=...``), for a site that has no rules yet
``json``         ``acl-site/1`` (:mod:`acl.serialize`): the faithful form, with service tags
                 resolved to their prefixes
===============  =================================================================================

Some sites cannot be written in some targets; :class:`ConvertError` says which rule and why:

* Terraform: the provider validates what it sends. ``AnyVnets`` has no azurerm spelling;
  priorities must be 1 to 2147483647; ``x_azure_fdid`` values must be UUIDs and
  ``x_fd_health_probe`` ``["1"]``. ``Any`` has no spelling either (``0.0.0.0/0,::/0`` does
  not match service-endpoint traffic, which ``Any`` does), an absent default action its effective value (Deny with rules, Allow without), because the
  provider always sends one; ``vnetTrafficTag``/``subnetTrafficTag`` are dropped (Azure does
  not match on them).
* az CLI: ``AnyVnets`` cannot be given; the CLI refuses a rule whose address list (or service
  tag, or subnet with the same header filter) is already in the collection, more than eight
  addresses or header values, and header values containing ``=``. Host bits are cleared
  (``10.0.0.1/24`` becomes ``10.0.0.0/24``: the same addresses match), because the CLI refuses
  them; ``Any`` cannot be given (as for Terraform).
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any, Literal

from .errors import ConvertError
from .model import Rule, Site
from .serialize import site_to_dict

__all__ = ["TARGETS", "ConvertError", "convert", "rule_to_arm", "site_config"]

Target = Literal["arm", "terraform", "azcli", "json"]
TARGETS: tuple[Target, ...] = ("arm", "terraform", "azcli", "json")

API_VERSION = "2023-12-01"
_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_INT32_MAX = 2**31 - 1
_TF_HEADERS = {
    "X-Forwarded-Host": "x_forwarded_host",
    "X-Forwarded-For": "x_forwarded_for",
    "X-Azure-FDID": "x_azure_fdid",
    "X-FD-HealthProbe": "x_fd_health_probe",
}


# ---------------------------------------------------------------------------- ARM shapes


def rule_to_arm(rule: Rule) -> dict[str, Any]:
    """A rule as an ARM ``IpSecurityRestriction`` object."""
    out: dict[str, Any] = {}
    if rule.name is not None:
        out["name"] = rule.name
    out["priority"] = rule.priority
    out["action"] = rule.action.value
    kinds = {source.kind for source in rule.sources}
    if kinds == {"subnet"}:
        out["vnetSubnetResourceId"] = rule.vnet_subnet_resource_id or rule.sources[0].text
    else:
        text = rule.ip_address or ",".join(source.text for source in rule.sources)
        out["ipAddress"] = text
        if kinds == {"service_tag"}:
            out["tag"] = "ServiceTag"
        elif rule.subnet_mask is not None:
            out["subnetMask"] = rule.subnet_mask
    if rule.description is not None:
        out["description"] = rule.description
    if rule.vnet_traffic_tag is not None:
        out["vnetTrafficTag"] = rule.vnet_traffic_tag
    if rule.subnet_traffic_tag is not None:
        out["subnetTrafficTag"] = rule.subnet_traffic_tag
    if rule.headers:
        out["headers"] = {h.name: list(h.values) for h in rule.headers}
    return out


def _check_not_synthetic(rule: Rule) -> None:
    from .formats.restrictions import is_synthetic

    if is_synthetic(rule_to_arm(rule)):
        raise ConvertError(
            f"a rule named {rule.name!r} for Any at priority {rule.priority} is how the API "
            "renders the unmatched-rule action: Azure ignores it in what it is sent, and reads "
            "it as the default in what it returns; rename it or change its priority",
            rule,
        )


def site_config(site: Site) -> dict[str, Any]:
    """The access restriction keys of a siteConfig for this site."""
    for rule in site.all_rules():
        _check_not_synthetic(rule)
    config: dict[str, Any] = {
        "ipSecurityRestrictions": [rule_to_arm(r) for r in site.main_rules],
        "scmIpSecurityRestrictions": [rule_to_arm(r) for r in site.scm_rules],
        "scmIpSecurityRestrictionsUseMain": site.scm_use_main,
    }
    if site.main_default is not None:
        config["ipSecurityRestrictionsDefaultAction"] = site.main_default.value
    if site.scm_default is not None:
        config["scmIpSecurityRestrictionsDefaultAction"] = site.scm_default.value
    if site.public_network_access is not None:
        config["publicNetworkAccess"] = site.public_network_access
    return config


def _site_name(site: Site) -> str:
    name = site.name or ""
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*(/[A-Za-z0-9][A-Za-z0-9-]*)?", name):
        return name
    return "app"


def _arm(site: Site) -> str:
    name = _site_name(site)
    slot = "/" in name
    template = {
        "$schema": _SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {
            "siteName": {
                "type": "string",
                "defaultValue": name,
                "metadata": {"description": "the web app (app/slot for a slot)"},
            }
        },
        "resources": [
            {
                "type": "Microsoft.Web/sites/slots/config"
                if slot
                else "Microsoft.Web/sites/config",
                "apiVersion": API_VERSION,
                "name": "[format('{0}/web', parameters('siteName'))]",
                "properties": _literal(site_config(site)),
            }
        ],
    }
    return json.dumps(template, indent=2, ensure_ascii=False) + "\n"


def _literal(value: Any) -> Any:
    """``value`` with every string that ARM would evaluate as an expression (``[...]``)
    escaped as ARM reads a literal: ``[[...]``."""
    if isinstance(value, str):
        return "[" + value if value.startswith("[") and value.endswith("]") else value
    if isinstance(value, dict):
        return {key: _literal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_literal(item) for item in value]
    return value


# ---------------------------------------------------------------------------- Terraform


def _hcl(value: str) -> str:
    out = ['"']
    for char in value:
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 32:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    text = "".join(out) + '"'
    return text.replace("${", "$${").replace("%{", "%%{")


def _effective(site: Site, collection: Literal["main", "scm"]) -> str:
    configured = site.main_default if collection == "main" else site.scm_default
    if configured is not None:
        return configured.value
    rules = site.main_rules if collection == "main" else site.scm_rules
    return "Deny" if rules else "Allow"


_ANY_REFUSED = (
    "Any {what}, and 0.0.0.0/0,::/0 is not the same: on multi-tenant App Service IP rules "
    "never match traffic through a service endpoint, which Any does; write --to arm instead"
)


def _tf_source(rule: Rule) -> tuple[str, str]:
    kinds = {source.kind for source in rule.sources}
    if kinds == {"any_vnets"}:
        raise ConvertError(
            "AnyVnets has no azurerm spelling (the provider accepts only "
            "addresses, CIDRs, service tags and subnet ids)",
            rule,
        )
    if kinds == {"any"}:
        raise ConvertError(
            _ANY_REFUSED.format(
                what="has no azurerm spelling (the provider drops every rule whose ipAddress is Any)"
            ),
            rule,
        )
    if kinds == {"subnet"}:
        return "virtual_network_subnet_id", rule.vnet_subnet_resource_id or rule.sources[0].text
    if kinds == {"service_tag"}:
        return "service_tag", ",".join(source.text for source in rule.sources)
    return "ip_address", ",".join(source.text for source in rule.sources)


def _tf_headers(rule: Rule) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for flt in rule.headers:
        attr = _TF_HEADERS[flt.name]
        values = list(flt.values)
        if attr == "x_forwarded_for":
            values = [v if "/" in v else f"{v.strip()}/{128 if ':' in v else 32}" for v in values]
        if attr == "x_azure_fdid":
            bad = [v for v in values if not _UUID.match(v)]
            if bad:
                raise ConvertError(
                    f"X-Azure-FDID value {bad[0]!r} is not a UUID, which the "
                    "azurerm provider requires",
                    rule,
                )
        if attr == "x_fd_health_probe" and values != ["1"]:
            raise ConvertError(
                f'X-FD-HealthProbe values {values!r}: the azurerm provider allows only ["1"]',
                rule,
            )
        if len(values) > 8:
            raise ConvertError(
                f"{flt.name} has {len(values)} values; the azurerm provider allows 8",
                rule,
            )
        out.append((attr, values))
    return out


def _tf_rule(rule: Rule, block: str) -> list[str]:
    if not 1 <= rule.priority <= _INT32_MAX:
        raise ConvertError(
            f"priority {rule.priority} is outside the azurerm provider's range 1 to {_INT32_MAX}",
            rule,
        )
    attr, source = _tf_source(rule)
    pairs: list[tuple[str, str]] = []
    if rule.name:
        pairs.append(("name", _hcl(rule.name)))
    pairs.append(("priority", str(rule.priority)))
    pairs.append(("action", _hcl(rule.action.value)))
    pairs.append((attr, _hcl(source)))
    if rule.description:
        pairs.append(("description", _hcl(rule.description)))
    width = max(len(key) for key, _ in pairs)
    lines = [f"    {block} {{"]
    lines.extend(f"      {key.ljust(width)} = {value}" for key, value in pairs)
    headers = _tf_headers(rule)
    if headers:
        head_width = max(len(attr) for attr, _ in headers)
        lines.append("      headers {")
        for name, values in headers:
            lines.append(
                f"        {name.ljust(head_width)} = [{', '.join(_hcl(v) for v in values)}]"
            )
        lines.append("      }")
    lines.append("    }")
    return lines


def _tf_label(site: Site) -> str:
    name = (site.name or "app").split(".")[-1].split("[")[0]
    label = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    if not label or not re.match(r"[A-Za-z_]", label):
        label = f"app_{label}"
    return label


def _terraform(site: Site, resource_type: str) -> str:
    from .formats.terraform.azurerm import LEGACY_TYPES, LOGIC_APP_TYPES, WEB_APP_TYPES

    if resource_type not in WEB_APP_TYPES or resource_type in LEGACY_TYPES | LOGIC_APP_TYPES:
        current = sorted(WEB_APP_TYPES - LEGACY_TYPES - LOGIC_APP_TYPES)
        raise ConvertError(
            f"resource type {resource_type!r} cannot be written: acl convert writes the "
            "arguments of the current web and function apps (default actions, "
            "public_network_access_enabled), which "
            + (
                "the legacy resources and azurerm_logic_app_standard do not all have"
                if resource_type in WEB_APP_TYPES
                else "only they have"
            )
            + f"; choose one of {', '.join(current)}"
        )
    for rule in site.all_rules():
        _check_not_synthetic(rule)
    lines = [
        f"# Access restrictions of {site.name or 'the site'}, written by acl convert for azurerm "
        "3.95 or later.",
        "# Only the arguments that bear on access restrictions are here: copy",
        "# public_network_access_enabled and the site_config block into the real resource.",
        f'resource "{resource_type}" "{_tf_label(site)}" {{',
    ]
    # Always written: unset, the provider sends Enabled, which would open a site whose
    # public access is off only because it has a private endpoint and no setting.
    enabled = "false" if site.public_access_disabled else "true"
    lines.append(f"  public_network_access_enabled = {enabled}")
    lines.append("")
    lines.append("  site_config {")
    settings = [
        ("ip_restriction_default_action", _hcl(_effective(site, "main"))),
        ("scm_ip_restriction_default_action", _hcl(_effective(site, "scm"))),
        ("scm_use_main_ip_restriction", "true" if site.scm_use_main else "false"),
    ]
    width = max(len(key) for key, _ in settings)
    lines.extend(f"    {key.ljust(width)} = {value}" for key, value in settings)
    for rule in site.main_rules:
        lines.append("")
        lines.extend(_tf_rule(rule, "ip_restriction"))
    for rule in site.scm_rules:
        lines.append("")
        lines.extend(_tf_rule(rule, "scm_ip_restriction"))
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- az CLI


def _sh(value: str) -> str:
    if value and re.fullmatch(r"[A-Za-z0-9_./:,=@+%-]+", value):
        return value
    return "'" + value.replace("'", "'\\''") + "'"


def _option(name: str, value: str) -> str:
    """``--name VALUE`` as one word, ``--name=VALUE``, when the value starts with ``-``
    (argparse, and so the az CLI, would take it for an option), else two."""
    if value.startswith("-"):
        return f"{name}={_sh(value)}"
    return f"{name} {_sh(value)}"


def _az_ips(rule: Rule) -> str:
    kinds = {source.kind for source in rule.sources}
    if kinds == {"any"}:
        raise ConvertError(
            _ANY_REFUSED.format(
                what="cannot be given to `az webapp config access-restriction add` (its --ip-address takes addresses and CIDRs only)"
            ),
            rule,
        )
    texts = []
    for source in rule.sources:
        network = ipaddress.ip_network(source.text.strip(), strict=False)
        texts.append(str(network))
    return ",".join(texts)


def _azcli(site: Site) -> str:
    for rule in site.all_rules():
        _check_not_synthetic(rule)
    name = _site_name(site)
    app, _, slot = name.partition("/")
    lines = [
        "#!/usr/bin/env bash",
        f"# Access restrictions of {site.name or 'the site'}, written by acl convert.",
        "# Run it against a site without access restriction rules: `add` cannot replace rules.",
        "set -euo pipefail",
        'RG="${RG:-my-resource-group}"',
        f'APP="${{APP:-{app}}}"',
    ]
    target = '-g "$RG" -n "$APP"'
    if slot:
        lines.append(f'SLOT="${{SLOT:-{slot}}}"')
        target += ' --slot "$SLOT"'
    base = "az webapp config access-restriction"
    for collection, rules in (("main", site.main_rules), ("scm", site.scm_rules)):
        seen: list[tuple[str, Any, Any]] = []
        for rule in rules:
            words = [base, "add", target]
            if rule.name is not None:
                words.append(_option("--rule-name", rule.name))
            words += ["--priority", str(rule.priority), "--action", rule.action.value]
            kinds = {source.kind for source in rule.sources}
            # the CLI's duplicate checks compare the headers by name, values as a set
            headers = tuple(
                sorted(
                    (h.name.lower(), tuple(sorted(v.strip() for v in h.values)))
                    for h in rule.headers
                )
            )
            if kinds == {"any_vnets"}:
                raise ConvertError(
                    "AnyVnets cannot be given to `az webapp config "
                    "access-restriction add` (its --ip-address takes addresses and CIDRs only)",
                    rule,
                )
            if kinds == {"subnet"}:
                subnet = (rule.vnet_subnet_resource_id or rule.sources[0].text).strip()
                key: tuple[str, Any, Any] = ("subnet", subnet.lower(), headers)
                if key in seen:
                    raise ConvertError(
                        f"the az CLI refuses a second rule for subnet {subnet!r} "
                        "with the same header filter; write --to arm instead",
                        rule,
                    )
                words += ["--subnet", _sh(subnet)]
            elif kinds == {"service_tag"}:
                tags = ",".join(source.text for source in rule.sources)
                key = ("tag", tags.lower(), headers)
                if key in seen or len(rule.sources) > 8:
                    raise ConvertError(
                        f"the az CLI refuses service tags {tags!r} "
                        + (
                            "a second time in a collection with the same header filter; "
                            "write --to arm instead"
                            if key in seen
                            else "(more than 8)"
                        ),
                        rule,
                    )
                words += ["--service-tag", _sh(tags)]
            else:
                ips = _az_ips(rule)
                key = ("address", frozenset(ips.split(",")), headers)  # a set, as the CLI's
                if key in seen:
                    raise ConvertError(
                        f"the az CLI refuses a second rule for the addresses {ips!r} (in any "
                        "order) with the same header filter in a collection; write --to arm "
                        "instead",
                        rule,
                    )
                if ips.count(",") >= 8:
                    raise ConvertError("the az CLI allows 8 addresses per rule", rule)
                words += ["--ip-address", _sh(ips)]
            seen.append(key)
            if rule.description is not None:
                words.append(_option("--description", rule.description))
            for flt in rule.headers:
                if len(flt.values) > 8:
                    raise ConvertError(
                        f"the az CLI allows 8 values per header, and {flt.name} "
                        f"has {len(flt.values)}",
                        rule,
                    )
                for value in flt.values:
                    if "=" in value or not value.strip():
                        raise ConvertError(
                            f"{flt.name} value {value!r} cannot be passed to "
                            "--http-header NAME=VALUE",
                            rule,
                        )
                    words += ["--http-header", _sh(f"{flt.name.lower()}={value.strip()}")]
            if collection == "scm":
                words += ["--scm-site", "true"]
            lines.append(" ".join(words))
    settings = [base, "set", target, "--use-same-restrictions-for-scm-site"]
    settings.append("true" if site.scm_use_main else "false")
    if site.main_default is not None:
        settings += ["--default-action", site.main_default.value]
    if site.scm_default is not None:
        settings += ["--scm-default-action", site.scm_default.value]
    lines.append(" ".join(settings))
    if site.public_network_access is not None:
        lines.append(
            f"az webapp update {target} --set publicNetworkAccess={site.public_network_access}"
        )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- front door


def convert(
    site: Site,
    to: Target | str = "arm",
    *,
    resource_type: str = "azurerm_linux_web_app",
) -> str:
    """The site written in another form (see the module docs for each target).

    >>> import acl
    >>> site = acl.loads('[{"name": "office", "priority": 100, "ipAddress": "198.51.100.0/24"}]')
    >>> print(convert(site, "azcli").splitlines()[-2])
    az webapp config access-restriction add -g "$RG" -n "$APP" --rule-name office --priority 100 --action Allow --ip-address 198.51.100.0/24

    Raises:
        ConvertError: the target cannot express the site; the message names the rule.
    """
    if to == "arm":
        return _arm(site)
    if to == "terraform":
        return _terraform(site, resource_type)
    if to == "azcli":
        return _azcli(site)
    if to == "json":
        return json.dumps(site_to_dict(site), indent=2, ensure_ascii=False) + "\n"
    raise ValueError(f"target {to!r} is unknown: expected one of {', '.join(TARGETS)}")

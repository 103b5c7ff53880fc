"""Terraform (azurerm): ``.tf`` files and folders, and ``terraform show -json`` output.

Two formats:

* ``terraform``: the configuration, one ``.tf`` or ``.tf.json`` file or a folder (a root
  module, with the child modules it calls from local paths or through
  ``.terraform/modules/modules.json``; each folder's override files merged into its other
  files as Terraform merges them). The web and function apps
  (``azurerm_linux_web_app``, ``azurerm_windows_web_app``, ``azurerm_linux_function_app``,
  ``azurerm_windows_function_app``, their ``_slot`` variants, ``azurerm_logic_app_standard``,
  and the legacy ``azurerm_app_service``, ``azurerm_function_app`` and their slots) are read
  with the provider's defaults: priority 65000, action ``Allow``, and (azurerm 3.95 and later,
  not the legacy resources nor the logic app) ``ip_restriction_default_action = "Allow"``.
  Variables come from their defaults, ``TF_VAR_*``, ``terraform.tfvars``, ``*.auto.tfvars``,
  ``var_files`` and ``variables``; locals, templates, ``dynamic`` blocks, module outputs and
  ``count``/``for_each`` are expanded when their values can be known offline. A value only a plan can know is an error naming the file, line, block and
  expression, or (``unresolved="skip-rule"``) leaves that rule out with a warning.
* ``terraform-show``: the JSON of ``terraform show -json`` for a plan or a state (and a raw
  ``terraform.tfstate``): the values the provider will send, or sent.

Either way the Terraform blocks become ARM-shaped ``IpSecurityRestriction`` objects and go
through :func:`acl.formats.restrictions.site_from_config`, so every rule is validated, and
every message worded, exactly as for ARM JSON; the origins carry the ``.tf`` file and line.

The package, one concern a module: :mod:`.hcl2_adapter` (the only module that knows
python-hcl2's parse tree) turns HCL text into the types of :mod:`.syntax`;
:mod:`.evaluator` evaluates them with :mod:`.values`, :mod:`.functions`, :mod:`.templates`
and :mod:`.typespec`; :mod:`.reading`, :mod:`.declarations`, :mod:`.variables` and
:mod:`.instances` read files into modules and module instances; :mod:`.nodes` reads blocks,
:mod:`.schema` checks their names and :mod:`.azurerm` maps them to ARM; :mod:`.loader` and
:mod:`.show` are the two formats. Terraform JSON is parsed by :mod:`acl.located_json`.
"""

from __future__ import annotations

from .azurerm import (
    FLEX_TYPES,
    LEGACY_TYPES,
    LOGIC_APP_TYPES,
    WEB_APP_TYPES,
    parse_azurerm_version,
)
from .loader import PLAN_TYPES as PLAN_TYPES
from .loader import PRIVATE_ENDPOINT_TYPE as PRIVATE_ENDPOINT_TYPE
from .loader import load_terraform, load_terraform_sites, terraform_site_names
from .show import (
    is_terraform_show,
    load_terraform_show,
    load_terraform_show_sites,
    terraform_show_site_names,
)

__all__ = [
    "FLEX_TYPES",
    "LEGACY_TYPES",
    "LOGIC_APP_TYPES",
    "WEB_APP_TYPES",
    "is_terraform_show",
    "load_terraform",
    "load_terraform_show",
    "load_terraform_show_sites",
    "load_terraform_sites",
    "parse_azurerm_version",
    "terraform_show_site_names",
    "terraform_site_names",
]

"""The options every loader takes: arguments, never module-level switches."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ConfigWarning
from ..servicetags import ServiceTags, load_service_tags

if TYPE_CHECKING:
    from ..model import Hosting, Site

__all__ = [
    "AZURERM_DEFAULT_ACTION_VERSION",
    "ConfigWarning",
    "Document",
    "LoadOptions",
    "Unresolved",
]

Unresolved = Literal["error", "skip-rule"]
Document = Literal["returned", "sent"]
"""What a JSON document is: what Azure returns (a REST GET, ``az ... show``, an export) or
what is sent to Azure (an ARM template, Bicep output, a PUT/PATCH body)."""

AZURERM_DEFAULT_ACTION_VERSION = (3, 95)
"""The azurerm release whose web apps send ``ip_restriction_default_action`` (default
``Allow``); older releases send no default action, so the implicit Deny applies."""


@dataclass(frozen=True)
class LoadOptions:
    """How to load a site.

    Attributes:
        source: the file name used in messages (``<string>`` for text).
        service_tags: a :class:`ServiceTags`, a path to a tag file, or None for
            ``$ACL_SERVICE_TAGS`` or the bundled snapshot.
        site: which site of a file that holds several (an ARM template with many sites,
            a Terraform folder with many web apps: ``azurerm_linux_web_app.api``, a script
            that changes several apps: ``app`` or ``app/slot``).
        parameters: template parameter values by name (``--param NAME=VALUE``); they win over
            ``parameters_file`` and the template's defaults.
        parameters_file: an ARM deployment parameters file (``--parameters FILE``).
        variables: Terraform variable and script variable values by name
            (``--var NAME=VALUE``); they win over every other source.
        var_files: Terraform ``.tfvars`` (or ``.tfvars.json``) files read after
            ``terraform.tfvars`` and ``*.auto.tfvars`` (``--var-file FILE``).
        var_order: the command line's ``--var NAME=VALUE`` and ``--var-file FILE`` as
            ``("var", "NAME=VALUE")`` and ``("var-file", "FILE")`` pairs, in their order.
            When given, Terraform's loader applies them in that order, a later one winning,
            as Terraform does, in place of ``var_files`` then ``variables``.
        environment: the environment whose ``TF_VAR_name`` variables give values to the
            root module's Terraform variables; None means ``os.environ`` when loading.
        azurerm_version: the azurerm provider version the Terraform configuration is
            applied with (``"3.94"``, ``"4.1.0"``); None means a current one (3.95 or
            later), which sends ``ip_restriction_default_action = "Allow"`` by default.
        unresolved: what to do with a Terraform rule (or a script command) whose values
            cannot be known offline: ``"error"`` (the default) or ``"skip-rule"``, which
            leaves it out and reports a :class:`ConfigWarning`.
        subnet_id_template: how a script's ``--vnet-name V --subnet S`` (PowerShell:
            ``-VirtualNetworkName V -SubnetName S``) becomes a subnet resource id, with
            ``{sub}``, ``{rg}``, ``{vnet}`` and ``{subnet}`` filled in, e.g.
            ``/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}``.
        base_site: the site a script's commands are applied to (default: a site without
            rules or settings).
        on_warning: called with each warning's text; None emits a :class:`ConfigWarning`
            through :mod:`warnings`.
        private_endpoint: the site has a private endpoint (``--private-endpoint-site``), for
            formats that cannot say it; None takes what the file says (no private endpoint
            when it says nothing).
        hosting: ``"multi-tenant"`` or ``"ase"`` (an App Service Environment,
            ``--hosting``); None takes what the file says (multi-tenant when it says nothing).
        ip_based_ssl: the site has an ``IpBasedEnabled`` SSL binding (``--ip-based-ssl``);
            None takes what the file says.
        document: what a JSON document is (``--document``): ``"returned"`` by Azure or
            ``"sent"`` to it; None: templates are sent, every other JSON document returned.
    """

    source: str | None = None
    service_tags: ServiceTags | str | os.PathLike[str] | None = None
    site: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    parameters_file: str | os.PathLike[str] | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    var_files: Sequence[str | os.PathLike[str]] = ()
    var_order: Sequence[tuple[Literal["var", "var-file"], str]] = ()
    environment: Mapping[str, str] | None = None
    azurerm_version: str | None = None
    unresolved: Unresolved = "error"
    subnet_id_template: str | None = None
    base_site: Site | None = None
    on_warning: Callable[[str], None] | None = None
    private_endpoint: bool | None = None
    hosting: Hosting | None = None
    ip_based_ssl: bool | None = None
    document: Document | None = None

    def tags(self) -> ServiceTags:
        if isinstance(self.service_tags, ServiceTags):
            return self.service_tags
        return load_service_tags(self.service_tags)

    def warn(self, message: str) -> None:
        """Report a warning through ``on_warning``, or as a :class:`ConfigWarning`."""
        if self.on_warning is not None:
            self.on_warning(message)
        else:
            warnings.warn(message, ConfigWarning, stacklevel=3)

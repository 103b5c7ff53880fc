"""Script loaders: az CLI (bash) scripts and Azure PowerShell scripts, read, never run, and
applied command by command to the sites they change (:mod:`.common`). ``azcli`` reads bash
(:mod:`.bash`) and applies az commands (:mod:`.az`, arguments by :mod:`.azargs`);
``powershell`` reads PowerShell (:mod:`.pstokens`, :mod:`.psvalues`) and applies the
Az.Websites cmdlets (:mod:`.cmdlets`), the Get-AzResource recipe (:mod:`.psresource`) and
``az`` lines."""

from __future__ import annotations

from .azcli import azcli_site_names, load_azcli, load_azcli_sites
from .common import NotEvaluated, ScriptSites, Unresolved, subnet_id
from .powershell import load_powershell, load_powershell_sites, powershell_site_names

__all__ = [
    "NotEvaluated",
    "ScriptSites",
    "Unresolved",
    "azcli_site_names",
    "load_azcli",
    "load_azcli_sites",
    "load_powershell",
    "load_powershell_sites",
    "powershell_site_names",
    "subnet_id",
]

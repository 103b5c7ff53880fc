"""Script loaders: az CLI (bash) scripts and Azure PowerShell scripts, read, never run, and
applied command by command to the sites they change (:mod:`.common`). ``azcli`` reads bash
(:mod:`.bash`) and applies az commands (:mod:`.az`, arguments by :mod:`.azargs`);
``powershell`` reads PowerShell (:mod:`.pstokens`, :mod:`.psvalues`) and applies the
Az.Websites cmdlets (:mod:`.cmdlets`), the Get-AzResource recipe (:mod:`.psresource`) and
``az`` lines."""

from __future__ import annotations

from .azcli import load_azcli
from .common import NotEvaluated, ScriptSites, Unresolved, subnet_id
from .powershell import load_powershell

__all__ = [
    "NotEvaluated",
    "ScriptSites",
    "Unresolved",
    "load_azcli",
    "load_powershell",
    "subnet_id",
]

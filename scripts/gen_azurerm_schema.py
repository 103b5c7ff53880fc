"""Generate src/acl/formats/terraform/_azurerm_schema.py from a terraform-provider-azurerm checkout.

Usage: python scripts/gen_azurerm_schema.py GIT_DIR COMMIT... > src/acl/formats/terraform/_azurerm_schema.py

Reads the Go schema maps (``map[string]*pluginsdk.Schema{...}``) of the resources acl reads
and writes, for each resource type, its argument names and the names inside the blocks acl
validates deeply (site_config, ip_restriction, scm_ip_restriction, headers).
"""

from __future__ import annotations

import re
import subprocess
import sys

RESOURCES: dict[str, tuple] = {
    "azurerm_linux_web_app": (
        "internal/services/appservice/linux_web_app_resource.go",
        "LinuxWebAppResource",
    ),
    "azurerm_windows_web_app": (
        "internal/services/appservice/windows_web_app_resource.go",
        "WindowsWebAppResource",
    ),
    "azurerm_linux_web_app_slot": (
        "internal/services/appservice/linux_web_app_slot_resource.go",
        "LinuxWebAppSlotResource",
    ),
    "azurerm_windows_web_app_slot": (
        "internal/services/appservice/windows_web_app_slot_resource.go",
        "WindowsWebAppSlotResource",
    ),
    "azurerm_linux_function_app": (
        "internal/services/appservice/linux_function_app_resource.go",
        "LinuxFunctionAppResource",
    ),
    "azurerm_windows_function_app": (
        "internal/services/appservice/windows_function_app_resource.go",
        "WindowsFunctionAppResource",
    ),
    "azurerm_linux_function_app_slot": (
        "internal/services/appservice/linux_function_app_slot_resource.go",
        "LinuxFunctionAppSlotResource",
    ),
    "azurerm_windows_function_app_slot": (
        "internal/services/appservice/windows_function_app_slot_resource.go",
        "WindowsFunctionAppSlotResource",
    ),
    "azurerm_function_app_flex_consumption": (
        "internal/services/appservice/function_app_flex_consumption_resource.go",
        "FunctionAppFlexConsumptionResource",
    ),
    "azurerm_logic_app_standard": (
        "internal/services/logic/logic_app_standard_resource.go",
        "LogicAppResource",
        "resourceLogicAppStandard",
    ),
    "azurerm_service_plan": (
        "internal/services/appservice/service_plan_resource.go",
        "ServicePlanResource",
    ),
    "azurerm_private_endpoint": (None, "resourcePrivateEndpoint|resourceArmPrivateEndpoint"),
    "azurerm_app_service": (None, "resourceAppService|resourceArmAppService"),
    "azurerm_app_service_slot": (None, "resourceAppServiceSlot|resourceArmAppServiceSlot"),
    "azurerm_function_app": (None, "resourceFunctionApp|resourceArmFunctionApp"),
    "azurerm_function_app_slot": (None, "resourceFunctionAppSlot|resourceArmFunctionAppSlot"),
    "azurerm_app_service_plan": (None, "resourceAppServicePlan|resourceArmAppServicePlan"),
}
PACKAGES = [
    "internal/services/appservice",
    "internal/services/appservice/helpers",
    "internal/services/logic",
    "internal/services/network",
    "internal/services/web",
    "azurerm/internal/services/web",
    "azurerm/internal/services/network",
]
DEEP = (
    "site_config",
    "ip_restriction",
    "scm_ip_restriction",
    "headers",
    "private_service_connection",
)
MAP = re.compile(r"map\[string\]\*(?:pluginsdk|schema)\.Schema\{")


def git(git_dir: str, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", git_dir, *args], check=True, capture_output=True, text=True
    ).stdout


def matching(text: str, start: int) -> int:
    """The index just past the brace closing the one at ``start``."""
    depth = 0
    i = start
    while i < len(text):
        c = text[i]
        if c == '"' or c == "`":
            end = (
                text.index(c, i + 1)
                if c == "`"
                else re.compile(r'(?<!\\)"').search(text, i + 1).start()
            )
            i = end + 1
            continue
        if text.startswith("//", i):
            i = text.index("\n", i)
            continue
        if c in "{(":
            depth += 1
        elif c in "})":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced")


class Source:
    def __init__(self, git_dir: str, commit: str, packages: list[str]) -> None:
        self.text = ""
        for package in packages:
            try:
                listing = git(git_dir, "ls-tree", "--name-only", f"{commit}:{package}")
            except subprocess.CalledProcessError:
                continue
            for path in listing.split():
                if path.endswith(".go") and not path.endswith("_test.go"):
                    self.text += git(git_dir, "show", f"{commit}:{package}/{path}") + "\n"

    def function(self, name: str, receiver: str | None = None) -> str:
        pattern = rf"func \(\w+ \*?{receiver}\) {name}\(" if receiver else rf"func {name}\("
        match = re.search(pattern, self.text)
        if match is None:
            raise KeyError(name)
        body = self.text.index("{", self.text.index(")", match.end()))
        return self.text[body : matching(self.text, body)]

    def schema(self, body: str) -> dict[str, dict] | None:
        """The keys of the first schema map in ``body``, each with its nested map (or None)."""
        found_map = MAP.search(body)
        if found_map is None:
            return None
        brace = found_map.end() - 1
        inner = body[brace + 1 : matching(body, brace) - 1]
        found: dict[str, dict] = {}
        i = 0
        key = re.compile(r'\s*"([a-z0-9_]+)"\s*:\s*')
        while i < len(inner):
            if inner.startswith("//", i):
                i = inner.index("\n", i) + 1
                continue
            if inner[i] in " \t\n,":
                i += 1
                continue
            m = key.match(inner, i)
            if m is None:
                raise ValueError(inner[i : i + 80])
            j = m.end()
            # the value: up to the comma at depth 0
            k = j
            while k < len(inner) and inner[k] != ",":
                if inner[k] in "{(":
                    k = matching(inner, k)
                else:
                    k += 1
            value = inner[j:k]
            found[m.group(1)] = self.nested(value)
            i = k + 1
        return found

    def nested(self, value: str) -> dict | None:
        value = value.strip()
        if value.startswith("{") or value.startswith("&"):
            return self.schema(value)
        call = re.match(r"(?:\w+\.)?(\w+)\(", value)
        if call:
            try:
                return self.schema(self.function(call.group(1)))
            except KeyError:
                return None
        return None


def merge(into: dict, tree: dict) -> None:
    for name, sub in tree.items():
        if into.get(name) is None:
            into[name] = {} if sub else sub
        if sub:
            merge(into[name], sub)


def main() -> None:
    """Usage: GIT_DIR COMMIT... (the union of the commits' schemas, so that configs written
    for an older provider release still validate)."""
    git_dir = sys.argv[1]
    commits = sys.argv[2:] or [git(git_dir, "rev-parse", "HEAD").strip()]
    out: dict[str, dict] = {}
    for commit in commits:
        source = Source(git_dir, commit, PACKAGES)
        for resource, (path, receiver, *_) in RESOURCES.items():
            if path is not None and len(RESOURCES[resource]) > 2:  # untyped in older releases
                fallback = RESOURCES[resource][2]
                try:
                    source.function("Arguments", receiver)
                except KeyError:
                    path, receiver = None, fallback
            try:
                if path is None:  # a resource function; older releases named it resourceArmX
                    schema = None
                    for name in receiver.split("|"):
                        try:
                            schema = source.schema(source.function(name))
                            break
                        except KeyError:
                            continue
                else:
                    schema = source.schema(source.function("Arguments", receiver))
            except KeyError:
                continue
            if schema:
                merge(out.setdefault(resource, {}), schema)
    missing = set(RESOURCES) - set(out)
    assert not missing, missing
    commit = ", ".join(commits)
    print('"""The azurerm argument names acl validates, generated by scripts/gen_azurerm_schema.py')
    print(
        f"from hashicorp/terraform-provider-azurerm, the union of commits {commit}. Do not edit by hand."
    )
    print()
    print(
        "``ARGUMENTS[type]`` is the resource's top-level argument and block names; ``BLOCKS[type]``"
    )
    print("maps a block path (``site_config``, ``site_config.ip_restriction``, ...) to the names")
    print('valid inside it."""')
    print()
    print(f"PROVIDER_COMMITS = {tuple(commits)!r}")
    print()
    print("ARGUMENTS: dict[str, frozenset[str]] = {")
    for resource, schema in out.items():
        print(f"    {resource!r}: frozenset({sorted(schema)!r}),")
    print("}")
    print()
    print("BLOCKS: dict[str, dict[str, frozenset[str]]] = {")
    for resource, schema in out.items():
        print(f"    {resource!r}: {{")

        def walk(prefix: str, tree: dict) -> None:
            for name in sorted(tree):
                sub = tree[name]
                if name in DEEP and sub:
                    path = f"{prefix}{name}"
                    print(f"        {path!r}: frozenset({sorted(sub)!r}),")
                    walk(path + ".", sub)

        walk("", schema)
        print("    },")
    print("}")


if __name__ == "__main__":
    main()

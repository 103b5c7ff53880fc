"""``import acl`` stays light: python-hcl2, Lark and PyYAML load only when a Terraform or
YAML file is read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("hcl2", "lark", "yaml")

_TF = """
resource "azurerm_linux_web_app" "app" {
  site_config {
    ip_restriction {
      name       = "office"
      ip_address = "192.0.2.0/24"
    }
  }
}
"""


def _run(code: str) -> dict[str, list[str]]:
    """Runs ``code`` in a fresh interpreter; it prints a JSON object of module lists."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    found: dict[str, list[str]] = json.loads(done.stdout)
    return found


_LOADED = f"sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})"


def test_import_acl_loads_no_parser(tmp_path: Path) -> None:
    path = tmp_path / "main.tf"
    path.write_text(_TF)
    code = f"""
import json, sys
import acl, acl.formats, acl.formats.terraform, acl.expectations
before = {_LOADED}
site = acl.load({str(path)!r})
print(json.dumps({{"before": before, "after": {_LOADED}, "rules": [r.name for r in site.main_rules]}}))
"""
    found = _run(code)
    assert found["before"] == []
    assert found["rules"] == ["office"]
    assert {"hcl2", "lark"} <= {name.split(".")[0] for name in found["after"]}
    assert "yaml" not in found["after"]


def test_reading_a_yaml_file_loads_yaml() -> None:
    path = Path(__file__).parent / "expectations" / "frontdoor.yaml"
    code = f"""
import json, sys
from acl.expectations import run_files
before = {_LOADED}
report = run_files([{str(path)!r}])
print(json.dumps({{"before": before, "after": {_LOADED}, "failed": [report.failed]}}))
"""
    found = _run(code)
    assert "yaml" not in found["before"]
    assert found["failed"] == [0]
    assert "yaml" in found["after"]

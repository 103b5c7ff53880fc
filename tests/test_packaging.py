"""Packaging: the license and metadata, and the run time without Cython."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import acl
import acl.decision
import acl.engine

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest's own dependency tomli is the same parser
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# decision.py's source run as plain Python in an interpreter where "import cython" fails:
# the shim stands in for Cython's shadow module, and decisions still work.
WITHOUT_CYTHON = r"""
import importlib.abc, importlib.util, json, sys
sys.modules["cython"] = None  # "import cython" raises ImportError


class Source(importlib.abc.MetaPathFinder):
    # acl.decision from its .py source, not from the compiled module beside it
    def find_spec(self, name, path=None, target=None):
        if name == "acl.decision":
            return importlib.util.spec_from_file_location(name, sys.argv[1])
        return None


sys.meta_path.insert(0, Source())
import acl.decision  # import acl alone loads nothing (the front door is lazy)
module = sys.modules["acl.decision"]
from acl.engine import compile

site = acl.loads(json.dumps({"ipSecurityRestrictions": [
    {"name": "office", "priority": 100, "action": "Allow", "ipAddress": "203.0.113.0/24"}]}))
engine = compile(site, kernel="python")
allowed = engine.decide(acl.Request("203.0.113.9"))
denied = engine.decide(acl.Request("198.51.100.1"))
print(json.dumps({
    "shim": "acl._cython_shim" in sys.modules,
    "compiled": module.cython.compiled,
    "pure_class": type(allowed) is module.Decision and hasattr(module.Decision, "__slots__"),
    "allowed": [allowed.action.word, allowed.decided_by],
    "denied": [denied.action.word, denied.status, denied.explain().splitlines()[0]],
}))
"""


def test_decisions_work_without_cython_installed() -> None:
    source = Path(acl.__file__).parent / "decision.py"
    run = subprocess.run(
        [sys.executable, "-c", WITHOUT_CYTHON, str(source)],
        env={**os.environ, "ACL_NO_EXTENSIONS": "1"},  # the compiled kernel wants its Decision
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    assert got["shim"] is True and got["compiled"] is False and got["pure_class"] is True
    assert got["allowed"] == ["allow", "office"]
    assert got["denied"][:2] == ["deny", 403]
    assert "198.51.100.1" in got["denied"][2]


def test_the_built_kernel_uses_the_compiled_decision() -> None:
    # The shim is for running uncompiled: a build still compiles decision.py (an extension
    # type, a static, non-heap type) and the Cython kernel is used (unless ACL_NO_EXTENSIONS
    # asks for the pure-Python kernel at run time).
    assert Path(acl.decision.__file__).suffix in (".so", ".pyd"), "run scripts/setup.sh"
    if os.environ.get("ACL_NO_EXTENSIONS", "") in ("", "0"):
        assert acl.engine.KERNEL == "cython"
    heap_type = 1 << 9  # Py_TPFLAGS_HEAPTYPE: set on classes made by a class statement
    assert not acl.decision.Decision.__flags__ & heap_type
    # compiled, "import cython" is resolved by the compiler: no module named cython (real or
    # the shim) is bound in the module
    assert "cython" not in vars(acl.decision)


def test_cython_is_a_build_requirement_only() -> None:
    def names(requirements: list[str]) -> set[str]:
        return {
            r.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower()
            for r in requirements
        }

    assert "cython" in names(PYPROJECT["build-system"]["requires"])
    assert "cython" not in names(PYPROJECT["project"]["dependencies"])


def test_license_and_metadata() -> None:
    project = PYPROJECT["project"]
    text = (ROOT / "LICENSE").read_text()
    assert project["license"] == "MIT" and text.startswith("MIT License")
    assert "Copyright (c) 2026 the acl authors" in text
    assert project["license-files"] == ["LICENSE"]
    assert "Typing :: Typed" in project["classifiers"]
    assert not any(c.startswith("License ::") for c in project["classifiers"])  # PEP 639
    assert "azure" in project["keywords"]

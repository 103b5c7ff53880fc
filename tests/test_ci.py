"""CI integrations run for real: the pre-commit hooks (``pre-commit try-repo``) and the
GitHub Action's script (scripts/action-lint.sh) on a good and a bad site."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

GOOD = {
    "ipSecurityRestrictionsDefaultAction": "Deny",
    "ipSecurityRestrictions": [
        {"name": "office", "priority": 100, "action": "Allow", "ipAddress": "203.0.113.0/24"}
    ],
    "scmIpSecurityRestrictionsUseMain": True,
}
# Front Door without its X-Azure-FDID header: ACL010, an error.
BAD = [
    {
        "name": "fd",
        "priority": 100,
        "action": "Allow",
        "tag": "ServiceTag",
        "ipAddress": "AzureFrontDoor.Backend",
    }
]


def _git(cwd: Path, *argv: str) -> str:
    run = subprocess.run(
        ["git", "-c", "user.name=acl tests", "-c", "user.email=tests@localhost", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return run.stdout


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout as it is now (tracked and new files, not ignored ones), committed in a
    scratch repository: pre-commit installs hooks from a commit."""
    listed = _git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "snapshot")
    return repo


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's repository holding a good and a bad site."""
    repo = tmp_path_factory.mktemp("project")
    (repo / "sites").mkdir()
    (repo / "sites" / "good.json").write_text(json.dumps(GOOD))
    (repo / "sites" / "bad.json").write_text(json.dumps(BAD))
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "sites")
    return repo


def _try_repo(
    hook_repo: Path, project: Path, home: Path, *files: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(home),  # the hook's environment, built once for the module
        "ACL_NO_EXTENSIONS": "1",  # install without compiling the kernel: faster, same results
        "PRE_COMMIT_COLOR": "never",
    }
    return subprocess.run(
        [str(BIN / "pre-commit"), "try-repo", str(hook_repo), "acl-lint", "--files", *files],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,  # the first call pip-installs acl and its dependencies into the hook env
        check=False,
    )


def test_pre_commit_hook_passes_a_good_site_and_fails_a_bad_one(
    hook_repo: Path, project: Path, tmp_path: Path
) -> None:
    home = tmp_path / "pre-commit-home"
    good = _try_repo(hook_repo, project, home, "sites/good.json")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "acl lint" in good.stdout and "Passed" in good.stdout
    bad = _try_repo(hook_repo, project, home, "sites/good.json", "sites/bad.json")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout
    assert "sites/bad.json: $[0]: error ACL010 front-door-without-fdid" in bad.stdout
    assert "no findings in sites/good.json" in bad.stdout


def test_the_hooks_file() -> None:
    hooks = {
        hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    }
    assert set(hooks) == {"acl-lint", "acl-lint-terraform"}
    lint = hooks["acl-lint"]
    assert (lint["entry"], lint["language"], lint["pass_filenames"]) == ("acl lint", "python", True)
    import re

    matches = [
        n
        for n in ("a.json", "x/deploy.sh", "set.ps1", "main.tf.json", "main.tf")
        if re.search(lint["files"], n) and not re.search(lint["exclude"], n)
    ]
    assert matches == ["a.json", "x/deploy.sh", "set.ps1"]
    assert hooks["acl-lint-terraform"]["pass_filenames"] is False


# ---------------------------------------------------------------------------- the Action


def _action(
    tmp_path: Path, rules: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    outputs = tmp_path / "github-output"
    run = subprocess.run(
        ["bash", str(ROOT / "scripts" / "action-lint.sh")],
        cwd=tmp_path,
        env={
            **os.environ,
            "ACL": str(BIN / "acl"),
            "ACL_RULES": rules,
            "ACL_SARIF": "out/acl.sarif",
            "GITHUB_OUTPUT": str(outputs),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return run, outputs


def _outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


@pytest.fixture
def sites(tmp_path: Path) -> Path:
    (tmp_path / "sites" / "prod").mkdir(parents=True)
    (tmp_path / "sites" / "good.json").write_text(json.dumps(GOOD))
    (tmp_path / "sites" / "prod" / "bad.json").write_text(json.dumps(BAD))
    return tmp_path


def test_action_script_on_a_good_site(sites: Path) -> None:
    run, outputs = _action(sites, "sites/good.json")
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""  # no annotation
    log: dict[str, Any] = json.loads((sites / "out" / "acl.sarif").read_text())
    assert log["version"] == "2.1.0" and log["runs"][0]["results"] == []
    assert _outputs(outputs) == {"sarif": "out/acl.sarif", "exit-code": "0"}
    assert [p.name for p in (sites / "out").iterdir()] == ["acl.sarif"]  # no temporary left


def test_action_script_on_a_bad_site(sites: Path) -> None:
    run, outputs = _action(sites, "sites/**/*.json")
    assert run.returncode == 1, run.stderr
    assert run.stdout.startswith(
        "::error file=sites/prod/bad.json,title=ACL010 front-door-without-fdid::"
    )
    log = json.loads((sites / "out" / "acl.sarif").read_text())
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "ACL010" and result["level"] == "error"
    assert _outputs(outputs) == {"sarif": "out/acl.sarif", "exit-code": "1"}
    # below the fail level: passes, and the SARIF log still has the finding
    run, _ = _action(sites, "sites/prod/bad.json", ACL_FAIL_LEVEL="none")
    assert (
        run.returncode == 0
        and json.loads((sites / "out" / "acl.sarif").read_text())["runs"][0]["results"]
    )


def test_action_script_refuses_what_it_cannot_lint(sites: Path) -> None:
    run, _ = _action(sites, "sites/*.yaml")
    assert run.returncode == 2 and "'sites/*.yaml' matches no file" in run.stderr
    run, _ = _action(sites, "")
    assert run.returncode == 2 and "no rule files given" in run.stderr
    run, _ = _action(sites, "sites/good.json", ACL_FAIL_LEVEL="fatal")
    assert run.returncode == 2 and "fail-level 'fatal'" in run.stderr
    (sites / "broken.json").write_text("{}")
    run, outputs = _action(sites, "broken.json sites/good.json")
    assert run.returncode == 2 and "acl: error: broken.json" in run.stderr
    assert _outputs(outputs)["exit-code"] == "2"
    log = json.loads((sites / "out" / "acl.sarif").read_text())
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is False


def test_action_yml_runs_the_script_and_uploads_the_sarif() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert set(action["inputs"]) >= {"rules", "fail-level", "sarif"}
    assert action["inputs"]["rules"]["required"] is True
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    lint = next(s for s in steps if s.get("id") == "lint")
    assert "scripts/action-lint.sh" in lint["run"]
    assert lint["env"] == {
        "ACL_RULES": "${{ inputs.rules }}",
        "ACL_FAIL_LEVEL": "${{ inputs.fail-level }}",
        "ACL_SARIF": "${{ inputs.sarif }}",
    }
    install = next(s for s in steps if s.get("name") == "Install acl")
    assert "github.action_path" in install["run"]
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["with"]["sarif_file"] == "${{ steps.lint.outputs.sarif }}"
    assert "!cancelled()" in upload["if"]  # uploads the findings when the lint step failed

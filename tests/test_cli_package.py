"""The ``acl.cli`` package: ``python -m acl``, one spelling of the rules-format option,
command modules imported only when their command runs, and ``acl bench`` outside a
checkout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import acl.cli.bench
from acl.cli import build_parser, main
from acl.cli.main import COMMANDS

from .conftest import EXAMPLES

SITE = str(EXAMPLES / "frontdoor-site" / "site.json")
LOG = str(EXAMPLES / "frontdoor-site" / "logs" / "ipsec-audit.ndjson")


def test_python_dash_m_acl_runs_the_command() -> None:
    for argv, first in ((["--version"], "acl "), (["--help"], "usage: acl ")):
        done = subprocess.run(
            [sys.executable, "-m", "acl", *argv], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0 and done.stdout.startswith(first), done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "acl", "eval", "--rules", SITE, "--ip", "192.0.2.3"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.startswith("DENY 403"), done.stderr


def test_every_command_module_registers_what_commands_lists() -> None:
    registered = []
    for action in build_parser()._actions:
        if hasattr(action, "choices") and isinstance(action.choices, dict):
            registered = list(action.choices)
    assert registered == [name for _, names in COMMANDS for name in names]


def _modules_after(argv: list[str]) -> set[str]:
    code = (
        "import sys, json\n"
        "from acl.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stdout = sys.__stdout__\n"
        "print('\\nMODULES ' + json.dumps(sorted(m for m in sys.modules if m.startswith('acl'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(done.stdout.rsplit("MODULES ", 1)[1]))


def test_a_command_imports_only_its_own_module() -> None:
    version = _modules_after(["--version"])
    assert not {module for module, _ in COMMANDS} & version
    # acl --version loads no loader, engine or model: only the parser and the errors
    assert version <= {"acl", "acl.cli", "acl.cli.main", "acl.cli.parser", "acl.errors"}
    check = _modules_after(["check", "--rules", SITE, "--log", LOG])
    assert "acl.cli.check" in check and "acl.logs" in check
    assert not {"acl.cli.analysis", "acl.analysis", "acl.cli.decide"} & check
    lint = _modules_after(["lint", SITE])
    assert "acl.analysis" in lint and not {"acl.cli.check", "acl.check", "acl.logs"} & lint


def test_rules_format_is_one_spelling_and_format_the_output(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["eval", "--rules", SITE, "--rules-format", "site", "--ip", "192.0.2.3"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("DENY 403") and not err
    # check, lint and search: --rules-format loads, --format chooses the output
    argv = ["check", "--rules", SITE, "--rules-format", "site", "--log", LOG, "--format", "json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["format"] == "acl-check/1"
    assert main(["lint", SITE, "--rules-format", "site", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["format"] == "acl-lint/1"
    # --format with a rules format where --format is the output: refused, naming the choices
    assert main(["check", "--rules", SITE, "--log", LOG, "--format", "site"]) == 2
    assert "argument --format: invalid choice: 'site'" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["eval", "convert"])
def test_format_for_the_rules_is_deprecated_with_a_warning(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    tail = ["--ip", "192.0.2.3"] if command == "eval" else ["--to", "json"]
    assert main([command, "--rules", SITE, "--format", "site", *tail]) == 0
    out, err = capsys.readouterr()
    assert err == (
        f"acl: warning: acl {command}: --format site is deprecated for the rules' format: "
        "use --rules-format site\n"
    )
    # the same site, loaded with the same format
    assert main([command, "--rules", SITE, "--rules-format", "site", *tail]) == 0
    assert capsys.readouterr().out == out
    # and a wrong format is still refused as one
    assert main([command, "--rules", SITE, "--format", "nonsense", *tail]) == 2
    assert "argument --format: invalid choice: 'nonsense'" in capsys.readouterr().err


def test_bench_outside_a_checkout_says_so_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert acl.cli.bench.benchmarks_dir() == Path(__file__).resolve().parent.parent / "benchmarks"
    # an installed package: no benchmarks/ next to its source, none in the current directory
    monkeypatch.setattr(acl.cli.bench, "__file__", str(tmp_path / "site-packages/acl/cli/x.py"))
    monkeypatch.chdir(tmp_path)
    assert acl.cli.bench.benchmarks_dir() is None
    assert main(["bench", "--quick"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(
        "acl: error: acl bench: the benchmarks are not installed with the package"
    )
    # a checkout as the current directory is found
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "bench.py").write_text("")
    assert acl.cli.bench.benchmarks_dir() == tmp_path / "benchmarks"


def test_unrecognized_arguments_are_still_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["eval", "--rules", SITE, "--ip", "192.0.2.3", "--frobnicate"]) == 2
    assert capsys.readouterr().err == (
        "acl: error: acl: unrecognized arguments: --frobnicate (see --help)\n"
    )

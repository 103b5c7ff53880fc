"""``acl completion bash|zsh|fish``: each script is valid for its shell and completes the
commands and option values of this version's parser."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from acl.cli import build_parser, main
from acl.cli.completion import fish_script


def _script(capsys: pytest.CaptureFixture[str], shell: str) -> str:
    assert main(["completion", shell]) == 0
    out = capsys.readouterr().out
    assert out.endswith("\n")
    return out


def _shell(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise AssertionError(f"{name} is not installed: apt-get install {name}")
    return found


def _run(argv: list[str], script: Path) -> str:
    run = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, f"{script}: {run.stderr}"
    return run.stdout


def test_bash(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "acl.bash"
    path.write_text(_script(capsys, "bash"))
    bash = _shell("bash")
    _run([bash, "-n", str(path)], path)
    out = _run(
        [
            bash,
            "-c",
            f'source "{path}"; complete -p acl; '
            'COMP_WORDS=(acl li); COMP_CWORD=1; _shtab_acl; echo "words: ${COMPREPLY[*]}"; '
            'COMP_WORDS=(acl lint --fail-level ""); COMP_CWORD=3; _shtab_acl; '
            'echo "levels: ${COMPREPLY[*]}"',
        ],
        path,
    )
    lines = out.splitlines()
    assert lines[0].startswith("complete ") and lines[0].endswith(" acl")
    assert "words: lint" in lines
    assert "levels: error warning info none" in lines


def test_zsh(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "_acl"
    text = _script(capsys, "zsh")
    assert text.startswith("#compdef acl\n")
    for command in ("lint", "diff", "completion", "check"):
        assert f"{command}:" in text
    path.write_text(text)
    _run([_shell("zsh"), "-n", str(path)], path)


def test_fish(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "acl.fish"
    path.write_text(_script(capsys, "fish"))
    fish = _shell("fish")
    _run([fish, "-n", str(path)], path)
    out = _run(
        [
            fish,
            "--no-config",
            "-c",
            f'source "{path}"; complete -C "acl li"; echo ==; complete -C "acl lint --fail-level "; '
            'echo ==; complete -C "acl lint --strict"; echo ==; complete -C "acl completion "',
        ],
        path,
    )
    commands, levels, options, shells = (
        [line.split("\t")[0] for line in block.strip().splitlines()] for block in out.split("==\n")
    )
    assert commands == ["lint"]
    assert sorted(levels) == ["error", "info", "none", "warning"]
    assert options == ["--strict-azure"]
    assert sorted(shells) == ["bash", "fish", "zsh"]


def test_fish_quotes_descriptions_and_leaves_hidden_options_out() -> None:
    text = fish_script(build_parser())
    # help with a quote is escaped inside the single-quoted word
    assert "-d 'show program\\'s version number and exit'" in text
    # check's --batch-size is hidden (argparse.SUPPRESS)
    assert "batch-size" not in text
    assert "complete -c acl -n '__fish_seen_subcommand_from check' -l rules -r" in text


def test_an_unknown_shell_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "tcsh"]) == 2
    assert "invalid choice: 'tcsh'" in capsys.readouterr().err

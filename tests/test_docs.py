"""The docs' Python examples run (doctest) and name only what exists."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))


@pytest.mark.parametrize("path", [p for p in DOCS if ">>> " in p.read_text()], ids=lambda p: p.name)
def test_doc_examples_run(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = doctest.testfile(str(path), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_docs_link_to_files_that_exist() -> None:
    for path in [*DOCS, ROOT / "README.md"]:
        for target in re.findall(r"\]\(([^)#:]+)\)", path.read_text()):
            assert (path.parent / target).exists(), f"{path.name} links to missing {target}"


FENCE = re.compile(r"^```(\S*)(?: file=(\S+))?\n(.*?)^```", re.M | re.S)
PATHLIKE = re.compile(
    r"[\w.-]*/[\w./-]*|[\w.-]+\.(json|yaml|yml|tf|tfvars|sh|ps1|ndjson|jsonl|log|gz|csv|tsv|"
    r"html|parquet|bicep|txt)"
)


def console_examples(
    path: Path,
) -> tuple[dict[str, str], list[tuple[str, dict[str, str], list[str], list[str], int | None]]]:
    """The files a page writes (```lang file=PATH) and the ``$ acl …`` commands that use
    only those files and the repository's examples/ and tests/: (command, environment,
    words, the output shown under it, the exit status shown or None)."""
    import shlex

    files: dict[str, str] = {}
    commands = []
    for lang, name, body in FENCE.findall(path.read_text()):
        if name:
            files[name] = body
        elif lang == "console":
            for chunk in re.split(r"^\$ ", body, flags=re.M)[1:]:
                command, *shown = chunk.rstrip("\n").split("\n")
                status = None
                if command.endswith('; echo "exit $?"'):  # the exit status, shown last
                    command = command[: -len('; echo "exit $?"')]
                    status = int(shown.pop()[len("exit ") :])
                words = shlex.split(command, comments=True)
                env = {}
                while words and re.fullmatch(r"[A-Za-z_]\w*=.*", words[0]):
                    key, _, value = words.pop(0).partition("=")
                    env[key] = value
                if not words or words[0] != "acl" or {"|", ">", "<"} & set(words):
                    continue
                paths = [w for w in words[1:] if not w.startswith("-") and PATHLIKE.fullmatch(w)]
                known = {Path(n).parts[0] for n in files} | {".", "examples", "tests"}
                if all(Path(w).parts[0] in known for w in paths):
                    commands.append((command, env, words, shown, status))
    return files, commands


@pytest.mark.parametrize("path", [p for p in DOCS if console_examples(p)[1]], ids=lambda p: p.name)
def test_doc_console_examples_print_what_they_show(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each ``$ acl …`` command whose inputs the page writes prints the lines shown (what
    goes to stderr first, as on a terminal)."""
    from acl.cli import main

    files, commands = console_examples(path)
    for name, body in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body)
    for name in ("examples", "tests"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    for command, env, words, shown, status in commands:
        with monkeypatch.context() as scoped:
            for key, value in env.items():
                scoped.setenv(key, value)
            try:
                code = main(words[1:])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 2
        out, err = capsys.readouterr()
        printed, want = (err + out).rstrip("\n") + "\n", "\n".join(shown) + "\n"
        if not (out + err).strip():
            printed = "\n" if not shown else printed
        matches = doctest.OutputChecker().check_output(want, printed, doctest.ELLIPSIS)
        assert matches, f"{path.name}: $ {command}\n--- shown\n{want}--- printed\n{printed}"
        if status is not None:
            assert code == status, f"{path.name}: $ {command}"

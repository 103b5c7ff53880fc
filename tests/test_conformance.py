"""The project's acceptance cases (tests/conformance, tests/conformance-next), the shared
originals beside the checkout when they exist (../shared/conformance, ../shared/conformance-next),
and the project's own expectation files."""

from __future__ import annotations

from pathlib import Path

import pytest

from acl.expectations import run_file

from .conftest import SHARED

HERE = Path(__file__).parent
OWN = sorted((HERE / "expectations").glob("*.*"))
# The folders of acceptance cases: every case of every file must pass. The copies in tests/
# always run; the shared originals run too whenever they are beside the checkout.
FOLDERS = ("conformance", "conformance-next")
COPIES = {name: HERE / name for name in FOLDERS}
ORIGINALS = {name: SHARED / name for name in FOLDERS if (SHARED / name).is_dir()}


def _cases() -> list[Path]:
    files: list[Path] = []
    for folder in [*COPIES.values(), *ORIGINALS.values()]:
        files.extend(sorted(folder.glob("*.json")))
    return files


def _case_id(path: Path) -> str:
    where = "shared" if path.parent.parent == SHARED else "tests"
    return f"{where}/{path.parent.name}/{path.name}"


@pytest.mark.parametrize("path", _cases(), ids=_case_id)
def test_conformance_file(path: Path) -> None:
    results = run_file(path)
    assert results
    failures = [f"{r.name}: {r.message}" for r in results if not r.passed]
    assert not failures


@pytest.mark.parametrize("name", FOLDERS)
def test_the_acceptance_cases_are_in_the_repository(name: str) -> None:
    files = sorted(COPIES[name].glob("*.json"))
    assert files, f"tests/{name} holds no case"
    assert (COPIES[name] / "README.md").is_file()


def test_the_copies_match_the_shared_originals() -> None:
    # When the shared folders are beside the checkout, tests/ holds every case they hold,
    # unchanged.
    for name, folder in ORIGINALS.items():
        for original in sorted(folder.glob("*.json")):
            copy = COPIES[name] / original.name
            assert copy.is_file(), f"tests/{name}/{original.name} is missing: copy it"
            assert copy.read_bytes() == original.read_bytes(), (
                f"tests/{name}/{original.name} differs"
            )


@pytest.mark.parametrize("path", OWN, ids=lambda p: p.name)
def test_own_expectation_file(path: Path) -> None:
    results = run_file(path)
    assert results
    failures = [f"{r.name}: {r.message}" for r in results if not r.passed]
    assert not failures


def test_there_are_own_expectation_files_in_both_syntaxes() -> None:
    assert {p.suffix for p in OWN} >= {".json", ".yaml"}

"""The shared conformance cases (../shared/conformance) and the project's own expectation files."""

from __future__ import annotations

from pathlib import Path

import pytest

from acl.expectations import run_file

from .conftest import CONFORMANCE

OWN = sorted((Path(__file__).parent / "expectations").glob("*.*"))
SHARED_FILES = sorted(CONFORMANCE.glob("*.json")) if CONFORMANCE.is_dir() else []


@pytest.mark.skipif(not SHARED_FILES, reason="../shared/conformance is not beside the checkout")
@pytest.mark.parametrize("path", SHARED_FILES, ids=lambda p: p.name)
def test_shared_conformance_file(path: Path) -> None:
    results = run_file(path)
    assert results
    failures = [f"{r.name}: {r.message}" for r in results if not r.passed]
    assert not failures


@pytest.mark.parametrize("path", OWN, ids=lambda p: p.name)
def test_own_expectation_file(path: Path) -> None:
    results = run_file(path)
    assert results
    failures = [f"{r.name}: {r.message}" for r in results if not r.passed]
    assert not failures


def test_there_are_own_expectation_files_in_both_syntaxes() -> None:
    assert {p.suffix for p in OWN} >= {".json", ".yaml"}

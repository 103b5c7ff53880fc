"""Golden files for what people read: ``acl check`` (text, JSON, the HTML report's
structure and its embedded JSON), ``acl lint`` (text, SARIF) and ``acl convert`` (every
target), compared byte for byte with ``tests/golden/``.

A change to one of these outputs shows up here as a diff to review. After an intended
change, regenerate the files and commit them with the change::

    ACL_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py

The commands run from the repository root on the repository's own files, named by relative
paths, so the paths the outputs print are the same on every machine; nothing in them depends
on the clock. The one value that changes by itself, the acl version in SARIF's
``tool.driver.version``, is checked against ``acl.__version__`` and stored as
``{acl_version}``.
"""

from __future__ import annotations

import difflib
import json
import os
from html.parser import HTMLParser
from pathlib import Path

import pytest

import acl
from acl.cli import main

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
UPDATE = os.environ.get("ACL_UPDATE_GOLDEN") == "1"

SITE = "examples/frontdoor-site/site.json"
LOG = "examples/frontdoor-site/logs/ipsec-audit.ndjson"
LINTED = "tests/golden/inputs/lint-site.json"
"""A site with findings of several codes and severities."""


def run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str
) -> tuple[int, str]:
    monkeypatch.chdir(ROOT)
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert not err, err
    return code, out


def compare(name: str, text: str) -> None:
    """``text`` is what ``tests/golden/NAME`` holds (with ACL_UPDATE_GOLDEN=1: now holds)."""
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8", newline="\n")
    assert path.exists(), f"{path} is missing: run with ACL_UPDATE_GOLDEN=1 to write it"
    stored = path.read_text(encoding="utf-8")
    if text != stored:
        diff = "".join(
            difflib.unified_diff(
                stored.splitlines(keepends=True),
                text.splitlines(keepends=True),
                f"tests/golden/{name}",
                "printed now",
            )
        )
        raise AssertionError(
            f"the output differs from tests/golden/{name} (if intended: ACL_UPDATE_GOLDEN=1)\n"
            + diff
        )


# ---------------------------------------------------------------------------- acl check


def test_check_text(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = run(capsys, monkeypatch, "check", "--rules", SITE, "--log", LOG)
    assert code == 0
    compare("check.txt", out)


def test_check_json(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = run(capsys, monkeypatch, "check", "--rules", SITE, "--log", LOG, "--format", "json")
    assert code == 0 and json.loads(out)["format"] == "acl-check/1"
    compare("check.json", out)


class _Skeleton(HTMLParser):
    """The element tree of a page, one element a line, indented by depth, with its ``id``
    and ``class``; the text of titles and headings; the ``application/json`` data blocks.
    An SVG chart is one line (its drawing is data, not structure)."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "col", "wbr"})
    NAMED = frozenset({"title", "h1", "h2", "h3", "th"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.open: list[str] = []
        self.data: dict[str, str] = {}
        self.inside_svg = 0
        self.block: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.inside_svg:
            self.inside_svg += tag == "svg"
            return
        named = dict(attrs)
        label = tag + "".join(f" {key}={named[key]!r}" for key in ("id", "class") if key in named)
        if tag == "script" and named.get("type") == "application/json":
            self.block = named.get("id") or ""
        self.lines.append("  " * len(self.open) + label)
        if tag == "svg":
            self.inside_svg = 1
        elif tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.inside_svg:
            self.lines.append("  " * len(self.open) + tag)

    def handle_endtag(self, tag: str) -> None:
        if self.inside_svg:
            if tag == "svg":
                self.inside_svg -= 1
            return
        while self.open:
            if self.open.pop() == tag:
                break
        if tag == "script":
            self.block = None

    def handle_data(self, data: str) -> None:
        if self.block is not None:
            self.data[self.block] = self.data.get(self.block, "") + data
        elif self.open and self.open[-1] in self.NAMED and data.strip() and not self.inside_svg:
            self.lines.append("  " * len(self.open) + f"| {' '.join(data.split())}")


def test_check_html_structure(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = run(capsys, monkeypatch, "check", "--rules", SITE, "--log", LOG, "--format", "html")
    assert code == 0
    page = _Skeleton()
    page.feed(out)
    page.close()
    assert page.lines[0] == "html" and not page.open, "the page's elements are not all closed"
    compare("check.html.skeleton", "\n".join(page.lines) + "\n")
    summary = json.loads(page.data["summary"])
    compare("check.html.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")
    # the page carries the same summary as --format json
    _, as_json = run(
        capsys, monkeypatch, "check", "--rules", SITE, "--log", LOG, "--format", "json"
    )
    assert summary == json.loads(as_json)


# ---------------------------------------------------------------------------- acl lint


def test_lint_text(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = run(capsys, monkeypatch, "lint", LINTED, SITE)
    assert code == 1  # ACL010 is an error
    compare("lint.txt", out)


def test_lint_sarif(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = run(capsys, monkeypatch, "lint", LINTED, SITE, "--format", "sarif")
    assert code == 1
    log = json.loads(out)
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["version"] == acl.__version__
    driver["version"] = "{acl_version}"
    compare("lint.sarif", json.dumps(log, indent=2, sort_keys=True) + "\n")


# ---------------------------------------------------------------------------- acl convert


@pytest.mark.parametrize(
    ("target", "name"),
    [
        ("arm", "convert-arm.json"),
        ("terraform", "convert-terraform.tf"),
        ("azcli", "convert-azcli.sh"),
        ("json", "convert-json.json"),
    ],
)
def test_convert(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, target: str, name: str
) -> None:
    code, out = run(capsys, monkeypatch, "convert", SITE, "--to", target)
    assert code == 0
    compare(name, out)

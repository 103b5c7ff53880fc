"""HCL templates as HCL's template scanner sees them: finding where a ``${...}`` or
``%{...}`` sequence ends in raw text, and the pieces (literal text, interpolations,
directives) with their ``~`` strip markers applied and their ``if``/``for`` structure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .hcl_errors import EvalError
from .syntax import Expr, HclFile

# ---------------------------------------------------------------------------- template scanning

_HEREDOC_START = re.compile(r"<<-?([A-Za-z_][\w-]*)\r?\n")


def _skip_heredoc(text: str, start: int) -> int | None:
    """The index after the heredoc that starts at ``start``, or None if there is none."""
    match = _HEREDOC_START.match(text, start)
    if match is None:
        return None
    position = match.end()
    while position < len(text):
        end = text.find("\n", position)
        line_end = len(text) if end < 0 else end
        if text[position:line_end].strip() == match.group(1):
            return line_end
        position = line_end + 1
    return len(text)


def scan_expression(text: str, start: int, marks: list[int] | None = None) -> int:
    """The index of the ``}`` that closes the template sequence whose expression starts at
    ``start`` (``len(text)`` if none): quoted strings, brackets and heredocs are skipped.
    ``marks`` collects the positions of interpolation strip markers found on the way."""
    depth = 0
    i = start
    n = len(text)
    while i < n:
        char = text[i]
        if char == '"':
            i = _scan_quoted(text, i + 1, marks)
            continue
        if char == "<" and text.startswith("<<", i):
            after = _skip_heredoc(text, i)
            if after is not None:
                i = after
                continue
        if char in "{([":
            depth += 1
        elif char in "})]":
            if depth == 0:
                return i if char == "}" else n
            depth -= 1
        i += 1
    return n


def _scan_quoted(text: str, start: int, marks: list[int] | None = None) -> int:
    """The index after the closing quote of a quoted template that starts at ``start``."""
    i = start
    n = len(text)
    while i < n:
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == '"':
            return i + 1
        if char == "\n":
            return i
        if text.startswith(("$${", "%%{"), i):
            i += 3
            continue
        if text.startswith(("${", "%{"), i):
            inner = i + 2
            interpolation = char == "$"
            if interpolation and marks is not None and text.startswith("~", inner):
                marks.append(inner)
            end = scan_expression(text, inner, marks)
            if end >= n:
                return n
            if interpolation and marks is not None and end > inner and text[end - 1] == "~":
                marks.append(end - 1)
            i = end + 1
            continue
        i += 1
    return n


def blank_interpolation_strips(text: str) -> str:
    """``text`` with the ``~`` of ``${~`` and ``~}`` in quoted templates made spaces."""
    if "${~" not in text and "~}" not in text:
        return text
    marks: list[int] = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char == "#" or text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif char == '"':
            i = _scan_quoted(text, i + 1, marks)
        elif char == "<" and text.startswith("<<", i):
            after = _skip_heredoc(text, i)
            i = i + 2 if after is None else after
        else:
            i += 1
    if not marks:
        return text
    chars = list(text)
    for mark in marks:
        chars[mark] = " "
    return "".join(chars)


# ---------------------------------------------------------------------------- templates


@dataclass
class Piece:
    """One token of a template, as HCL's template parser sees it: a literal, an
    interpolation, or a directive (``if``, ``else``, ``endif``, ``for``, ``endfor``).

    ``strip_before`` is the ``~`` of ``${~``/``%{~`` (it strips the whitespace that ends the
    literal before), ``strip_after`` the ``~`` of ``~}`` (the whitespace that starts the
    literal after)."""

    kind: str
    text: str = ""
    node: Expr | None = None
    file: HclFile | None = None
    names: tuple[str, ...] = ()
    strip_before: bool = False
    strip_after: bool = False
    line: int | None = None


@dataclass
class Branch:
    """An ``%{if}`` or ``%{for}`` directive with the pieces it governs."""

    head: Piece
    body: list[Piece | Branch]
    otherwise: list[Piece | Branch] | None = None


DIRECTIVE = re.compile(r"\s*(if|else|endif|for|endfor)\b", re.ASCII)
FOR_NAMES = re.compile(r"\s*([A-Za-z_][\w-]*)\s*(?:,\s*([A-Za-z_][\w-]*)\s*)?in\b", re.ASCII)


def text_pieces(text: str, line: int | None) -> list[Piece]:
    """Literal text as HCL's scanner cuts it in heredocs: one token per line."""
    pieces: list[Piece] = []
    for chunk in text.splitlines(keepends=True):
        pieces.append(Piece("text", chunk, line=line))
        if line is not None and chunk.endswith("\n"):
            line += 1
    return pieces


def strip_pieces(pieces: list[Piece]) -> list[Piece]:
    """Apply the strip markers: only the literal right next to a marker is trimmed."""
    out: list[Piece] = []
    strip_next = False
    for piece in pieces:
        if piece.kind == "text":
            text = piece.text.lstrip() if strip_next else piece.text
            out.append(Piece("text", text, line=piece.line))
            strip_next = False
            continue
        if piece.strip_before and out and out[-1].kind == "text":
            out[-1].text = out[-1].text.rstrip()
        out.append(piece)
        strip_next = piece.strip_after
    return out


def flush_pieces(pieces: list[Piece]) -> None:
    """``<<-`` heredocs: remove the smallest indentation of the lines' leading literals."""
    smallest: int | None = None
    adjust: list[Piece] = []
    newline = True
    for piece in pieces:
        if newline:
            newline = False
            if piece.kind == "text":
                rest = piece.text.lstrip()
                if rest or not piece.text.endswith("\n"):
                    spaces = len(piece.text) - len(rest)
                    adjust.append(piece)
                    smallest = spaces if smallest is None else min(smallest, spaces)
            else:
                smallest = 0
        if piece.kind == "text" and piece.text.endswith("\n"):
            newline = True
    for piece in adjust:
        piece.text = piece.text[smallest or 0 :]


def meld_pieces(pieces: list[Piece]) -> list[Piece]:
    out: list[Piece] = []
    for piece in pieces:
        if piece.kind == "text" and out and out[-1].kind == "text":
            out[-1].text += piece.text
        else:
            out.append(piece)
    return out


def structure_pieces(pieces: list[Piece], name: str) -> list[Piece | Branch]:
    """Nest the pieces governed by ``%{if}`` and ``%{for}``: unbalanced directives are errors."""
    root: list[Piece | Branch] = []
    stack: list[tuple[Branch, list[Piece | Branch]]] = []
    current = root
    for piece in pieces:
        if piece.kind in ("text", "interp"):
            current.append(piece)
        elif piece.kind in ("if", "for"):
            branch = Branch(piece, [])
            current.append(branch)
            stack.append((branch, current))
            current = branch.body
        else:
            opener = stack[-1][0].head if stack else None
            wanted = {"else": "if", "endif": "if", "endfor": "for"}[piece.kind]
            if opener is None or opener.kind != wanted:
                raise EvalError(
                    f"template: unexpected %{{{piece.kind}}}"
                    + (
                        f" (the %{{{opener.kind}}} of line {opener.line} is still open)"
                        if opener
                        else ""
                    ),
                    piece.line,
                )
            branch, parent = stack[-1]
            if piece.kind == "else":
                if branch.otherwise is not None:
                    raise EvalError(
                        f"template: a second %{{else}} for the %{{if}} of line {opener.line}",
                        piece.line,
                    )
                branch.otherwise = []
                current = branch.otherwise
            else:
                stack.pop()
                current = parent
    if stack:
        opener = stack[-1][0].head
        closing = "endif" if opener.kind == "if" else "endfor"
        raise EvalError(
            f"template: the %{{{opener.kind}}} of line {opener.line} has no %{{{closing}}}",
            opener.line,
        )
    return root

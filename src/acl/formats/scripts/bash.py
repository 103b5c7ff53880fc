"""Bash as acl reads it: the words of each simple command (quotes, ``$VAR``, ``${VAR:-default}``,
``$(...)`` and backticks, backslash continuations, comments, redirections dropped), the
operator after it (``&&``, ``||``, ``|``), the value of a word from the script's variables
(:class:`Shell`), and the commands grouped into ``for`` loops and the blocks acl does not
evaluate (``if``, ``while``, ``case``, functions)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import ConfigError, Origin
from .._limits import MAX_DEPTH, LimitError, bounded_join, step
from .common import Unresolved

__all__ = [
    "Command",
    "For",
    "Opaque",
    "Part",
    "Shell",
    "Word",
    "lex",
    "lex_word",
    "literal",
    "structure",
]

# A word is a list of parts: ("text", str) or ("var", name, default-word-or-None, source)
# or ("cmd", source) for command substitution, which cannot be known.
Part = tuple[Any, ...]
Word = list[Part]

_KEYWORDS_OPEN = {"if", "while", "until", "case", "select"}
_KEYWORDS_CLOSE = {"fi": "if", "done": "while", "esac": "case"}


@dataclass
class Command:
    line: int
    words: list[Word]
    op: str = ""
    """The operator after the command: ``&&``, ``||``, ``|`` or ``""`` (newline, ``;``, ``&``)."""


_ORDINARY = re.compile(r"[^\\\n \t\r;&|<>'\"$`]*")
"""Characters that go into a word as they are (``#`` too, after the word's first)."""
_QUOTED = re.compile(r'[^"\\$`\n]*')
"""Characters that go into a double-quoted string as they are."""


def lex(text: str) -> Iterator[Command]:
    """Shell commands with their first line, split on newlines, ``;``, ``&``, ``|``."""
    i = 0
    n = len(text)
    line = 1
    words: list[Word] = []
    word: Word | None = None
    start_line = 1
    heredocs: list[tuple[str, bool, int]] = []
    """The here-documents opened on the current line: delimiter, ``<<-``, line."""

    def add_text(value: str) -> None:
        nonlocal word
        if word is None:
            word = []
        if word and word[-1][0] == "text":
            word[-1] = ("text", word[-1][1] + value)
        else:
            word.append(("text", value))

    def end_word() -> None:
        nonlocal word
        if word is not None:
            words.append(word)
            word = None

    def end_command(op: str = "") -> Iterator[Command]:
        nonlocal words
        end_word()
        if words:
            yield Command(start_line, words, op)
        words = []

    def dollar(pos: int, quoted: bool) -> tuple[Part, int]:
        """A ``$`` expansion at ``pos``; returns the part and the position after it."""
        nxt = text[pos + 1] if pos + 1 < n else ""
        if nxt == "(":
            depth, j = 0, pos + 1
            while j < n:
                if text[j] == "(":
                    depth += 1
                elif text[j] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            return ("cmd", text[pos : j + 1]), j + 1
        if nxt == "{":
            j = text.find("}", pos + 2)
            if j < 0:
                return ("text", "$"), pos + 1
            inner = text[pos + 2 : j]
            match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-=])(.*))?", inner, re.S)
            if match is None:
                return ("cmd", text[pos : j + 1]), j + 1
            default = match.group(3) if match.group(2) else None
            return ("var", match.group(1), default, text[pos : j + 1]), j + 1
        match = re.match(r"[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-]", text[pos + 1 :])
        if match is None:
            return ("text", "$"), pos + 1
        name = match.group(0)
        return ("var", name, None, "$" + name), pos + 1 + len(name)

    while i < n:
        char = text[i]
        if char == "\\":
            if i + 1 < n and text[i + 1] == "\n":
                i += 2
                line += 1
                continue
            if i + 1 < n:
                add_text(text[i + 1])
                i += 2
                continue
            i += 1
            continue
        if char == "\n":
            yield from end_command()
            i += 1
            line += 1
            while heredocs:  # the bodies of this line's here-documents, in order
                delimiter, strip_tabs, opened = heredocs.pop(0)
                while i < n:
                    end = text.find("\n", i)
                    end = n if end < 0 else end
                    body_line = text[i:end]
                    i = min(end + 1, n)
                    line += 1
                    if (body_line.lstrip("\t") if strip_tabs else body_line) == delimiter:
                        break
                    if "access-restriction" in body_line.lower():
                        raise ConfigError(
                            f"the here-document opened on line {opened} holds an access "
                            "restriction command: acl cannot tell whether the command it feeds "
                            "runs it (cat does not; bash and ssh do, maybe on another machine); "
                            "write the commands outside the here-document",
                            Origin(line=line - 1),
                        )
            start_line = line
            continue
        if char in " \t\r":
            end_word()
            i += 1
            continue
        if char == "#" and word is None:
            while i < n and text[i] != "\n":
                i += 1
            continue
        if char in ";&|":
            j = i
            while j < n and text[j] in ";&|":
                j += 1
            op = text[i:j]
            yield from end_command(op if op in ("&&", "||", "|") else "")
            i = j
            start_line = line
            continue
        if char == "<" and text.startswith("<<", i) and not text.startswith("<<<", i):
            # a here-document: its body (the lines after this one, up to the delimiter) is
            # data for the command, never commands of this script
            digits = literal(word) if word is not None else None
            if digits is not None and digits.isdigit():
                word = None
            end_word()
            j = i + 2
            strip_tabs = text.startswith("-", j)
            j += strip_tabs
            while j < n and text[j] in " \t":
                j += 1
            k = j
            while k < n and text[k] not in " \t\n;|&<>()":
                k += 1
            delimiter = text[j:k].replace("'", "").replace('"', "").replace("\\", "")
            if not delimiter:
                raise ConfigError("a here-document (<<) without a delimiter", Origin(line=line))
            heredocs.append((delimiter, strip_tabs, line))
            i = k
            continue
        if char in "<>":
            # a redirection: drop it, its file descriptor (2>&1) and its target
            digits = literal(word) if word is not None else None
            if digits is not None and digits.isdigit():
                word = None
            end_word()
            j = i
            while j < n and text[j] in "<>&0123456789":
                j += 1
            while j < n and text[j] in " \t":
                j += 1
            while j < n and text[j] not in " \t\n;|&":
                j += 1
            i = j
            continue
        if char == "'":
            j = text.find("'", i + 1)
            if j < 0:
                raise ConfigError("unterminated single quote", Origin(line=line))
            add_text(text[i + 1 : j])
            line += text.count("\n", i, j)
            i = j + 1
            continue
        if char == '"':
            if word is None:
                word = []
            j = i + 1
            buffer = ""
            while j < n and text[j] != '"':
                c = text[j]
                if c == "\\" and j + 1 < n and text[j + 1] in '"\\$`\n':
                    if text[j + 1] != "\n":
                        buffer += text[j + 1]
                    else:
                        line += 1
                    j += 2
                    continue
                if c == "$":
                    if buffer:
                        add_text(buffer)
                        buffer = ""
                    part, j = dollar(j, True)
                    if part[0] == "text":
                        add_text(part[1])
                    else:
                        word.append(part)
                    continue
                if c == "`":
                    k = text.find("`", j + 1)
                    k = n - 1 if k < 0 else k
                    if buffer:
                        add_text(buffer)
                        buffer = ""
                    word.append(("cmd", text[j : k + 1]))
                    j = k + 1
                    continue
                if c == "\n":
                    line += 1
                run = _QUOTED.match(text, j + 1)
                end = run.end() if run is not None else j + 1
                buffer += text[j:end]
                j = end
            if j >= n:
                raise ConfigError("unterminated double quote", Origin(line=line))
            if buffer:
                add_text(buffer)
            if not word:
                add_text("")
            i = j + 1
            continue
        if char == "$":
            if word is None:
                word = []
            part, i = dollar(i, False)
            if part[0] == "text":
                add_text(part[1])
            else:
                word.append(part)
            continue
        if char == "`":
            k = text.find("`", i + 1)
            k = n - 1 if k < 0 else k
            if word is None:
                word = []
            word.append(("cmd", text[i : k + 1]))
            i = k + 1
            continue
        # a run of ordinary characters at once (one at a time is quadratic in a long word)
        run = _ORDINARY.match(text, i + 1)
        end = run.end() if run is not None else i + 1
        add_text(text[i:end])
        i = end
    yield from end_command()


def literal(word: Word) -> str | None:
    """The word's text when it has no expansion."""
    if all(part[0] == "text" for part in word):
        return "".join(part[1] for part in word)
    return None


@dataclass
class Shell:
    """Variable values while a script is read."""

    fixed: Mapping[str, str]
    values: dict[str, str | Unresolved] = field(default_factory=dict)
    file: str | None = None
    line: int | None = None
    """The command being read, for the messages of the limits."""
    errexit: bool = False
    pipefail: bool = False
    status: int = 0
    """The exit status of the last command that ran."""
    gate: str = ""
    """The operator after the last command (``&&``, ``||``, ``|``)."""
    pipe_failed: bool = False
    failure: str | None = None
    """Why the command being run failed, as the az CLI says it."""

    def resolve(self, word: Word, depth: int = 0) -> str:
        try:
            return self._resolve(word, depth)
        except LimitError as exc:
            if exc.line is None:
                exc.file, exc.line = self.file, self.line
            raise

    def step(self, file: str | None, line: int) -> None:
        """Charge a command to the load's budget; it is the one being read from now on."""
        self.file, self.line = file, line
        try:
            step("a shell command")
        except LimitError as exc:
            exc.file, exc.line = file, line
            raise

    def _resolve(self, word: Word, depth: int) -> str:
        if depth > MAX_DEPTH:
            raise LimitError(
                f"${{NAME:-default}} values are nested more than {MAX_DEPTH} levels deep, the "
                "limit acl reads"
            )
        step("a shell word")
        out: list[str] = []
        missing: list[str] = []
        for part in word:
            kind = part[0]
            if kind == "text":
                out.append(part[1])
            elif kind == "var":
                name, default, source = part[1], part[2], part[3]
                value: str | Unresolved | None = self.fixed.get(name)
                if value is None:
                    value = self.values.get(name)
                if value is None and default is not None:
                    value = self.resolve(lex_word(default), depth + 1) if default else ""
                if value is None:
                    missing.append(source)
                elif isinstance(value, Unresolved):
                    missing.extend(value.names)
                else:
                    out.append(value)
            else:
                missing.append(part[1])
        if missing:
            raise Unresolved(missing)
        return bounded_join(out, "a shell variable expansion")

    def assign(self, name: str, word: Word) -> None:
        if name in self.fixed:
            return
        try:
            self.values[name] = self.resolve(word)
        except Unresolved as exc:
            self.values[name] = exc


def lex_word(text: str) -> Word:
    """The parts of a default value inside ``${NAME:-default}``."""
    commands = list(lex(text.replace("\n", " ") or "''"))
    if not commands or not commands[0].words:
        return [("text", "")]
    merged: Word = []
    for index, word in enumerate(commands[0].words):
        if index:
            merged.append(("text", " "))
        merged.extend(word)
    return merged


# ---------------------------------------------------------------------------- script structure


@dataclass
class For:
    line: int
    variable: str
    items: list[Word]
    body: list[Any]


@dataclass
class Opaque:
    line: int
    keyword: str
    body: list[Any]


def structure(commands: Iterable[Command], origin: Origin) -> list[Any]:
    """Commands grouped into loops and conditionals."""
    root: list[Any] = []
    stack: list[tuple[Any, list[Any]]] = []
    current = root
    pending_for: For | None = None
    for command in commands:
        words = command.words
        while words:
            head = literal(words[0])
            if head in ("then", "do", "else", "elif", "{", "!"):
                if head == "do" and pending_for is not None:
                    stack.append((pending_for, current))
                    current = pending_for.body
                    pending_for = None
                words = words[1:]
                continue
            break
        if not words:
            continue
        head = literal(words[0])
        if head == "for":
            name = literal(words[1]) if len(words) > 1 else None
            if name is None or len(words) < 3 or literal(words[2]) != "in":
                loop = Opaque(command.line, "for", [])
                stack.append((loop, current))
                current.append(loop)
                current = loop.body
                continue
            pending_for = For(command.line, name, words[3:], [])
            current.append(pending_for)
            continue
        is_function = head == "function" or (
            head is not None
            and (
                re.fullmatch(r"[\w-]+\(\)", head) is not None
                or (len(words) > 1 and literal(words[1]) == "()")
            )
        )
        if head in _KEYWORDS_OPEN or is_function:
            block = Opaque(command.line, head or "function", [])
            current.append(block)
            stack.append((block, current))
            current = block.body
            rest = words[1:] if head in _KEYWORDS_OPEN else []
            if head in _KEYWORDS_OPEN and rest:
                # `if az ... ; then`: the condition is a command inside the block
                current.append(Command(command.line, rest, command.op))
            continue
        if head in _KEYWORDS_CLOSE:
            if stack:
                _, current = stack.pop()
            continue
        if head == "}" and stack:
            _, current = stack.pop()
            continue
        current.append(Command(command.line, words, command.op))
    return root

"""PowerShell's tokens as acl reads them: statements split on newlines and ``;`` (backtick
continuations and lines ending in ``|`` joined), strings, variables, hashtables, arrays,
parameters, splats, ``(...)`` and ``$(...)`` kept as their source."""

from __future__ import annotations

import re
from typing import Any

from ...errors import ConfigError, Origin

__all__ = ["Lexer", "Token"]

Token = tuple[str, Any, int]


class Lexer:
    def __init__(self, text: str, file: str | None) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.file = file

    def error(self, message: str) -> ConfigError:
        return ConfigError(message, Origin(file=self.file, line=self.line))

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def statements(self) -> list[tuple[int, list[Token]]]:
        out: list[tuple[int, list[Token]]] = []
        tokens: list[Token] = []
        start = self.line
        while self.pos < len(self.text):
            char = self.peek()
            if char == "`" and self.peek(1) in ("\n", "\r"):
                self.pos += 1
                if self.peek() == "\r":
                    self.pos += 1
                if self.peek() == "\n":
                    self.pos += 1
                self.line += 1
                continue
            if char in " \t\r":
                self.pos += 1
                continue
            if char == "\n" and tokens and tokens[-1][0] == "pipe":
                self.line += 1
                self.pos += 1
                continue
            if char == "\n" or char == ";":
                if tokens:
                    out.append((start, tokens))
                tokens = []
                if char == "\n":
                    self.line += 1
                self.pos += 1
                start = self.line
                continue
            if char == "<" and self.peek(1) == "#":
                end = self.text.find("#>", self.pos + 2)
                end = len(self.text) if end < 0 else end + 2
                self.line += self.text.count("\n", self.pos, end)
                self.pos = end
                continue
            if char == "#":
                while self.pos < len(self.text) and self.peek() != "\n":
                    self.pos += 1
                continue
            if char in "{}":
                if tokens:
                    out.append((start, tokens))
                out.append((self.line, [("lbrace" if char == "{" else "rbrace", None, self.line)]))
                tokens = []
                self.pos += 1
                start = self.line
                continue
            tokens.append(self.token())
        if tokens:
            out.append((start, tokens))
        return out

    def token(self) -> Token:
        char = self.peek()
        line = self.line
        if char == "'":
            return ("lit", self.single(), line)
        if char == '"':
            return ("str", self.double(), line)
        if char == "@" and self.peek(1) in ("'", '"'):
            return self.here_string()
        if char == "@" and self.peek(1) == "{":
            self.pos += 2
            return ("hash", self.hashtable(), line)
        if char == "@" and self.peek(1) == "(":
            self.pos += 1
            source = self.balanced("(", ")")
            inner = Lexer(source[1:-1], self.file)
            inner.line = line
            groups = self.groups(inner)
            return ("array", groups, line)
        if char == "@" and re.match(r"[A-Za-z_]", self.peek(1)):
            match = re.match(r"@([A-Za-z_][\w]*)", self.text[self.pos :])
            assert match is not None
            self.pos += len(match.group(0))
            return ("splat", match.group(1), line)
        if char == "$":
            return self.variable()
        if char == "(":
            return ("paren", self.balanced("(", ")"), line)
        if char == ",":
            self.pos += 1
            return ("comma", None, line)
        if char == "|":
            self.pos += 1
            if self.peek() == "|":
                self.pos += 1
                return ("chain", "||", line)
            return ("pipe", None, line)
        if char == "&" and self.peek(1) == "&":
            self.pos += 2
            return ("chain", "&&", line)
        if char == "=":
            self.pos += 1
            return ("eq", None, line)
        param = re.match(r"-[A-Za-z_][\w]*:?", self.text[self.pos :])
        if param is not None:
            after = self.text[self.pos + len(param.group(0)) : self.pos + len(param.group(0)) + 1]
            if (
                after == ""
                or after.isspace()
                or after in "$'\"@(,;|"
                or param.group(0).endswith(":")
            ):
                self.pos += len(param.group(0))
                name = param.group(0)[1:]
                if name.endswith(":"):
                    return ("param:", name[:-1], line)
                return ("param", name, line)
        if char == "[" and re.match(r"\[[A-Za-z_][\w.\[\]]*\]", self.text[self.pos :]):
            match = re.match(r"\[[A-Za-z_][\w.]*(\[\])?\]", self.text[self.pos :])
            if match is not None:
                self.pos += len(match.group(0))
                return ("cast", match.group(0), line)
        match = re.match(r"[^\s,;|(){}'\"`=]+", self.text[self.pos :])
        if match is None:
            self.pos += 1
            return ("word", char, line)
        word = match.group(0)
        if re.search(r"\$[A-Za-z_{(]", word[1:]):
            raise self._joined("", "text to a variable")
        self.pos += len(word)
        return ("word", word, line)

    def balanced(self, open_: str, close: str) -> str:
        depth = 0
        start = self.pos
        quote = ""
        while self.pos < len(self.text):
            char = self.peek()
            if quote:
                if char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
            elif char == open_:
                depth += 1
            elif char == close:
                depth -= 1
                if depth == 0:
                    self.pos += 1
                    return self.text[start : self.pos]
            if char == "\n":
                self.line += 1
            self.pos += 1
        raise self.error(f"unclosed {open_!r}")

    def single(self) -> str:
        self.pos += 1
        out = []
        while True:
            if self.pos >= len(self.text):
                raise self.error("unterminated single-quoted string")
            char = self.peek()
            if char == "'":
                if self.peek(1) == "'":
                    out.append("'")
                    self.pos += 2
                    continue
                self.pos += 1
                return "".join(out)
            if char == "\n":
                self.line += 1
            out.append(char)
            self.pos += 1

    def double(self) -> list[Any]:
        self.pos += 1
        parts: list[Any] = []
        buffer: list[str] = []
        escapes = {
            "n": "\n",
            "t": "\t",
            "r": "\r",
            "0": "\0",
            "`": "`",
            '"': '"',
            "$": "$",
            "'": "'",
        }
        while True:
            if self.pos >= len(self.text):
                raise self.error("unterminated double-quoted string")
            char = self.peek()
            if char == '"':
                if self.peek(1) == '"':
                    buffer.append('"')
                    self.pos += 2
                    continue
                self.pos += 1
                break
            if char == "`" and self.pos + 1 < len(self.text):
                nxt = self.peek(1)
                buffer.append(escapes.get(nxt, nxt))
                self.pos += 2
                continue
            if char == "$" and re.match(r"\$(\{|\(|[A-Za-z_])", self.text[self.pos :]):
                if buffer:
                    parts.append("".join(buffer))
                    buffer = []
                parts.append(self.string_variable())
                continue
            if char == "\n":
                self.line += 1
            buffer.append(char)
            self.pos += 1
        if buffer or not parts:
            parts.append("".join(buffer))
        return parts

    def here_string(self) -> Token:
        line = self.line
        quote = self.peek(1)
        end = self.text.find("\n" + quote + "@", self.pos)
        if end < 0:
            raise self.error("unterminated here-string")
        body = self.text[self.text.index("\n", self.pos) + 1 : end]
        self.line += self.text.count("\n", self.pos, end + 3)
        self.pos = end + 3
        if quote == "'":
            return ("lit", body, line)
        if "$" in body:
            return ("sub", '@"..."@ with $ expansions', line)
        return ("lit", body, line)

    def string_variable(self) -> tuple[Any, ...]:
        """A ``$name``, ``${name}`` or ``$(...)`` inside a double-quoted string."""
        if self.peek(1) == "(":
            self.pos += 1
            source = self.balanced("(", ")")
            inner = source[1:-1].strip()
            match = re.fullmatch(r"\$([A-Za-z_][\w:]*)((?:\.[A-Za-z_]\w*)*)", inner)
            if match:
                props = [p for p in match.group(2).split(".") if p]
                return ("var", match.group(1), props, "$" + source)
            return ("sub", "$" + source)
        if self.peek(1) == "{":
            end = self.text.find("}", self.pos)
            name = self.text[self.pos + 2 : end]
            source = self.text[self.pos : end + 1]
            self.pos = end + 1
            return ("var", name, [], source)
        match = re.match(r"\$([A-Za-z_][\w]*(?::[A-Za-z_]\w*)?)", self.text[self.pos :])
        assert match is not None
        self.pos += len(match.group(0))
        return ("var", match.group(1), [], match.group(0))

    def variable(self) -> Token:
        line = self.line
        if self.peek(1) == "(":
            self.pos += 1
            source = self.balanced("(", ")")
            return ("sub", "$" + source, line)
        if self.peek(1) == "{":
            end = self.text.find("}", self.pos)
            name = self.text[self.pos + 2 : end]
            source = self.text[self.pos : end + 1]
            self.pos = end + 1
            return ("var", (name, [], source), line)
        match = re.match(
            r"\$([A-Za-z_][\w]*(?::[A-Za-z_]\w*)?)((?:\.[A-Za-z_]\w*)*)", self.text[self.pos :]
        )
        if match is None:
            self.pos += 1
            return ("word", "$", line)
        self.pos += len(match.group(0))
        nxt = self.peek()
        if nxt and not nxt.isspace() and nxt not in ",;|(){}[]=.`":
            raise self._joined(match.group(0), "a variable to text")
        props = [p for p in match.group(2).split(".") if p]
        return ("var", (match.group(1), props, match.group(0)), line)

    def _joined(self, read: str, what: str) -> ConfigError:
        """The refusal of text and a variable joined in one word (``$ip/32``, ``ip-$ip``):
        in a command's arguments PowerShell reads it as one expandable string, in an
        expression as an operation, and this lexer does not know which mode it is in.
        ``read`` is the part already consumed; the rest of the word follows ``pos``."""
        rest = re.match(r"[^\s,;|(){}]*", self.text[self.pos :])
        joined = read + (rest.group(0) if rest is not None else "")
        return self.error(
            f"{joined} joins {what}: PowerShell reads it as one string in a command's "
            "arguments but as an expression elsewhere, and acl does not guess: write "
            f'"{joined}" in double quotes'
        )

    def hashtable(self) -> list[tuple[list[Token], list[Token]]]:
        entries: list[tuple[list[Token], list[Token]]] = []
        while True:
            while self.peek() in (" ", "\t", "\r", "\n", ";"):
                if self.peek() == "\n":
                    self.line += 1
                self.pos += 1
            if self.peek() == "#":
                while self.pos < len(self.text) and self.peek() != "\n":
                    self.pos += 1
                continue
            if self.peek() == "}":
                self.pos += 1
                return entries
            if self.pos >= len(self.text):
                raise self.error("unclosed '@{'")
            key = [self.token()]
            while self.peek() in (" ", "\t"):
                self.pos += 1
            if self.peek() != "=":
                raise self.error("expected '=' in a hashtable")
            self.pos += 1
            value: list[Token] = []
            while True:
                while self.peek() in (" ", "\t"):
                    self.pos += 1
                if self.peek() == "`" and self.peek(1) == "\n":
                    self.pos += 2
                    self.line += 1
                    continue
                if self.peek() in ("\n", ";", "}", "\r", ""):
                    break
                value.append(self.token())
            entries.append((key, value))

    def groups(self, inner: Lexer) -> list[list[Token]]:
        """The elements of ``@( ... )``: statements, each split on commas."""
        out: list[list[Token]] = []
        for _, tokens in inner.statements():
            group: list[Token] = []
            for token in tokens:
                if token[0] == "comma":
                    out.append(group)
                    group = []
                else:
                    group.append(token)
            if group:
                out.append(group)
        self.line = max(self.line, inner.line)
        return out

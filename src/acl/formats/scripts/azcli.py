"""az CLI scripts: ``az webapp config access-restriction add|remove|set`` (and the same under
``az functionapp``), applied in order to an empty site, or to ``options.base_site``, the way
the CLI applies them.

The CLI's own rules are reproduced: ``--ip-address`` values go through Python's
``ipaddress.ip_network(value, False)`` (a bare address becomes ``/32`` or ``/128``; host bits
are cleared: ``10.1.2.3/24`` is stored as ``10.1.2.0/24``, as azure-cli 2.91 does), spaces and
more than eight ranges are refused, a rule with the same addresses (in any order) or service
tags and the same header filter cannot be added, ``--http-header name=value`` may repeat, ``--vnet-name`` with
a subnet name needs ``options.subnet_id_template``, ``remove`` finds the first rule by name or
source *and* action, and ``set`` changes ``--use-same-restrictions-for-scm-site``,
``--default-action`` and ``--scm-default-action``. Generic updates (``az resource update``
of a web app or its config/web, ``az webapp|functionapp update``) that set a default action,
``scmIpSecurityRestrictionsUseMain`` or ``publicNetworkAccess`` are applied; any other
``--set``/``--add``/``--remove`` path into the access restrictions, or
``--generic-configurations`` naming them, is refused (:class:`NotEvaluated`); every other
command changes nothing.

The script is read, never run, but its control flow is bash's: ``&&``/``||`` by exit status,
``set -e``/``pipefail``, ``exit``; a command that fails as the CLI fails is a warning, or,
under ``set -e``, an error saying the script stops there; the commands inside ``$(...)`` and
backticks run (their output is unknown). Shell variables come from simple assignments in the
script (``RG=shop``) and ``options.variables`` (``--var``, which win); anything else (the
output of a command substitution, an unset variable) is an error naming it. Backslash
continuations, comments and ``for x in a b c; do ...; done`` loops over literal words are
understood; an access restriction command inside ``if``, ``while``, ``case`` or a function is
an error, because acl does not evaluate shell conditions.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ...errors import ConfigError, Origin, quote
from ...model import Site
from .._limits import LimitError, bounded
from ..options import LoadOptions
from .az import Az
from .bash import Command, For, Opaque, Shell, Word, lex, literal, structure
from .common import NotEvaluated, ScriptSites, Unresolved, squash

__all__ = ["load_azcli", "run_script"]


def _contains_az(items: list[Any]) -> int | None:
    for item in items:
        if isinstance(item, Command):
            words = [literal(w) for w in item.words[:5]]
            if words[:1] == ["az"] and "access-restriction" in words:
                return item.line
        elif isinstance(item, (For, Opaque)):
            found = _contains_az(item.body)
            if found is not None:
                return found
    return None


def _az_words(words: list[str]) -> list[str] | None:
    """The words of an ``az`` command, after leading assignments and wrappers."""
    index = 0
    while index < len(words) and (
        re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[index])
        or words[index] in ("command", "time", "sudo", "exec")
    ):
        index += 1
    rest = words[index:]
    if rest[:1] == ["az"] and len(rest) >= 3 and rest[1] in ("webapp", "functionapp", "resource"):
        return rest
    return None


class _Exit(Exception):
    """``exit``: the rest of the script (or of the command substitution) does not run."""


_SUCCEED = {":", "true", "echo", "printf", "cd", "pushd", "popd", "shift", "unset", "source"}


def run_script(
    items: list[Any],
    shell: Shell,
    run: Callable[[list[str], int], None],
    options: LoadOptions,
    file: str | None,
) -> None:
    """Run the commands the way bash does: ``&&``/``||`` lists by exit status, ``set -e``,
    ``exit``, and the commands inside ``$(...)`` and backticks. A failing az command is a
    warning, or, under ``set -e``, an error that says the script stops there."""
    for item in items:
        shell.step(file, item.line)
        if isinstance(item, For):
            shell.gate = ""
            _substitutions(item.items, item.line, shell, run, options, file)
            try:
                values = [shell.resolve(word) for word in item.items]
            except Unresolved as exc:
                raise ConfigError(
                    f"for {item.variable} in ...: {_unresolved_text(exc)} cannot be known without "
                    "running the script: give it with --var NAME=VALUE",
                    Origin(file=file, line=item.line),
                ) from None
            for value in [w for v in values for w in v.split()]:
                shell.values[item.variable] = value
                run_script(item.body, shell, run, options, file)
            continue
        if isinstance(item, Opaque):
            shell.gate = ""
            line = _contains_az(item.body)
            if line is not None:
                raise ConfigError(
                    f"an access restriction command is inside `{item.keyword}` (line "
                    f"{item.line}): acl does not evaluate shell conditions or functions; take it "
                    "out, or write the commands it runs",
                    Origin(file=file, line=line),
                )
            shell.status = 0
            continue
        gate, shell.gate = shell.gate, item.op
        if (gate == "&&" and shell.status != 0) or (gate == "||" and shell.status == 0):
            continue  # bash skips it; the list's status stays
        shell.failure = None
        status = _command(item, shell, run, options, file)
        if gate == "|":
            shell.pipe_failed = shell.pipe_failed or status != 0
            if shell.pipefail and shell.pipe_failed and status == 0:
                status = 1
        else:
            shell.pipe_failed = status != 0
        shell.status = status
        origin = Origin(file=file, line=item.line)
        stops = status != 0 and shell.errexit and item.op not in ("&&", "||", "|")
        if shell.failure is not None:
            if stops:
                raise ConfigError(
                    f"{shell.failure.rstrip('. ')}: the command fails and `set -e` stops the script here",
                    origin,
                )
            why = (
                "it is not the last command of a pipeline"
                if item.op == "|"
                else "no `set -e`, or its status is tested"
            )
            options.warn(
                f"{origin}: {shell.failure.rstrip('. ')}: the command fails and the script goes "
                f"on ({why})"
            )
        elif stops:
            raise ConfigError(
                "the command fails and `set -e` stops the script here: the commands after it "
                "do not run; remove them, or the failing command",
                origin,
            )


def _substitutions(
    words: list[Word],
    line: int,
    shell: Shell,
    run: Callable[[list[str], int], None],
    options: LoadOptions,
    file: str | None,
) -> int | None:
    """Run the ``$(...)`` and backtick commands of ``words`` in a subshell (their output is not
    known, their effect counts); the status of the last one, or None."""
    status: int | None = None
    for word in words:
        for part in word:
            if part[0] != "cmd":
                continue
            source = str(part[1])
            inner = source[2:-1] if source.startswith("$(") else source[1:-1]
            if source.startswith("$((") or re.search(r"(^|[\s;&|(`])az\s", inner) is None:
                status = 0
                continue
            try:
                commands = [replace(c, line=line + c.line - 1) for c in lex(inner)]
            except ConfigError as exc:
                raise ConfigError(
                    f"command substitution {quote(source)}: {exc.message}",
                    Origin(file=file, line=line),
                ) from None
            sub = Shell(shell.fixed, dict(shell.values), shell.file, shell.line)
            with contextlib.suppress(_Exit):
                run_script(structure(commands, Origin(file=file)), sub, run, options, file)
            status = sub.status
    return status


def _set_options(words: list[str], shell: Shell) -> None:
    """``set -e``/``+e``, ``set -o errexit``/``pipefail`` (and ``+o``), also in a cluster:
    ``set -euo pipefail`` (an ``o`` in it takes the next word, as in bash)."""
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if re.fullmatch(r"[-+][A-Za-z]+", word) is None:
            continue
        on = word.startswith("-")
        if "e" in word:
            shell.errexit = on
        if "o" in word and i < len(words):
            if words[i] == "errexit":
                shell.errexit = on
            elif words[i] == "pipefail":
                shell.pipefail = on
            i += 1


def _command(
    item: Command,
    shell: Shell,
    run: Callable[[list[str], int], None],
    options: LoadOptions,
    file: str | None,
) -> int:
    """Run one simple command; its exit status (a failing az command sets ``shell.failure``)."""
    words = item.words
    substituted = _substitutions(words, item.line, shell, run, options, file)
    texts = [literal(w) for w in words]
    assignments = [
        (m.group(1), w)
        for w, text in zip(words, texts, strict=True)
        if (m := re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=", text or _prefix(w)))
    ]
    first = texts[0]
    if first in ("export", "readonly", "declare", "local", "typeset") or (
        assignments and len(assignments) == len(words)
    ):
        for word in words:
            text = _prefix(word)
            match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=", text)
            if match:
                if match.group(1) == "IFS" and literal(_after_equals(word)) != " \t\n":
                    raise ConfigError(
                        "IFS is set: it changes how bash splits unquoted words (a "
                        "`for ip in $IPS` loop, an unquoted --ip-address $IPS), and acl splits "
                        "on blanks only; drop the IFS assignment and separate the values with "
                        "blanks",
                        Origin(file=file, line=item.line),
                    )
                shell.assign(match.group(1), _after_equals(word))
        # an assignment's status is that of its last command substitution
        return substituted if substituted is not None and first not in ("export",) else 0
    if first == "set":
        _set_options([t for t in texts[1:] if t is not None], shell)
        return 0
    if first == "false":
        return 1
    if first == "exit":
        raise _Exit()
    head = [literal(w) for w in words[:6]]
    if "az" not in head[:3]:
        return 0
    resolved: list[str] = []
    missing: list[str] = []
    for word in words:
        try:
            resolved.append(shell.resolve(word))
        except Unresolved as exc:
            missing.extend(exc.names)
    if missing:
        if not _is_ours(head, words):
            return 0
        message = _unresolved_message(Unresolved(missing))
        if options.unresolved == "skip-rule":
            options.warn(
                f"{Origin(file=file, line=item.line)}: command skipped (--unresolved=skip-rule): {message}"
            )
            return 0
        raise ConfigError(message, Origin(file=file, line=item.line)) from None
    az = _az_words(resolved)
    if az is None:
        return 0
    try:
        run(az, item.line)
    except NotEvaluated:
        raise
    except LimitError:
        raise
    except ConfigError as exc:
        shell.failure = exc.message
        return 1
    return 0


def _is_ours(head: list[str | None], words: list[Word]) -> bool:
    """Whether a command whose values are unknown would change access restrictions."""
    if "access-restriction" in head:
        index = head.index("access-restriction")
        verb = head[index + 1] if index + 1 < len(head) else None
        return verb in ("add", "remove", "set") or verb is None
    if "update" in head or "set" in head:
        texts = squash(" ".join(str(p[1]) for w in words for p in w if p[0] == "text"))
        return (
            any(
                key in texts
                for key in (
                    "publicnetworkaccess",
                    "siteconfig",
                    "ipsecurityrestrictions",
                    "properties",
                )
            )
            or "generic-configurations" in texts
        )
    return False


def _prefix(word: Word) -> str:
    return str(word[0][1]) if word and word[0][0] == "text" else ""


def _after_equals(word: Word) -> Word:
    first = word[0]
    text = str(first[1])
    return [("text", text.split("=", 1)[1]), *word[1:]]


def _unresolved_text(exc: Unresolved) -> str:
    names = list(dict.fromkeys(exc.names))
    kind = "shell variable" if all(_variable_name(n) for n in names) else "value"
    return f"{kind}{'s' if len(names) > 1 else ''} {', '.join(names)}"


def _variable_name(source: str) -> str | None:
    match = re.fullmatch(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)[^}]*\}?", source)
    return match.group(1) if match else None


def _unresolved_message(exc: Unresolved) -> str:
    names = list(dict.fromkeys(exc.names))
    variables = [v for v in (_variable_name(n) for n in names) if v]
    commands = [n for n in names if not _variable_name(n)]
    parts = []
    if variables:
        plural = "s" if len(variables) > 1 else ""
        parts.append(
            f"shell variable{plural} {', '.join('$' + v for v in variables)} "
            f"{'are' if plural else 'is'} not set in the script: give "
            + " ".join(f"--var {v}=VALUE" for v in variables)
        )
    if commands:
        parts.append(
            f"{', '.join(commands)} is a command substitution, and acl does not run commands: "
            "put the value into a variable and give it with --var"
        )
    return "; ".join(parts)


def _run_azcli(document: Any, options: LoadOptions) -> ScriptSites:
    """The sites an az CLI script changes, after running every command."""
    if not isinstance(document, str):
        raise ConfigError("expected the text of a shell script", Origin(file=options.source))
    crlf = document.find("\r\n")
    if crlf >= 0:
        raise ConfigError(
            "the line ends with CR LF (Windows line endings): bash keeps the CR as part of "
            "the line, so a backslash continuation escapes the CR instead of the line end and "
            "the last argument of each command ends in a CR; the script does not run as "
            "written: convert it to LF line endings (dos2unix) and load it again",
            Origin(file=options.source, line=document.count("\n", 0, crlf) + 1),
        )
    try:
        commands = list(lex(document))
    except ConfigError as exc:
        raise ConfigError(
            exc.message, replace(exc.origin or Origin(), file=options.source)
        ) from None
    items = structure(commands, Origin(file=options.source))
    sites = ScriptSites(options)
    az = Az(sites, options, options.source)
    shell = Shell(options.variables)
    shell.errexit = bool(re.match(r"#![^\n]*\s-[A-Za-z]*e", document))
    with contextlib.suppress(_Exit):
        run_script(items, shell, az.run, options, options.source)
    return sites


@bounded
def load_azcli(document: Any, options: LoadOptions) -> Site:
    """The site an az CLI script leaves behind (``document`` is the script's text)."""
    return _run_azcli(document, options).site("script")


@bounded
def azcli_site_names(document: Any, options: LoadOptions) -> tuple[str, ...]:
    """The names of the sites an az CLI script changes (``app``, ``app/staging`` for a
    slot), in the order it first changes them: the names ``options.site`` chooses from
    (``options.site`` itself is not read)."""
    return _run_azcli(document, options).site_names("script")


@bounded
def load_azcli_sites(document: Any, options: LoadOptions) -> list[tuple[str | None, Site]]:
    """Every site an az CLI script changes, by name, from one run of the script
    (``options.site`` is not read; ``options.base_site``, unnamed, when it changes none)."""
    return _run_azcli(document, options).every_site("script")

"""Azure PowerShell scripts: ``Add-AzWebAppAccessRestrictionRule``,
``Remove-AzWebAppAccessRestrictionRule`` and ``Update-AzWebAppAccessRestrictionConfig``
(Az.Websites), applied in order to an empty site, or to ``options.base_site``, the way the
cmdlets apply them. ``az ... access-restriction`` commands in a PowerShell script are applied
too, as the az CLI would.

The cmdlets' own rules are reproduced: ``-IpAddress`` takes CIDRs only (``/32`` must be
written), without spaces, at most eight; a rule for an address, service tag or subnet that is
already there cannot be added again; ``-HttpHeader @{...}`` is a hashtable of header name to
a value or an array; ``Remove-`` finds the first rule by ``-Name``, or by source, *and*
``-Action``, and does nothing when none matches; ``Update-`` sets
``-ScmSiteUseMainSiteRestrictionConfig``. ``-WhatIf`` commands change nothing.

The script is read, never run: ``$variables`` come from simple assignments (``$rg = 'shop'``,
``$ips = @('a', 'b')``, ``$h = @{...}``) and ``options.variables`` (``--var rg=shop``, which
win; ``--var config.VNET=...`` gives ``$config.VNET``), string ``+`` and ``@params``
splatting; anything else (a cmdlet's output, arithmetic, ``$env:`` without ``--var``) is an
error naming it. ``$r = Add-...`` runs the command. ``Get-AzResource`` of a web app, property
assignments to it and ``Set-AzResource`` apply the default actions,
``scmIpSecurityRestrictionsUseMain`` and ``publicNetworkAccess``. A failing cmdlet ends its
statement (a warning), or the script under ``-ErrorAction Stop`` /
``$ErrorActionPreference = 'Stop'`` (an error). Backtick continuations (and lines ending in
``|``), ``#`` and ``<# #>`` comments and ``;`` are understood, and
``foreach ($x in ...) { ... }`` over a known array is expanded. Pipelines into the rule
cmdlets are bound as PowerShell binds them: ``-ResourceGroupName`` and ``-WebAppName`` take
pipeline input by property name (nothing else does), so the config object of
``Get-AzWebAppAccessRestrictionConfig`` and of ``-PassThru`` binds them, and the PSSite of
``Get-AzWebApp``/``Get-AzWebAppSlot`` (``Name``, ``ResourceGroup``) binds nothing and the
cmdlet fails; ``Update-`` takes a config object as its ``-InputObject``; objects acl
does not know are errors. ``&&``/``||`` chains and rule commands
inside ``(...)``, script blocks, ``if``, ``while``, ``switch``, ``try`` or a function are
errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ...errors import ConfigError, Origin, quote
from ...model import Site
from .._limits import LimitError, bounded, step
from ..options import LoadOptions
from .az import Az
from .cmdlets import CMDLET_NAMES, CMDLETS, Cmdlets, bind
from .common import (
    NotEvaluated,
    ScriptSites,
)
from .psresource import Resources
from .pstokens import Lexer, Token
from .psvalues import (
    PSObject,
    Unknown,
    Vars,
    as_text,
    evaluate,
    expression,
    operand,
    source_text,
    unknowns,
)

__all__ = ["load_powershell"]

_CONTROL = {
    "if",
    "elseif",
    "else",
    "while",
    "do",
    "until",
    "switch",
    "try",
    "catch",
    "finally",
    "function",
    "filter",
    "for",
    "trap",
    "begin",
    "process",
    "end",
    "workflow",
}


_RULE_TEXT = re.compile(
    r"AccessRestriction|access-restriction|Set-AzResource|ipSecurityRestrictions", re.IGNORECASE
)


def _touches(tokens: list[Any]) -> bool:
    """Whether the tokens name an access restriction command."""
    for token in tokens:
        if token[0] == "word" and (
            str(token[1]).lower() in CMDLETS
            or str(token[1]).lower() in ("access-restriction", "set-azresource")
        ):
            return True
    return False


@dataclass
class _Runner:
    options: LoadOptions
    file: str | None
    env: Vars
    cmdlets: Cmdlets
    az: Az
    line: int | None = None
    """The statement being read, for the messages of the limits."""
    resources: Resources = field(init=False)

    def __post_init__(self) -> None:
        self.resources = Resources(self.env, self.cmdlets.sites)

    def run(self, statements: list[tuple[int, list[Token]]]) -> None:
        index = 0
        while index < len(statements):
            line, tokens = statements[index]
            index += 1
            self.line = line
            step("a PowerShell statement")
            head = tokens[0]
            if head[0] == "rbrace":
                continue
            if head[0] == "word" and str(head[1]).lower() in _CONTROL | {"foreach"}:
                keyword = str(head[1]).lower()
                # the block is the next { ... } (for if/else chains, each one)
                body, index = self._block(statements, index)
                if keyword == "foreach" and len(tokens) > 1 and tokens[1][0] == "paren":
                    self._foreach(line, tokens[1][1], body)
                    continue
                found = _rule_line(body)
                if found is not None:
                    raise ConfigError(
                        f"an access restriction command is inside `{keyword}` (line {line}): acl "
                        "does not evaluate PowerShell conditions, loops or functions; take it out, "
                        "or write the commands it runs",
                        Origin(file=self.file, line=found),
                    )
                continue
            if head[0] == "lbrace":
                body, index = self._block(statements, index - 1)
                found = _rule_line(body)
                if found is not None:
                    raise ConfigError(
                        f"an access restriction command is inside a script block {{ ... }} (line "
                        f"{line}): acl does not evaluate script blocks (ForEach-Object, "
                        "Invoke-Command, & { ... }); take it out, or write the commands it runs",
                        Origin(file=self.file, line=found),
                    )
                continue
            self.statement(line, tokens)

    def _block(
        self, statements: list[tuple[int, list[Token]]], index: int
    ) -> tuple[list[tuple[int, list[Token]]], int]:
        """The statements of the ``{ ... }`` starting at or after ``index``."""
        if index < len(statements) and statements[index][1][0][0] == "lbrace":
            depth = 0
            start = index
            while index < len(statements):
                kind = statements[index][1][0][0]
                if kind == "lbrace":
                    depth += 1
                elif kind == "rbrace":
                    depth -= 1
                    if depth == 0:
                        return statements[start + 1 : index], index + 1
                index += 1
            return statements[start + 1 :], index
        return [], index

    def _foreach(self, line: int, source: str, body: list[tuple[int, list[Token]]]) -> None:
        match = re.fullmatch(r"\(\s*\$([A-Za-z_]\w*)\s+in\s+(.+)\)", source, re.S | re.I)
        if match is None:
            if _rule_line(body) is not None:
                raise ConfigError(
                    f"foreach {source}: acl expands only `foreach ($x in <array>)`",
                    Origin(file=self.file, line=line),
                )
            return
        inner = Lexer(match.group(2), self.file).statements()
        tokens = [t for _, ts in inner for t in ts]
        values = evaluate(tokens, self.env)
        unknown = unknowns(values)
        if unknown:
            if _rule_line(body) is None:
                return
            raise ConfigError(
                f"foreach (${match.group(1)} in ...): {', '.join(unknown)} cannot be known without "
                "running the script: give it with --var NAME=VALUE",
                Origin(file=self.file, line=line),
            )
        for value in values if isinstance(values, list) else [values]:
            self.env.values[match.group(1)] = value
            self.run(body)

    def statement(self, line: int, tokens: list[Token]) -> None:
        origin = Origin(file=self.file, line=line)
        touching = _touches(tokens)
        if any(t[0] == "chain" for t in tokens):
            if touching:
                raise NotEvaluated(
                    "a pipeline chain (`&&`, `||`) around an access restriction command: acl "
                    "does not evaluate it; write the commands on their own lines",
                    origin,
                )
            return
        for token in tokens:
            if token[0] in ("paren", "sub") and _RULE_TEXT.search(str(token[1])):
                raise NotEvaluated(
                    f"an access restriction command inside {quote(str(token[1]))}: acl does not "
                    "evaluate commands inside (...) or $(...); write the command as a statement "
                    "of its own",
                    origin,
                )
        segments: list[list[Token]] = [[]]
        for token in tokens:
            if token[0] == "pipe":
                segments.append([])
            else:
                segments[-1].append(token)
        if not segments[0]:
            if any(_touches(segment) for segment in segments[1:]):
                raise NotEvaluated(
                    "pipeline input from a script block `{ ... } | ...` into an access "
                    "restriction cmdlet: acl does not evaluate script blocks (Where-Object, "
                    "ForEach-Object); give -ResourceGroupName and -WebAppName (or -Name) and "
                    "drop the pipe",
                    origin,
                )
            return
        if len(segments) > 1:
            later = segments[1]
            head = str(later[0][1]).lower() if later and later[0][0] == "word" else ""
            if head == "set-azresource":
                self.resources.send(operand(segments[0], self.env), segments[0], origin)
                return
            if any(_touches(segment) for segment in segments[1:]):
                self._pipeline(segments, origin)
                return
        tokens = segments[0]
        if tokens[0][0] in ("var", "cast"):
            assignment = [t for t in tokens if t[0] != "cast"]
            if len(assignment) >= 2 and assignment[0][0] == "var" and assignment[1][0] == "eq":
                name, props, source = assignment[0][1]
                rhs = assignment[2:]
                head = str(rhs[0][1]).lower() if rhs and rhs[0][0] == "word" else ""
                value: Any
                if head == "get-azresource":
                    value = self.resources.get(rhs, origin)
                elif head in _GETTERS:
                    # known only when piped into a rule cmdlet later; never an error here
                    objects = self._get_objects(rhs, origin, strict=False)
                    value = objects[0] if objects is not None and len(objects) == 1 else objects
                    value = Unknown(source) if value is None else value
                elif head in CMDLETS or head in ("az", "set-azresource"):
                    # `$r = Add-... -PassThru`, `$null = ...`: the command runs
                    self.command(line, rhs)
                    value = Unknown(source)
                else:
                    value = expression(rhs, self.env)
                    if isinstance(value, Unknown) and rhs and rhs[0][0] == "word":
                        value = Unknown(source)  # a command's output: name the variable
                if props:
                    self.resources.assign_property(name, props, source, value, origin)
                    return
                if name.lower() == "null":
                    return
                if not any(k.lower() == name.lower() for k in self.env.fixed):
                    self.env.values[name] = value
                return
            if len(assignment) >= 2 and assignment[0][0] == "var" and assignment[1][0] == "word":
                # `$i += 10` and friends: the value is no longer known
                self.env.values[assignment[0][1][0]] = Unknown(assignment[0][1][2])
            return
        self.command(line, tokens)

    def command(self, line: int, tokens: list[Token]) -> None:
        origin = Origin(file=self.file, line=line)
        if tokens[0][0] != "word":
            return
        command = str(tokens[0][1]).lower()
        if command == "set-azresource":
            rest = tokens[1:]
            for i, token in enumerate(rest):
                if token[0] in ("param", "param:") and str(token[1]).lower() == "inputobject":
                    self.resources.send(operand(rest[i + 1 : i + 2], self.env), rest, origin)
                    return
            text = source_text(rest)
            if re.search(r"microsoft\.web/sites|properties", text, re.I):
                raise NotEvaluated(
                    "Set-AzResource without -InputObject (or a pipe) from Get-AzResource: acl "
                    "does not evaluate it; use the access restriction cmdlets",
                    origin,
                )
            return
        if command in CMDLETS:
            bound = bind(tokens[1:], command, self.env, origin)
            missing = unknowns(bound)
            if missing:
                self._unresolved(missing, origin)
                return
            self._run_cmdlet(command, bound, origin)
        elif command == "az":
            flat: list[str] = []
            unknown: list[str] = []
            joined = False
            for token in tokens[1:]:
                if token[0] == "comma":
                    joined = True
                    continue
                if token[0] in ("param", "param:"):
                    text = "-" + str(token[1])
                else:
                    value = operand([token], self.env)
                    unknown.extend(unknowns(value))
                    text = (
                        ",".join(as_text(v) for v in value)
                        if isinstance(value, list)
                        else as_text(value)
                    )
                if joined and flat:
                    flat[-1] += "," + text
                else:
                    flat.append(text)
                joined = False
            if len(flat) < 3 or flat[0] not in ("webapp", "functionapp"):
                return
            ours = "access-restriction" in flat[:4] and (len(flat) < 4 or flat[3] != "show")
            if unknown:
                if ours:
                    self._unresolved(unknown, origin)
                return
            try:
                self.az.run(["az", *flat], line)
            except (NotEvaluated, LimitError):
                raise
            except ConfigError as exc:
                # a native command's failure sets $LASTEXITCODE; the script goes on
                self.options.warn(
                    f"{origin}: {exc.message.rstrip('. ')}: the command fails and the script "
                    "goes on with the next statement"
                )

    def _run_cmdlet(self, command: str, bound: dict[str, Any], origin: Origin) -> bool:
        """Run a rule cmdlet; False when it fails (a warning, or an error under ErrorAction
        Stop) or changes nothing (``-WhatIf``)."""
        try:
            self.cmdlets.run(command, bound, origin)
        except (NotEvaluated, LimitError):
            raise
        except ConfigError as exc:
            self._failed(exc.message, bound, origin)
            return False
        self.cmdlets.sites.succeeded += 1
        return bound.get("WhatIf") in (None, False)

    def _failed(self, message: str, bound: Mapping[str, Any], origin: Origin) -> None:
        self.cmdlets.sites.failures.append(f"{origin}: {message}")
        stop = (
            as_text(bound.get("ErrorAction", "")).lower() == "stop"
            or as_text(
                self.env.lookup("ErrorActionPreference", [], "$ErrorActionPreference")
            ).lower()
            == "stop"
        )
        if stop:
            raise ConfigError(
                f"{message.rstrip('. ')}: the cmdlet fails and, with ErrorAction "
                "Stop, the script stops here",
                origin,
            ) from None
        self.options.warn(
            f"{origin}: {message.rstrip('. ')}: the cmdlet fails and the script "
            "goes on with the next statement"
        )

    # ------------------------------------------------------------------------ pipelines

    def _get_objects(
        self, tokens: list[Token], origin: Origin, strict: bool = True
    ) -> list[PSObject] | None:
        """What ``Get-AzWebApp``, ``Get-AzWebAppSlot`` or
        ``Get-AzWebAppAccessRestrictionConfig`` writes, for one named app (or slot); None
        when the values are unknown (and ``--unresolved=skip-rule`` skips the statement), or,
        when not ``strict``, when acl cannot know them."""
        try:
            return self._objects(tokens, origin, strict)
        except NotEvaluated:
            if strict:
                raise
            return None

    def _objects(self, tokens: list[Token], origin: Origin, strict: bool) -> list[PSObject] | None:
        getter = str(tokens[0][1]).lower()
        names, positions = _GETTERS[getter]
        args: dict[str, Any] = {}
        i = 1
        while i < len(tokens):
            kind, payload, _ = tokens[i]
            if kind in ("param", "param:"):
                hits = [n for n in names if n.lower() == str(payload).lower()] or [
                    n for n in names if n.lower().startswith(str(payload).lower())
                ]
                if len(hits) != 1 or i + 1 >= len(tokens):
                    raise self._refuse_getter(tokens, origin)
                args[hits[0]] = operand([tokens[i + 1]], self.env)
                i += 2
                continue
            if len(args) >= len(positions) or positions[len(args)] in args:
                raise self._refuse_getter(tokens, origin)
            args[positions[len(args)]] = operand([tokens[i]], self.env)
            i += 1
        missing = unknowns(list(args.values()))
        if missing:
            if strict:
                self._unresolved(missing, origin)
            return None
        rg, app = args.get("ResourceGroupName"), args.get("Name")
        slot = args.get("Slot", args.get("SlotName"))
        if rg is None or app is None or (getter == "get-azwebappslot" and slot is None):
            raise self._refuse_getter(tokens, origin)
        rg, app = as_text(rg), as_text(app)
        if getter == "get-azwebappaccessrestrictionconfig":
            return [self._config_object(rg, app, as_text(slot) if slot else None)]
        name = f"{app}/{as_text(slot)}" if slot else app
        return [PSObject("PSSite", {"Name": name, "ResourceGroup": rg}, source_text(tokens))]

    def _refuse_getter(self, tokens: list[Token], origin: Origin) -> NotEvaluated:
        return NotEvaluated(
            f"`{source_text(tokens)}`: acl knows what it writes only for one web app (or slot) "
            "named by -ResourceGroupName and -Name (and -Slot), as values or variables",
            origin,
        )

    def _config_object(self, rg: str, app: str, slot: str | None) -> PSObject:
        """The PSAccessRestrictionConfig the cmdlets write (``-PassThru``)."""
        state = self.cmdlets.sites.current(app + (f"/{slot}" if slot else ""))
        return PSObject(
            "PSAccessRestrictionConfig",
            {
                "ResourceGroupName": rg,
                "WebAppName": app,
                "SlotName": slot,
                "ScmSiteUseMainSiteRestrictionConfig": bool(
                    state.settings.get("scmIpSecurityRestrictionsUseMain", False)
                ),
            },
            "the access restriction config",
        )

    def _pipeline(self, segments: list[list[Token]], origin: Origin) -> None:
        """A pipeline into a rule cmdlet, bound as PowerShell binds it: the cmdlets'
        -ResourceGroupName and -WebAppName take pipeline input by property name (nothing else
        does, -SlotName neither), so each object's ResourceGroupName and WebAppName
        properties bind them; an object with neither is an error of the cmdlet."""
        first = segments[0]
        assigned = [t for t in first if t[0] != "cast"]
        if len(assigned) >= 2 and assigned[0][0] == "var" and assigned[1][0] == "eq":
            name, props, source = assigned[0][1]
            if not props and name.lower() != "null":
                self.env.values[name] = Unknown(source)
            first = assigned[2:]
        objects = self._produce(first, origin)
        if objects is None:
            return
        for index, segment in enumerate(segments[1:], start=1):
            head = str(segment[0][1]).lower() if segment and segment[0][0] == "word" else ""
            if head not in CMDLETS:
                if head == "out-null" or not any(_touches(s) for s in segments[index + 1 :]):
                    return  # what comes after changes nothing acl reads
                raise NotEvaluated(
                    f"pipeline `... | {source_text(segment)} | ...` before an access restriction "
                    "cmdlet: acl does not evaluate what it passes on; give -ResourceGroupName "
                    "and -WebAppName (or -Name) and drop the pipe",
                    origin,
                )
            if not objects:
                self.options.warn(
                    f"{origin}: `{source_text(segments[index - 1])} | {source_text(segment)}`: "
                    f"the command before {CMDLET_NAMES[head]} writes no object (a rule cmdlet "
                    "writes one only with -PassThru), so it never runs and changes nothing"
                )
                return
            outputs: list[PSObject] = []
            for item in objects:
                out = self._piped(head, segment, item, origin)
                if out is not None:
                    outputs.append(out)
            objects = outputs

    def _produce(self, tokens: list[Token], origin: Origin) -> list[PSObject] | None:
        """The objects the first command of a pipeline writes."""
        head = str(tokens[0][1]).lower() if tokens and tokens[0][0] == "word" else ""
        if head in _GETTERS:
            return self._get_objects(tokens, origin)
        if head in CMDLETS:
            bound = bind(tokens[1:], head, self.env, origin)
            missing = unknowns(bound)
            if missing:
                self._unresolved(missing, origin)
                return None
            return [o for o in [self._written(head, bound, origin)] if o is not None]
        if len(tokens) == 1 and tokens[0][0] == "var":
            value = operand(tokens, self.env)
            values = value if isinstance(value, list) else [value]
            if all(isinstance(v, PSObject) for v in values):
                return list(values)
        raise NotEvaluated(
            f"pipeline input `{source_text(tokens)} | ...` into an access restriction cmdlet: "
            "acl does not know the objects it writes (it knows those of Get-AzWebApp, "
            "Get-AzWebAppSlot and Get-AzWebAppAccessRestrictionConfig for a named app, and of "
            "the rule cmdlets); give -ResourceGroupName and -WebAppName (or -Name) and drop "
            "the pipe",
            origin,
        )

    def _written(self, command: str, bound: dict[str, Any], origin: Origin) -> PSObject | None:
        """Run a rule cmdlet; the PSAccessRestrictionConfig it writes (Remove- always, Add-
        and Update- with -PassThru), or None."""
        if not self._run_cmdlet(command, bound, origin):
            return None
        if not command.startswith("remove") and bound.get("PassThru") in (None, False):
            return None
        config = bound.get("InputObject")
        if isinstance(config, PSObject):
            bound = {
                "ResourceGroupName": config.get("ResourceGroupName"),
                "Name": config.get("WebAppName"),
                "SlotName": config.get("SlotName"),
            }
        update = command.startswith("update")
        rg = as_text(bound["ResourceGroupName"])
        app = as_text(bound["Name" if update else "WebAppName"])
        slot = as_text(bound["SlotName"]) if bound.get("SlotName") else None
        return self._config_object(rg, app, slot)

    def _piped(
        self, command: str, segment: list[Token], item: PSObject, origin: Origin
    ) -> PSObject | None:
        what = CMDLET_NAMES[command]
        bound = bind(segment[1:], command, self.env, origin)
        missing = unknowns(bound)
        if missing:
            self._unresolved(missing, origin)
            return None
        update = command.startswith("update")
        if update and item.kind == "PSAccessRestrictionConfig":
            # Update-'s -InputObject takes the config object itself (ValueFromPipeline), in
            # its own parameter set: when no parameter of the other set is given
            values = (
                "ResourceGroupName",
                "Name",
                "SlotName",
                "ScmSiteUseMainSiteRestrictionConfig",
            )
            if "InputObject" not in bound and not any(p in bound for p in values):
                bound["InputObject"] = item
                return self._written(command, bound, origin)
        taken = False
        for param in ("ResourceGroupName", "Name" if update else "WebAppName"):
            value = item.get(param)
            if param not in bound and value is not None:
                bound[param] = value
                taken = True
        if not taken:
            # PowerShell fails this cmdlet ("the input object cannot be bound"), by our reading
            # of the cmdlets' parameter attributes; a script that pipes a web app into a rule
            # cmdlet means the rule to apply, so the load stops rather than drop it quietly
            raise NotEvaluated(
                f"{what} in a pipeline: the {item.kind} from `{item.source}` has no "
                "ResourceGroupName or WebAppName property, the only parameters the cmdlet takes "
                'from the pipeline, so Azure PowerShell fails with "the input object cannot be '
                'bound to any parameters" and adds no rule; acl refuses the script rather than '
                "leave the rule out: give -ResourceGroupName and -WebAppName and drop the pipe, "
                "or pipe Get-AzWebAppAccessRestrictionConfig",
                origin,
            )
            return None
        slot = item.get("SlotName")
        if slot and "SlotName" not in bound:
            self.options.warn(
                f"{origin}: {what} does not take -SlotName from the pipeline: the piped "
                f"config of slot {quote(as_text(slot))} binds only -ResourceGroupName and "
                "-WebAppName, so the cmdlet changes the production site (give -SlotName)"
            )
        return self._written(command, bound, origin)

    def _unresolved(self, names: list[str], origin: Origin) -> None:
        names = list(dict.fromkeys(names))
        message = (
            f"{', '.join(names)} cannot be known without running the script: give "
            "--var NAME=VALUE (or assign it in the script)"
        )
        if self.options.unresolved == "skip-rule":
            self.options.warn(f"{origin}: command skipped (--unresolved=skip-rule): {message}")
            return
        raise ConfigError(message, origin)


_GETTERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # cmdlet -> (the parameters acl reads, the positional ones)
    "get-azwebapp": (("ResourceGroupName", "Name"), ("ResourceGroupName", "Name")),
    "get-azwebappslot": (
        ("ResourceGroupName", "Name", "Slot"),
        ("ResourceGroupName", "Name", "Slot"),
    ),
    "get-azwebappaccessrestrictionconfig": (
        ("ResourceGroupName", "Name", "SlotName"),
        ("ResourceGroupName", "Name"),
    ),
}


def _rule_line(statements: list[tuple[int, list[Token]]]) -> int | None:
    for line, tokens in statements:
        for token in tokens:
            if token[0] == "word" and (
                str(token[1]).lower() in CMDLETS or str(token[1]).lower() == "access-restriction"
            ):
                return line
    return None


def _run_powershell(document: Any, options: LoadOptions) -> ScriptSites:
    """The sites a PowerShell script changes, after running every statement."""
    if not isinstance(document, str):
        raise ConfigError("expected the text of a PowerShell script", Origin(file=options.source))
    try:
        statements = Lexer(document, options.source).statements()
    except ConfigError as exc:
        raise ConfigError(
            exc.message, replace(exc.origin or Origin(), file=options.source)
        ) from None
    sites = ScriptSites(options)
    runner = _Runner(
        options,
        options.source,
        Vars(options.variables),
        Cmdlets(sites, options, options.source),
        Az(sites, options, options.source),
    )
    try:
        runner.run(statements)
    except LimitError as exc:
        if exc.line is None:
            exc.file, exc.line = options.source, runner.line
        raise
    return sites


@bounded
def load_powershell(document: Any, options: LoadOptions) -> Site:
    """The site a PowerShell script leaves behind (``document`` is the script's text)."""
    return _run_powershell(document, options).site("PowerShell script")


@bounded
def powershell_site_names(document: Any, options: LoadOptions) -> tuple[str, ...]:
    """The names of the sites a PowerShell script changes (``app``, ``app/staging`` for a
    slot), in the order it first changes them: the names ``options.site`` chooses from
    (``options.site`` itself is not read)."""
    return _run_powershell(document, options).site_names("PowerShell script")


@bounded
def load_powershell_sites(document: Any, options: LoadOptions) -> list[tuple[str | None, Site]]:
    """Every site a PowerShell script changes, by name, from one run of the script
    (``options.site`` is not read; ``options.base_site``, unnamed, when it changes none)."""
    return _run_powershell(document, options).every_site("PowerShell script")

"""The az CLI's arguments, parsed as az parses them: az is built on knack, whose
``CLICommandParser`` is an :class:`argparse.ArgumentParser` (``allow_abbrev`` left at its
default, so a long option may be shortened to any prefix that names one option only), one
parser per command. So acl builds one :class:`argparse.ArgumentParser` per az command it
reads, with the options az declares for it (knack's global ``--output``, ``--query``,
``--only-show-errors``, ``--verbose``, ``--debug``, ``--help`` and ``--subscription`` too),
and turns argparse's errors into the loader's located :class:`ConfigError`.

az's own argument types are kept: ``get_three_state_flag()`` options (``--scm-site``) are
bare, or take ``true``/``false`` in any case (nothing else); ``nargs='+'`` options take every
word up to the next option (``--ids a b``, ``--http-headers a=1 b=2``, and, as acl has always
read them, a repeated one adds to the list); any other option takes one word, and a repeated
one keeps its last value; ``--option=value`` and ``-p5`` are one word.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from ...errors import ConfigError, Origin, quote
from .common import RESOURCE_ID, NotEvaluated

__all__ = [
    "ACCESS_RESTRICTION_VERBS",
    "GenericUpdate",
    "enum_choice",
    "parse_access_restriction",
    "parse_config_set",
    "parse_generic_update",
    "targets",
]

ACCESS_RESTRICTION_VERBS = ("add", "remove", "set", "show")


class _Refused(Exception):
    """argparse's error, raised instead of printing usage and exiting."""


class _Parser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` that raises instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise _Refused(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise _Refused(message or f"exit status {status}")


class _Flag(argparse.Action):
    """knack's ``get_three_state_flag()``: bare is true; or ``true``/``false``, any case."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values is None or str(values).lower() == "true")


def _flag_word(text: str) -> str:
    if text.lower() not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"invalid value {quote(text)}: expected true or false")
    return text


class _Edit(argparse.Action):
    """azure-cli's ``OrderedArgsAction`` for ``--set``/``--add``/``--remove``: the edits in the
    order given."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        edits = list(getattr(namespace, "edits", None) or [])
        edits.append((self.const, list(values)))
        namespace.edits = edits


def _parser(prog: str, allow_abbrev: bool = True) -> _Parser:
    parser = _Parser(prog=prog, add_help=False, allow_abbrev=allow_abbrev, exit_on_error=False)
    # knack's global arguments and azure-cli's --subscription
    parser.add_argument("--help", "-h", dest="--help", action="store_true", default=None)
    parser.add_argument("--output", "-o", dest="--output")
    parser.add_argument("--query", dest="--query")
    parser.add_argument(
        "--only-show-errors", dest="--only-show-errors", action="store_true", default=None
    )
    parser.add_argument("--verbose", dest="--verbose", action="store_true", default=None)
    parser.add_argument("--debug", dest="--debug", action="store_true", default=None)
    parser.add_argument("--subscription", dest="--subscription")
    return parser


def _value(parser: argparse.ArgumentParser, *names: str) -> None:
    parser.add_argument(*names, dest=names[0])


def _many(parser: argparse.ArgumentParser, *names: str) -> None:
    parser.add_argument(*names, dest=names[0], nargs="+", action="extend")


def _flag(parser: argparse.ArgumentParser, *names: str) -> None:
    parser.add_argument(*names, dest=names[0], nargs="?", type=_flag_word, action=_Flag)


def _site(parser: argparse.ArgumentParser) -> None:
    _value(parser, "--resource-group", "-g")
    _value(parser, "--name", "-n")
    _value(parser, "--slot", "-s")
    _many(parser, "--ids")


def _access_restriction(group: str, verb: str) -> _Parser:
    """``az webapp|functionapp config access-restriction VERB``, as azure-cli's appservice
    ``_params.py`` declares it."""
    parser = _parser(f"az {group} config access-restriction {verb}")
    _site(parser)
    if verb in ("add", "remove"):
        _value(parser, "--rule-name", "-r")
        _value(parser, "--action")
        _value(parser, "--ip-address")
        _value(parser, "--service-tag")
        _value(parser, "--vnet-name")
        _value(parser, "--subnet")
        _value(parser, "--vnet-resource-group")
        _flag(parser, "--scm-site")
        _flag(parser, "--skip-service-tag-validation")
    if verb == "add":
        _value(parser, "--priority", "-p")
        _value(parser, "--description")
        _flag(parser, "--ignore-missing-endpoint", "-i")
        _many(parser, "--http-headers", "--http-header")
    if verb == "set":
        _flag(parser, "--use-same-restrictions-for-scm-site")
        _value(parser, "--default-action")
        _value(parser, "--scm-default-action")
    return parser


_GENERIC_READ = ("--set", "--add", "--remove", "--force-string")


def _generic_update(command: str) -> _Parser:
    """A generic update (azure-cli's ``arm.py``): ``--set``/``--add``/``--remove`` in order,
    ``--force-string``; ``az resource update`` with its resource arguments. Options acl does
    not read are let through (``az webapp update`` has many), so abbreviations are not
    expanded here: az expands them against options acl does not list."""
    parser = _parser(command, allow_abbrev=False)
    _site(parser)
    for name in ("--set", "--add", "--remove"):
        parser.add_argument(name, dest="edits", nargs="+", action=_Edit, const=name)
    parser.add_argument("--force-string", dest="--force-string", action="store_true", default=None)
    if command == "az resource update":
        for name in ("--resource-type", "--namespace", "--parent", "--api-version"):
            _value(parser, name)
    return parser


def _config_set(group: str) -> _Parser:
    parser = _parser(f"az {group} config set", allow_abbrev=False)
    _site(parser)
    _many(parser, "--generic-configurations")
    return parser


_PARSERS: dict[str, _Parser] = {}


def _cached(key: str, build: Any) -> _Parser:
    parser = _PARSERS.get(key)
    if parser is None:
        parser = _PARSERS[key] = build()
    return parser


def _arguments(namespace: argparse.Namespace) -> dict[str, Any]:
    return {key: value for key, value in vars(namespace).items() if value is not None}


def _translate(message: str, what: str, origin: Origin) -> ConfigError:
    """argparse's message as the loader's: the command, the argument, what to do."""
    if message.startswith("unrecognized arguments: "):
        word = message.removeprefix("unrecognized arguments: ").split(" ")[0]
        return ConfigError(
            f"{what}: unrecognized argument {quote(word)} (az refuses it: remove it, or fix its "
            "spelling)",
            origin,
        )
    if message.startswith("ambiguous option: "):
        return ConfigError(
            f"{what}: {message} (az refuses an abbreviation that "
            "names more than one option: write the option in full)",
            origin,
        )
    return ConfigError(f"{what}: {message}", origin)


def _parse(
    parser: _Parser, words: Sequence[str], what: str, origin: Origin, known: bool
) -> tuple[dict[str, Any], list[str]]:
    try:
        if known:
            namespace, extra = parser.parse_known_args(list(words))
        else:
            namespace, extra = parser.parse_args(list(words)), []
    except _Refused as exc:
        raise _translate(str(exc), what, origin) from None
    except argparse.ArgumentError as exc:
        raise _translate(str(exc), what, origin) from None
    return _arguments(namespace), extra


def parse_access_restriction(
    group: str, verb: str, words: Sequence[str], what: str, origin: Origin
) -> dict[str, Any]:
    """The arguments of ``az GROUP config access-restriction VERB WORDS...``, by their long
    option (``--resource-group``, not ``-g``)."""
    parser = _cached(f"{group} {verb}", lambda: _access_restriction(group, verb))
    return _parse(parser, words, what, origin, known=False)[0]


class GenericUpdate:
    """The arguments of a generic update: ``edits`` in order, the rest by long option."""

    __slots__ = ("args", "edits")

    def __init__(self, args: dict[str, Any], edits: list[tuple[str, list[str]]]) -> None:
        self.args = args
        self.edits = edits


def _no_abbreviations(extra: Sequence[str], read: Sequence[str], what: str, origin: Origin) -> None:
    """Refuse a shortened option that could be one acl reads: az expands abbreviations against
    every option of the command, which acl does not list, so it cannot tell what az takes."""
    for word in extra:
        option = word.partition("=")[0]
        if not option.startswith("--") or len(option) < 3:
            continue
        hits = [name for name in read if name.startswith(option) and name != option]
        if hits:
            raise NotEvaluated(
                f"{what}: {quote(option)} is an abbreviation (of {', '.join(hits)}?): az expands "
                "it against every option of the command, which acl does not evaluate; write "
                "the option in full",
                origin,
            )


def parse_generic_update(command: str, words: Sequence[str], origin: Origin) -> GenericUpdate:
    """``az webapp|functionapp|resource update WORDS...``; options acl does not read are
    skipped."""
    parser = _cached(command, lambda: _generic_update(command))
    args, extra = _parse(parser, words, command, origin, known=True)
    read = [*_GENERIC_READ, "--resource-group", "--name", "--slot", "--ids", "--subscription"]
    if command == "az resource update":
        read += ["--resource-type", "--namespace", "--parent", "--api-version"]
    _no_abbreviations(extra, read, command, origin)
    edits = args.pop("edits", [])
    return GenericUpdate(args, edits)


def parse_config_set(group: str, words: Sequence[str], origin: Origin) -> list[str]:
    """The ``--generic-configurations`` values of ``az GROUP config set WORDS...``."""
    what = f"az {group} config set"
    parser = _cached(what, lambda: _config_set(group))
    args, extra = _parse(parser, words, what, origin, known=True)
    _no_abbreviations(extra, ["--generic-configurations"], what, origin)
    return list(args.get("--generic-configurations", []))


def enum_choice(value: str, choices: Sequence[str], name: str, what: str, origin: Origin) -> str:
    """azure-cli's ``get_enum_type``: a choice in any case, as the choice is spelled."""
    for choice in choices:
        if value.lower() == choice.lower():
            return choice
    raise ConfigError(
        f"{what}: argument {name}: invalid value {quote(value)}: expected one of {', '.join(choices)}",
        origin,
    )


def targets(
    args: Mapping[str, Any], what: str, origin: Origin
) -> list[tuple[str, str | None, str | None]]:
    """(site name, resource group, subscription) for each app the command changes."""
    if args.get("--ids"):
        out = []
        for resource in args["--ids"]:
            match = RESOURCE_ID.match(resource)
            if match is None:
                raise ConfigError(
                    f"{what}: --ids {quote(resource)} is not a web app resource id", origin
                )
            name = match.group("name") + (f"/{match.group('slot')}" if match.group("slot") else "")
            out.append((name, match.group("rg"), match.group("sub")))
        return out
    missing = [opt for opt in ("--resource-group", "--name") if not args.get(opt)]
    if missing:
        raise ConfigError(
            f"{what}: the following arguments are required: "
            + ", ".join(
                {"--resource-group": "--resource-group/-g", "--name": "--name/-n"}[m]
                for m in missing
            ),
            origin,
        )
    name = args["--name"] + (f"/{args['--slot']}" if args.get("--slot") else "")
    return [(name, args["--resource-group"], args.get("--subscription"))]

"""The ``acl serve`` command: the decision service for gateways (see :mod:`acl.gateway.service`).

``register(commands, add_rules_options, load_site)`` adds the subcommand to the ``acl``
parser: ``commands`` is its subparsers action, ``add_rules_options(parser)`` adds the options
that load a site, and ``load_site(args)`` loads it (again on each reload, so every loading
option holds).
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from collections.abc import Callable
from typing import Any

from ..addresses import parse_address, parse_prefix
from ..errors import AddressError
from ..model import Site

__all__ = ["parse_listen", "register"]


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT`` to ``(host, port)``; port 0 picks a free one.

    >>> parse_listen("127.0.0.1:9180"), parse_listen("[::1]:0")
    (('127.0.0.1', 9180), ('::1', 0))
    """
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not HOST:PORT (like 127.0.0.1:9180 or [::1]:9180)"
        )
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise argparse.ArgumentTypeError(f"{text!r}: put an IPv6 address in brackets: [::1]:9180")
    try:
        parse_address(host)
    except AddressError:
        if host != "localhost":
            raise argparse.ArgumentTypeError(
                f"{text!r}: the host must be an IP address (or localhost)"
            ) from None
        host = "127.0.0.1"
    return host, int(port_text)


def _cidr(text: str) -> str:
    try:
        parse_prefix(text.strip(), what="trusted proxy")
    except AddressError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None
    return text.strip()


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _envoy_prefix(text: str) -> str:
    if not text.startswith("/") or text.rstrip("/") in ("", "/healthz", "/metrics", "/-", "/auth"):
        raise argparse.ArgumentTypeError(
            f"{text!r} must be a path of its own, like /check (not /, /auth, /healthz, "
            "/metrics or /-)"
        )
    return text


def read_token_file(path: str) -> str:
    """The reload token in ``path`` (surrounding whitespace dropped).

    Raises:
        ValueError: the file cannot be read, or holds no printable token.
    """
    try:
        with open(path, encoding="utf-8") as file:
            token = file.read(4097).strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"cannot read the reload token file {path}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    if not token or len(token) > 4096 or not token.isprintable():
        raise ValueError(
            f"the reload token file {path} must hold one line of printable text (at most 4096 "
            "characters)"
        )
    return token


def register(
    commands: Any,
    add_rules_options: Callable[[argparse.ArgumentParser], None],
    load_site: Callable[[argparse.Namespace], Site],
) -> None:
    """Add ``acl serve`` to the ``acl`` parser's subcommands."""
    parser = commands.add_parser(
        "serve",
        help="run the decision service for gateways (nginx auth_request, Envoy ext_authz)",
        description="Answer a gateway's questions about each request as the App Service "
        "front end would decide it: 200 to allow, 403 to deny. Endpoints: /auth (nginx "
        "auth_request), the --envoy-prefix paths in envoy mode (ext_authz HTTP service), "
        "/healthz, /metrics (Prometheus), POST /-/reload (loopback only, with the header "
        "X-Acl-Reload). SIGHUP reopens the decision log and reloads the rules; a file that "
        "does not load keeps the old rules. See docs/gateway.md.",
    )
    add_rules_options(parser)
    service = parser.add_argument_group("the service")
    service.add_argument(
        "--listen",
        type=parse_listen,
        default=("127.0.0.1", 9180),
        metavar="HOST:PORT",
        help="where to listen (default 127.0.0.1:9180; port 0 picks a free one)",
    )
    service.add_argument(
        "--grpc-listen",
        type=parse_listen,
        metavar="HOST:PORT",
        help="also answer Envoy's ext_authz gRPC checks (envoy.service.auth.v3.Authorization)"
        " here; needs pip install 'acl[grpc]'",
    )
    service.add_argument(
        "--mode",
        choices=["nginx", "envoy"],
        default="nginx",
        help="nginx: auth_request at /auth, client from X-Real-IP; envoy: ext_authz HTTP "
        "checks under --envoy-prefix, client from x-envoy-external-address or the last "
        "X-Forwarded-For hop (default nginx)",
    )
    service.add_argument(
        "--envoy-prefix",
        default="/check",
        type=_envoy_prefix,
        metavar="PATH",
        help="envoy mode: the path prefix of check requests, Envoy's path_prefix (default /check)",
    )
    client = parser.add_argument_group("the client address")
    client.add_argument(
        "--client-header",
        metavar="NAME",
        help="the header the gateway puts the client address in (default: X-Real-IP; envoy "
        "mode: X-Forwarded-For)",
    )
    client.add_argument(
        "--trusted-proxy",
        action="append",
        type=_cidr,
        metavar="CIDR",
        help="a peer whose client header is believed (repeatable; default 127.0.0.0/8 and "
        "::1). Checks from other peers are denied",
    )
    client.add_argument(
        "--trusted-hops",
        type=_positive_int,
        metavar="N",
        help="take the N-th address from the right of the client header (default: envoy 1; "
        "nginx: step left while the address is a trusted proxy)",
    )
    ops = parser.add_argument_group("reload and logs")
    ops.add_argument(
        "--reload-interval",
        type=_seconds,
        metavar="SECONDS",
        help="check the rules file for changes every SECONDS and reload it",
    )
    ops.add_argument(
        "--decision-log",
        metavar="FILE",
        help="append one AppServiceIPSecAuditLogs JSON record per decision ('-': stdout)",
    )
    ops.add_argument(
        "--reload-token-file",
        metavar="FILE",
        help="POST /-/reload must carry this file's token in X-Acl-Reload (default: the "
        "header must be 1)",
    )
    ops.add_argument("--access-log", action="store_true", help="uvicorn's access log on stderr")
    ops.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default="info",
        help="log level (default info: start, reloads, errors)",
    )
    ops.add_argument(
        "--keep-alive",
        type=_seconds,
        default=75.0,
        metavar="SECONDS",
        help="idle keep-alive timeout; keep it above the gateway's (default 75)",
    )
    parser.set_defaults(handler=functools.partial(_cmd_serve, load_site=load_site))


def _cmd_serve(args: argparse.Namespace, *, load_site: Callable[[argparse.Namespace], Site]) -> int:
    from .live import LiveRules
    from .service import DEFAULT_TRUSTED_PROXIES, DecisionService, run

    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="acl serve: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        token = read_token_file(args.reload_token_file) if args.reload_token_file else None
    except ValueError as exc:
        print(f"acl: error: {exc}", file=sys.stderr)
        return 2
    rules = LiveRules(
        args.rules, loader=functools.partial(load_site, args), reload_interval=args.reload_interval
    )
    try:
        service = DecisionService(
            rules,
            mode=args.mode,
            client_header=args.client_header,
            trusted_proxies=args.trusted_proxy or DEFAULT_TRUSTED_PROXIES,
            trusted_hops=args.trusted_hops,
            envoy_prefix=args.envoy_prefix,
            decision_log=args.decision_log,
            reload_token=token,
        )
    except (OSError, ValueError) as exc:  # a decision log that cannot be opened...
        rules.close()
        message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"acl: error: {message}", file=sys.stderr)
        return 2
    host, port = args.listen
    snapshot = rules.current
    if args.grpc_listen is not None and _start_grpc(service, *args.grpc_listen) is None:
        return 2

    def announce(url: str) -> None:
        print(
            f"acl serve: listening on {url} ({args.mode} mode; rules {args.rules}, "
            f"version {snapshot.version})",
            file=sys.stderr,
            flush=True,
        )

    try:
        run(
            service,
            host,
            port,
            log_level=args.log_level,
            access_log=args.access_log,
            keep_alive=args.keep_alive,
            announce=announce,
        )
    except (OSError, ImportError) as exc:  # cannot listen, no uvicorn: one line, exit 2
        print(f"acl: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _start_grpc(service: Any, host: str, port: int) -> Any:
    """Start the gRPC ext_authz server beside the HTTP one (stopped when the service closes);
    None (the error printed) when it cannot start."""
    try:
        from .grpc import GrpcAuthorization, GrpcServer
    except ImportError as exc:
        print(
            f"acl: error: --grpc-listen needs grpcio and xds-protos ({exc.name or exc} is "
            "missing): pip install 'acl[grpc]'",
            file=sys.stderr,
        )
        return None
    server = GrpcServer(GrpcAuthorization(service), host, port)
    try:
        server.start()
    except OSError as exc:
        print(f"acl: error: {exc}", file=sys.stderr)
        return None
    service.on_close.append(server.stop)
    print(f"acl serve: gRPC ext_authz listening on {server.address}", file=sys.stderr, flush=True)
    return server

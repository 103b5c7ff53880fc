"""What the ASGI and WSGI middleware share: the rules, the proxy trust, the decision log, and
how a request denied without a decision is logged."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from ..engine import Engine
from .decisionlog import as_decision_log
from .live import LiveRules, RulesInput, live_rules
from .protocol import Refused
from .trust import ProxyTrust, Rewritten, Unresolved, warn_rewritten

__all__ = ["Guard"]

logger = logging.getLogger("acl.middleware")

App = TypeVar("App")


class Guard(Generic[App]):
    """The base of :class:`~acl.gateway.AclMiddleware` and
    :class:`~acl.gateway.AclWSGIMiddleware`: ``app`` behind ``rules`` (the arguments are
    documented there)."""

    def __init__(
        self,
        app: App,
        rules: RulesInput | LiveRules,
        *,
        trusted_proxies: Iterable[str] | None = None,
        trusted_hops: int | None = None,
        forwarded_header: str = "X-Forwarded-For",
        reload_interval: float | None = None,
        decision_log: Any = None,
        **load_options: Any,
    ) -> None:
        self.rules = live_rules(rules, reload_interval=reload_interval, **load_options)
        trust = ProxyTrust(
            trusted_proxies=trusted_proxies, trusted_hops=trusted_hops, header=forwarded_header
        )
        self.trust: ProxyTrust | None = trust if trust.enabled else None
        self.log = as_decision_log(decision_log)
        self.app = app

    @property
    def engine(self) -> Engine:
        """The engine deciding requests now."""
        return self.rules.engine

    def reload(self) -> bool:
        """Reload the rules file; False when it did not load (the old rules stay)."""
        return self.rules.reload()

    def close(self) -> None:
        """Stop the file watcher and close the decision log."""
        self.rules.close()
        if self.log is not None:
            self.log.close()

    @staticmethod
    def failure(exc: Exception, peer: Any) -> str:
        """Log why a request is denied (or refused) without a decision and return the reason
        for the decision log: the client could not be told (``peer`` is what the server
        reported), the request was refused, or an error (logged with its traceback)."""
        if isinstance(exc, Rewritten):
            warn_rewritten()
            return "client address rewritten by the server"
        if isinstance(exc, Unresolved):
            logger.debug("denied: the client address cannot be told (peer %r)", peer)
            return "client address unknown"
        if isinstance(exc, Refused):
            logger.info("refused (%s): %s", exc.status, exc.message)
            return exc.message
        logger.error("deciding a request failed; it is denied (fail closed)", exc_info=exc)
        return "internal error"

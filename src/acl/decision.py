"""The decision for one request.

This module is plain Python, and is also compiled by Cython (``decision.pxd`` declares its
attributes) so that the kernel can create a decision in a few nanoseconds from a free
list. Both forms behave the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

try:
    import cython
except ImportError:  # Cython builds the kernel; it is not needed to run this module
    from . import _cython_shim as cython

from .addresses import format_address, parse_address
from .model import Action, Collection, Outcome, Request, Site, TraceStep

if TYPE_CHECKING:
    from .model import Rule

__all__ = ["FORBIDDEN_REASON", "FORBIDDEN_STATUS", "Decision"]

FORBIDDEN_STATUS = 403
FORBIDDEN_REASON = "Ip Forbidden"


@cython.final
@cython.no_gc  # holds no reference that can lead back to it: no cycle to collect
@cython.freelist(256)
@cython.cclass
class Decision:
    """The outcome for one request.

    ``reason`` is ``rule`` when ``rule`` decided, else ``default`` (the unmatched-rule
    action), ``private-endpoint``, ``public-access-disabled`` or
    ``service-endpoint-blocked``. ``trace`` lists every rule
    considered, in order, when it was kept; :meth:`explain` renders it, computing it with the
    reference evaluator when it was not kept.

    Args:
        outcome: what was decided (shared by all requests decided alike).
        ip: the request's source address as given.
        trace: the explanation trace, when it was kept.
        site: the site, so that :meth:`explain` can compute the trace later.
        request: the :class:`Request` (or only its Host header, or ``(host, headers)``) for
            the same purpose.
    """

    if not cython.compiled:
        __slots__ = ("_request", "_site", "ip", "outcome", "trace")

    def __init__(
        self,
        outcome: Outcome,
        ip: str,
        trace: tuple[TraceStep, ...] | None = None,
        site: Site | None = None,
        request: Request | str | tuple[str | None, Any] | None = None,
    ) -> None:
        if cython.compiled:
            self.outcome = outcome
            self.ip = ip
            self.trace = trace
            self._site = site
            self._request = request
        else:
            setter = object.__setattr__
            setter(self, "outcome", outcome)
            setter(self, "ip", ip)
            setter(self, "trace", trace)
            setter(self, "_site", site)
            setter(self, "_request", request)

    if not cython.compiled:

        def __setattr__(self, name: str, value: Any) -> None:
            raise AttributeError(f"Decision is immutable: cannot set {name!r}")

    @property
    def action(self) -> Action:
        return self.outcome.action

    @property
    def collection(self) -> Collection:
        return self.outcome.collection

    @property
    def reason(self) -> str:
        return self.outcome.reason

    @property
    def rule(self) -> Rule | None:
        return self.outcome.rule

    @property
    def detail(self) -> str:
        return self.outcome.detail

    @property
    def address(self) -> str:
        """The source address in canonical form (IPv4-mapped addresses as IPv4)."""
        ip: str = self.ip
        if ":" not in ip:
            return ip
        return format_address(*parse_address(ip))

    @property
    def allowed(self) -> bool:
        return self.outcome.action is Action.ALLOW

    @property
    def status(self) -> int:
        """403 on deny; 200 on allow, meaning the request is passed on to the app."""
        return 200 if self.allowed else FORBIDDEN_STATUS

    @property
    def status_text(self) -> str:
        return "OK" if self.allowed else FORBIDDEN_REASON

    @property
    def forbidden_ip(self) -> str | None:
        """The ``x-ms-forbidden-ip`` header value of a deny (IPv6 in brackets), else None."""
        if self.allowed:
            return None
        address = self.address
        return f"[{address}]" if ":" in address else address

    @property
    def response_headers(self) -> dict[str, str]:
        """The headers the front end sets on a deny (empty on allow)."""
        if self.allowed:
            return {}
        return {"Content-Type": "text/html", "x-ms-forbidden-ip": self.forbidden_ip or ""}

    @property
    def decided_by(self) -> str:
        """The deciding rule's name (or ``#position``), or the reason word."""
        rule = self.rule
        if rule is None:
            return self.reason
        return rule.name if rule.name is not None else f"#{rule.position}"

    def with_trace(self) -> Decision:
        """This decision with its explanation trace (computed now if it was not kept)."""
        if self.trace is not None or self._site is None:
            return self
        from .reference import evaluate

        request = self._request
        if isinstance(request, tuple):
            request = Request(self.ip, host=request[0], headers=request[1])
        elif not isinstance(request, Request):
            request = Request(self.ip, host=request)
        return evaluate(self._site, request)

    def same_as(self, other: Decision) -> bool:
        """The same outcome for the same address (traces aside)."""
        return bool(self.outcome == other.outcome and self.address == other.address)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Decision) and self.same_as(other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((self.action, self.reason, self.collection, self.address))

    def __repr__(self) -> str:
        return f"<Decision {self.summary()}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Decision, (self.outcome, self.ip, self.trace, self._site, self._request))

    def summary(self) -> str:
        """One line: action, status, collection and what decided."""
        head = f"{self.action.value.upper()} {self.status} {self.status_text}"
        rule = self.rule
        if rule is not None:
            what = f"rule {rule.label} matched"
        else:
            what = f"{self.reason}: {self.detail}" if self.detail else self.reason
        return f"{head} [{self.collection}] {self.address}: {what}"

    def explain(self) -> str:
        """A readable account: the decision, then every rule considered and why."""
        full = self.with_trace()
        lines = [full.summary()]
        trace = full.trace
        if trace is not None:
            if not trace and full.reason in (
                "private-endpoint",
                "public-access-disabled",
                "service-endpoint-blocked",
            ):
                lines.append("  no rule was evaluated")
            for step in trace:
                lines.append(f"  {step}")
            if full.reason == "default":
                lines.append(f"  no rule matched: {full.detail}")
        return "\n".join(lines)

    def to_dict(self, *, trace: bool = False) -> dict[str, Any]:
        """The documented, stable JSON shape of a decision (see docs/cli.md)."""
        rule = self.rule
        out: dict[str, Any] = {
            "action": self.action.word,
            "status": self.status,
            "reason": self.reason,
            "collection": self.collection,
            "address": self.address,
            "rule": rule.to_dict() if rule is not None else None,
            "detail": self.detail,
            "forbidden_ip": self.forbidden_ip,
        }
        if trace:
            out["trace"] = [
                {"rule": step.rule.to_dict(), "outcome": step.outcome, "detail": step.detail}
                for step in self.with_trace().trace or ()
            ]
        return out

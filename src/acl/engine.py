"""The engine: what applications call to decide requests.

:func:`acl.compile` turns a :class:`~acl.model.Site` into an :class:`Engine`. The engine's
answers are, by contract, the reference evaluator's answers (:mod:`acl.reference`).
"""

from __future__ import annotations

from .model import Decision, HeadersInput, Request, Site
from .reference import evaluate

__all__ = ["Engine"]


class Engine:
    """Decides requests for one site. Immutable; safe to share between threads.

    >>> import acl
    >>> engine = acl.compile(acl.loads('{"ipSecurityRestrictionsDefaultAction": "Deny"}'))
    >>> engine.decide("192.0.2.1").status
    403
    """

    __slots__ = ("_site",)

    def __init__(self, site: Site) -> None:
        self._site = site

    @property
    def site(self) -> Site:
        return self._site

    def decide(
        self,
        request: Request | str,
        *,
        host: str | None = None,
        headers: HeadersInput = None,
        subnet: str | None = None,
        service_endpoint: bool = False,
        private_endpoint: bool = False,
        explain: bool = False,
    ) -> Decision:
        """Decide one request, given as a :class:`Request` or as its source address.

        The explanation trace is always available through ``Decision.explain()``;
        ``explain=True`` computes it now.
        """
        if not isinstance(request, Request):
            request = Request(
                request,
                host=host,
                headers=headers,
                subnet=subnet,
                service_endpoint=service_endpoint,
                private_endpoint=private_endpoint,
            )
        return evaluate(self._site, request)

"""The `RequestContext` use cases record: the client address, user agent and request id."""

from __future__ import annotations

from fastapi import Request

from application.request_context import RequestContext
from domain.audit import MAX_USER_AGENT_LENGTH
from entrypoints.http.client_ip import ClientAddressResolver


def request_context_of(request: Request) -> RequestContext:
    """The client address as the rate limiter resolves it (in full, not grouped), the
    `User-Agent` cut to what an event keeps, and the `X-Request-ID` the middleware settled on."""
    resolver: ClientAddressResolver = request.app.state.client_addresses
    user_agent = request.headers.get("user-agent")
    return RequestContext(
        client_ip=resolver.address_of(request.scope),
        user_agent=user_agent[:MAX_USER_AGENT_LENGTH] if user_agent else None,
        request_id=getattr(request.state, "request_id", None),
    )

"""What a request tells the application about its client, as a plain `RequestContext`."""

from __future__ import annotations

from fastapi import Request

from application.request_context import RequestContext
from domain.sessions import MAX_USER_AGENT_LENGTH
from entrypoints.http.client_ip import ClientAddressResolver


def request_context_of(request: Request) -> RequestContext:
    """The client's full address as the rate limiter resolves it (not its /64 group), its
    `User-Agent` cut to a storable length, and the request id."""
    resolver: ClientAddressResolver = request.app.state.client_addresses
    client = request.scope.get("client")
    address = resolver.resolve(
        client[0] if client else None, request.headers.getlist("x-forwarded-for")
    )
    user_agent = request.headers.get("user-agent") or None
    return RequestContext(
        client_ip=str(address) if address is not None else None,
        user_agent=user_agent[:MAX_USER_AGENT_LENGTH] if user_agent else None,
        request_id=getattr(request.state, "request_id", None),
    )

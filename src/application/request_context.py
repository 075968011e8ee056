"""What the edge knows about the request behind a change, for the records the change leaves."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RequestContext:
    """The client address (as the rate limiter resolves it), user agent and request id.

    Recorded on login sessions and audit events; every field is None for work nobody asked
    for over HTTP (a CLI command, a scheduled purge).
    """

    client_ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


NO_REQUEST = RequestContext()
"""The context of automatic work: no client, no request."""

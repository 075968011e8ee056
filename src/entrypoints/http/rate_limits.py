"""Rate limits at the HTTP edge: the dependencies that spend them, and the headers reporting them.

A limited route spends its policies in a dependency (see `OPERATION_POLICIES` for which),
then makes the request checks (`request_checks.check_request`), and leaves the decision in the
request state; the edge middleware writes the `RateLimit` and
`RateLimit-Policy` headers from it (`add_rate_limit_headers`) on whatever response the request
ends with, 401 and 422 included. Routes without such a dependency (health, metrics, docs,
error pages) get none.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import Message

from application.errors import StorageUnavailable
from application.ports.rate_limiting import RateLimitStatus
from application.principal import AnyPrincipal, Principal, refuse_clients
from application.rate_limiting import (
    Caller,
    Operation,
    RateLimitDecision,
    Throttle,
    operation_for,
)
from entrypoints.container import Container
from entrypoints.http.media_types import FORM, media_type_of
from entrypoints.http.problems import ProblemError
from entrypoints.http.provided import provided_to
from entrypoints.http.request_checks import check_request

STATE_KEY = "rate_limit"
_P = TypeVar("_P", bound=AnyPrincipal)


def reset_seconds(status: RateLimitStatus) -> int:
    """`t`: whole seconds until the window moves on, rounded up; at least 1 when exhausted."""
    seconds = max(0, math.ceil(status.reset_after))
    return max(1, seconds) if status.exhausted else seconds


def retry_after(status: RateLimitStatus) -> int:
    """`Retry-After` for a refusal: at least 1 second, never earlier than its `t`."""
    return max(1, reset_seconds(status))


def policy_header(statuses: Sequence[RateLimitStatus]) -> str:
    """`RateLimit-Policy`, a structured-field list: `"user";q=600;w=60`."""
    return ", ".join(
        f'"{s.policy.name}";q={s.policy.limit};w={s.policy.window_seconds}' for s in statuses
    )


def status_header(statuses: Sequence[RateLimitStatus]) -> str:
    """`RateLimit`, a structured-field list: `"user";r=599;t=60`."""
    return ", ".join(f'"{s.policy.name}";r={s.remaining};t={reset_seconds(s)}' for s in statuses)


def add_rate_limit_headers(message: Message, state: Mapping[str, Any]) -> None:
    """Write the request's decision (if a dependency took one) into its response start."""
    decision = state.get(STATE_KEY)
    if isinstance(decision, RateLimitDecision) and decision.statuses:
        headers = MutableHeaders(scope=message)
        headers["RateLimit-Policy"] = policy_header(decision.statuses)
        headers["RateLimit"] = status_header(decision.statuses)


async def enforce(request: Request, operation: Operation, caller: Caller) -> None:
    """Spend what `operation` costs; 429 `rate_limited` when a policy refuses.

    A second spend in one request (the account's limit, once the MFA grant knows the account)
    joins the first in the headers.

    Does nothing when rate limiting is off. The decision stays in the request state for the
    headers, so a refusal carries them too.
    """
    throttle: Throttle | None = provided_to(request, Container.throttle)
    if throttle is None:
        return
    decision: RateLimitDecision = await throttle.spend(operation, caller)
    earlier = getattr(request.state, STATE_KEY, None)
    if isinstance(earlier, RateLimitDecision):
        decision = earlier.combined(decision)
    setattr(request.state, STATE_KEY, decision)
    refusal = decision.refusal
    if refusal is not None:
        provided_to(request, Container.metrics).rate_limited.labels(refusal.policy.name).inc()
        wait = retry_after(refusal)
        raise ProblemError(
            "rate_limited",
            f"The {refusal.policy.name} rate limit is exhausted; retry after {wait} seconds.",
            headers={"Retry-After": str(wait)},
        )


def client_of(request: Request) -> str:
    """The request's client identity (IPv4 address or IPv6 /64) behind trusted proxies."""
    identity: str = request.app.state.client_addresses.client_of(request.scope)
    return identity


def rate_limited(operation: Operation) -> Callable[[Request], Awaitable[None]]:
    """A dependency spending `operation` for the client address, then making the request
    checks, for anonymous routes."""

    async def spend_for_client(request: Request) -> None:
        await enforce(request, operation, Caller(client=client_of(request)))
        await check_request(request)

    return spend_for_client


async def rate_limit_token_request(request: Request) -> None:
    """The token endpoint's limits: per client address, and for password grants per username.

    Reads the form (Starlette keeps it for the route) before any password is checked. A body
    that cannot be read still counts against the client address.
    """
    caller = Caller(client=client_of(request))
    if media_type_of(request) != FORM:
        await enforce(request, Operation.TOKEN_REQUEST, caller)
        return
    try:
        form = await request.form()
    except Exception:
        await enforce(request, Operation.TOKEN_REQUEST, caller)
        raise
    grant_types = form.getlist("grant_type")
    if grant_types != ["password"]:
        await enforce(request, Operation.TOKEN_REQUEST, caller)
        return
    usernames = [value for value in form.getlist("username") if isinstance(value, str)]
    username = usernames[0] if len(usernames) == 1 else None
    await enforce(
        request,
        Operation.PASSWORD_GRANT,
        Caller(client=caller.client, username=username),
    )


def throttled(
    authenticate: Callable[..., Awaitable[AnyPrincipal]],
    operation: Callable[[AnyPrincipal], Operation] = operation_for,
    *,
    authorize: Callable[[Principal], None] | None = None,
) -> Callable[..., Awaitable[Principal]]:
    """`authenticate` (a FastAPI dependency) that also spends the caller's rate limit, then
    `authorize`s the principal and makes the request checks; a client's token is refused with
    403 `insufficient_scope` (after spending its client's limit): no scope opens these routes.

    Once the principal is known: what `operation` says it costs (by default its own policy,
    per user, per API key or per client). When credentials are
    missing or rejected: the client address's `anonymous` policy, so floods of invalid tokens
    are limited too. `functools.wraps` lets FastAPI resolve the wrapped dependency's parameters
    as before, so authentication itself stays untouched. The checks come last, so their
    refusals carry the `RateLimit` headers and never come before a 401 or a 403.
    """

    def user_only(principal: AnyPrincipal) -> Principal:
        user = refuse_clients(principal)
        if authorize is not None:
            authorize(user)
        return user

    return _throttled(authenticate, operation, user_only)


def throttled_for_clients_too(
    authenticate: Callable[..., Awaitable[AnyPrincipal]],
    *,
    authorize: Callable[[AnyPrincipal], None],
) -> Callable[..., Awaitable[AnyPrincipal]]:
    """As `throttled`, for routes a client's token may call when `authorize` finds its scope."""

    def authorized(principal: AnyPrincipal) -> AnyPrincipal:
        authorize(principal)
        return principal

    return _throttled(authenticate, operation_for, authorized)


def _throttled(
    authenticate: Callable[..., Awaitable[AnyPrincipal]],
    operation: Callable[[AnyPrincipal], Operation],
    authorize: Callable[[AnyPrincipal], _P],
) -> Callable[..., Awaitable[_P]]:
    @functools.wraps(authenticate)
    async def authenticate_then_spend(*args: Any, **kwargs: Any) -> _P:
        request = next(value for value in kwargs.values() if isinstance(value, Request))
        try:
            principal = await authenticate(*args, **kwargs)
        except StorageUnavailable:
            # Not a rejected credential: counting it would turn a database outage into 429s
            # that outlast the outage by a whole window.
            raise
        except Exception:
            await enforce(request, Operation.REJECTED_CREDENTIALS, Caller(client_of(request)))
            raise
        await enforce(
            request,
            operation(principal),
            Caller(
                client=client_of(request),
                username=(
                    principal.user.email.normalized if isinstance(principal, Principal) else None
                ),
                principal=principal,
            ),
        )
        authorized = authorize(principal)
        await check_request(request)
        return authorized

    return authenticate_then_spend

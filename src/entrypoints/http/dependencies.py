"""FastAPI dependencies: the caller's principal (one per kind of caller), and the media type.

A builder replacing authentication overrides `current_principal` (every route any credential
may call, `/users/me` among them), `bearer_principal` and `password_change_principal`
(credential management), `admin_principal` and `bearer_admin_principal` (user management) and
`users_reader_principal` and `users_writer_principal` (the user routes clients may call too)
in `app.dependency_overrides`.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from application.principal import (
    AnyPrincipal,
    ClientPrincipal,
    Principal,
    ensure_can_read_users,
    ensure_can_write_users,
)
from application.rate_limiting import mfa_code_for, password_change_for
from entrypoints.container import Container
from entrypoints.http.media_types import is_json, media_type_of
from entrypoints.http.problems import ProblemError
from entrypoints.http.provided import provided_to
from entrypoints.http.rate_limits import throttled, throttled_for_clients_too
from entrypoints.http.request_context import request_context_of
from entrypoints.http.routes import API_PREFIX

TOKEN_URL = f"{API_PREFIX}/auth/token"

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl=TOKEN_URL,
    scheme_name="OAuth2PasswordBearer",
    description="Log in with your email as `username` and your password.",
    auto_error=False,
)


API_KEY_HEADER = "X-API-Key"
api_key_scheme = APIKeyHeader(
    name=API_KEY_HEADER,
    scheme_name="ApiKey",
    description="An API key from `POST /api/v1/users/me/api-keys`; acts as its owner, but "
    "cannot manage credentials (password, API keys).",
    auto_error=False,
)


async def authenticate(
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> AnyPrincipal:
    """The authenticated caller, read fresh from the database; 401 without credentials.

    A bearer token or an API key, not both: two credentials that might name two accounts
    are refused rather than silently preferring one. A bearer token is a user's or a client's
    (service account's); which routes a client may call is the route's dependency's business.
    """
    if token and api_key:
        raise ProblemError("invalid_token", "Send either a bearer token or an API key, not both.")
    principal: AnyPrincipal
    if token:
        clients = provided_to(request, Container.resolve_client_principal)
        if clients.accepts(token):
            principal = await clients.execute(token)
        else:
            principal = await provided_to(request, Container.resolve_principal).execute(
                token, lambda: request_context_of(request)
            )
    elif api_key:
        principal = await provided_to(request, Container.resolve_api_key).execute(api_key)
    else:
        raise ProblemError("not_authenticated")
    # Async on purpose: bound here, the caller reaches the access-log line of this request.
    if isinstance(principal, ClientPrincipal):
        structlog.contextvars.bind_contextvars(client_id=principal.client_id)
    else:
        structlog.contextvars.bind_contextvars(user_id=str(principal.user.id))
    request.state.principal = principal
    return principal


async def authenticate_bearer(
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> AnyPrincipal:
    """The caller of a credential-management route, which declares only the bearer scheme.

    The `X-API-Key` header is still read, so an API key is authenticated and then refused by
    the use case with 403 `forbidden` (not ignored with a 401): the same answer as before the
    OpenAPI document stopped offering the API key for these routes.
    """
    api_key = request.headers.get(API_KEY_HEADER)
    return await authenticate(request, token, api_key)


# Every authenticated route spends the caller's rate limit, then makes the request checks
# (see `throttled`).
current_principal = throttled(authenticate)
bearer_principal = throttled(authenticate_bearer)
password_change_principal = throttled(authenticate_bearer, password_change_for)
admin_principal = throttled(authenticate, authorize=Principal.ensure_admin)
bearer_admin_principal = throttled(authenticate_bearer, authorize=Principal.ensure_admin)
mfa_code_principal = throttled(authenticate_bearer, mfa_code_for)
users_reader_principal = throttled_for_clients_too(authenticate, authorize=ensure_can_read_users)
users_writer_principal = throttled_for_clients_too(authenticate, authorize=ensure_can_write_users)

CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
BearerPrincipal = Annotated[Principal, Depends(bearer_principal)]
PasswordChangePrincipal = Annotated[Principal, Depends(password_change_principal)]
AdminPrincipal = Annotated[Principal, Depends(admin_principal)]
BearerAdminPrincipal = Annotated[Principal, Depends(bearer_admin_principal)]
MfaCodePrincipal = Annotated[Principal, Depends(mfa_code_principal)]
"""A bearer sending a one-time code: spends its account's `mfa` limit too, right or wrong."""
UsersReaderPrincipal = Annotated[AnyPrincipal, Depends(users_reader_principal)]
"""An admin, or a client whose token holds `users:read` (or `users:write`)."""
UsersWriterPrincipal = Annotated[AnyPrincipal, Depends(users_writer_principal)]
"""An admin, or a client whose token holds `users:write`."""


async def require_json(request: Request) -> None:
    """415 unless the body is declared as JSON."""
    if not is_json(media_type_of(request)):
        raise ProblemError(
            "unsupported_media_type", "Send the body as JSON with Content-Type: application/json."
        )

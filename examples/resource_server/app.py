"""A small service that trusts accounts' access tokens without calling accounts per request.

    RESOURCE_SERVER_ISSUER=http://127.0.0.1:8000 \
        uvicorn --factory examples.resource_server.app:from_environment --port 8001
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from examples.resource_server.auth import (
    AccessTokenVerifier,
    Caller,
    InvalidAccessToken,
    discover,
)

DEFAULT_AUDIENCE = "accounts-api"
_bearer = HTTPBearer(auto_error=False)


def _unauthorized(detail: str, error: str | None = "invalid_token") -> HTTPException:
    challenge = f'Bearer error="{error}"' if error else "Bearer"
    return HTTPException(401, detail=detail, headers={"WWW-Authenticate": challenge})


async def get_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """Any valid access token of the issuer: a user's or a client's."""
    if credentials is None:
        raise _unauthorized("Send an access token: Authorization: Bearer <token>.", error=None)
    verifier: AccessTokenVerifier = request.app.state.verifier
    try:
        return await verifier.verify(credentials.credentials)
    except InvalidAccessToken as exc:
        raise _unauthorized(str(exc)) from exc


async def get_current_user(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    """A user's token (a client acts for no user)."""
    if caller.is_client:
        raise HTTPException(403, detail="A client token does not act for a user.")
    return caller


async def require_admin(user: Annotated[Caller, Depends(get_current_user)]) -> Caller:
    """A user whose token says `role: admin` (as of issuance: at most one token lifetime old)."""
    if user.role != "admin":
        raise HTTPException(
            403,
            detail="Admins only.",
            headers={"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
        )
    return user


def require_scope(scope: str) -> Callable[..., Awaitable[Caller]]:
    """A client token whose `scope` claim grants `scope`."""

    async def dependency(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
        if scope not in caller.scopes:
            raise HTTPException(
                403,
                detail=f"The token lacks the {scope} scope.",
                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
            )
        return caller

    return dependency


def create_app(issuer: str, audience: str = DEFAULT_AUDIENCE, **key_options: Any) -> FastAPI:
    """The app; it reads the issuer's discovery document once, at start."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        metadata = await asyncio.to_thread(discover, issuer)
        app.state.verifier = AccessTokenVerifier.from_discovery(
            issuer, audience, metadata, **key_options
        )
        yield

    app = FastAPI(title="example resource server", lifespan=lifespan)

    @app.get("/public")
    async def public() -> dict[str, str]:
        return {"hello": "anyone"}

    @app.get("/me")
    async def me(user: Annotated[Caller, Depends(get_current_user)]) -> dict[str, Any]:
        return {"sub": user.subject, "role": user.role}

    @app.get("/admin")
    async def admin(user: Annotated[Caller, Depends(require_admin)]) -> dict[str, Any]:
        return {"sub": user.subject, "admin": True}

    @app.get("/reports")
    async def reports(
        client: Annotated[Caller, Depends(require_scope("users:read"))],
    ) -> dict[str, Any]:
        return {"client_id": client.client_id, "scopes": sorted(client.scopes)}

    @app.post("/reports", status_code=201)
    async def file_report(
        client: Annotated[Caller, Depends(require_scope("users:write"))],
    ) -> dict[str, Any]:
        return {"client_id": client.client_id, "filed": True}

    return app


def from_environment() -> FastAPI:
    """`RESOURCE_SERVER_ISSUER` (required), `RESOURCE_SERVER_AUDIENCE`,
    `RESOURCE_SERVER_KEYS_MAX_AGE`, `RESOURCE_SERVER_REFETCH_INTERVAL` (seconds) and
    `RESOURCE_SERVER_VERIFIED_CACHE_SIZE` (0: verify every request afresh)."""
    return create_app(
        os.environ["RESOURCE_SERVER_ISSUER"],
        os.environ.get("RESOURCE_SERVER_AUDIENCE", DEFAULT_AUDIENCE),
        max_age=float(os.environ.get("RESOURCE_SERVER_KEYS_MAX_AGE", "300")),
        refetch_interval=float(os.environ.get("RESOURCE_SERVER_REFETCH_INTERVAL", "10")),
        cache_size=int(os.environ.get("RESOURCE_SERVER_VERIFIED_CACHE_SIZE", "4096")),
    )

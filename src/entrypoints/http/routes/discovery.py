"""Discovery for other services: authorization server metadata (RFC 8414) and the JWKS.

Outside `/api/v1` and not rate limited, like the health probes: resource servers fetch them
rarely and cache them. Each is bytes prepared once (per key change for the JWKS), served with
`Cache-Control: public, max-age=N`, a strong `ETag` and 304 on a matching `If-None-Match`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from application.ports import PublicKeys, PublishedDocument
from entrypoints.container import Container
from entrypoints.discovery import JWKS_PATH
from entrypoints.http.etag import none_match_fails
from entrypoints.http.provided import provided_to
from entrypoints.http.schemas import AuthorizationServerMetadata, JsonWebKeySet

router = APIRouter(tags=["discovery"])

METADATA_PATHS = ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration")
_CACHE_HEADERS = {
    "Cache-Control": {
        "description": "`public, max-age=N`, N being `ACCOUNTS_JWKS_MAX_AGE_SECONDS`.",
        "schema": {"type": "string", "example": "public, max-age=300"},
    },
    "ETag": {
        "description": "Strong entity tag of the document; send it back in `If-None-Match`.",
        "schema": {"type": "string", "example": '"3f1c9d0b6a2e4f5a8c7d9e0f1a2b3c4d"'},
    },
}
_NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {
        "description": "`If-None-Match` names the current `ETag` (or is `*`): the cached copy "
        "is current. No body.",
        "headers": _CACHE_HEADERS,
    }
}


def published_response(request: Request, document: PublishedDocument) -> Response:
    """The document, or 304 when the client's copy is current; HEAD gets the headers only."""
    max_age = request.app.state.settings.tokens.jwks_max_age_seconds
    headers = {"Cache-Control": f"public, max-age={max_age}", "ETag": document.etag}
    if none_match_fails(request.headers.getlist("if-none-match"), document.etag):
        return Response(status_code=304, headers=headers)
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(document.body))
        return Response(headers=headers, media_type="application/json")
    return Response(document.body, headers=headers, media_type="application/json")


# The container's documents are read with `provided_to`, not solved as dependencies: a solved
# dependency costs more than handing over prepared bytes (bench/discovery.py).
async def metadata(request: Request) -> Response:
    document: PublishedDocument = provided_to(request, Container.authorization_server_metadata)
    return published_response(request, document)


async def jwks(request: Request) -> Response:
    keys: PublicKeys = provided_to(request, Container.public_keys)
    return published_response(request, keys.jwks())


def _metadata_route(path: str, name: str, standard: str) -> None:
    _declare(path, name, metadata, AuthorizationServerMetadata, standard)


def _declare(
    path: str,
    name: str,
    endpoint: Callable[..., Awaitable[Response]],
    model: type[Any],
    description: str,
) -> None:
    """A GET and a HEAD operation on `path`, each with its own operationId."""
    responses = {200: {"headers": _CACHE_HEADERS}, **_NOT_MODIFIED}
    router.add_api_route(
        path,
        endpoint,
        methods=["GET"],
        operation_id=f"get_{name}",
        summary=f"The {description}",
        description=f"The {description}. {_CACHING}",
        response_model=model,
        responses=responses,
    )
    router.add_api_route(
        path,
        endpoint,
        methods=["HEAD"],
        operation_id=f"head_{name}",
        summary=f"Headers of the {description}",
        description=f"As GET, without the body: to check `ETag` and `Cache-Control`. {_CACHING}",
        response_class=Response,
        responses={
            200: {"description": "The GET response's headers, no body.", "headers": _CACHE_HEADERS},
            **_NOT_MODIFIED,
        },
    )


_CACHING = (
    "Served from bytes prepared once; cache it for `max-age` seconds and revalidate with "
    "`If-None-Match` (a list, `*`, weak comparison per RFC 9110)."
)

_metadata_route(
    METADATA_PATHS[0],
    "authorization_server_metadata",
    "authorization server metadata (RFC 8414)",
)
_metadata_route(
    METADATA_PATHS[1],
    "openid_configuration",
    "same metadata at the OpenID Connect discovery path, for libraries that look there "
    "(this service issues access tokens, not ID tokens)",
)
_declare(
    JWKS_PATH,
    "jwks",
    jwks,
    JsonWebKeySet,
    "public keys that verify live access tokens (JWKS, RFC 7517); empty with HS256",
)

"""Clients (service accounts), managed by admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status

from application.use_cases.manage_clients import (
    CreateClient,
    CreateClientCommand,
    DeleteClient,
    DeleteClientCommand,
    ListClients,
)
from entrypoints.container import Container
from entrypoints.http.dependencies import BearerAdminPrincipal, require_json
from entrypoints.http.openapi import ALWAYS, AUTHENTICATED, JSON_BODY, problem_responses
from entrypoints.http.provided import provided
from entrypoints.http.request_context import request_context_of
from entrypoints.http.routes import API_PREFIX
from entrypoints.http.schemas import (
    ClientListResponse,
    ClientResponse,
    CreateClientRequest,
    CreatedClientResponse,
)

router = APIRouter(prefix=f"{API_PREFIX}/clients", tags=["clients"])

_ADMIN_BEARER = (
    " Needs an admin's bearer token: an API key (403 `forbidden`) or a client's token (403 "
    "`forbidden`, `insufficient_scope`) cannot manage clients."
)
_ADMIN = (*AUTHENTICATED, "forbidden", *ALWAYS)


@router.post(
    "",
    operation_id="create_client",
    summary="Register a client (admin)",
    description="A client is another service calling this one on its own behalf: it gets "
    "access tokens from `POST /api/v1/auth/token` with `grant_type=client_credentials`, "
    "holding the `scopes` given here, and may call `POST /api/v1/auth/introspect`. The "
    "answer holds `client_secret` once; only its digest is kept, so it cannot be shown again. "
    "Records `client.created`." + _ADMIN_BEARER,
    status_code=status.HTTP_201_CREATED,
    response_model=CreatedClientResponse,
    responses=problem_responses(*_ADMIN, *JSON_BODY),
    dependencies=[Depends(require_json)],
)
async def create_client(
    request: Request,
    body: CreateClientRequest,
    principal: BearerAdminPrincipal,
    create: Annotated[CreateClient, Depends(provided(Container.create_client))],
) -> CreatedClientResponse:
    created = await create.execute(
        CreateClientCommand(
            principal=principal,
            name=body.name,
            scopes=body.scopes,
            context=request_context_of(request),
        )
    )
    return CreatedClientResponse(
        **ClientResponse.of(created.client).model_dump(), client_secret=created.secret
    )


@router.get(
    "",
    operation_id="list_clients",
    summary="List clients (admin)",
    description="Every registered client, oldest first, without secrets." + _ADMIN_BEARER,
    response_model=ClientListResponse,
    responses=problem_responses(*_ADMIN),
)
async def list_clients(
    principal: BearerAdminPrincipal,
    list_clients: Annotated[ListClients, Depends(provided(Container.list_clients))],
) -> ClientListResponse:
    clients = await list_clients.execute(principal)
    return ClientListResponse(items=[ClientResponse.of(client) for client in clients])


@router.delete(
    "/{client_id}",
    operation_id="delete_client",
    summary="Delete a client (admin)",
    description="Its secret stops authenticating at once, and so do its access tokens, on "
    "this service and at introspection. Records `client.deleted`. 404 `client_not_found` when "
    "no client has this id." + _ADMIN_BEARER,
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(*_ADMIN, "client_not_found", "validation_failed"),
)
async def delete_client(
    request: Request,
    client_id: Annotated[str, Path(max_length=64, examples=["cli_k3xq7mz2pdw4h6jn"])],
    principal: BearerAdminPrincipal,
    delete: Annotated[DeleteClient, Depends(provided(Container.delete_client))],
) -> Response:
    await delete.execute(
        DeleteClientCommand(
            principal=principal, client_id=client_id, context=request_context_of(request)
        )
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)

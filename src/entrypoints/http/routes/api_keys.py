"""The caller's API keys, for machine clients."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response, status

from application.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from application.use_cases.create_api_key import CreateApiKey, CreateApiKeyCommand
from application.use_cases.delete_api_key import DeleteApiKey, DeleteApiKeyCommand
from application.use_cases.list_api_keys import ListApiKeys, ListApiKeysQuery
from domain.credentials import ApiKeyId
from entrypoints.container import Container
from entrypoints.http.dependencies import BearerPrincipal, require_json
from entrypoints.http.openapi import ALWAYS, AUTHENTICATED, JSON_BODY, problem_responses
from entrypoints.http.provided import provided
from entrypoints.http.request_context import request_context_of
from entrypoints.http.routes import API_PREFIX
from entrypoints.http.schemas import (
    ApiKeyPageResponse,
    ApiKeyResponse,
    CreateApiKeyRequest,
    CreatedApiKeyResponse,
)

router = APIRouter(prefix=f"{API_PREFIX}/users/me/api-keys", tags=["api keys"])

_BEARER_ONLY = (
    " Needs a bearer token: an API key cannot manage keys (403 `forbidden`), so a leaked key "
    "cannot mint more."
)


@router.post(
    "",
    operation_id="create_api_key",
    summary="Create an API key",
    description="Returns the whole key once, in `key`; only its digest is stored, so it "
    "cannot be shown again. Send it as `X-API-Key` to act as yourself on every route that "
    "accepts a bearer token. An account holds at most `ACCOUNTS_API_KEYS_PER_USER` keys (50 by "
    "default), expired ones included until deleted: one more is refused with 409 "
    "`api_key_limit_reached`." + _BEARER_ONLY,
    status_code=status.HTTP_201_CREATED,
    response_model=CreatedApiKeyResponse,
    responses=problem_responses(
        *AUTHENTICATED,
        "forbidden",
        "api_key_limit_reached",
        *JSON_BODY,
        *ALWAYS,
    ),
    dependencies=[Depends(require_json)],
)
async def create_api_key(
    request: Request,
    body: CreateApiKeyRequest,
    principal: BearerPrincipal,
    create_api_key: Annotated[CreateApiKey, Depends(provided(Container.create_api_key))],
) -> CreatedApiKeyResponse:
    created = await create_api_key.execute(
        CreateApiKeyCommand(
            principal=principal,
            name=body.name,
            expires_at=body.expires_at,
            context=request_context_of(request),
        )
    )
    return CreatedApiKeyResponse(**ApiKeyResponse.of(created.api_key).model_dump(), key=created.key)


@router.get(
    "",
    operation_id="list_api_keys",
    summary="List your API keys",
    description="Oldest first, without the secret. Keyset pagination as `GET /users`: pass "
    "`next_cursor` back as `cursor` until it is `null`." + _BEARER_ONLY,
    response_model=ApiKeyPageResponse,
    responses=problem_responses(*AUTHENTICATED, "forbidden", "validation_failed", *ALWAYS),
)
async def list_api_keys(
    *,
    principal: BearerPrincipal,
    list_api_keys: Annotated[ListApiKeys, Depends(provided(Container.list_api_keys))],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ApiKeyPageResponse:
    page = await list_api_keys.execute(
        ListApiKeysQuery(principal=principal, limit=limit, cursor=cursor)
    )
    return ApiKeyPageResponse(
        items=[ApiKeyResponse.of(key) for key in page.items], next_cursor=page.next_cursor
    )


@router.delete(
    "/{key_id}",
    operation_id="delete_api_key",
    summary="Delete an API key",
    description="The key stops working at once. Another user's key id is answered like a "
    "missing one (404 `api_key_not_found`)." + _BEARER_ONLY,
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(
        *AUTHENTICATED, "forbidden", "api_key_not_found", "validation_failed", *ALWAYS
    ),
)
async def delete_api_key(
    request: Request,
    key_id: UUID,
    principal: BearerPrincipal,
    delete_api_key: Annotated[DeleteApiKey, Depends(provided(Container.delete_api_key))],
) -> Response:
    await delete_api_key.execute(
        DeleteApiKeyCommand(
            principal=principal, key_id=ApiKeyId(key_id), context=request_context_of(request)
        )
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)

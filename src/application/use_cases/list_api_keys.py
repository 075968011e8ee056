"""List the caller's API keys, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from application.pagination import (
    DEFAULT_PAGE_SIZE,
    Listing,
    Page,
    check_page_size,
    decode_cursor,
    page_of,
)
from application.ports import UnitOfWorkFactory
from application.principal import Principal
from domain.credentials import ApiKey, ApiKeyId


@dataclass(frozen=True, slots=True)
class ListApiKeysQuery:
    principal: Principal
    limit: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None


class ListApiKeys:
    """The caller's keys, oldest first (bearer only), never the secret; keyset pagination in
    id order (ids are time-ordered)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, query: ListApiKeysQuery) -> Page[ApiKey]:
        query.principal.ensure_bearer()
        check_page_size(query.limit)
        after = ApiKeyId(decode_cursor(Listing.API_KEYS, query.cursor)) if query.cursor else None
        async with self._uow() as uow:
            keys = await uow.api_keys.list_page(
                query.principal.user.id, limit=query.limit + 1, after=after
            )
        return page_of(Listing.API_KEYS, keys, query.limit)

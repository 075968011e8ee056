"""Everything the service holds about the caller, for them to take away (GDPR art. 15, 20)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from application.errors import AccountDeleted
from application.ports import Clock, ExternalIdentityLink, UnitOfWorkFactory
from application.principal import Principal
from domain.credentials import ApiKey, ApiKeyId
from domain.sessions import Session
from domain.users import User

_PAGE = 100


@dataclass(frozen=True, slots=True)
class AccountExport:
    """The account, every stored session (ended ones too, until purged), every API key
    (never its secret) and every external identity link.

    `audit_events` is where the audit log's events about the account go; it stays empty
    while the service keeps no audit log.
    """

    exported_at: datetime
    user: User
    sessions: list[Session]
    api_keys: list[ApiKey]
    external_identities: list[ExternalIdentityLink]
    audit_events: list[Mapping[str, object]] = field(default_factory=list)


class ExportAccount:
    """Read the caller's data in one transaction. Bearer only: it lists credentials."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, principal: Principal) -> AccountExport:
        principal.ensure_bearer()
        user_id = principal.user.id
        async with self._uow() as uow:
            user = await uow.users.get_by_id(user_id)
            if user is None:
                raise AccountDeleted("The account no longer exists.")
            sessions = await uow.sessions.list_for(user_id)
            keys: list[ApiKey] = []
            after: ApiKeyId | None = None
            while True:
                page = await uow.api_keys.list_page(user_id, limit=_PAGE, after=after)
                keys.extend(page)
                if len(page) < _PAGE:
                    break
                after = page[-1].id
            links = await uow.external_identities.list_for(user_id)
        return AccountExport(
            exported_at=self._clock.now(),
            user=user,
            sessions=sessions,
            api_keys=keys,
            external_identities=links,
        )

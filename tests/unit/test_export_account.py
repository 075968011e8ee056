"""Exporting everything held about the caller."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from application.errors import AccountDeleted, Forbidden
from application.principal import AuthMethod, Principal
from application.use_cases.create_api_key import CreateApiKey, CreateApiKeyCommand
from application.use_cases.export_account import ExportAccount
from tests.fakes import FakeUnitOfWork, FixedClock, SequentialIds, SequentialSecrets
from tests.unit.builders import SessionFlows, UserSeeder


async def test_the_export_holds_profile_sessions_keys_and_links_of_the_caller_only(
    auth: SessionFlows,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    clock: FixedClock,
    ids: SequentialIds,
) -> None:
    user, other = seed(full_name="Ada"), seed()
    ended = await auth.login(user)
    issued = await auth.login(user)
    await auth.login(other)
    await auth.revoke(ended.refresh_token)
    me = await auth.resolve(issued.access_token.value)
    created = await CreateApiKey(
        uow.factory, clock, ids, SequentialSecrets(), keys_per_user=5
    ).execute(CreateApiKeyCommand(principal=me, name="bot"))
    await uow.external_store.link("https://idp.example", "sub-1", user.id, clock.now())
    clock.advance(timedelta(minutes=1))

    export = await ExportAccount(uow.factory, clock).execute(me)

    assert export.exported_at == clock.now()
    assert export.user == user
    assert export.user.full_name.value == "Ada"
    assert len(export.sessions) == 2
    assert {s.user_id for s in export.sessions} == {user.id}
    assert sum(s.is_ended for s in export.sessions) == 1
    assert [k.id for k in export.api_keys] == [created.api_key.id]
    assert [(link.issuer, link.subject) for link in export.external_identities] == [
        ("https://idp.example", "sub-1")
    ]
    assert export.audit_events == []


async def test_an_api_key_cannot_export(
    seed: UserSeeder, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    principal = Principal(user=seed(), method=AuthMethod.API_KEY, api_key_id=UUID(int=3))

    with pytest.raises(Forbidden):
        await ExportAccount(uow.factory, clock).execute(principal)


async def test_an_account_deleted_meanwhile_has_nothing_to_export(
    seed: UserSeeder, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    user = seed()
    async with uow:
        await uow.users.delete(user.id)
        await uow.commit()

    with pytest.raises(AccountDeleted):
        await ExportAccount(uow.factory, clock).execute(Principal(user=user))

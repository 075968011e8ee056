"""Password reset: asking by address, and setting the password with the mailed token."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.errors import InvalidCredentials
from application.mail_links import MailLinks
from application.principal import Principal
from application.use_cases.change_password import ChangePassword, ChangePasswordCommand
from application.use_cases.confirm_password_reset import (
    ConfirmPasswordReset,
    ConfirmPasswordResetCommand,
)
from application.use_cases.create_api_key import CreateApiKey, CreateApiKeyCommand
from application.use_cases.request_password_reset import (
    RequestPasswordReset,
    RequestPasswordResetCommand,
)
from domain.audit import AuditEventType
from domain.credentials import TokenPurpose
from domain.errors import InvalidLink, WeakPassword
from domain.mail import MailKind
from domain.users import PasswordPolicy
from tests.fakes import (
    FakeMailQuota,
    FakePasswordHasher,
    FakePseudonymizer,
    FakeUnitOfWork,
    FixedClock,
    SequentialIds,
    SequentialSecrets,
    audit_events,
    mail_links,
    token_of,
)
from tests.unit.builders import PASSWORD, SessionFlows, UserSeeder

NEW_PASSWORD = "tangerine-umbrella-quietly-1987"


@pytest.fixture
def quota() -> FakeMailQuota:
    return FakeMailQuota(limit=5)


@pytest.fixture
def links(quota: FakeMailQuota) -> MailLinks:
    return mail_links(quota)


@pytest.fixture
def ask(
    uow: FakeUnitOfWork, clock: FixedClock, ids: SequentialIds, links: MailLinks
) -> RequestPasswordReset:
    return RequestPasswordReset(
        uow.factory,
        clock,
        ids,
        links=links,
        events=audit_events(),
        pseudonyms=FakePseudonymizer(),
    )


@pytest.fixture
def confirm(
    uow: FakeUnitOfWork,
    hasher: FakePasswordHasher,
    clock: FixedClock,
    policy: PasswordPolicy,
    links: MailLinks,
) -> ConfirmPasswordReset:
    return ConfirmPasswordReset(
        uow.factory, hasher, clock, policy, links=links, events=audit_events()
    )


async def reset_token(ask: RequestPasswordReset, uow: FakeUnitOfWork, email: str) -> str:
    await ask.execute(RequestPasswordResetCommand(email))
    return token_of(
        [m for m in uow.outbox_store.to(email) if m.kind is MailKind.PASSWORD_RESET][-1]
    )


async def test_an_active_account_gets_a_link_that_lasts_thirty_minutes(
    ask: RequestPasswordReset, uow: FakeUnitOfWork, seed: UserSeeder
) -> None:
    user = seed("ada@example.com", full_name="Ada")

    await ask.execute(RequestPasswordResetCommand("ADA@example.com"))

    (message,) = uow.outbox_store.messages
    assert message.kind is MailKind.PASSWORD_RESET
    assert message.to == user.email
    assert message.values["link"].startswith("https://app.example.com/reset?token=")
    assert message.values["expires_in"] == "30 minutes"
    assert message.values["full_name"] == "Ada"
    (event,) = uow.audit_store.of_type(AuditEventType.USER_PASSWORD_RESET_REQUESTED)
    assert event.subject_id == user.id


async def test_unknown_and_inactive_addresses_get_nothing_but_the_same_commit(
    ask: RequestPasswordReset, uow: FakeUnitOfWork, seed: UserSeeder, quota: FakeMailQuota
) -> None:
    seed("off@example.com", is_active=False)

    await ask.execute(RequestPasswordResetCommand("nobody@example.com"))
    assert uow.committed
    await ask.execute(RequestPasswordResetCommand("off@example.com"))
    assert uow.committed

    assert uow.outbox_store.messages == []
    assert uow.one_time_store.tokens == {}
    assert quota.spent == {"nobody@example.com": 1, "off@example.com": 1}
    unknown, inactive = uow.audit_store.of_type(AuditEventType.USER_PASSWORD_RESET_REQUESTED)
    assert unknown.subject_id is None
    assert "nobody@example.com" not in str(unknown.details)
    assert inactive.subject_id is not None


async def test_the_token_sets_the_password_and_clears_every_way_in(  # noqa: PLR0917
    ask: RequestPasswordReset,
    confirm: ConfirmPasswordReset,
    uow: FakeUnitOfWork,
    seed: UserSeeder,
    auth: SessionFlows,
    clock: FixedClock,
) -> None:
    user = seed("ada@example.com")
    tokens = await auth.login(user)
    await CreateApiKey(
        uow.factory,
        clock,
        SequentialIds(1 << 80),
        SequentialSecrets(),
        audit_events(),
        keys_per_user=5,
    ).execute(CreateApiKeyCommand(Principal(user), "bot"))
    token = await reset_token(ask, uow, "ada@example.com")

    await confirm.execute(ConfirmPasswordResetCommand(token, NEW_PASSWORD))

    stored = uow.store.find(user.id)
    assert stored is not None
    assert stored.email_verified
    await auth.login(stored, NEW_PASSWORD)
    with pytest.raises(InvalidCredentials):
        await auth.login(stored, PASSWORD)
    with pytest.raises(InvalidCredentials):
        await auth.refresh(tokens.refresh_token)
    assert uow.api_key_store.keys == {}
    notice = uow.outbox_store.messages[-1]
    assert notice.kind is MailKind.PASSWORD_CHANGED_NOTICE
    assert notice.to == user.email
    assert "link" not in notice.values
    assert len(uow.audit_store.of_type(AuditEventType.USER_PASSWORD_RESET)) == 1
    with pytest.raises(InvalidLink):
        await confirm.execute(ConfirmPasswordResetCommand(token, NEW_PASSWORD + "x"))


async def test_a_weak_password_is_refused_and_the_link_still_works(
    ask: RequestPasswordReset, confirm: ConfirmPasswordReset, uow: FakeUnitOfWork, seed: UserSeeder
) -> None:
    seed("ada@example.com")
    token = await reset_token(ask, uow, "ada@example.com")

    with pytest.raises(WeakPassword) as refused:
        await confirm.execute(ConfirmPasswordResetCommand(token, "short"))
    assert refused.value.field == "new_password"

    await confirm.execute(ConfirmPasswordResetCommand(token, NEW_PASSWORD))


async def test_only_the_newest_link_works_and_only_until_it_expires(
    ask: RequestPasswordReset,
    confirm: ConfirmPasswordReset,
    uow: FakeUnitOfWork,
    seed: UserSeeder,
    clock: FixedClock,
) -> None:
    seed("ada@example.com")
    first = await reset_token(ask, uow, "ada@example.com")
    second = await reset_token(ask, uow, "ada@example.com")

    with pytest.raises(InvalidLink):
        await confirm.execute(ConfirmPasswordResetCommand(first, NEW_PASSWORD))
    clock.advance(timedelta(minutes=30))
    with pytest.raises(InvalidLink):
        await confirm.execute(ConfirmPasswordResetCommand(second, NEW_PASSWORD))


async def test_changing_the_password_voids_outstanding_reset_links(  # noqa: PLR0917
    ask: RequestPasswordReset,
    confirm: ConfirmPasswordReset,
    uow: FakeUnitOfWork,
    seed: UserSeeder,
    hasher: FakePasswordHasher,
    clock: FixedClock,
    policy: PasswordPolicy,
) -> None:
    user = seed("ada@example.com")
    token = await reset_token(ask, uow, "ada@example.com")

    await ChangePassword(uow.factory, hasher, clock, policy, audit_events()).execute(
        ChangePasswordCommand(Principal(user), PASSWORD, NEW_PASSWORD)
    )

    assert uow.one_time_store.of(user.id, TokenPurpose.PASSWORD_RESET) == []
    with pytest.raises(InvalidLink):
        await confirm.execute(ConfirmPasswordResetCommand(token, NEW_PASSWORD + "-again"))


async def test_a_deactivated_account_cannot_use_its_link(
    ask: RequestPasswordReset, confirm: ConfirmPasswordReset, uow: FakeUnitOfWork, seed: UserSeeder
) -> None:
    user = seed("ada@example.com")
    token = await reset_token(ask, uow, "ada@example.com")
    stored = uow.store.find(user.id)
    assert stored is not None
    stored.deactivate(stored.created_at)
    async with uow:
        await uow.users.update(stored)
        await uow.commit()

    with pytest.raises(InvalidLink):
        await confirm.execute(ConfirmPasswordResetCommand(token, NEW_PASSWORD))


async def test_an_address_without_a_mail_does_the_same_statements_storing_nothing(
    ask: RequestPasswordReset, uow: FakeUnitOfWork
) -> None:
    await ask.execute(RequestPasswordResetCommand("nobody@example.com"))

    assert uow.one_time_store.rehearsals == 2
    assert uow.one_time_store.tokens == {}

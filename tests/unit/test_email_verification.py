"""Registration's verification mail, confirming it, and asking for a new one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.mail_links import MailLinks
from application.principal import Principal
from application.use_cases.register_user import RegisterUser, RegisterUserCommand
from application.use_cases.send_verification_email import (
    SendVerificationEmail,
    SendVerificationEmailCommand,
)
from application.use_cases.verify_email import VerifyEmail, VerifyEmailCommand
from domain.audit import AuditEventType
from domain.credentials import TokenPurpose
from domain.errors import InvalidLink
from domain.mail import MailKind
from domain.users import PasswordPolicy, User
from tests.fakes import (
    FakeMailQuota,
    FakePasswordHasher,
    FakeUnitOfWork,
    FixedClock,
    SequentialIds,
    audit_events,
    mail_links,
    token_of,
)
from tests.unit.builders import PASSWORD, UserSeeder


@pytest.fixture
def quota() -> FakeMailQuota:
    return FakeMailQuota(limit=3)


@pytest.fixture
def links(quota: FakeMailQuota) -> MailLinks:
    return mail_links(quota)


@pytest.fixture
def register(  # noqa: PLR0917 - pytest passes fixtures by name
    uow: FakeUnitOfWork,
    hasher: FakePasswordHasher,
    clock: FixedClock,
    ids: SequentialIds,
    policy: PasswordPolicy,
    links: MailLinks,
) -> RegisterUser:
    return RegisterUser(uow.factory, hasher, clock, ids, policy, events=audit_events(), links=links)


@pytest.fixture
def verify(uow: FakeUnitOfWork, clock: FixedClock) -> VerifyEmail:
    return VerifyEmail(uow.factory, clock, audit_events())


@pytest.fixture
def resend(uow: FakeUnitOfWork, clock: FixedClock, links: MailLinks) -> SendVerificationEmail:
    return SendVerificationEmail(uow.factory, clock, links)


async def test_registration_mails_a_verification_link_with_the_account(
    register: RegisterUser, uow: FakeUnitOfWork
) -> None:
    user = await register.execute(RegisterUserCommand("ada@example.com", PASSWORD, "Ada"))

    assert not user.email_verified
    (message,) = uow.outbox_store.messages
    assert message.kind is MailKind.VERIFY_EMAIL
    assert message.to.value == "ada@example.com"
    assert message.values["link"].startswith("https://app.example.com/verify?token=")
    assert message.values["full_name"] == "Ada"
    assert message.values["expires_in"] == "24 hours"
    (token,) = uow.one_time_store.of(user.id, TokenPurpose.VERIFY_EMAIL)
    assert token.digest.matches(token_of(message))
    assert token_of(message) not in repr(token)


async def test_the_link_verifies_the_address_once(
    register: RegisterUser, verify: VerifyEmail, uow: FakeUnitOfWork
) -> None:
    user = await register.execute(RegisterUserCommand("ada@example.com", PASSWORD))
    token = token_of(uow.outbox_store.messages[0])

    verified = await verify.execute(VerifyEmailCommand(token))

    assert verified.email_verified
    stored = uow.store.find(user.id)
    assert stored is not None
    assert stored.email_verified
    assert [e.subject_id for e in uow.audit_store.of_type(AuditEventType.USER_EMAIL_VERIFIED)] == [
        user.id
    ]
    with pytest.raises(InvalidLink):
        await verify.execute(VerifyEmailCommand(token))


async def test_unknown_expired_and_tampered_tokens_are_one_error(
    register: RegisterUser, verify: VerifyEmail, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    await register.execute(RegisterUserCommand("ada@example.com", PASSWORD))
    token = token_of(uow.outbox_store.messages[0])

    for bad in ("", "nonsense", token[:-1], token + "x"):
        with pytest.raises(InvalidLink):
            await verify.execute(VerifyEmailCommand(bad))
    clock.advance(timedelta(hours=24))
    with pytest.raises(InvalidLink):
        await verify.execute(VerifyEmailCommand(token))
    assert not uow.committed


async def test_asking_again_voids_the_earlier_link(
    register: RegisterUser,
    resend: SendVerificationEmail,
    verify: VerifyEmail,
    uow: FakeUnitOfWork,
) -> None:
    user = await register.execute(RegisterUserCommand("ada@example.com", PASSWORD))
    first = token_of(uow.outbox_store.messages[0])

    await resend.execute(SendVerificationEmailCommand(Principal(user)))

    second = token_of(uow.outbox_store.messages[1])
    with pytest.raises(InvalidLink):
        await verify.execute(VerifyEmailCommand(first))
    assert (await verify.execute(VerifyEmailCommand(second))).email_verified


async def test_a_verified_address_gets_no_new_link(
    seed: UserSeeder, resend: SendVerificationEmail, uow: FakeUnitOfWork
) -> None:
    user: User = seed("ada@example.com")
    user.email_verified = True

    await resend.execute(SendVerificationEmailCommand(Principal(user)))

    assert uow.outbox_store.messages == []


async def test_a_spent_mail_allowance_sends_nothing_and_says_nothing(
    register: RegisterUser,
    resend: SendVerificationEmail,
    uow: FakeUnitOfWork,
    quota: FakeMailQuota,
) -> None:
    user = await register.execute(RegisterUserCommand("ada@example.com", PASSWORD))
    for _ in range(4):
        await resend.execute(SendVerificationEmailCommand(Principal(user)))

    assert len(uow.outbox_store.to("ada@example.com")) == 3
    assert quota.refused == [("ada@example.com", "verify_email")] * 2
    assert len(uow.one_time_store.of(user.id, TokenPurpose.VERIFY_EMAIL)) == 1

"""Admins create accounts whose owners set their password through a mailed link."""

from __future__ import annotations

import pytest

from application.errors import EmailAlreadyRegistered, Forbidden
from application.mail_links import MailLinks
from application.principal import Principal
from application.use_cases.confirm_password_reset import (
    ConfirmPasswordReset,
    ConfirmPasswordResetCommand,
)
from application.use_cases.create_user import CreateUser, CreateUserCommand
from domain.audit import AuditEventType
from domain.mail import MailKind
from domain.users import PasswordPolicy, Role
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
from tests.unit.builders import SessionFlows, UserSeeder

NEW_PASSWORD = "tangerine-umbrella-quietly-1987"


@pytest.fixture
def links() -> MailLinks:
    return mail_links(FakeMailQuota())


@pytest.fixture
def create(
    uow: FakeUnitOfWork, clock: FixedClock, ids: SequentialIds, links: MailLinks
) -> CreateUser:
    return CreateUser(uow.factory, clock, ids, links=links, events=audit_events())


async def test_the_owner_sets_a_password_through_the_mailed_link(  # noqa: PLR0917
    create: CreateUser,
    uow: FakeUnitOfWork,
    seed: UserSeeder,
    links: MailLinks,
    hasher: FakePasswordHasher,
    clock: FixedClock,
    policy: PasswordPolicy,
    auth: SessionFlows,
) -> None:
    admin = seed.admin("root@example.com")

    user = await create.execute(
        CreateUserCommand(Principal(admin), "grace@example.com", "Grace", Role.ADMIN)
    )

    assert (user.role, user.password_hash, user.email_verified) == (Role.ADMIN, None, False)
    (message,) = uow.outbox_store.messages
    assert (message.kind, message.to.value) == (MailKind.SET_PASSWORD, "grace@example.com")
    assert message.values["link"].startswith("https://app.example.com/reset?token=")
    assert message.values["expires_in"] == "24 hours"
    assert message.values["full_name"] == "Grace"
    (event,) = uow.audit_store.of_type(AuditEventType.USER_CREATED)
    assert (event.actor_id, event.subject_id) == (admin.id, user.id)

    confirm = ConfirmPasswordReset(
        uow.factory, hasher, clock, policy, links=links, events=audit_events()
    )
    await confirm.execute(ConfirmPasswordResetCommand(token_of(message), NEW_PASSWORD))

    stored = uow.store.find(user.id)
    assert stored is not None
    assert stored.email_verified
    await auth.login(stored, NEW_PASSWORD)


async def test_only_admins_create_and_only_free_addresses(
    create: CreateUser, uow: FakeUnitOfWork, seed: UserSeeder
) -> None:
    user = seed("plain@example.com")
    admin = seed.admin("root@example.com")

    with pytest.raises(Forbidden):
        await create.execute(CreateUserCommand(Principal(user), "new@example.com"))
    with pytest.raises(EmailAlreadyRegistered):
        await create.execute(CreateUserCommand(Principal(admin), "PLAIN@example.com"))
    assert uow.outbox_store.messages == []
    assert uow.audit_store.of_type(AuditEventType.USER_CREATED) == []

"""Changing one's email: the current password, a link to the new address, a notice to the old."""

from __future__ import annotations

import pytest

from application.errors import EmailAlreadyRegistered, Forbidden, InvalidCurrentPassword
from application.mail_links import MailLinks
from application.principal import AuthMethod, Principal
from application.use_cases.request_email_change import (
    RequestEmailChange,
    RequestEmailChangeCommand,
)
from application.use_cases.verify_email import VerifyEmail, VerifyEmailCommand
from domain.audit import AuditEventType
from domain.errors import InvalidLink
from domain.mail import MailKind
from domain.users import EmailAddress, PasswordPolicy
from tests.fakes import (
    FakeMailQuota,
    FakePasswordHasher,
    FakeUnitOfWork,
    FixedClock,
    audit_events,
    mail_links,
    token_of,
)
from tests.unit.builders import PASSWORD, UserSeeder


@pytest.fixture
def links() -> MailLinks:
    return mail_links(FakeMailQuota())


@pytest.fixture
def change(
    uow: FakeUnitOfWork,
    hasher: FakePasswordHasher,
    clock: FixedClock,
    policy: PasswordPolicy,
    links: MailLinks,
) -> RequestEmailChange:
    return RequestEmailChange(uow.factory, hasher, clock, policy, links=links)


@pytest.fixture
def verify(uow: FakeUnitOfWork, clock: FixedClock) -> VerifyEmail:
    return VerifyEmail(uow.factory, clock, audit_events())


async def test_the_change_happens_only_when_the_new_address_confirms(
    change: RequestEmailChange, verify: VerifyEmail, uow: FakeUnitOfWork, seed: UserSeeder
) -> None:
    user = seed("ada@example.com", full_name="Ada")

    await change.execute(
        RequestEmailChangeCommand(Principal(user), "ada.king@example.com", PASSWORD)
    )

    confirm, notice = uow.outbox_store.messages
    assert (confirm.kind, confirm.to.value) == (
        MailKind.CONFIRM_EMAIL_CHANGE,
        "ada.king@example.com",
    )
    assert confirm.values["link"].startswith("https://app.example.com/verify?token=")
    assert confirm.values["expires_in"] == "24 hours"
    assert (notice.kind, notice.to.value) == (MailKind.EMAIL_CHANGE_NOTICE, "ada@example.com")
    assert notice.values == {"full_name": "Ada", "new_email": "ada.king@example.com"}
    unchanged = uow.store.find(user.id)
    assert unchanged is not None
    assert unchanged.email == EmailAddress("ada@example.com")

    changed = await verify.execute(VerifyEmailCommand(token_of(confirm)))

    assert changed.email == EmailAddress("ada.king@example.com")
    assert changed.email_verified
    (event,) = uow.audit_store.of_type(AuditEventType.USER_EMAIL_CHANGED)
    assert event.details == {"old_email": "ada@example.com", "new_email": "ada.king@example.com"}


async def test_a_wrong_password_or_a_taken_address_sends_nothing(
    change: RequestEmailChange, uow: FakeUnitOfWork, seed: UserSeeder
) -> None:
    user = seed("ada@example.com")
    seed("taken@example.com")

    with pytest.raises(InvalidCurrentPassword):
        await change.execute(
            RequestEmailChangeCommand(Principal(user), "new@example.com", "wrong-password-here")
        )
    for taken in ("TAKEN@example.com", "Ada@example.com"):
        with pytest.raises(EmailAlreadyRegistered):
            await change.execute(RequestEmailChangeCommand(Principal(user), taken, PASSWORD))
    with pytest.raises(Forbidden):
        await change.execute(
            RequestEmailChangeCommand(
                Principal(user, method=AuthMethod.API_KEY), "new@example.com", PASSWORD
            )
        )
    assert uow.outbox_store.messages == []


async def test_asking_again_voids_the_earlier_link(
    change: RequestEmailChange, verify: VerifyEmail, uow: FakeUnitOfWork, seed: UserSeeder
) -> None:
    user = seed("ada@example.com")
    await change.execute(RequestEmailChangeCommand(Principal(user), "one@example.com", PASSWORD))
    await change.execute(RequestEmailChangeCommand(Principal(user), "two@example.com", PASSWORD))
    first = token_of(uow.outbox_store.to("one@example.com")[0])

    with pytest.raises(InvalidLink):
        await verify.execute(VerifyEmailCommand(first))
    second = token_of(uow.outbox_store.to("two@example.com")[0])
    assert (await verify.execute(VerifyEmailCommand(second))).email.value == "two@example.com"


async def test_an_address_registered_meanwhile_is_not_taken_over(
    change: RequestEmailChange, verify: VerifyEmail, uow: FakeUnitOfWork, seed: UserSeeder
) -> None:
    user = seed("ada@example.com")
    await change.execute(RequestEmailChangeCommand(Principal(user), "new@example.com", PASSWORD))
    seed("new@example.com")

    with pytest.raises(EmailAlreadyRegistered):
        await verify.execute(VerifyEmailCommand(token_of(uow.outbox_store.messages[0])))
    stored = uow.store.find(user.id)
    assert stored is not None
    assert stored.email == EmailAddress("ada@example.com")

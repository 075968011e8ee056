"""An overlong password is refused the same way at login and at password change."""

from __future__ import annotations

import pytest

from application.errors import InvalidCredentials, InvalidCurrentPassword
from application.principal import Principal
from application.sessions import SessionIssuer
from application.use_cases.authenticate_with_password import (
    AuthenticateWithPassword,
    PasswordGrantCommand,
)
from application.use_cases.change_password import ChangePassword, ChangePasswordCommand
from domain.users import PasswordPolicy
from tests.fakes import (
    FakePasswordHasher,
    FakePseudonymizer,
    FakeUnitOfWork,
    FixedClock,
    audit_events,
)
from tests.unit.builders import PASSWORD, UserSeeder

NEW_PASSWORD = "a-brand-new-passphrase-2026"


@pytest.mark.parametrize(
    "password",
    [pytest.param("x" * 129, id="overlong"), pytest.param("x" * 1_000_000, id="megabyte")],
)
async def test_an_overlong_password_costs_no_hash_on_either_path(
    *,
    uow: FakeUnitOfWork,
    hasher: FakePasswordHasher,
    sessions: SessionIssuer,
    clock: FixedClock,
    policy: PasswordPolicy,
    seed: UserSeeder,
    password: str,
) -> None:
    # No password that long was ever stored; its length is the caller's own choice, so both
    # paths answer at once, and alike, rather than one hashing it and the other not.
    user = seed("ada@example.com")
    login = AuthenticateWithPassword(
        uow.factory,
        hasher,
        sessions,
        clock,
        policy,
        events=audit_events(),
        pseudonyms=FakePseudonymizer(),
    )
    change = ChangePassword(uow.factory, hasher, clock, policy, audit_events())

    with pytest.raises(InvalidCredentials) as at_login:
        await login.execute(PasswordGrantCommand("ada@example.com", password))
    with pytest.raises(InvalidCurrentPassword):
        await change.execute(ChangePasswordCommand(Principal(user), password, NEW_PASSWORD))
    assert (hasher.verifications, hasher.hash_calls) == (0, 0)
    # The failed login is recorded; nothing else is written.
    assert [event.type for event in uow.audit_store.events] == ["user.login_failed"]
    assert uow.commit_count == 1
    with pytest.raises(InvalidCredentials) as wrong:
        await login.execute(PasswordGrantCommand("ada@example.com", PASSWORD + "!"))
    assert str(at_login.value) == str(wrong.value)

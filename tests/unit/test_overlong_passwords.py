"""An overlong password costs what any wrong password costs, at login and at password change."""

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
from tests.fakes import FakePasswordHasher, FakeUnitOfWork, FixedClock
from tests.unit.builders import PASSWORD, UserSeeder

NEW_PASSWORD = "a-brand-new-passphrase-2026"


@pytest.mark.parametrize(
    "password",
    [pytest.param("x" * 129, id="overlong"), pytest.param("x" * 1_000_000, id="megabyte")],
)
async def test_an_overlong_password_costs_one_bounded_verification_on_both_paths(
    *,
    uow: FakeUnitOfWork,
    hasher: FakePasswordHasher,
    sessions: SessionIssuer,
    clock: FixedClock,
    policy: PasswordPolicy,
    seed: UserSeeder,
    password: str,
) -> None:
    # Answered sooner than a wrong password, it would be told apart by time; hashed whole, a
    # megabyte would cost far more than any password.
    user = seed("ada@example.com")
    login = AuthenticateWithPassword(uow.factory, hasher, sessions, clock, policy)
    change = ChangePassword(uow.factory, hasher, clock, policy)

    with pytest.raises(InvalidCredentials) as at_login:
        await login.execute(PasswordGrantCommand("ada@example.com", password))
    login_work = (hasher.verifications, hasher.longest_verified)
    with pytest.raises(InvalidCurrentPassword):
        await change.execute(ChangePasswordCommand(Principal(user), password, NEW_PASSWORD))
    change_work = (hasher.verifications - login_work[0], hasher.longest_verified)
    with pytest.raises(InvalidCredentials) as wrong:
        await login.execute(PasswordGrantCommand("ada@example.com", PASSWORD + "!"))

    assert login_work == change_work == (1, policy.max_length)
    assert str(at_login.value) == str(wrong.value)
    assert uow.commit_count == 0

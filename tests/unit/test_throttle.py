"""The Throttle: which policies a request spends, under which keys, and store failures."""

from __future__ import annotations

import re
from uuid import UUID

import pytest

from application.errors import StorageUnavailable
from application.ports.rate_limiting import RateLimitPolicy
from application.principal import AuthMethod, Principal
from application.rate_limiting import (
    OPERATION_POLICIES,
    Caller,
    Operation,
    PolicyName,
    Throttle,
    operation_for,
    password_change_for,
)
from tests.fakes import FakeRateLimiter, RecordingRateLimitObserver
from tests.unit.builders import UserSeeder

LIMITS = {
    PolicyName.ANONYMOUS: (60, 60),
    PolicyName.USER: (600, 60),
    PolicyName.API_KEY: (1200, 60),
    PolicyName.CLIENT: (1200, 60),
    PolicyName.LOGIN_IP: (30, 60),
    PolicyName.LOGIN_USERNAME: (10, 60),
    PolicyName.LOGIN_ACCOUNT: (100, 3600),
    PolicyName.REGISTER: (10, 3600),
    PolicyName.MFA: (5, 300),
    PolicyName.MAIL: (5, 3600),
}
KEY_SHAPE = re.compile(r"^[a-z_]+:[0-9a-f]{32}$")


def policies(**limits: int) -> dict[PolicyName, RateLimitPolicy]:
    """The default policies, with some limits replaced: `policies(login_username=3)`."""
    return {
        name: RateLimitPolicy(name.value, limits.get(name.value, limit), window)
        for name, (limit, window) in LIMITS.items()
    }


@pytest.fixture
def limiter() -> FakeRateLimiter:
    return FakeRateLimiter()


@pytest.fixture
def observer() -> RecordingRateLimitObserver:
    return RecordingRateLimitObserver()


def throttle(
    limiter: FakeRateLimiter,
    observer: RecordingRateLimitObserver,
    *,
    fail_open: bool = True,
    **limits: int,
) -> Throttle:
    return Throttle(limiter, policies(**limits), observer, fail_open=fail_open)


def test_every_operation_names_known_policies_and_a_throttle_needs_them_all(
    limiter: FakeRateLimiter, observer: RecordingRateLimitObserver
) -> None:
    assert set(OPERATION_POLICIES) == set(Operation)
    incomplete = policies()
    del incomplete[PolicyName.REGISTER]

    with pytest.raises(ValueError, match="register"):
        Throttle(limiter, incomplete, observer, fail_open=True)


def test_a_password_grant_spends_ip_then_pair_then_account_policies_under_hashed_keys(
    limiter: FakeRateLimiter, observer: RecordingRateLimitObserver
) -> None:
    charges = throttle(limiter, observer).charges(
        Operation.PASSWORD_GRANT, Caller(client="203.0.113.7", username="ada@example.com")
    )

    assert [c.policy.name for c in charges] == [
        "anonymous",
        "login_ip",
        "login_username",
        "login_account_share",
        "login_account",
    ]
    for charge in charges:
        assert KEY_SHAPE.match(charge.key)
        assert charge.key.startswith(f"{charge.policy.name}:")
        assert "203.0.113.7" not in charge.key
        assert "ada" not in charge.key
    digests = [charge.key.split(":")[1] for charge in charges]
    # The client address, the (username, address) pair and the username: three identities.
    assert digests[0] == digests[1]
    assert digests[2] == digests[3]
    assert len({digests[0], digests[2], digests[4]}) == 3


def test_the_account_share_is_half_the_account_ceiling_over_its_window(
    limiter: FakeRateLimiter, observer: RecordingRateLimitObserver
) -> None:
    charges = throttle(limiter, observer, login_account=7).charges(
        Operation.PASSWORD_GRANT, Caller("203.0.113.7", username="ada@example.com")
    )

    share = next(c.policy for c in charges if c.policy.name == "login_account_share")
    assert (share.limit, share.window_seconds) == (3, 3600)


def test_usernames_are_counted_trimmed_and_lowercased(
    limiter: FakeRateLimiter, observer: RecordingRateLimitObserver
) -> None:
    subject = throttle(limiter, observer)

    def username_keys(username: str, client: str = "198.51.100.1") -> list[str]:
        charges = subject.charges(Operation.PASSWORD_GRANT, Caller(client, username))
        return [charge.key for charge in charges[2:]]

    assert username_keys(" Ada@Example.COM ") == username_keys("ada@example.com")
    assert username_keys("bob@example.com")[-1] != username_keys("ada@example.com")[-1]
    other_address = username_keys("ada@example.com", "198.51.100.2")
    assert other_address[0] != username_keys("ada@example.com")[0], "a pair per address"
    assert other_address[-1] == username_keys("ada@example.com")[-1], "one account ceiling"


def test_a_password_grant_without_a_username_still_counts_per_ip(
    limiter: FakeRateLimiter, observer: RecordingRateLimitObserver
) -> None:
    charges = throttle(limiter, observer).charges(Operation.PASSWORD_GRANT, Caller("192.0.2.1"))

    assert [c.policy.name for c in charges] == ["anonymous", "login_ip"]


def test_registration_counts_per_ip_against_anonymous_and_register(
    limiter: FakeRateLimiter, observer: RecordingRateLimitObserver
) -> None:
    charges = throttle(limiter, observer).charges(Operation.REGISTER, Caller("192.0.2.1"))

    assert [c.policy.name for c in charges] == ["anonymous", "register"]


def test_bearer_principals_count_per_user_and_api_keys_per_key(
    limiter: FakeRateLimiter, observer: RecordingRateLimitObserver, seed: UserSeeder
) -> None:
    user = seed("ada@example.com")
    key_id = UUID(int=77)
    bearer = Principal(user=user)
    by_key = Principal(user=user, method=AuthMethod.API_KEY, api_key_id=key_id)
    subject = throttle(limiter, observer)

    bearer_charges = subject.charges(operation_for(bearer), Caller("192.0.2.1", principal=bearer))
    key_charges = subject.charges(operation_for(by_key), Caller("192.0.2.1", principal=by_key))
    other_client = subject.charges(operation_for(bearer), Caller("192.0.2.9", principal=bearer))

    assert [c.policy.name for c in bearer_charges] == ["user"]
    assert [c.policy.name for c in key_charges] == ["api_key"]
    assert bearer_charges == other_client, "a user's allowance does not depend on the address"
    assert str(user.id) not in bearer_charges[0].key
    assert str(key_id) not in key_charges[0].key


async def test_spending_stops_at_the_first_refusal(
    limiter: FakeRateLimiter, observer: RecordingRateLimitObserver
) -> None:
    subject = throttle(limiter, observer, anonymous=1)
    caller = Caller("192.0.2.1", username="ada@example.com")

    first = await subject.spend(Operation.PASSWORD_GRANT, caller)
    second = await subject.spend(Operation.PASSWORD_GRANT, caller)

    assert first.allowed
    assert not second.allowed
    assert second.refusal is not None
    assert second.refusal.policy.name == "anonymous"
    assert [s.policy.name for s in second.statuses] == ["anonymous"]
    account_key = subject.charges(Operation.PASSWORD_GRANT, caller)[-1].key
    assert limiter.counts[account_key] == 1, "the refused request spent nothing further"


async def test_a_guesser_at_one_address_does_not_lock_the_owner_out_from_another(
    limiter: FakeRateLimiter, observer: RecordingRateLimitObserver
) -> None:
    subject = throttle(limiter, observer)
    guesser = Caller("203.0.113.7", username="ada@example.com")
    owner = Caller("198.51.100.20", username="ada@example.com")

    guesses = [await subject.spend(Operation.PASSWORD_GRANT, guesser) for _ in range(11)]
    owners_login = await subject.spend(Operation.PASSWORD_GRANT, owner)

    assert [g.allowed for g in guesses] == [True] * 10 + [False]
    refusal = guesses[-1].refusal
    assert refusal is not None
    assert refusal.policy.name == "login_username"
    assert owners_login.allowed


async def test_one_address_spends_at_most_half_of_the_account_ceiling(
    limiter: FakeRateLimiter, observer: RecordingRateLimitObserver
) -> None:
    subject = throttle(limiter, observer, login_username=1000, login_account=6)
    guesser = Caller("203.0.113.7", username="ada@example.com")
    owner = Caller("198.51.100.20", username="ada@example.com")

    guesses = [await subject.spend(Operation.PASSWORD_GRANT, guesser) for _ in range(5)]
    owners_logins = [await subject.spend(Operation.PASSWORD_GRANT, owner) for _ in range(3)]

    assert [g.allowed for g in guesses] == [True, True, True, False, False]
    refusal = guesses[-1].refusal
    assert refusal is not None
    assert refusal.policy.name == "login_account_share"
    assert all(login.allowed for login in owners_logins), "half the ceiling is left"


async def test_rotating_addresses_do_not_lift_the_account_ceiling(
    limiter: FakeRateLimiter, observer: RecordingRateLimitObserver
) -> None:
    subject = throttle(limiter, observer, login_account=3)
    outcomes = [
        await subject.spend(
            Operation.PASSWORD_GRANT, Caller(f"203.0.113.{i}", username="ada@example.com")
        )
        for i in range(5)
    ]

    assert [o.allowed for o in outcomes] == [True, True, True, False, False]
    refusal = outcomes[3].refusal
    assert refusal is not None
    assert refusal.policy.name == "login_account"


async def test_a_password_change_spends_its_users_pair_and_not_the_account_ceiling(
    limiter: FakeRateLimiter, observer: RecordingRateLimitObserver, seed: UserSeeder
) -> None:
    user = seed("ada@example.com")
    principal = Principal(user=user)
    subject = throttle(limiter, observer, login_username=2, login_account=4)
    operation = password_change_for(principal)

    # Guessers elsewhere exhaust the account ceiling.
    for i in range(4):
        await subject.spend(Operation.PASSWORD_GRANT, Caller(f"203.0.113.{i}", "ada@example.com"))
    at_home = Caller("198.51.100.20", username=user.email.normalized, principal=principal)
    changes = [await subject.spend(operation, at_home) for _ in range(3)]
    login = await subject.spend(
        Operation.PASSWORD_GRANT, Caller("198.51.100.20", "ada@example.com")
    )

    assert [c.allowed for c in changes] == [True, True, False]
    assert {s.policy.name for s in changes[0].statuses} == {
        "user",
        "login_username",
        "login_account_share",
    }
    refusal = changes[-1].refusal
    assert refusal is not None
    assert refusal.policy.name == "login_username", "it shares the pair's login allowance"
    assert not login.allowed


async def test_statuses_come_closest_to_exhaustion_first(
    limiter: FakeRateLimiter, observer: RecordingRateLimitObserver
) -> None:
    subject = throttle(
        limiter, observer, anonymous=50, login_ip=5, login_username=20, login_account=60
    )

    decision = await subject.spend(Operation.PASSWORD_GRANT, Caller("192.0.2.1", "ada@x.org"))

    assert [(s.policy.name, s.remaining) for s in decision.statuses] == [
        ("login_ip", 4),
        ("login_username", 19),
        ("login_account_share", 29),
        ("anonymous", 49),
        ("login_account", 59),
    ]


async def test_a_refusal_is_listed_first(
    limiter: FakeRateLimiter, observer: RecordingRateLimitObserver
) -> None:
    subject = throttle(limiter, observer, anonymous=5, login_ip=1)
    caller = Caller("192.0.2.1", "ada@example.com")
    await subject.spend(Operation.PASSWORD_GRANT, caller)

    decision = await subject.spend(Operation.PASSWORD_GRANT, caller)

    assert [(s.policy.name, s.allowed) for s in decision.statuses] == [
        ("login_ip", False),
        ("anonymous", True),
    ]


async def test_failing_open_lets_the_request_through_and_tells_the_observer(
    limiter: FakeRateLimiter, observer: RecordingRateLimitObserver
) -> None:
    limiter.broken = True
    subject = throttle(limiter, observer, fail_open=True)

    decision = await subject.spend(Operation.REGISTER, Caller("192.0.2.1"))

    assert decision.allowed
    assert decision.statuses == ()
    assert [failed_open for _, failed_open in observer.failures] == [True]


async def test_failing_closed_raises_storage_unavailable_and_tells_the_observer(
    limiter: FakeRateLimiter, observer: RecordingRateLimitObserver
) -> None:
    limiter.broken = True
    subject = throttle(limiter, observer, fail_open=False)

    with pytest.raises(StorageUnavailable):
        await subject.spend(Operation.REGISTER, Caller("192.0.2.1"))

    assert [failed_open for _, failed_open in observer.failures] == [False]


async def test_a_store_that_recovers_counts_again(
    limiter: FakeRateLimiter, observer: RecordingRateLimitObserver
) -> None:
    subject = throttle(limiter, observer, fail_open=False)
    limiter.broken = True
    with pytest.raises(StorageUnavailable):
        await subject.check_storage()

    limiter.broken = False
    await subject.check_storage()
    decision = await subject.spend(Operation.REGISTER, Caller("192.0.2.1"))

    assert decision.allowed
    assert [s.policy.name for s in decision.statuses] == ["register", "anonymous"]

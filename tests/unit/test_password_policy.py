from __future__ import annotations

import pytest

from domain.errors import WeakPassword
from domain.users import EmailAddress, PasswordPolicy

GOOD = "correct horse battery staple"


def test_accepts_a_long_passphrase() -> None:
    PasswordPolicy().check(GOOD, email=EmailAddress("ada@example.com"))


def test_rejects_passwords_shorter_than_min_length() -> None:
    policy = PasswordPolicy()

    with pytest.raises(WeakPassword, match="at least 15"):
        policy.check("x7-Kq2!mZp9#vL")
    policy.check("x7-Kq2!mZp9#vL4")


def test_min_length_is_configurable() -> None:
    PasswordPolicy(min_length=8).check("k9#mQ2vL")


def test_rejects_passwords_longer_than_max_length() -> None:
    policy = PasswordPolicy(min_length=8, max_length=20)

    policy.check("abcdefghij0123456789")
    with pytest.raises(WeakPassword, match="at most 20"):
        policy.check("abcdefghij0123456789x")


def test_default_max_length_is_128() -> None:
    policy = PasswordPolicy()
    long_ok = ("abcdefghijklmnop" * 8)[:128]

    policy.check(long_ok)
    with pytest.raises(WeakPassword):
        policy.check(long_ok + "q")


@pytest.mark.parametrize("password", ["password1234567", "PASSWORD1234567", "PassWord1234567"])
def test_blocklist_ignores_case_of_password_and_entries(password: str) -> None:
    # The entry itself is mixed-case: the policy must fold both sides.
    policy = PasswordPolicy(blocklist=frozenset({"Password1234567"}))

    with pytest.raises(WeakPassword, match="too common"):
        policy.check(password)


def test_blocklist_does_not_reject_other_passwords() -> None:
    PasswordPolicy(blocklist=frozenset({"password1234567"})).check("password1234567!")


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("a" * 20, id="one-character"),
        pytest.param("ab" * 10, id="two-characters"),
        pytest.param("aAaAaAaAaAaAaAaA", id="one-character-in-two-cases"),
        pytest.param("aaaaaaaaaaaaaaab", id="mostly-one-character"),
    ],
)
def test_rejects_passwords_of_at_most_two_distinct_characters(password: str) -> None:
    with pytest.raises(WeakPassword, match="too common"):
        PasswordPolicy().check(password)


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("ada.lovelace@example.com", id="same"),
        pytest.param("ADA.LOVELACE@EXAMPLE.COM", id="other-case"),
    ],
)
def test_rejects_the_users_email(password: str) -> None:
    email = EmailAddress("Ada.Lovelace@Example.com")

    with pytest.raises(WeakPassword, match="email"):
        PasswordPolicy().check(password, email=email)


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("AdaLovelace1815", id="same"),
        pytest.param("adalovelace1815adalovelace1815", id="repeated"),
    ],
)
def test_rejects_the_local_part_of_the_users_email(password: str) -> None:
    email = EmailAddress("adalovelace1815@example.com")

    with pytest.raises(WeakPassword):
        PasswordPolicy().check(password, email=email)


def test_email_rule_needs_the_email() -> None:
    PasswordPolicy().check("adalovelace1815@example.com")


@pytest.mark.parametrize("password", ["accounts", "ACCOUNTS", "accountsaccounts"])
def test_rejects_the_service_name(password: str) -> None:
    with pytest.raises(WeakPassword, match="service"):
        PasswordPolicy(min_length=8).check(password)


def test_allows_the_service_name_inside_a_longer_passphrase() -> None:
    PasswordPolicy().check("my accounts are safe now")


def test_context_words_are_configurable_and_case_insensitive() -> None:
    policy = PasswordPolicy(min_length=8, context_words=("ExampleCorp",))

    with pytest.raises(WeakPassword):
        policy.check("examplecorp")
    policy.check("accounts")


@pytest.mark.parametrize(
    ("min_length", "max_length"),
    [
        pytest.param(7, 128, id="min-below-8"),
        pytest.param(16, 15, id="min-above-max"),
        pytest.param(15, 129, id="max-above-128"),
    ],
)
def test_rejects_bad_configuration(min_length: int, max_length: int) -> None:
    with pytest.raises(ValueError, match="min_length"):
        PasswordPolicy(min_length=min_length, max_length=max_length)


@pytest.mark.parametrize(("min_length", "max_length"), [(8, 8), (128, 128), (8, 128)])
def test_accepts_configuration_at_the_bounds(min_length: int, max_length: int) -> None:
    policy = PasswordPolicy(min_length=min_length, max_length=max_length)

    assert (policy.min_length, policy.max_length) == (min_length, max_length)


def test_repr_hides_the_blocklist() -> None:
    assert "secret-entry" not in repr(PasswordPolicy(blocklist=frozenset({"secret-entry"})))

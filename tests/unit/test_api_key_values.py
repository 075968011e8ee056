from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.credentials import API_KEY_PREFIX, ApiKey, ApiKeyId, ApiKeyName, ParsedApiKey
from domain.credentials.secrets import SecretDigest
from domain.errors import InvalidApiKeyName, InvalidExpiry
from domain.users import UserId

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
RANDOM_PART = "abcdefgh23"
SECRET = "S3cret-with_all-the-URL-safe-chars-0123456789"
KEY = f"acc_{RANDOM_PART}_{SECRET}"


def make_key(key: str = KEY, *, expires_at: datetime | None = None) -> ApiKey:
    return ApiKey.create(
        key_id=ApiKeyId(UUID(int=1)),
        user_id=UserId(UUID(int=2)),
        name=ApiKeyName("ci"),
        key=key,
        now=NOW,
        expires_at=expires_at,
    )


def parsed(key: str) -> ParsedApiKey:
    result = ParsedApiKey.parse(key)
    assert result is not None
    return result


def test_compose_gives_a_key_that_parses_into_its_prefix() -> None:
    key = ParsedApiKey.compose(RANDOM_PART, SECRET)

    result = ParsedApiKey.parse(key)

    assert key == KEY
    assert result is not None
    assert result.prefix == f"{API_KEY_PREFIX}{RANDOM_PART}"
    assert result.key == key
    assert key.startswith(result.prefix)
    assert len(result.prefix) >= 8


def test_a_secret_of_exactly_the_minimum_length_parses() -> None:
    assert ParsedApiKey.parse(f"acc_{RANDOM_PART}_{'a' * 32}") is not None


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param(f"key_{RANDOM_PART}_{SECRET}", id="wrong-prefix"),
        pytest.param(f"ACC_{RANDOM_PART}_{SECRET}", id="upper-case-prefix"),
        pytest.param(f"acc{RANDOM_PART}_{SECRET}", id="no-underscore-after-acc"),
        pytest.param(f"acc_{RANDOM_PART}{SECRET}", id="no-separator"),
        pytest.param(f"acc_{RANDOM_PART}_{'a' * 31}", id="short-secret"),
        pytest.param(f"acc_abcdefgh2_{SECRET}", id="short-random-part"),
        pytest.param(f"acc_abcdefgh234_{SECRET}", id="long-random-part"),
        pytest.param(f"acc_abcdefgh01_{SECRET}", id="random-part-outside-base32"),
        pytest.param(f"acc_ABCDEFGH23_{SECRET}", id="random-part-upper-case"),
        pytest.param(f"acc_{RANDOM_PART}_{SECRET}+/=", id="secret-not-url-safe"),
        pytest.param(f"acc_{RANDOM_PART}_{SECRET} ", id="trailing-space"),
        pytest.param(f" acc_{RANDOM_PART}_{SECRET}", id="leading-space"),
        pytest.param(f"acc_{RANDOM_PART}_{SECRET}\n", id="trailing-newline"),
        pytest.param(f"acc_{RANDOM_PART}_{'a' * 300}", id="overlong"),
        pytest.param(f"acc_{RANDOM_PART}_{'é' * 40}", id="non-ascii-secret"),
    ],
)
def test_parse_refuses_anything_not_in_the_key_format(key: str) -> None:
    assert ParsedApiKey.parse(key) is None


def test_a_key_of_exactly_the_maximum_length_parses_and_one_more_does_not() -> None:
    head = f"acc_{RANDOM_PART}_"

    assert ParsedApiKey.parse(head + "a" * (256 - len(head))) is not None
    assert ParsedApiKey.parse(head + "a" * (257 - len(head))) is None


@pytest.mark.parametrize(
    ("random_part", "secret"),
    [
        pytest.param("short", SECRET, id="short-random-part"),
        pytest.param(RANDOM_PART, "too-short", id="short-secret"),
        pytest.param(RANDOM_PART, "has spaces " * 4, id="bad-alphabet"),
    ],
)
def test_compose_refuses_parts_that_do_not_fit(random_part: str, secret: str) -> None:
    with pytest.raises(ValueError, match="key format"):
        ParsedApiKey.compose(random_part, secret)


def test_parsed_key_repr_hides_the_secret() -> None:
    assert SECRET not in repr(parsed(KEY))


def test_create_stores_only_the_digest_of_the_key() -> None:
    api_key = make_key()

    values = [getattr(api_key, f.name) for f in dataclasses.fields(api_key)]
    assert KEY not in values
    assert SECRET not in values
    assert all(SECRET not in str(value) for value in values)
    assert SECRET not in repr(api_key)
    assert api_key.digest == SecretDigest.of(KEY)
    assert api_key.prefix == f"acc_{RANDOM_PART}"
    assert api_key.created_at == NOW
    assert api_key.last_used_at is None


def test_create_refuses_a_malformed_key() -> None:
    with pytest.raises(ValueError, match="well-formed"):
        make_key("not-a-key")


@pytest.mark.parametrize("offset", [timedelta(0), -timedelta(seconds=1), -timedelta(days=1)])
def test_create_refuses_an_expiry_that_is_not_in_the_future(offset: timedelta) -> None:
    with pytest.raises(InvalidExpiry) as failure:
        make_key(expires_at=NOW + offset)

    assert failure.value.field == "expires_at"
    assert failure.value.code == "invalid_expiry"


def test_accepts_the_key_it_was_made_from() -> None:
    api_key = make_key(expires_at=NOW + timedelta(days=1))

    assert api_key.accepts(parsed(KEY), NOW)


def test_refuses_a_wrong_secret_behind_the_right_prefix() -> None:
    api_key = make_key()
    wrong = parsed(f"acc_{RANDOM_PART}_{'W' * len(SECRET)}")

    assert wrong.prefix == api_key.prefix
    assert not api_key.accepts(wrong, NOW)


def test_refuses_the_right_secret_behind_another_prefix() -> None:
    api_key = make_key()

    assert not api_key.accepts(parsed(f"acc_zzzzzzzz23_{SECRET}"), NOW)


def test_refuses_once_expired() -> None:
    expires_at = NOW + timedelta(days=1)
    api_key = make_key(expires_at=expires_at)

    assert api_key.accepts(parsed(KEY), expires_at - timedelta(seconds=1))
    assert not api_key.accepts(parsed(KEY), expires_at)
    assert api_key.is_expired(expires_at)


def test_a_key_without_expiry_never_expires() -> None:
    api_key = make_key()

    assert api_key.accepts(parsed(KEY), NOW + timedelta(days=3650))


def test_record_use_writes_at_most_once_per_minute() -> None:
    api_key = make_key()

    assert api_key.record_use(NOW)
    assert api_key.last_used_at == NOW
    assert not api_key.record_use(NOW + timedelta(seconds=59))
    assert api_key.last_used_at == NOW
    assert api_key.record_use(NOW + timedelta(minutes=1))
    assert api_key.last_used_at == NOW + timedelta(minutes=1)


def test_keys_compare_by_id() -> None:
    api_key = make_key()
    renamed = dataclasses.replace(api_key, name=ApiKeyName("other"))

    assert renamed == api_key
    assert hash(renamed) == hash(api_key)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("ci", "ci"), ("  deploy bot  ", "deploy bot"), ("x" * 100, "x" * 100), ("clé", "clé")],
)
def test_name_is_trimmed(text: str, expected: str) -> None:
    assert ApiKeyName(text).value == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("x" * 101, id="too-long"),
        pytest.param("a\x00b", id="nul"),
        pytest.param("line\nbreak", id="newline"),
        pytest.param("tab\there", id="tab"),
        pytest.param("del\x7f", id="del"),
        pytest.param("next\x85line", id="c1-control"),
    ],
)
def test_name_refuses_empty_long_or_control_characters(text: str) -> None:
    with pytest.raises(InvalidApiKeyName) as failure:
        ApiKeyName(text)

    assert failure.value.field == "name"
    assert failure.value.code == "invalid_api_key_name"


def test_the_length_limit_applies_after_trimming() -> None:
    assert ApiKeyName(f"  {'x' * 100}  ").value == "x" * 100


def test_secret_digest_matches_only_its_secret() -> None:
    digest = SecretDigest.of("a secret")

    assert digest.matches("a secret")
    assert not digest.matches("a secret ")
    assert not digest.matches("A secret")
    assert not digest.matches("")
    assert digest.value != "a secret"
    assert len(digest.value) == 64


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("a" * 63, id="short"),
        pytest.param("a" * 65, id="long"),
        pytest.param("A" * 64, id="upper-case"),
        pytest.param("g" * 64, id="not-hex"),
        pytest.param("a" * 64 + "\n", id="trailing-newline"),
    ],
)
def test_secret_digest_refuses_anything_but_64_lowercase_hex(value: str) -> None:
    with pytest.raises(ValueError, match="64 lowercase hex"):
        SecretDigest(value)

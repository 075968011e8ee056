"""Settings of the token lifecycle and the external identity provider, validated at start."""

from __future__ import annotations

import pytest

from entrypoints.settings import Settings, SettingsError, load_settings

PROVIDER = {
    "ACCOUNTS_EXTERNAL_JWKS_URL": "https://idp.example.com/.well-known/jwks.json",
    "ACCOUNTS_EXTERNAL_ISSUER": "https://idp.example.com/",
    "ACCOUNTS_EXTERNAL_AUDIENCE": "accounts-api",
}
STRONG_SECRET = "a-strong-production-secret-with-enough-entropy-0123456789"


def load_with(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> Settings:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return load_settings()


def test_token_lifetimes_default_to_the_contract() -> None:
    settings = Settings()

    assert settings.tokens.access_ttl_seconds == 900
    assert settings.tokens.refresh_ttl_seconds == 2_592_000
    assert settings.tokens.session_max_age_seconds == 7_776_000
    assert settings.external_provider.jwks_url is None


def test_a_complete_provider_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_with(monkeypatch, {**PROVIDER, "ACCOUNTS_EXTERNAL_ROLES_CLAIM": "roles"})

    assert str(settings.external_provider.jwks_url) == PROVIDER["ACCOUNTS_EXTERNAL_JWKS_URL"]
    assert settings.external_provider.roles_claim == "roles"


@pytest.mark.parametrize("missing", sorted(PROVIDER))
def test_a_partial_provider_is_one_line_naming_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    partial = {name: value for name, value in PROVIDER.items() if name != missing}

    with pytest.raises(SettingsError) as raised:
        load_with(monkeypatch, partial)

    assert str(raised.value).startswith(f"invalid configuration: {missing} must be set")
    assert "\n" not in str(raised.value)


def test_the_provider_cannot_share_our_issuer(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match="ACCOUNTS_EXTERNAL_ISSUER must differ"):
        load_with(
            monkeypatch,
            {**PROVIDER, "ACCOUNTS_JWT_ISSUER": "accounts", "ACCOUNTS_EXTERNAL_ISSUER": "accounts"},
        )


def test_production_wants_the_jwks_over_https(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        **PROVIDER,
        "ACCOUNTS_ENV": "production",
        "ACCOUNTS_PUBLIC_URL": "https://id.example.com",
        "ACCOUNTS_JWT_ALGORITHM": "HS256",
        "ACCOUNTS_JWT_SECRET": STRONG_SECRET,
        "ACCOUNTS_EXTERNAL_JWKS_URL": "http://idp.example.com/jwks.json",
    }

    with pytest.raises(SettingsError, match="must use https in production"):
        load_with(monkeypatch, values)
    monkeypatch.setenv("ACCOUNTS_ENV", "development")
    assert load_settings().external_provider.jwks_url is not None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ACCOUNTS_REFRESH_TOKEN_TTL_SECONDS", "0"),
        ("ACCOUNTS_SESSION_MAX_AGE_SECONDS", "forever"),
        ("ACCOUNTS_EXTERNAL_JWKS_URL", "not a url"),
    ],
)
def test_bad_values_name_their_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        load_with(monkeypatch, {variable: value})

    assert str(raised.value).startswith(f"invalid configuration: {variable}: ")

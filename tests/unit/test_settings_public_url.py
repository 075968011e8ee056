"""`PUBLIC_URL`: the service's external base URL, and the problem `type`s built from it."""

from __future__ import annotations

import pytest

from entrypoints.settings import Settings, SettingsError, load_settings

STRONG_SECRET = "a-strong-production-secret-with-enough-entropy-0123456789"


def load_with(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> Settings:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return load_settings()


def test_development_defaults_to_where_the_service_listens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().effective_public_url == "http://127.0.0.1:8000"

    settings = load_with(monkeypatch, {"ACCOUNTS_HOST": "::1", "ACCOUNTS_PORT": "9000"})

    assert settings.effective_public_url == "http://[::1]:9000"
    assert settings.effective_error_docs_base_url == "http://[::1]:9000/errors"


def test_problem_types_live_under_the_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_with(monkeypatch, {"ACCOUNTS_PUBLIC_URL": "https://id.example.com/accounts/"})

    assert settings.effective_public_url == "https://id.example.com/accounts"
    assert settings.effective_error_docs_base_url == "https://id.example.com/accounts/errors"


def test_an_explicit_error_docs_base_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_with(
        monkeypatch,
        {
            "ACCOUNTS_PUBLIC_URL": "https://id.example.com",
            "ACCOUNTS_ERROR_DOCS_BASE_URL": "https://docs.example.com/problems/",
        },
    )

    assert settings.effective_error_docs_base_url == "https://docs.example.com/problems"


def test_production_stops_without_a_public_url_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    production = {
        "ACCOUNTS_ENV": "production",
        "ACCOUNTS_KEY_ENCRYPTION_KEY": STRONG_SECRET,
        "ACCOUNTS_MAIL_URL": "smtp://mail.example.com:587",
    }

    with pytest.raises(SettingsError) as raised:
        load_with(monkeypatch, production)

    assert str(raised.value).startswith("invalid configuration: ACCOUNTS_PUBLIC_URL must be set")
    assert "\n" not in str(raised.value)
    monkeypatch.setenv("ACCOUNTS_PUBLIC_URL", "https://id.example.com")
    assert load_settings().effective_public_url == "https://id.example.com"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ACCOUNTS_PUBLIC_URL", "id.example.com"),
        ("ACCOUNTS_PUBLIC_URL", "https://id.example.com/?next=1"),
        ("ACCOUNTS_PUBLIC_URL", "https://id.example.com/#top"),
        ("ACCOUNTS_ERROR_DOCS_BASE_URL", "https://docs.example.com/?q=1"),
    ],
)
def test_a_url_that_is_no_base_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        load_with(monkeypatch, {variable: value})

    assert str(raised.value).startswith(f"invalid configuration: {variable}: ")


def test_the_issuer_is_the_public_url_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().effective_issuer == "http://127.0.0.1:8000"
    assert Settings(public_url="https://id.example.com/").effective_issuer == (
        "https://id.example.com"
    )

    settings = load_with(
        monkeypatch,
        {"ACCOUNTS_PUBLIC_URL": "https://id.example.com", "ACCOUNTS_JWT_ISSUER": "urn:acme:id"},
    )

    assert settings.effective_issuer == "urn:acme:id"
    assert settings.totp_issuer == "urn:acme:id"


def test_authenticator_apps_show_the_issuers_host() -> None:
    assert Settings(public_url="https://id.example.com/accounts").totp_issuer == "id.example.com"


def test_an_external_provider_cannot_share_the_default_issuer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = {
        "ACCOUNTS_PUBLIC_URL": "https://id.example.com",
        "ACCOUNTS_EXTERNAL_JWKS_URL": "https://id.example.com/jwks.json",
        "ACCOUNTS_EXTERNAL_ISSUER": "https://id.example.com",
        "ACCOUNTS_EXTERNAL_AUDIENCE": "accounts-api",
    }

    with pytest.raises(SettingsError, match="ACCOUNTS_EXTERNAL_ISSUER must differ"):
        load_with(monkeypatch, values)

"""Mail settings: where mail goes, from whom; the file sink is for development only."""

from __future__ import annotations

from pathlib import Path

import pytest

from entrypoints.container import command_container
from entrypoints.settings import SettingsError, load_settings

STRONG_SECRET = "a-strong-production-secret-with-enough-entropy-0123456789"
PRODUCTION = {
    "ACCOUNTS_ENV": "production",
    "ACCOUNTS_JWT_ALGORITHM": "HS256",
    "ACCOUNTS_JWT_SECRET": STRONG_SECRET,
    "ACCOUNTS_PUBLIC_URL": "https://id.example.com",
}


def load_with(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]):  # type: ignore[no-untyped-def]
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return load_settings()


def test_development_writes_mail_to_files_under_var(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_with(monkeypatch, {})

    assert settings.mail.folder == Path("var/mail")
    assert settings.mail.sender == "accounts@localhost"
    assert settings.mail.sender_enabled


def test_production_refuses_the_file_sink_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError) as raised:
        load_with(monkeypatch, PRODUCTION)

    assert str(raised.value) == (
        "invalid configuration: ACCOUNTS_MAIL_URL must name an SMTP server in production"
    )
    monkeypatch.setenv("ACCOUNTS_MAIL_URL", "smtps://user:secret@smtp.example.com")
    assert load_settings().mail.folder is None


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ACCOUNTS_MAIL_URL", "http://smtp.example.com", "must be smtp://"),
        ("ACCOUNTS_MAIL_URL", "smtp://:25", "must name the mail server's host"),
        ("ACCOUNTS_MAIL_URL", "smtp://smtp.example.com:99999", "invalid port"),
        ("ACCOUNTS_MAIL_FROM", "a@example.com\r\nBcc: victim@example.net", "one address"),
        ("ACCOUNTS_MAIL_FROM", "a@example.com, b@example.com", "one address"),
        ("ACCOUNTS_MAIL_POLL_SECONDS", "0", "greater than 0"),
    ],
)
def test_a_bad_mail_setting_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=message) as raised:
        load_with(monkeypatch, {variable: value})

    assert str(raised.value).startswith(f"invalid configuration: {variable}: ")


def test_the_mail_password_never_shows_in_the_settings_repr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load_with(monkeypatch, {"ACCOUNTS_MAIL_URL": "smtp://u:hunter2@smtp.example.com"})

    assert "hunter2" not in repr(settings)


def test_a_one_off_command_never_runs_the_mail_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_with(monkeypatch, {"ACCOUNTS_MAIL_POLL_SECONDS": "2"})

    container = command_container(settings)

    assert not container.settings().mail.sender_enabled
    assert container.settings().mail.poll_seconds == 2
    assert settings.mail.sender_enabled

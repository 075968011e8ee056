"""Settings of the audit log: retention, and the key its pseudonyms are made with."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from entrypoints.settings import Settings, SettingsError, development_key, load_settings

STRONG = "another-strong-secret-with-enough-entropy-0123456789"
PRODUCTION = {
    "env": "production",
    "public_url": "https://accounts.example.com",
    "mail_url": "smtp://mail.example.com:587",
}


def test_retention_defaults_to_400_days_and_refuses_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().audit.retention_days == 400
    monkeypatch.setenv("ACCOUNTS_AUDIT_RETENTION_DAYS", "0")

    with pytest.raises(SettingsError, match="AUDIT_RETENTION_DAYS"):
        load_settings()


def test_a_short_key_encryption_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCOUNTS_KEY_ENCRYPTION_KEY", "too-short")

    with pytest.raises(SettingsError, match="KEY_ENCRYPTION_KEY"):
        load_settings()


def test_a_set_key_is_the_pseudonym_key() -> None:
    assert Settings(key_encryption_key=STRONG).pseudonym_key() == STRONG


def test_production_without_one_falls_back_to_the_signing_secret() -> None:
    settings = Settings(jwt_algorithm="HS256", jwt_secret=STRONG + "-jwt", **PRODUCTION)

    assert settings.pseudonym_key() == STRONG + "-jwt"


def test_development_makes_a_key_once_keeps_it_private_and_reuses_it(tmp_path: Path) -> None:
    path = tmp_path / "var" / "key-encryption-key"

    first = development_key(path)
    second = development_key(path)

    assert first == second
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(path.parent) == [path.name]


def test_development_refuses_a_file_that_holds_no_key(tmp_path: Path) -> None:
    path = tmp_path / "key-encryption-key"
    path.write_text("short\n")

    with pytest.raises(ValueError, match="delete it"):
        development_key(path)

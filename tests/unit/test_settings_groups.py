"""Flat `ACCOUNTS_*` variables reach their groups, and a mistake names its variable."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from application.rate_limiting import PolicyName
from entrypoints.settings import (
    FLAT_FIELDS,
    Settings,
    SettingsError,
    configuration_table,
    load_settings,
)


def test_variables_reach_their_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCOUNTS_DB_POOL_SIZE", "7")
    monkeypatch.setenv("accounts_rate_limit_user", "5/minute")
    monkeypatch.setenv("ACCOUNTS_JWT_ISSUER", "https://id.example.com")

    settings = load_settings()

    assert settings.database.pool_size == 7
    assert settings.rate_limits.policies()[PolicyName.USER].limit == 5
    assert settings.tokens.issuer == "https://id.example.com"


def test_keyword_arguments_take_the_variables_names_and_win_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACCOUNTS_MAX_BODY_BYTES", "2048")

    assert Settings(max_body_bytes=4096).http.max_body_bytes == 4096
    with pytest.raises(ValidationError, match="max_body_byte"):
        Settings(max_body_byte=4096)


def test_a_bad_value_in_a_group_names_its_variable_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACCOUNTS_DB_POOL_SIZE", "0")

    with pytest.raises(SettingsError) as raised:
        load_settings()

    assert str(raised.value).startswith("invalid configuration: ACCOUNTS_DB_POOL_SIZE: ")
    assert "\n" not in str(raised.value)


def test_the_table_has_a_row_for_every_variable() -> None:
    rows = configuration_table().splitlines()[2:]

    for name, row in zip(FLAT_FIELDS, rows, strict=True):
        assert row.startswith(f"| `ACCOUNTS_{name.upper()}` |")

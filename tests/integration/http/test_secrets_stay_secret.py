"""No password, refresh token, access token or API key is stored or logged in plaintext."""

from __future__ import annotations

import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.tables import metadata
from entrypoints.container import resolve
from entrypoints.logging import configure_logging
from tests.integration.http.conftest import PASSWORD, AppFactory, bearer

NEW_PASSWORD = "tangerine-umbrella-quietly-1987"


async def test_every_flow_leaves_no_secret_in_logs_or_database(
    api_factory: AppFactory, capfd: pytest.CaptureFixture[str]
) -> None:
    api = await api_factory(log_level="DEBUG", log_format="json")
    secrets: list[str] = [PASSWORD, NEW_PASSWORD]

    await api.register("ada@example.com")
    await api.token("ada@example.com", "wrong-password-for-the-log-9")
    secrets.append("wrong-password-for-the-log-9")
    first = await api.tokens("ada@example.com")
    second = (await api.refresh(first["refresh_token"])).json()
    await api.refresh(first["refresh_token"])  # reuse: logged as a security event
    third = await api.tokens("ada@example.com")
    key = await api.api_key(bearer(third["access_token"]))
    await api.client.get("/api/v1/users/me", headers={"X-API-Key": key["key"]})
    await api.client.get("/api/v1/users/me", headers={"X-API-Key": key["key"] + "x"})
    await api.client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(third["access_token"]),
    )
    await api.client.post("/api/v1/auth/revoke", data={"token": third["refresh_token"]})
    for pair in (first, second, third):
        secrets += [pair["access_token"], pair["refresh_token"]]
    secrets += [key["key"], key["key"].removeprefix(key["prefix"] + "_")]

    engine: AsyncEngine = await resolve(api.app.state.container.engine)
    dump: list[str] = []
    async with engine.connect() as connection:
        for table in metadata.sorted_tables:
            rows = await connection.execute(text(f'SELECT * FROM "{table.name}"'))  # noqa: S608 - our own table names
            dump += [" ".join(map(str, row)) for row in rows]
    logs = capfd.readouterr().err

    assert "refresh_token_reused" in logs, "the log capture saw nothing: the test would be blind"
    assert len(dump) > 5
    database = "\n".join(dump)
    for secret in secrets:
        assert secret not in logs
        assert secret not in database


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_a_value_logged_under_a_secret_sounding_key_is_redacted(
    fmt: str, capfd: pytest.CaptureFixture[str]
) -> None:
    # The belt under the braces: should a future line log a secret by mistake, its key still
    # hides it. Logged twice, since the key names are remembered after the first line.
    configure_logging("INFO", fmt)
    logger = structlog.get_logger("accounts.test")
    for _ in range(2):
        logger.info(
            "oops",
            password="hunter2-password",
            new_password="hunter3-password",
            refresh_token="rt-secret-value",
            api_key="ak-secret-value",
            Authorization="Bearer at-secret-value",
            client_secret="cs-secret-value",
            email="ada@example.com",
        )
    logs = capfd.readouterr().err

    assert logs.count("[redacted]") == 12
    assert logs.count("ada@example.com") == 2
    for secret in ("hunter2", "hunter3", "rt-secret", "ak-secret", "at-secret", "cs-secret"):
        assert secret not in logs

"""The `accounts` console script, run as an operator would."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from adapters.persistence.audit_log import SqlAlchemyAuditLog
from adapters.persistence.tables import audit_events
from domain.audit import AuditEvent, AuditEventId, AuditEventType
from tests.integration.conftest import fresh_database
from tests.integration.servers import free_port, stop, wait_until

PASSWORD = "correct-horse-battery-staple-42"


def _accounts(
    *args: str, env: dict[str, str], stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("accounts")
    return subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(script), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("ACCOUNTS_")},
        "ACCOUNTS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "ACCOUNTS_LOG_LEVEL": "WARNING",
    }


def test_migrate_then_create_admin_with_the_password_on_stdin(env: dict[str, str]) -> None:
    migrated = _accounts("migrate", env=env)
    created = _accounts("create-admin", "--email", "Root@Example.com", env=env, stdin=PASSWORD)
    again = _accounts("create-admin", "--email", "root@example.com", env=env, stdin=PASSWORD)

    assert migrated.returncode == 0, migrated.stderr
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["role"] == "admin"
    assert again.returncode == 1
    assert "already registered" in again.stderr
    assert PASSWORD not in created.stdout + created.stderr


def test_create_admin_enforces_the_password_policy(env: dict[str, str]) -> None:
    _accounts("migrate", env=env)

    weak = _accounts("create-admin", "--email", "root@example.com", env=env, stdin="short")

    assert weak.returncode == 1
    assert "at least 15 characters" in weak.stderr


def test_openapi_prints_the_spec(env: dict[str, str]) -> None:
    result = _accounts("openapi", env=env)

    spec = json.loads(result.stdout)
    assert spec["info"]["title"] == "accounts"
    assert "/api/v1/auth/token" in spec["paths"]


def test_bad_configuration_stops_with_one_line_naming_the_variable(
    env: dict[str, str],
) -> None:
    bad_pool = _accounts("migrate", env={**env, "ACCOUNTS_DB_POOL_SIZE": "many"})
    weak_prod = _accounts(
        "migrate", env={**env, "ACCOUNTS_ENV": "production", "ACCOUNTS_JWT_ALGORITHM": "HS256"}
    )
    no_kek = _accounts("migrate", env={**env, "ACCOUNTS_ENV": "production"})

    assert bad_pool.returncode == 2
    assert bad_pool.stderr.strip().splitlines() == [
        "invalid configuration: ACCOUNTS_DB_POOL_SIZE: Input should be a valid integer, "
        "unable to parse string as an integer"
    ]
    assert weak_prod.returncode == 2
    assert "ACCOUNTS_JWT_SECRET" in weak_prod.stderr
    assert no_kek.returncode == 2
    assert "ACCOUNTS_KEY_ENCRYPTION_KEY must be set in production" in no_kek.stderr
    assert len(no_kek.stderr.strip().splitlines()) == 1


def test_serve_names_its_own_address_in_problem_types_whatever_the_host_header(
    env: dict[str, str],
) -> None:
    port = free_port()
    script = Path(sys.executable).with_name("accounts")
    server = subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
        [str(script), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/nope"
        wait_until(lambda: _answers(url), f"accounts serve on port {port}", timeout=60)

        response = httpx.get(url, headers={"Host": "evil.example"}, timeout=10)
    finally:
        stop(server)

    assert response.status_code == 404
    assert response.json()["type"] == f"http://127.0.0.1:{port}/errors/not_found"


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
    except httpx.TransportError:
        return False
    return True


def test_purge_sessions_reports_how_many_it_deleted(env: dict[str, str]) -> None:
    _accounts("migrate", env=env)

    purged = _accounts("purge-sessions", env=env)

    assert purged.returncode == 0, purged.stderr
    assert json.loads(purged.stdout) == {"purged_sessions": 0}


def test_purge_sessions_without_a_database_fails_in_one_line(env: dict[str, str]) -> None:
    env["ACCOUNTS_DATABASE_URL"] = "postgresql+asyncpg://postgres@127.0.0.1:1/none"
    env["ACCOUNTS_DB_POOL_TIMEOUT_SECONDS"] = "1"

    purged = _accounts("purge-sessions", env=env)

    assert purged.returncode == 1
    assert purged.stderr.strip() == "purge-sessions: the database is unavailable"


def test_serve_refuses_a_metrics_port_it_would_not_serve(env: dict[str, str]) -> None:
    served = _accounts("serve", "--port", "1", env={**env, "ACCOUNTS_METRICS_PORT": "9464"})

    assert served.returncode == 2
    assert served.stderr.strip().splitlines() == [
        "accounts serve: ACCOUNTS_METRICS_PORT is served by Gunicorn's master "
        "(gunicorn --config gunicorn.conf.py); unset it to serve /metrics on this port"
    ]


def test_create_admin_from_another_folder_names_the_database_and_creates_no_file(
    env: dict[str, str], tmp_path: Path
) -> None:
    # The default relative path, read from a folder where nothing was migrated.
    env["ACCOUNTS_DATABASE_URL"] = "sqlite+aiosqlite:///./accounts.db"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    created = _accounts(
        "create-admin", "--email", "root@example.com", env=env, stdin=PASSWORD, cwd=elsewhere
    )

    assert created.returncode == 1
    assert created.stderr.strip().splitlines() == [
        f"create-admin: there is no database file at {elsewhere / 'accounts.db'}: run "
        "`accounts migrate` first (ACCOUNTS_DATABASE_URL=sqlite+aiosqlite:///./accounts.db)"
    ]
    assert list(elsewhere.iterdir()) == []


def test_create_admin_on_an_empty_database_file_says_to_migrate(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "cli.db").touch()

    created = _accounts("create-admin", "--email", "root@example.com", env=env, stdin=PASSWORD)

    assert created.returncode == 1
    assert created.stderr.strip().splitlines() == [
        f"create-admin: the database at {tmp_path / 'cli.db'} has no tables: run "
        f"`accounts migrate` first (ACCOUNTS_DATABASE_URL={env['ACCOUNTS_DATABASE_URL']})"
    ]


async def test_purge_sessions_on_an_unmigrated_server_database_says_to_migrate(
    env: dict[str, str], postgres_server_url: str
) -> None:
    async with fresh_database(postgres_server_url) as url:
        env["ACCOUNTS_DATABASE_URL"] = url
        purged = await asyncio.to_thread(_accounts, "purge-sessions", env=env)

    parsed = make_url(url)
    assert purged.returncode == 1
    assert purged.stderr.strip().splitlines() == [
        f"purge-sessions: the database at {parsed.host}:{parsed.port}/{parsed.database} has "
        "no tables: run `accounts migrate` first "
        f"(ACCOUNTS_DATABASE_URL={parsed.render_as_string(hide_password=True)})"
    ]
    if parsed.password:
        assert parsed.password not in purged.stderr


async def _record_events(url: str, *events: AuditEvent) -> None:
    engine = create_async_engine(url)
    try:
        async with AsyncSession(engine) as session:
            log = SqlAlchemyAuditLog(session)
            for event in events:
                await log.record(event)
            await session.commit()
    finally:
        await engine.dispose()


async def _stored_event_ids(url: str) -> set[UUID]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return set((await connection.execute(select(audit_events.c.id))).scalars())
    finally:
        await engine.dispose()


def _event_at(occurred_at: datetime) -> AuditEvent:
    return AuditEvent(
        id=AuditEventId(uuid4()), occurred_at=occurred_at, type=AuditEventType.USER_REGISTERED
    )


async def test_purge_audit_removes_only_events_past_the_retention(env: dict[str, str]) -> None:
    await asyncio.to_thread(_accounts, "migrate", env=env)
    now = datetime.now(UTC)
    expired = _event_at(now - timedelta(days=31))
    kept = _event_at(now - timedelta(days=29))
    await _record_events(env["ACCOUNTS_DATABASE_URL"], expired, kept)
    env["ACCOUNTS_AUDIT_RETENTION_DAYS"] = "30"

    purged = await asyncio.to_thread(_accounts, "purge-audit", env=env)
    again = await asyncio.to_thread(_accounts, "purge-audit", env=env)

    assert purged.returncode == 0, purged.stderr
    assert json.loads(purged.stdout) == {"purged_audit_events": 1}
    assert json.loads(again.stdout) == {"purged_audit_events": 0}
    assert await _stored_event_ids(env["ACCOUNTS_DATABASE_URL"]) == {kept.id}


def test_purge_audit_without_a_database_fails_in_one_line(env: dict[str, str]) -> None:
    env["ACCOUNTS_DATABASE_URL"] = "postgresql+asyncpg://postgres@127.0.0.1:1/none"
    env["ACCOUNTS_DB_POOL_TIMEOUT_SECONDS"] = "1"

    purged = _accounts("purge-audit", env=env)

    assert purged.returncode == 1
    assert purged.stderr.strip() == "purge-audit: the database is unavailable"


KEK = "cli-test-key-encryption-key-0123456789-abcdef"


def test_keys_rotate_publishes_first_and_now_signs_at_once(env: dict[str, str]) -> None:
    env = {**env, "ACCOUNTS_KEY_ENCRYPTION_KEY": KEK}
    _accounts("migrate", env=env)

    first = _accounts("keys", "rotate", env=env)
    scheduled = _accounts("keys", "rotate", env=env)
    listed = _accounts("keys", "list", env=env)
    emergency = _accounts("keys", "rotate", "--now", env=env)
    after = _accounts("keys", "list", env=env)

    assert first.returncode == 0, first.stderr
    made = [json.loads(r.stdout) for r in (first, scheduled, emergency)]
    assert made[0]["algorithm"] == "RS256"
    signs_from = [datetime.fromisoformat(m["signs_from"]) for m in made]
    # Published for one JWKS cache lifetime (300 s) before it signs, unless --now.
    assert signs_from[1] - signs_from[0] >= timedelta(seconds=299)
    assert signs_from[2] < signs_from[1]
    assert [(k["kid"], k["state"]) for k in json.loads(listed.stdout)["keys"]] == [
        (made[0]["kid"], "current"),
        (made[1]["kid"], "next"),
    ]
    states = {k["kid"]: k["state"] for k in json.loads(after.stdout)["keys"]}
    assert states == {
        made[0]["kid"]: "retired",
        made[1]["kid"]: "retired",
        made[2]["kid"]: "current",
    }
    assert "PRIVATE" not in after.stdout
    assert "sealed" not in after.stdout


def test_a_wrong_key_encryption_key_stops_commands_and_serve_in_one_line(
    env: dict[str, str],
) -> None:
    _accounts("migrate", env=env)
    _accounts("keys", "rotate", env={**env, "ACCOUNTS_KEY_ENCRYPTION_KEY": KEK})
    wrong = {**env, "ACCOUNTS_KEY_ENCRYPTION_KEY": KEK[::-1], "ACCOUNTS_PORT": str(free_port())}

    for result in (_accounts("keys", "list", env=wrong), _accounts("serve", env=wrong)):
        assert result.returncode == 1
        assert "ACCOUNTS_KEY_ENCRYPTION_KEY" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_keys_commands_refuse_a_shared_secret(env: dict[str, str]) -> None:
    _accounts("migrate", env=env)

    result = _accounts("keys", "list", env={**env, "ACCOUNTS_JWT_ALGORITHM": "HS256"})

    assert result.returncode == 2
    assert "HS256" in result.stderr

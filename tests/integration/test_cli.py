"""The `accounts` console script, run as an operator would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.servers import free_port, stop, wait_until

PASSWORD = "correct-horse-battery-staple-42"


def _accounts(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("accounts")
    return subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(script), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
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
    weak_prod = _accounts("migrate", env={**env, "ACCOUNTS_ENV": "production"})

    assert bad_pool.returncode == 2
    assert bad_pool.stderr.strip().splitlines() == [
        "invalid configuration: ACCOUNTS_DB_POOL_SIZE: Input should be a valid integer, "
        "unable to parse string as an integer"
    ]
    assert weak_prod.returncode == 2
    assert "ACCOUNTS_JWT_SECRET" in weak_prod.stderr


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

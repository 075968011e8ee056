"""The production chain, run for real on loopback: Nginx (deploy/nginx) → Gunicorn
(gunicorn.conf.py, 2 Uvicorn workers) → the machine's Postgres and Redis.

Clients reach Nginx from other loopback addresses (127.0.0.2, …) than Nginx's own (127.0.0.1,
the only proxy the app trusts), so "the real client" and "the proxy" are different addresses.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from adapters.persistence import migrator
from tests.integration.conftest import fresh_database
from tests.integration.servers import (
    Gunicorn,
    answers,
    free_port,
    start_gunicorn,
    stop,
    stop_gunicorn,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]
NGINX_DIRECTORY = ROOT / "deploy" / "nginx"
LIMIT = 5
GRACEFUL_TIMEOUT_SECONDS = 30
PASSWORD = "correct-horse-battery-staple-42"  # a throwaway test account
NO_NGINX = "no nginx for the deployment test (apt-get install nginx; make test does as root)"


@dataclass
class Chain:
    database_url: str
    env: dict[str, str]
    nginx_url: str
    nginx_log: Path
    gunicorn: Gunicorn
    prefix: str


def _nginx_binary() -> str:
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None
    )
    if binary is None:
        pytest.skip(NO_NGINX)
    return binary


def _client(source: str) -> httpx.Client:
    """A client whose connections come from `source`, one of the loopback addresses."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=20)


def start_nginx(upstream: str, log: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    """Nginx with the repo's config; only the upstream address and the listen port differ."""
    binary = _nginx_binary()
    # Nginx's workers run as `nobody` when started as root: the prefix must be traversable.
    prefix = Path(tempfile.mkdtemp(prefix="accounts-nginx-"))
    prefix.chmod(0o755)
    port = free_port()
    config = (NGINX_DIRECTORY / "accounts.conf").read_text()
    rendered = config.replace("server app:8000;", f"server {upstream};").replace(
        "listen 8080;", f"listen 127.0.0.1:{port};"
    )
    assert rendered.count(upstream) == 1
    assert f"127.0.0.1:{port}" in rendered
    (prefix / "accounts.conf").write_text(rendered)
    shutil.copy(NGINX_DIRECTORY / "nginx.conf", prefix / "nginx.conf")
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - the system's nginx, our config
            [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: process.poll() is not None or answers(f"{url}/health/live"), "nginx")
    except TimeoutError:
        stop(process)
        raise
    if process.poll() is not None:
        raise RuntimeError(f"nginx exited at start:\n{log.read_text(errors='replace')}")
    return process, url, prefix


async def _scalar(database_url: str, sql: str) -> object:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(sql))).scalar()
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
async def deployment_database(postgres_server_url: str) -> AsyncIterator[str]:
    """A database of this module's own, created empty: `accounts migrate` migrates it."""
    async with fresh_database(postgres_server_url) as url:
        yield url


@pytest.fixture(scope="module")
def chain(
    deployment_database: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Chain]:
    """Gunicorn started on the empty database, then migrated by `accounts migrate`, behind Nginx."""
    _nginx_binary()
    logs = tmp_path_factory.mktemp("deployment")
    prefix = f"test-deploy-{secrets.token_hex(8)}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ACCOUNTS_")},
        "ACCOUNTS_ENV": "production",
        "ACCOUNTS_PUBLIC_URL": "https://accounts.example.com",
        "ACCOUNTS_MAIL_URL": "smtp://127.0.0.1:25",
        "ACCOUNTS_DATABASE_URL": deployment_database,
        "ACCOUNTS_KEY_ENCRYPTION_KEY": secrets.token_urlsafe(48),
        "ACCOUNTS_RATE_LIMIT_STORAGE_URL": redis_url,
        "ACCOUNTS_RATE_LIMIT_KEY_PREFIX": prefix,
        "ACCOUNTS_RATE_LIMIT_ANONYMOUS": f"{LIMIT}/minute",
        # Nginx reaches Gunicorn from 127.0.0.1: the one proxy whose X-Forwarded-For counts.
        "ACCOUNTS_FORWARDED_ALLOW_IPS": "127.0.0.1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    gunicorn = start_gunicorn(env, logs / "gunicorn.log")
    nginx: subprocess.Popen[bytes] | None = None
    nginx_prefix: Path | None = None
    try:
        nginx, nginx_url, nginx_prefix = start_nginx(
            gunicorn.base_url.removeprefix("http://"), logs / "nginx.log"
        )
        yield Chain(deployment_database, env, nginx_url, logs / "nginx.log", gunicorn, prefix)
    finally:
        if nginx is not None:
            stop(nginx)
        if nginx_prefix is not None:
            shutil.rmtree(nginx_prefix, ignore_errors=True)
        stop_gunicorn(gunicorn)


def _register_and_log_in(client: httpx.Client, base_url: str, email: str) -> str:
    registered = client.post(
        f"{base_url}/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    token = client.post(
        f"{base_url}/api/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": PASSWORD},
    )
    assert token.status_code == 200, token.text
    access_token: str = token.json()["access_token"]
    return access_token


def _remaining(response: httpx.Response) -> int:
    match = re.match(r'"anonymous";r=(\d+);', response.headers["ratelimit"])
    assert match, response.headers.get("ratelimit")
    return int(match[1])


async def test_migrations_are_a_separate_step_that_workers_never_run(chain: Chain) -> None:
    # Both workers have started and served on the empty database, and migrated nothing.
    with _client("127.0.0.2") as client:
        for _ in range(4):
            assert client.get(f"{chain.nginx_url}/health/live").status_code == 200
    tables = await _scalar(
        chain.database_url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    )
    assert tables == 0
    log = chain.gunicorn.log.read_text()
    assert "migrat" not in log.lower()
    # Gunicorn's, Uvicorn's and the app's lines alike are structlog JSON in production.
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]
    assert any(line["event"].startswith("Booting worker") for line in lines)

    migrated = await asyncio.to_thread(
        subprocess.run,
        [str(Path(sys.executable).with_name("accounts")), "migrate"],
        env=chain.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert migrated.returncode == 0, migrated.stderr
    version = await _scalar(chain.database_url, "SELECT version_num FROM alembic_version")
    assert version == migrator.head()


def test_readiness_through_nginx_and_a_request_id_end_to_end(chain: Chain) -> None:
    with _client("127.0.0.2") as client:
        ready = client.get(f"{chain.nginx_url}/health/ready")
        given = client.get(f"{chain.nginx_url}/health/live", headers={"X-Request-ID": "abc-123"})
        too_large = client.post(
            f"{chain.nginx_url}/api/v1/auth/register",
            content=b"x" * (1_048_576 + 1),
            headers={"Content-Type": "application/json"},
        )

    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "rate_limit": "ok"}}
    # No id sent: Nginx made one, the app used it, and Nginx's JSON access log records it.
    generated = ready.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert given.headers["x-request-id"] == "abc-123"
    wait_until(lambda: generated in chain.nginx_log.read_text(), "the access log line", 5)
    lines = [json.loads(line) for line in chain.nginx_log.read_text().splitlines() if "{" in line]
    entry = next(line for line in lines if line["request_id"] == generated)
    assert (entry["uri"], entry["status"], entry["remote_addr"]) == (
        "/health/ready",
        200,
        "127.0.0.2",
    )
    # client_max_body_size matches MAX_BODY_BYTES, and Nginx's refusal is a problem too.
    assert too_large.status_code == 413
    assert too_large.headers["content-type"] == "application/problem+json"
    assert too_large.json()["code"] == "payload_too_large"


def test_readiness_is_503_when_the_database_is_unreachable(chain: Chain, tmp_path: Path) -> None:
    closed = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing"
    broken = start_gunicorn({**chain.env, "ACCOUNTS_DATABASE_URL": closed}, tmp_path / "g.log")
    try:
        response = httpx.get(f"{broken.base_url}/health/ready", timeout=20)
    finally:
        stop_gunicorn(broken)

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["checks"]["database"] == "unavailable"


def test_the_rate_limiter_sees_the_real_client_and_forged_headers_change_nothing(
    chain: Chain,
) -> None:
    me = f"{chain.nginx_url}/api/v1/users/me"
    with _client("127.0.0.3") as first, _client("127.0.0.4") as second:
        spent = [first.get(me) for _ in range(3)]
        # Another client starts with a full budget: buckets are per client, not per Nginx.
        other = second.get(me)
        # Forged X-Forwarded-For: neither the first client's address nor a fresh one
        # gives the second client another bucket; it keeps spending its own.
        forged_as_first = second.get(me, headers={"X-Forwarded-For": "127.0.0.3"})
        forged_fresh = second.get(me, headers={"X-Forwarded-For": "198.51.100.7"})
        first_again = first.get(me)

    assert [r.status_code for r in spent] == [401, 401, 401]
    assert [_remaining(r) for r in spent] == [LIMIT - 1, LIMIT - 2, LIMIT - 3]
    assert _remaining(other) == LIMIT - 1
    assert _remaining(forged_as_first) == LIMIT - 2
    assert _remaining(forged_fresh) == LIMIT - 3
    assert _remaining(first_again) == LIMIT - 4


def test_limits_hold_exactly_across_both_workers(chain: Chain) -> None:
    me = f"{chain.nginx_url}/api/v1/users/me"

    def one(_: int) -> int:
        with _client("127.0.0.5") as client:
            return client.get(me).status_code

    # Concurrent, on separate connections, so both workers take a share of them.
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(one, range(4 * LIMIT)))

    assert sorted(statuses) == [401] * LIMIT + [429] * (3 * LIMIT)


def test_metrics_add_up_both_workers(chain: Chain) -> None:
    batch = 64

    def one(_: int) -> int:
        with _client("127.0.0.6") as client:
            return client.get(f"{chain.nginx_url}/health/live").status_code

    before = _live_count(httpx.get(chain.gunicorn.metrics_url).text)
    sent = 0
    # Which worker accepts Nginx's upstream connections is the kernel's choice, and one fast
    # worker can take a whole batch over kept-alive connections: send batches, many at once,
    # until both workers have served some (or give up after ten).
    with ThreadPoolExecutor(max_workers=32) as pool:
        for _ in range(10):
            assert set(pool.map(one, range(batch))) == {200}
            sent += batch
            per_worker = _live_count_per_worker(chain.gunicorn.metrics_directory)
            if len([count for count in per_worker.values() if count > 0]) == 2:
                break
    # A response is counted right after it is sent, so the last few may land a moment later.
    wait_until(
        lambda: _live_count(httpx.get(chain.gunicorn.metrics_url).text) >= before + sent,
        "the last responses' counts",
        timeout=5,
    )
    after = _live_count(httpx.get(chain.gunicorn.metrics_url).text)
    per_worker = _live_count_per_worker(chain.gunicorn.metrics_directory)

    assert after - before == sent
    assert len([count for count in per_worker.values() if count > 0]) == 2, per_worker
    assert sum(per_worker.values()) == after


def test_metrics_are_scraped_on_their_own_port_never_through_nginx_or_the_api_port(
    chain: Chain,
) -> None:
    with _client("127.0.0.2") as client:
        through_nginx = client.get(f"{chain.nginx_url}/metrics")
    on_the_api_port = httpx.get(f"{chain.gunicorn.base_url}/metrics")
    scraped = httpx.get(chain.gunicorn.metrics_url)

    for refused in (through_nginx, on_the_api_port):
        assert refused.status_code == 404
        assert refused.headers["content-type"] == "application/problem+json"
        assert "accounts_http_requests" not in refused.text
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    assert "accounts_http_requests_total" in scraped.text


def test_workers_serve_on_asyncios_event_loop_with_the_httptools_parser(chain: Chain) -> None:
    """uvloop served many busy connections unfairly (1-3 s waits at 256 connections): the
    workers must not load it. httptools, which they do load, shows the check can see a
    compiled extension in a worker's memory map."""
    assert httpx.get(f"{chain.nginx_url}/health/live").status_code == 200
    workers = _children(chain.gunicorn.process.pid)
    assert len(workers) == 2

    for pid in workers:
        mapped = Path(f"/proc/{pid}/maps").read_text()
        assert "/httptools/" in mapped
        assert "/uvloop/" not in mapped


def _children(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == parent:
                pids.append(int(entry.name))
    return pids


def _live_count(exposition: str) -> float:
    match = re.search(
        r'^accounts_http_requests_total\{method="GET",route="/health/live",status="200"\} (\S+)$',
        exposition,
        re.M,
    )
    return float(match[1]) if match else 0.0


def _live_count_per_worker(directory: Path) -> dict[str, float]:
    """Each worker's own count, from the files prometheus-client keeps per process."""
    wanted = {"method": "GET", "route": "/health/live", "status": "200"}
    counts: dict[str, float] = {}
    for path in directory.glob("counter_*.db"):
        for metric in MultiProcessCollector.merge([str(path)], accumulate=False):
            for sample in metric.samples:
                if sample.name == "accounts_http_requests_total" and sample.labels == wanted:
                    counts[path.stem] = counts.get(path.stem, 0.0) + sample.value
    return counts


async def test_sigterm_lets_the_request_in_flight_finish_and_loses_no_write(
    chain: Chain, tmp_path: Path
) -> None:
    with _client("127.0.0.7") as client:
        token = _register_and_log_in(client, chain.nginx_url, "graceful@example.com")
    server = await asyncio.to_thread(start_gunicorn, chain.env, tmp_path / "graceful.log")
    engine = create_async_engine(chain.database_url, poolclass=NullPool)
    result: dict[str, httpx.Response] = {}
    try:
        async with engine.connect() as blocker:
            # Hold the user's row: the PATCH below is in flight, waiting on this lock.
            transaction = await blocker.begin()
            await blocker.execute(
                text("SELECT id FROM users WHERE email = 'graceful@example.com' FOR UPDATE")
            )

            def patch() -> None:
                result["patch"] = httpx.patch(
                    f"{server.base_url}/api/v1/users/me",
                    json={"full_name": "Written during shutdown"},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=GRACEFUL_TIMEOUT_SECONDS + 10,
                )

            request = threading.Thread(target=patch)
            request.start()
            await _wait_for_lock_waiter(chain.database_url)

            server.process.send_signal(signal.SIGTERM)
            sent = time.monotonic()
            # Gunicorn stops listening at once: new clients are refused, not queued and lost.
            await asyncio.to_thread(
                wait_until, lambda: not _accepts_connections(server.base_url), "closed socket", 10
            )
            assert server.process.poll() is None
            await transaction.rollback()

        await asyncio.to_thread(request.join, GRACEFUL_TIMEOUT_SECONDS)
        returncode = await asyncio.to_thread(server.process.wait, GRACEFUL_TIMEOUT_SECONDS)
        elapsed = time.monotonic() - sent
    finally:
        await engine.dispose()
        stop_gunicorn(server)

    assert result["patch"].status_code == 200, result["patch"].text
    assert result["patch"].json()["full_name"] == "Written during shutdown"
    assert returncode == 0
    assert elapsed < GRACEFUL_TIMEOUT_SECONDS
    stored = await _scalar(
        chain.database_url, "SELECT full_name FROM users WHERE email = 'graceful@example.com'"
    )
    assert stored == "Written during shutdown"


def _accepts_connections(base_url: str) -> bool:
    try:
        httpx.get(f"{base_url}/health/live", timeout=1)
    except httpx.ConnectError:
        return False
    except httpx.HTTPError:
        return True
    return True


async def _wait_for_lock_waiter(database_url: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        waiting = await _scalar(
            database_url,
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        if waiting:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("the PATCH never waited on the row lock")

"""The HTTP app end to end against real Postgres, through its real lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from dependency_injector import providers
from fastapi import FastAPI

from application.use_cases.register_user import RegisterUser, RegisterUserCommand
from domain.users import Role
from entrypoints.container import Container, resolve
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration.key_pairs import PremadeKeyPairs

JWT_SECRET = "integration-tests-secret-0123456789-abcdefghijklmnop"
PASSWORD = "correct-horse-battery-staple-42"
BASE_URL = "http://testserver"


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "public_url": BASE_URL,
        "jwt_secret": JWT_SECRET,
        "log_level": "WARNING",
        "db_pool_timeout_seconds": 2,
        # Mail stays in the outbox for the test to read; a test of delivery turns it on.
        "mail_url": "smtp://127.0.0.1:25",
        "mail_sender_enabled": False,
        **overrides,
    }
    return Settings(**values)


@dataclass
class Api:
    """A client for the running app, with helpers for the flows most tests need."""

    client: httpx.AsyncClient
    app: FastAPI

    async def register(self, email: str, password: str = PASSWORD, **extra: Any) -> httpx.Response:
        return await self.client.post(
            "/api/v1/auth/register", json={"email": email, "password": password, **extra}
        )

    async def token(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return await self.client.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": email, "password": password},
        )

    async def refresh(self, refresh_token: str) -> httpx.Response:
        return await self.client.post(
            "/api/v1/auth/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        )

    async def tokens(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        """A successful password grant's body: access and refresh token."""
        response = await self.token(email, password)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def api_key(self, headers: dict[str, str], name: str = "bot") -> dict[str, Any]:
        """Create an API key with a bearer login's headers; the 201 body."""
        response = await self.client.post(
            "/api/v1/users/me/api-keys", json={"name": name}, headers=headers
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def login(self, email: str, password: str = PASSWORD) -> dict[str, str]:
        response = await self.token(email, password)
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def user(self, email: str) -> tuple[str, dict[str, str]]:
        """Register `email` and log in: its id and auth headers."""
        created = await self.register(email)
        assert created.status_code == 201, created.text
        return created.json()["id"], await self.login(email)

    async def admin(self, email: str = "root@example.com") -> tuple[str, dict[str, str]]:
        """Create an admin the way operators do (`accounts create-admin`) and log in."""
        container: Container = self.app.state.container
        register: RegisterUser = await resolve(container.register_user)
        admin = await register.execute(RegisterUserCommand(email, PASSWORD, role=Role.ADMIN))
        return str(admin.id), await self.login(email)


AppFactory = Callable[..., Awaitable[Api]]


@pytest.fixture
def key_pairs() -> PremadeKeyPairs:
    """Real key pairs made once per session: an RSA key per app start would slow the suite."""
    return PremadeKeyPairs()


@pytest.fixture
async def api_factory(backend_url: str, key_pairs: PremadeKeyPairs) -> AsyncIterator[AppFactory]:
    """Start apps with custom settings; every one is shut down after the test."""
    managers: list[tuple[LifespanManager, httpx.AsyncClient]] = []

    async def start(
        database_url: str | None = None,
        overrides: dict[str, Any] | None = None,
        **settings: Any,
    ) -> Api:
        """An app on `settings`; `overrides` swap container providers by name."""
        container = Container(settings=make_settings(database_url or backend_url, **settings))
        container.key_pairs.override(providers.Object(key_pairs))
        for name, provider in (overrides or {}).items():
            getattr(container, name).override(provider)
        app = create_app(container.settings(), container)
        manager = LifespanManager(app, startup_timeout=30, shutdown_timeout=30)
        await manager.__aenter__()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url=BASE_URL, timeout=30
        )
        managers.append((manager, client))
        return Api(client=client, app=app)

    yield start
    for manager, client in reversed(managers):
        await client.aclose()
        await manager.__aexit__(None, None, None)


@pytest.fixture
async def api(api_factory: AppFactory) -> Api:
    return await api_factory()


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def assert_oauth_error(response: httpx.Response, error: str) -> dict[str, Any]:
    """An RFC 6749 §5.2 error of the token endpoint, with the problem members beside it."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert body["error"] == body["code"] == error
    assert body["error_description"] == body["detail"]
    assert body["status"] == 400
    assert body["type"] == f"{BASE_URL}/errors/{error}"
    return body


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is the RFC 9457 problem of `code`, shaped as the contract says."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"{BASE_URL}/errors/{code}"
    assert body["title"]
    assert body["detail"]
    assert body["instance"] == response.request.url.path
    assert body["request_id"] == response.headers["x-request-id"]
    return body

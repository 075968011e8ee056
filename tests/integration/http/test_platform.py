"""Cross-cutting behaviour: errors on every path, request ids, limits, health, docs."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from dependency_injector import providers
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount, Route

from application.principal import Principal
from application.use_cases.get_own_profile import GetOwnProfile
from domain.users import User
from entrypoints.container import migrate_database
from entrypoints.http.error_registry import ERRORS
from tests.integration.conftest import fresh_database
from tests.integration.http.conftest import (
    Api,
    AppFactory,
    assert_problem,
    make_settings,
)

CLOSED_PORT_URL = "postgresql+asyncpg://postgres@127.0.0.1:1/accounts"


async def test_unknown_paths_are_404_problems(api: Api) -> None:
    assert_problem(await api.client.get("/nope"), 404, "not_found")
    assert_problem(await api.client.get("/api/v2/users/me"), 404, "not_found")


async def test_wrong_methods_are_405_with_every_allowed_method(api: Api) -> None:
    response = await api.client.put("/api/v1/users/me")

    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, PATCH, DELETE"


async def test_declared_oversized_bodies_get_413_and_close(api_factory: AppFactory) -> None:
    api = await api_factory(max_body_bytes=2048)

    response = await api.client.post(
        "/api/v1/auth/register", content=b"x" * 4096, headers={"content-type": "application/json"}
    )

    assert_problem(response, 413, "payload_too_large")
    assert response.headers["connection"] == "close"


async def test_streamed_oversized_bodies_get_413_before_being_read_whole(
    api_factory: AppFactory,
) -> None:
    api = await api_factory(max_body_bytes=2048)
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(64):
            sent += 1024
            yield b" " * 1024

    response = await api.client.post(
        "/api/v1/auth/register", content=chunks(), headers={"content-type": "application/json"}
    )

    assert_problem(response, 413, "payload_too_large")


async def test_request_ids_are_echoed_when_valid_and_replaced_when_not(api: Api) -> None:
    kept = await api.client.get("/health/live", headers={"X-Request-ID": "abc-123.x_y"})
    replaced = await api.client.get("/health/live", headers={"X-Request-ID": "bad id; drop"})
    fresh = await api.client.get("/health/live")

    assert kept.headers["x-request-id"] == "abc-123.x_y"
    assert replaced.headers["x-request-id"] not in {"bad id; drop", ""}
    assert len(fresh.headers["x-request-id"]) == 32
    for response in (kept, replaced, fresh):
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_health_live_and_ready(api: Api) -> None:
    live = await api.client.get("/health/live")
    ready = await api.client.get("/health/ready")

    assert live.json() == {"status": "ok", "checks": {}}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "rate_limit": "ok"}}


async def test_an_unmigrated_database_is_not_ready_and_its_requests_get_503(
    api_factory: AppFactory, postgres_server_url: str
) -> None:
    async with fresh_database(postgres_server_url) as url:
        api = await api_factory(database_url=url)

        ready = await api.client.get("/health/ready")
        register = await api.register("ada@example.com")

    body = assert_problem(ready, 503, "service_unavailable")
    assert body["checks"] == {"database": "not_migrated", "rate_limit": "ok"}
    assert_problem(register, 503, "service_unavailable")


async def test_a_missing_sqlite_file_is_not_ready_and_never_created(
    api_factory: AppFactory, tmp_path: Path
) -> None:
    database = tmp_path / "accounts.db"
    api = await api_factory(database_url=f"sqlite+aiosqlite:///{database}")

    ready = await api.client.get("/health/ready")
    register = await api.register("ada@example.com")

    body = assert_problem(ready, 503, "service_unavailable")
    assert body["checks"] == {"database": "not_migrated", "rate_limit": "ok"}
    assert_problem(register, 503, "service_unavailable")
    assert not database.exists()


async def test_a_database_outage_is_503_never_500(api_factory: AppFactory) -> None:
    api = await api_factory(database_url=CLOSED_PORT_URL, db_pool_timeout_seconds=1)

    ready = await api.client.get("/health/ready")
    register = await api.register("ada@example.com")
    token = await api.token("ada@example.com")

    body = assert_problem(ready, 503, "service_unavailable")
    assert body["checks"] == {"database": "unavailable", "rate_limit": "ok"}
    assert_problem(register, 503, "service_unavailable")
    assert_problem(token, 503, "service_unavailable")
    for response in (ready, register, token):
        assert "127.0.0.1" not in response.text
        assert "asyncpg" not in response.text.lower()


class _Exploding(GetOwnProfile):
    async def execute(self, principal: Principal) -> User:
        raise RuntimeError("SELECT secret FROM internals WHERE path='/srv/app.py'")


async def test_an_unexpected_failure_is_a_bare_500_with_the_request_id(
    api_factory: AppFactory,
) -> None:
    api = await api_factory(overrides={"get_own_profile": providers.Object(_Exploding())})
    _, headers = await api.user("ada@example.com")

    response = await api.client.get("/api/v1/users/me", headers=headers)

    body = assert_problem(response, 500, "internal_error")
    assert body["detail"] == "An unexpected error occurred; it was logged under `request_id`."
    assert "SELECT" not in response.text
    assert "app.py" not in response.text


async def test_every_error_code_has_a_documentation_page(api: Api) -> None:
    index = await api.client.get("/errors")
    assert index.status_code == 200
    for code, spec in ERRORS.items():
        page = await api.client.get(f"/errors/{code}")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert spec.title in page.text
        assert code in index.text
    assert_problem(await api.client.get("/errors/no_such_code"), 404, "not_found")


async def test_problem_type_uses_the_configured_docs_base(api_factory: AppFactory) -> None:
    api = await api_factory(error_docs_base_url="https://docs.example.com/problems")

    response = await api.client.get("/nope")

    assert response.json()["type"] == "https://docs.example.com/problems/not_found"


async def test_problem_type_never_comes_from_the_host_header(api_factory: AppFactory) -> None:
    configured = await api_factory(public_url="https://id.example.com/accounts/")
    default = await api_factory(public_url=None)
    evil = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}

    from_public_url = await configured.client.get("/nope", headers=evil)
    from_development_default = await default.client.get("/api/v1/users/me", headers=evil)

    assert from_public_url.json()["type"] == "https://id.example.com/accounts/errors/not_found"
    assert from_development_default.json()["type"] == (
        "http://127.0.0.1:8000/errors/not_authenticated"
    )


async def test_openapi_declares_the_password_flow_and_the_api_key(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()

    schemes = spec["components"]["securitySchemes"]
    assert schemes["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
    assert schemes["ApiKey"] == {**schemes["ApiKey"], "type": "apiKey", "in": "header"}
    assert schemes["ApiKey"]["name"] == "X-API-Key"
    me = spec["paths"]["/api/v1/users/me"]["get"]
    assert me["operationId"] == "get_current_user"
    # Either credential will do: two alternatives, not one requirement naming both.
    assert me["security"] == [{"OAuth2PasswordBearer": []}, {"ApiKey": []}]
    assert {"401", "403", "503"} <= set(me["responses"])
    assert (await api.client.get("/docs")).status_code == 200


async def test_production_hides_the_docs(api_factory: AppFactory) -> None:
    api = await api_factory(
        env="production", key_encryption_key="a-production-key-encryption-key-4b7e91c2d8f0"
    )

    for path in ("/docs", "/redoc", "/openapi.json"):
        assert_problem(await api.client.get(path), 404, "not_found")


async def test_cors_allows_only_listed_origins(api_factory: AppFactory) -> None:
    api = await api_factory(cors_origins="https://app.example.com")
    preflight = {"Access-Control-Request-Method": "GET"}

    allowed = await api.client.options(
        "/api/v1/users/me", headers={"Origin": "https://app.example.com", **preflight}
    )
    refused = await api.client.options(
        "/api/v1/users/me", headers={"Origin": "https://evil.example.com", **preflight}
    )

    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-origin" not in refused.headers


async def test_the_embedded_sqlite_default_serves_the_whole_flow(
    api_factory: AppFactory, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'accounts.db'}"
    await asyncio.to_thread(migrate_database, make_settings(url))
    api = await api_factory(database_url=url)

    _, headers = await api.user("Ada@example.com")
    duplicate = await api.register("ada@EXAMPLE.com")
    me = await api.client.get("/api/v1/users/me", headers=headers)

    assert me.status_code == 200
    assert_problem(duplicate, 409, "email_taken")


def _runs_on_the_event_loop(call: object) -> bool:
    """An `async def` function, or an object whose `__call__` is one (security schemes)."""
    target = inspect.unwrap(call) if inspect.isroutine(call) else getattr(call, "__call__", None)  # noqa: B004
    return inspect.iscoroutinefunction(target)


def _dependency_calls(dependant: Dependant) -> Iterator[tuple[str, object]]:
    for dependency in dependant.dependencies:
        yield getattr(dependency.call, "__qualname__", repr(dependency.call)), dependency.call
        yield from _dependency_calls(dependency)


async def test_no_route_or_dependency_of_the_api_runs_in_the_thread_pool(api: Api) -> None:
    # FastAPI runs a plain `def` endpoint or dependency in its thread pool: a thread hop on
    # every request that reaches it (measured: ~0.3 ms of CPU per request for one lookup).
    routes = [
        context
        for context in iter_route_contexts(api.app.routes)
        if isinstance(context.original_route, APIRoute)
    ]
    in_thread_pool = [
        f"{route.path}: {name}"
        for route in routes
        for name, call in [
            (route.endpoint.__qualname__, route.endpoint),
            *_dependency_calls(route.dependant),
        ]
        if not _runs_on_the_event_loop(call)
    ]

    assert "/api/v1/users/me" in {route.path for route in routes}
    assert in_thread_pool == []


async def test_every_operation_is_a_route_of_the_app_router_itself(api: Api) -> None:
    # `include_router` (FastAPI >= 0.137) would leave a router node that every request walks,
    # matching its routes twice, before reaching the route: a sixth of a health probe's cost.
    nested = [
        type(route).__name__
        for route in api.app.router.routes
        if not isinstance(route, APIRoute | Route | Mount)
    ]
    paths = {route.path for route in api.app.router.routes if isinstance(route, APIRoute)}

    assert nested == []
    assert {"/api/v1/users/me", "/api/v1/auth/token", "/health/live", "/metrics"} <= paths


async def test_every_api_answer_is_kept_out_of_caches(api: Api) -> None:
    registered = await api.register("ada@example.com")
    user_id = registered.json()["id"]
    headers = await api.login("ada@example.com")
    _, admin = await api.admin()
    key = await api.client.post("/api/v1/users/me/api-keys", json={"name": "bot"}, headers=headers)

    answers = [
        registered,
        key,
        await api.client.get("/api/v1/users/me", headers=headers),
        await api.client.get("/api/v1/users/me", headers={"X-API-Key": key.json()["key"]}),
        await api.client.patch("/api/v1/users/me", json={"full_name": "Ada"}, headers=headers),
        await api.client.get("/api/v1/users/me/api-keys", headers=headers),
        await api.client.get("/api/v1/users", headers=admin),
        await api.client.get(f"/api/v1/users/{user_id}", headers=admin),
        await api.client.patch(f"/api/v1/users/{user_id}", json={"role": "user"}, headers=admin),
        await api.client.get("/api/v1/users/me"),
        await api.client.post("/api/v1/auth/revoke", data={"token": "unknown"}),
    ]

    assert [a.status_code for a in answers] == [
        201,
        201,
        200,
        200,
        200,
        200,
        200,
        200,
        200,
        401,
        200,
    ]
    for answer in answers:
        assert answer.headers["cache-control"] == "no-store", answer.request.url
    assert "cache-control" not in (await api.client.get("/health/live")).headers

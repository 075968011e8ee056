"""OWASP API8:2023 Security Misconfiguration.

Already covered: docs hidden in production, a CORS preflight from an unlisted origin
(tests/integration/http/test_platform.py). This module adds: unexpected failures reveal
nothing in production either, CORS on simple requests and with no allow-list at all, odd
origins (`null`, look-alike suffixes), and the security headers on every kind of answer.
"""

from __future__ import annotations

import httpx
from dependency_injector import providers

from application.principal import Principal
from application.use_cases.get_own_profile import GetOwnProfile
from domain.users import User
from tests.integration.http.conftest import Api, AppFactory, assert_problem

ALLOWED = "https://app.example.com"
HOSTILE_ORIGINS = [
    "https://evil.example.com",
    "https://app.example.com.evil.com",
    "https://evilapp.example.com",
    "http://app.example.com",
    "null",
]
PRODUCTION_SECRET = "a-production-grade-secret-with-plenty-of-entropy-7f3a9c"


class _Exploding(GetOwnProfile):
    async def execute(self, principal: Principal) -> User:
        raise RuntimeError('File "/srv/accounts/src/app.py", line 1: SELECT password_hash')


async def test_a_production_500_is_a_bare_problem(api_factory: AppFactory) -> None:
    api = await api_factory(
        env="production",
        key_encryption_key=PRODUCTION_SECRET,
        overrides={"get_own_profile": providers.Object(_Exploding())},
    )
    _, headers = await api.user("ada@example.com")

    response = await api.client.get("/api/v1/users/me", headers=headers)

    body = assert_problem(response, 500, "internal_error")
    assert set(body) == {"type", "title", "status", "detail", "instance", "code", "request_id"}
    for leak in ("Traceback", "RuntimeError", "app.py", "SELECT", "/srv/", "password_hash"):
        assert leak not in response.text
    for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
        assert_problem(await api.client.get(path), 404, "not_found")


async def test_cors_reflects_only_the_listed_origin(api_factory: AppFactory) -> None:
    api = await api_factory(cors_origins=ALLOWED)
    preflight = {
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "If-Match",
    }

    good = await api.client.options("/api/v1/users/me", headers={"Origin": ALLOWED, **preflight})
    assert good.headers["access-control-allow-origin"] == ALLOWED
    assert "access-control-allow-credentials" not in good.headers
    for origin in HOSTILE_ORIGINS:
        pre = await api.client.options("/api/v1/users/me", headers={"Origin": origin, **preflight})
        simple = await api.client.get("/health/live", headers={"Origin": origin})
        for response in (pre, simple):
            assert response.headers.get("access-control-allow-origin") not in {origin, "*"}
    simple_good = await api.client.get("/health/live", headers={"Origin": ALLOWED})
    assert simple_good.headers["access-control-allow-origin"] == ALLOWED


async def test_without_an_allow_list_no_origin_is_allowed(api: Api) -> None:
    for origin in (ALLOWED, *HOSTILE_ORIGINS):
        pre = await api.client.options(
            "/api/v1/users/me",
            headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
        )
        simple = await api.client.get("/health/live", headers={"Origin": origin})
        assert "access-control-allow-origin" not in pre.headers
        assert "access-control-allow-origin" not in simple.headers


def _assert_security_headers(response: httpx.Response) -> None:
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff", response.request.url
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-request-id"]
    assert "server" not in headers or "/" not in headers["server"], "no version banner"


async def test_every_kind_of_answer_carries_the_security_headers(api_factory: AppFactory) -> None:
    api = await api_factory(max_body_bytes=1024)
    _, headers = await api.user("ada@example.com")
    answers = [
        await api.client.get("/api/v1/users/me", headers=headers),
        await api.client.get("/api/v1/users/me"),
        await api.client.get("/api/v1/users", headers=headers),
        await api.client.get("/nowhere"),
        await api.client.request("TRACE", "/api/v1/users/me"),
        await api.client.post("/api/v1/auth/register", content=b"x" * 2048),
        await api.client.post("/api/v1/auth/register", json={}),
        await api.token("ada@example.com", "wrong-password-000000"),
        await api.token("ada@example.com"),
        await api.client.get("/health/ready"),
        await api.client.get("/metrics"),
        await api.client.get("/errors/not_found"),
    ]

    assert {r.status_code for r in answers} >= {200, 401, 403, 404, 405, 413, 422, 400}
    for response in answers:
        _assert_security_headers(response)
    for token_answer in answers[7:9]:
        assert token_answer.headers["cache-control"] == "no-store"


async def test_trace_and_unknown_methods_are_refused(api: Api) -> None:
    for method in ("TRACE", "CONNECT", "PUT", "PROPFIND"):
        response = await api.client.request(method, "/api/v1/users/me")
        assert_problem(response, 405, "method_not_allowed")
        assert "TRACE" not in response.headers["allow"]

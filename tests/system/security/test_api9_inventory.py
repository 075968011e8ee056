"""OWASP API9:2023 Improper Inventory Management.

Every API route is under the one version prefix, every route is in the OpenAPI document with
the methods it serves, and the document names no route the app does not serve (no stale or
shadow endpoints). Old-style unversioned paths answer 404.
"""

from __future__ import annotations

from tests.integration.http.conftest import Api, assert_problem
from tests.system.security.inventory import operations

API_PREFIX = "/api/v1/"
# Platform routes outside the versioned API, as the README lists them.
PLATFORM = {
    "/verify-email",
    "/reset-password",
    "/health/live",
    "/health/ready",
    "/metrics",
    "/errors",
    "/errors/{code}",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
    "/.well-known/jwks.json",
}
DOCS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


async def test_every_route_is_versioned_or_a_listed_platform_route(api: Api) -> None:
    for operation in operations(api.app):
        assert operation.path.startswith(API_PREFIX) or operation.path in PLATFORM, operation


async def test_the_openapi_document_and_the_router_agree(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    documented = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    served = {(op.method, op.path) for op in operations(api.app)}
    undocumented = {(m, p) for m, p in served if p not in DOCS} - documented

    assert not undocumented, f"served but not in the OpenAPI document: {undocumented}"
    assert not documented - served, f"documented but not served: {documented - served}"
    assert all(op.documented for op in operations(api.app) if op.path not in DOCS)


async def test_unversioned_and_other_versions_are_not_found(api: Api) -> None:
    _, headers = await api.user("ada@example.com")

    for path in (
        "/users/me",
        "/api/users/me",
        "/api/v2/users/me",
        "/api/v0/users/me",
        "/v1/users/me",
    ):
        assert_problem(await api.client.get(path, headers=headers), 404, "not_found")
    for path in ("/auth/token", "/api/auth/register"):
        assert_problem(await api.client.post(path, json={}), 404, "not_found")

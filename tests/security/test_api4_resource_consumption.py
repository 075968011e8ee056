"""OWASP API4:2023 Unrestricted Resource Consumption.

Oversized bodies are cut off at the door (413, `Connection: close`) on every route that takes a
body; passwords over the policy's maximum are refused before any Argon2 work (counted by a
hasher that wraps the real one, swapped in through the container); page sizes are capped; and
registrations run out (429). Login floods are covered in tests/integration/http/
test_rate_limits.py.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator

import pytest
from dependency_injector import providers

from adapters.identity.password_hasher import Argon2PasswordHasher
from application.ports import PasswordVerification
from domain.users import HashedPassword
from tests.integration.http.conftest import Api, AppFactory, assert_problem
from tests.security.inventory import operations

MAX_BODY = 4096
HUGE_PASSWORD = "x" * 100_000


class CountingHasher(Argon2PasswordHasher):
    """The real Argon2 hasher, counting how often it was asked to do expensive work."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def hash(self, password: str) -> HashedPassword:
        self.calls += 1
        return await super().hash(password)

    async def verify(self, password: str, hashed: HashedPassword) -> PasswordVerification:
        self.calls += 1
        return await super().verify(password, hashed)

    async def verify_dummy(self, password: str) -> None:
        self.calls += 1
        await super().verify_dummy(password)


@pytest.fixture
def hasher() -> Iterator[CountingHasher]:
    counting = CountingHasher()
    yield counting
    counting.close()


# POST operations that take no body at all: nothing reads one, so none is refused.
BODILESS = {("POST", "/api/v1/users/me/verification-email")}


def _body_routes(api: Api) -> list[tuple[str, str]]:
    """Every (method, path) of the app that accepts a request body."""
    return [
        (op.method, op.url)
        for op in operations(api.app)
        if op.method in {"POST", "PATCH"} and (op.method, op.path) not in BODILESS
    ]


async def test_every_body_route_refuses_oversized_bodies_with_connection_close(
    api_factory: AppFactory,
) -> None:
    api = await api_factory(max_body_bytes=MAX_BODY)
    routes = _body_routes(api)
    assert len(routes) >= 6, routes

    for (method, path), content_type in itertools.product(
        routes, ("application/json", "application/x-www-form-urlencoded")
    ):
        declared = await api.client.request(
            method, path, content=b"a" * (MAX_BODY + 1), headers={"Content-Type": content_type}
        )
        assert_problem(declared, 413, "payload_too_large")
        assert declared.headers["connection"] == "close"

    for method, path in routes:
        # Without Content-Length the limit bites while the route reads the body, so send the
        # media type the route reads (a wrong one is refused before any byte is read).
        form = path.startswith("/api/v1/auth/") and not path.endswith("/register")
        media = "application/x-www-form-urlencoded" if form else "application/json"

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(4):
                yield b"a" * (MAX_BODY // 2)

        streamed = await api.client.request(
            method, path, content=chunks(), headers={"Content-Type": media}
        )
        assert_problem(streamed, 413, "payload_too_large")
        assert streamed.headers["connection"] == "close"


async def test_huge_passwords_are_refused_before_any_hashing(
    api_factory: AppFactory, hasher: CountingHasher
) -> None:
    api = await api_factory(overrides={"hasher": providers.Object(hasher)})
    await api.register("ada@example.com")
    _, headers = await api.user("bob@example.com")
    baseline = hasher.calls

    register = await api.register("eve@example.com", password=HUGE_PASSWORD)
    just_over = await api.register("eve@example.com", password="y" * 129)
    login_known = await api.token("ada@example.com", HUGE_PASSWORD)
    login_unknown = await api.token("nobody@example.com", HUGE_PASSWORD)
    change = await api.client.post(
        "/api/v1/users/me/password",
        json={"current_password": HUGE_PASSWORD, "new_password": HUGE_PASSWORD},
        headers=headers,
    )

    assert_problem(register, 422, "validation_failed")
    assert_problem(just_over, 422, "validation_failed")
    assert login_known.json()["error"] == login_unknown.json()["error"] == "invalid_grant"
    assert_problem(change, 422, "validation_failed")
    assert hasher.calls == baseline, "a refused password still cost an Argon2 computation"
    # The counter is live: a normal login costs one verification.
    await api.token("ada@example.com")
    assert hasher.calls == baseline + 1


@pytest.mark.parametrize("limit", ["0", "-1", "101", "1000000", "1e3", "ten"])
async def test_page_sizes_outside_1_to_100_are_refused(api: Api, limit: str) -> None:
    _, admin = await api.admin()

    response = await api.client.get("/api/v1/users", params={"limit": limit}, headers=admin)

    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["pointer"] == "#/query/limit"


async def test_the_largest_page_is_served(api: Api) -> None:
    _, admin = await api.admin()

    response = await api.client.get("/api/v1/users", params={"limit": "100"}, headers=admin)

    assert response.status_code == 200


async def test_registrations_run_out_per_client(api_factory: AppFactory) -> None:
    api = await api_factory(rate_limit_register="3/hour")

    statuses = [(await api.register(f"user{i}@example.com")).status_code for i in range(3)]
    fourth = await api.register("user3@example.com")

    assert statuses == [201, 201, 201]
    assert_problem(fourth, 429, "rate_limited")
    assert int(fourth.headers["retry-after"]) >= 1
    assert (await api.token("user3@example.com")).status_code == 400, "refused, not created"

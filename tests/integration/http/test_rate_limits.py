"""Rate limits over HTTP: 429 problems, RateLimit headers, client addresses, store outages."""

from __future__ import annotations

import re
import secrets
import uuid

import httpx
import pytest

from tests.integration.http.conftest import PASSWORD, Api, AppFactory, assert_problem
from tests.integration.servers import PrivateRedis

ENTRY = re.compile(r'^"(?P<name>[a-z_]+)";r=(?P<r>\d+);t=(?P<t>\d+)$')
POLICY_ENTRY = re.compile(r'^"(?P<name>[a-z_]+)";q=(?P<q>\d+);w=(?P<w>\d+)$')
GUESS = "not-the-password-of-anyone"


def rate_limit(response: httpx.Response) -> list[tuple[str, int, int]]:
    """The `RateLimit` header as (policy, remaining, seconds) entries, in order."""
    entries = []
    for item in response.headers["ratelimit"].split(", "):
        match = ENTRY.match(item)
        assert match, item
        entries.append((match["name"], int(match["r"]), int(match["t"])))
    return entries


def rate_limit_policy(response: httpx.Response) -> list[tuple[str, int, int]]:
    entries = []
    for item in response.headers["ratelimit-policy"].split(", "):
        match = POLICY_ENTRY.match(item)
        assert match, item
        entries.append((match["name"], int(match["q"]), int(match["w"])))
    return entries


async def test_an_authenticated_request_reports_its_user_policy(api: Api) -> None:
    _, headers = await api.user("ada@example.com")

    response = await api.client.get("/api/v1/users/me", headers=headers)

    assert response.status_code == 200
    assert response.headers["ratelimit-policy"] == '"user";q=600;w=60'
    assert rate_limit(response) == [("user", 599, 60)]


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> dict[str, str]:
    """Settings for each rate-limit store: this process, or the shared Redis under a new prefix."""
    if request.param == "memory":
        return {}
    return {
        "rate_limit_storage_url": request.getfixturevalue("redis_url"),
        "rate_limit_key_prefix": f"test-{secrets.token_hex(6)}",
    }


async def login_from(
    api: Api, address: str, username: str = "ada@example.com", password: str = GUESS
) -> httpx.Response:
    """A password grant as if from `address`, behind the trusted proxy the test client is."""
    return await api.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
        headers={"X-Forwarded-For": address},
    )


async def test_a_guesser_at_one_address_does_not_lock_the_owner_out_of_another(
    api_factory: AppFactory, store: dict[str, str]
) -> None:
    api = await api_factory(**store)
    _, owner_headers = await api.user("ada@example.com")

    guesses = [await login_from(api, "203.0.113.7", "Ada@Example.com") for _ in range(11)]
    owners_login = await login_from(api, "198.51.100.20", password=PASSWORD)
    owners_change = await api.client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": "another-horse-battery-staple-7"},
        headers=owner_headers,
    )

    assert owners_login.status_code == 200, owners_login.text
    assert owners_change.status_code == 204, owners_change.text
    assert [r.status_code for r in guesses] == [400] * 10 + [429]
    refused = guesses[-1]
    body = assert_problem(refused, 429, "rate_limited")
    assert "login_username" in body["detail"]
    assert "error" not in body, "a 429 is a problem, not an OAuth error"
    first = rate_limit(refused)[0]
    assert first[:2] == ("login_username", 0)
    assert int(refused.headers["retry-after"]) >= max(1, first[2])
    assert ("login_username", 10, 60) in rate_limit_policy(refused)
    # The client's own address never appears in a header.
    assert all("203.0.113" not in str(r.headers) for r in guesses)


async def test_one_guesser_spends_at_most_half_of_the_account_ceiling(
    api_factory: AppFactory, store: dict[str, str]
) -> None:
    api = await api_factory(rate_limit_login_account="10/hour", **store)
    await api.register("ada@example.com")

    guesses = [await login_from(api, "203.0.113.7") for _ in range(6)]
    owners_login = await login_from(api, "198.51.100.20", password=PASSWORD)

    assert owners_login.status_code == 200, owners_login.text
    assert [r.status_code for r in guesses] == [400] * 5 + [429]
    assert "login_account_share" in assert_problem(guesses[-1], 429, "rate_limited")["detail"]
    assert ("login_account_share", 5, 3600) in rate_limit_policy(guesses[-1])
    assert ("login_account", 10, 3600) in rate_limit_policy(owners_login)
    assert {name: left for name, left, _ in rate_limit(owners_login)}["login_account"] == 4


async def test_guessers_at_many_addresses_together_hit_the_account_ceiling(
    api_factory: AppFactory, store: dict[str, str]
) -> None:
    api = await api_factory(rate_limit_login_account="3/minute", **store)
    await api.register("ada@example.com")

    responses = [await login_from(api, f"203.0.113.{i}", "Ada@Example.com") for i in range(5)]

    assert [r.status_code for r in responses] == [400, 400, 400, 429, 429]
    refused = responses[3]
    body = assert_problem(refused, 429, "rate_limited")
    assert "login_account" in body["detail"]
    assert rate_limit(refused)[0][:2] == ("login_account", 0)
    assert ("login_account", 3, 60) in rate_limit_policy(refused)
    # Each rotated address is a new client: its own allowances are full.
    assert {name for name, *_ in rate_limit(responses[0])} == {
        "anonymous",
        "login_ip",
        "login_username",
        "login_account_share",
        "login_account",
    }


async def test_a_429_is_the_rate_limited_problem_with_retry_after(api_factory: AppFactory) -> None:
    api = await api_factory(rate_limit_register="2/hour")

    created = [await api.register(f"user{i}@example.com") for i in range(2)]
    refused = await api.register("user2@example.com")

    assert [r.status_code for r in created] == [201, 201]
    body = assert_problem(refused, 429, "rate_limited")
    assert body["title"] == "Too many requests"
    retry_after = int(refused.headers["retry-after"])
    assert rate_limit(refused)[0] == ("register", 0, rate_limit(refused)[0][2])
    assert 3500 < retry_after <= 3600
    assert retry_after >= rate_limit(refused)[0][2]
    assert rate_limit_policy(refused) == [("register", 2, 3600), ("anonymous", 60, 60)]
    assert rate_limit(created[0]) == [("register", 1, 3600), ("anonymous", 59, 60)]


async def test_the_headers_are_on_every_response_of_a_limited_route(api: Api) -> None:
    admin_id, admin = await api.admin()

    unauthenticated = await api.client.get("/api/v1/users/me")
    bad_token = await api.client.get("/api/v1/users/me", headers={"Authorization": "Bearer x"})
    invalid_body = await api.client.post("/api/v1/auth/register", json={"email": "nope"})
    missing_user = await api.client.get(f"/api/v1/users/{uuid.uuid4()}", headers=admin)
    wrong_media = await api.client.post("/api/v1/auth/token", json={"grant_type": "password"})

    assert_problem(unauthenticated, 401, "not_authenticated")
    assert_problem(bad_token, 401, "invalid_token")
    assert_problem(invalid_body, 422, "validation_failed")
    assert_problem(missing_user, 404, "user_not_found")
    assert wrong_media.status_code == 400
    assert rate_limit(unauthenticated)[0][0] == "anonymous"
    assert rate_limit(bad_token)[0][0] == "anonymous"
    assert [name for name, *_ in rate_limit(invalid_body)] == ["register", "anonymous"]
    assert rate_limit(missing_user)[0][:2] == ("user", 599)
    assert rate_limit(wrong_media)[0][0] == "anonymous"
    assert admin_id not in str(missing_user.headers)


async def test_platform_paths_are_never_limited(api_factory: AppFactory) -> None:
    api = await api_factory(rate_limit_anonymous="1/minute")
    paths = ["/health/live", "/health/ready", "/metrics", "/errors", "/errors/rate_limited"]
    paths += ["/docs", "/openapi.json", "/nope"]

    for _ in range(3):
        for path in paths:
            response = await api.client.get(path)
            assert response.status_code in {200, 404}, (path, response.status_code)
            assert "ratelimit" not in response.headers, path
            assert "ratelimit-policy" not in response.headers, path


async def test_floods_of_invalid_tokens_are_limited_per_client(api_factory: AppFactory) -> None:
    api = await api_factory(rate_limit_anonymous="2/minute")
    bad = {"Authorization": "Bearer not-a-token"}

    responses = [await api.client.get("/api/v1/users/me", headers=bad) for _ in range(3)]

    assert [r.status_code for r in responses] == [401, 401, 429]
    assert_problem(responses[2], 429, "rate_limited")


async def test_a_spoofed_header_from_an_untrusted_peer_changes_nothing(
    api_factory: AppFactory,
) -> None:
    # The test client connects from 127.0.0.1, which this app does not trust.
    api = await api_factory(rate_limit_anonymous="2/minute", forwarded_allow_ips="10.0.0.0/8")

    responses = [
        await api.client.get("/api/v1/users/me", headers={"X-Forwarded-For": f"198.51.100.{i}"})
        for i in range(3)
    ]

    assert [r.status_code for r in responses] == [401, 401, 429]


async def test_a_trusted_proxy_separates_its_clients(api_factory: AppFactory) -> None:
    api = await api_factory(rate_limit_anonymous="1/minute")

    first = await api.client.get("/api/v1/users/me", headers={"X-Forwarded-For": "198.51.100.1"})
    second = await api.client.get("/api/v1/users/me", headers={"X-Forwarded-For": "198.51.100.2"})
    again = await api.client.get("/api/v1/users/me", headers={"X-Forwarded-For": "198.51.100.1"})

    assert [first.status_code, second.status_code, again.status_code] == [401, 401, 429]


async def test_disabled_rate_limits_send_no_headers_and_refuse_nothing(
    api_factory: AppFactory,
) -> None:
    api = await api_factory(rate_limit_enabled=False, rate_limit_anonymous="1/minute")

    responses = [await api.client.get("/api/v1/users/me") for _ in range(3)]
    ready = await api.client.get("/health/ready")

    assert [r.status_code for r in responses] == [401, 401, 401]
    assert all("ratelimit" not in r.headers for r in responses)
    assert ready.json()["checks"] == {"database": "ok"}


async def test_openapi_documents_the_429_on_every_api_operation(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()

    operations = [
        (path, method, operation)
        for path, item in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in item.items()
    ]
    assert operations
    for path, method, operation in operations:
        response = operation["responses"].get("429")
        assert response, (path, method)
        assert {"Retry-After", "RateLimit", "RateLimit-Policy"} <= set(response["headers"])
        assert "application/problem+json" in response["content"]
    assert "429" not in spec["paths"]["/health/live"]["get"]["responses"]


async def test_metrics_are_prometheus_text(api: Api) -> None:
    response = await api.client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "accounts_rate_limit_storage_failures_total" in response.text


async def test_a_redis_outage_fails_open_or_closed_and_both_recover(
    api_factory: AppFactory, private_redis: PrivateRedis
) -> None:
    open_api = await api_factory(
        rate_limit_storage_url=private_redis.url, rate_limit_fail_open=True
    )
    closed_api = await api_factory(
        rate_limit_storage_url=private_redis.url,
        rate_limit_fail_open=False,
        rate_limit_key_prefix="closed",
    )
    _, open_headers = await open_api.user("open@example.com")
    _, closed_headers = await closed_api.user("closed@example.com")

    async def me(api: Api, headers: dict[str, str]) -> httpx.Response:
        return await api.client.get("/api/v1/users/me", headers=headers)

    assert (await me(open_api, open_headers)).headers["ratelimit"].startswith('"user"')
    assert (await me(closed_api, closed_headers)).status_code == 200

    private_redis.stop()
    open_down = await me(open_api, open_headers)
    closed_down = await me(closed_api, closed_headers)
    open_ready = await open_api.client.get("/health/ready")
    closed_ready = await closed_api.client.get("/health/ready")
    failures = (await open_api.client.get("/metrics")).text

    assert open_down.status_code == 200
    assert "ratelimit" not in open_down.headers
    assert open_ready.status_code == 200
    assert open_ready.json()["checks"] == {"database": "ok", "rate_limit": "unavailable"}
    assert_problem(closed_down, 503, "service_unavailable")
    assert "redis" not in closed_down.text.lower()
    closed_body = assert_problem(closed_ready, 503, "service_unavailable")
    assert closed_body["checks"] == {"database": "ok", "rate_limit": "unavailable"}
    assert 'accounts_rate_limit_storage_failures_total{outcome="allowed"} 1.0' in failures

    private_redis.start()
    open_back = await me(open_api, open_headers)
    closed_back = await me(closed_api, closed_headers)

    assert open_back.status_code == 200
    assert open_back.headers["ratelimit"].startswith('"user"')
    assert closed_back.status_code == 200
    assert (await closed_api.client.get("/health/ready")).status_code == 200


async def test_an_api_key_spends_its_own_policy_not_its_owners(api_factory: AppFactory) -> None:
    api = await api_factory(rate_limit_api_key="2/minute")
    _, headers = await api.user("ada@example.com")
    first = await api.api_key(headers, "first")
    second = await api.api_key(headers, "second")

    with_first = [
        await api.client.get("/api/v1/users/me", headers={"X-API-Key": first["key"]})
        for _ in range(3)
    ]
    with_second = await api.client.get("/api/v1/users/me", headers={"X-API-Key": second["key"]})
    with_bearer = await api.client.get("/api/v1/users/me", headers=headers)

    assert [r.status_code for r in with_first] == [200, 200, 429]
    assert rate_limit_policy(with_first[0]) == [("api_key", 2, 60)]
    assert rate_limit(with_first[1]) == [("api_key", 0, 60)]
    retry = int(with_first[2].headers["retry-after"])
    assert retry >= rate_limit(with_first[2])[0][2] >= 1
    assert_problem(with_first[2], 429, "rate_limited")
    # Keys are limited one by one, and apart from their owner's bearer logins.
    assert with_second.status_code == 200
    assert rate_limit(with_bearer)[0][0] == "user"
    assert first["key"] not in str(with_first[2].headers)


async def test_refresh_and_revoke_spend_the_anonymous_policy(api_factory: AppFactory) -> None:
    # Registration and the password grant spend one each: two left for these two.
    api = await api_factory(rate_limit_anonymous="4/minute")
    await api.register("ada@example.com")
    pair = await api.tokens("ada@example.com")

    refreshed = await api.refresh(pair["refresh_token"])
    revoked = await api.client.post("/api/v1/auth/revoke", data={"token": "unknown"})
    refused = await api.client.post("/api/v1/auth/revoke", data={"token": "unknown"})

    assert refreshed.status_code == 200
    assert rate_limit(refreshed)[0][:2] == ("anonymous", 1)
    assert len(rate_limit(refreshed)) == 1
    assert revoked.status_code == 200
    assert rate_limit(revoked)[0][:2] == ("anonymous", 0)
    assert_problem(refused, 429, "rate_limited")


async def test_password_change_guesses_share_the_login_allowance_of_their_address(
    api_factory: AppFactory,
) -> None:
    api = await api_factory(rate_limit_login_username="3/minute")
    _, headers = await api.user("ada@example.com")  # the login spent one of the three

    guesses = [
        await api.client.post(
            "/api/v1/users/me/password",
            json={"current_password": f"guess-number-{i}-xxxxx", "new_password": "x" * 20},
            headers=headers,
        )
        for i in range(3)
    ]
    login = await api.token("ada@example.com")
    elsewhere = await login_from(api, "198.51.100.20", password=PASSWORD)

    assert [r.status_code for r in guesses] == [400, 400, 429]
    assert {name for name, _, _ in rate_limit(guesses[0])} == {
        "user",
        "login_username",
        "login_account_share",
    }
    assert_problem(guesses[2], 429, "rate_limited")
    assert_problem(login, 429, "rate_limited")
    assert elsewhere.status_code == 200, elsewhere.text


async def test_guessers_at_many_addresses_do_not_block_the_owners_password_change(
    api_factory: AppFactory,
) -> None:
    api = await api_factory(rate_limit_login_account="4/hour")
    _, headers = await api.user("ada@example.com")  # the login spent one of the four

    guesses = [await login_from(api, f"203.0.113.{i}") for i in range(4)]
    change = await api.client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": "another-horse-battery-staple-7"},
        headers=headers,
    )

    assert change.status_code == 204, change.text
    assert [r.status_code for r in guesses] == [400, 400, 400, 429]

"""/metrics in one process: requests by route template and status, 429s, the DB pool."""

from __future__ import annotations

import re
import uuid

from tests.integration.http.conftest import AppFactory


def _sample(exposition: str, name: str, labels: str = "") -> float | None:
    pattern = rf"^{re.escape(name)}{re.escape(labels)} (\S+)$"
    match = re.search(pattern, exposition, re.M)
    return float(match[1]) if match else None


async def test_requests_are_counted_by_route_template_never_by_raw_path(
    api_factory: AppFactory,
) -> None:
    api = await api_factory(rate_limit_anonymous="4/minute")
    _, headers = await api.user("metrics@example.com")
    someone = uuid.uuid4()
    await api.client.get(f"/api/v1/users/{someone}", headers=headers)
    await api.client.get(f"/api/v1/users/{uuid.uuid4()}", headers=headers)
    await api.client.get(f"/no/such/{someone}")
    # Registration and login spent 2 of the 4 anonymous requests: 401, 401, then 429.
    for _ in range(3):
        await api.client.get("/api/v1/users/me")

    exposition = (await api.client.get("/metrics")).text

    requests = "accounts_http_requests_total"
    assert (
        _sample(exposition, requests, '{method="GET",route="/api/v1/users/{user_id}",status="403"}')
        == 2
    )
    assert _sample(exposition, requests, '{method="GET",route="unmatched",status="404"}') == 1
    assert (
        _sample(exposition, requests, '{method="GET",route="/api/v1/users/me",status="429"}') == 1
    )
    assert str(someone) not in exposition
    latency = "accounts_http_request_duration_seconds_count"
    assert _sample(exposition, latency, '{method="GET",route="/api/v1/users/me",status="401"}') == 2
    assert _sample(exposition, "accounts_rate_limit_rejections_total", '{policy="anonymous"}') == 1
    # DB_POOL_SIZE + DB_MAX_OVERFLOW (10 + 10): overflow connections are kept once opened.
    assert _sample(exposition, "accounts_db_pool_size_connections") == 20
    # Between requests every connection is back in the pool.
    assert _sample(exposition, "accounts_db_pool_checked_out_connections") == 0


async def test_with_a_metrics_port_the_api_port_does_not_serve_metrics(
    api_factory: AppFactory,
) -> None:
    api = await api_factory(metrics_port=9464)

    response = await api.client.get("/metrics")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"

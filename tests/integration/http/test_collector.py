"""A server's app freezes its start-up objects out of the garbage collector's full passes."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from entrypoints import asgi
from entrypoints.http.app import create_app

from .conftest import BASE_URL, JWT_SECRET, make_settings


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Each test starts with nothing frozen and leaves nothing frozen behind."""
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
async def test_the_server_app_freezes_what_start_up_built(
    backend_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCOUNTS_DATABASE_URL", backend_url)
    monkeypatch.setenv("ACCOUNTS_JWT_SECRET", JWT_SECRET)
    monkeypatch.setenv("ACCOUNTS_LOG_LEVEL", "WARNING")
    app = asgi.create()
    assert gc.get_freeze_count() == 0, "nothing is frozen before the lifespan starts"

    async with LifespanManager(app) as manager:
        frozen = gc.get_freeze_count()
        # The app, its routes and schemas, the services and their pools: tens of thousands of
        # objects that a full collection no longer walks.
        assert frozen > 10_000
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            response = await client.get("/health/live")
        assert response.status_code == 200
        # Objects made while serving stay with the collector; frozen ones may still be freed.
        gc.collect()
        assert gc.get_freeze_count() <= frozen


@pytest.mark.usefixtures("unfrozen")
async def test_an_app_built_by_a_test_or_a_tool_freezes_nothing(backend_url: str) -> None:
    async with LifespanManager(create_app(make_settings(backend_url))):
        assert gc.get_freeze_count() == 0

"""Swagger UI works in a real browser: Authorize with each scheme, then "Try it out".

Headless Chromium is Debian's package (`/usr/bin/chromium`), driven by Playwright; no browser
is ever downloaded. The service runs under Uvicorn on a free loopback port.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from tests.integration.http.conftest import JWT_SECRET, PASSWORD
from tests.integration.servers import start_service, stop

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
TEST_TIMEOUT_SECONDS = 45
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # The machine's network is closed: no background calls home.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def service(backend_url: str, tmp_path: Path) -> Iterator[str]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium; make test does as root)")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ACCOUNTS_")},
        "ACCOUNTS_DATABASE_URL": backend_url,
        "ACCOUNTS_JWT_SECRET": JWT_SECRET,
        "ACCOUNTS_LOG_LEVEL": "WARNING",
    }
    process, base_url = start_service(env, tmp_path / "service.log")
    try:
        yield base_url
    finally:
        stop(process)


def _account(base_url: str) -> tuple[str, str]:
    """A registered user's email, and an API key of theirs."""
    email = f"swagger-{uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=base_url, timeout=10) as client:
        client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        token = client.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": email, "password": PASSWORD},
        ).json()["access_token"]
        key = client.post(
            "/api/v1/users/me/api-keys",
            json={"name": "swagger"},
            headers={"Authorization": f"Bearer {token}"},
        ).json()["key"]
    return email, key


async def test_swagger_ui_authorizes_with_each_scheme_and_calls_me(service: str) -> None:
    from playwright.async_api import Page, async_playwright, expect  # noqa: PLC0415

    email, key = await asyncio.to_thread(_account, service)
    ARTIFACTS.mkdir(exist_ok=True)

    async def authorize(page: Page, scheme: str, fill: dict[str, str]) -> None:
        await page.goto(f"{service}/docs")
        await page.locator(".auth-wrapper button.authorize").click()
        dialog = page.locator(".auth-container").filter(has_text=scheme)
        for selector, value in fill.items():
            await dialog.locator(selector).fill(value)
        await dialog.locator("button.authorize").click()
        await expect(dialog.locator("button", has_text="Logout")).to_be_visible()
        await dialog.locator("button.btn-done").click()

    async def try_me(page: Page, name: str) -> None:
        operation = page.locator("#operations-users-get_current_user")
        await operation.locator(".opblock-summary").click()
        await operation.locator("button.try-out__btn").click()
        await operation.locator("button.execute").click()
        live = operation.locator(".live-responses-table .response")
        await expect(live.locator(".response-col_status")).to_contain_text("200")
        await expect(live.locator(".response-col_description")).to_contain_text(email)
        await operation.screenshot(path=ARTIFACTS / f"swagger-ui-me-{name}.png")

    async with asyncio.timeout(TEST_TIMEOUT_SECONDS), async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page()
            page.set_default_timeout(10_000)
            login = {"#oauth_username": email, "#oauth_password": PASSWORD}
            await authorize(page, "OAuth2PasswordBearer", login)
            await try_me(page, "oauth2-password")
            # A fresh load forgets the bearer login (persistAuthorization is off): one credential.
            await authorize(page, "ApiKey", {"input": key})
            await try_me(page, "api-key")
        finally:
            await browser.close()

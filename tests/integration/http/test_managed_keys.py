"""Managed signing keys in running apps: made at first start, kept across restarts, rotated
under them, and refused when the key-encryption key does not open them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jwt
import pytest

from application.errors import SigningKeysUnreadable
from application.use_cases.rotate_signing_key import RotateSigningKey, RotateSigningKeyCommand
from entrypoints.container import check_signing_keys, resolve
from tests.integration.http.conftest import Api, AppFactory, make_settings

KEK = "integration-key-encryption-key-0123456789-abcdef"


async def test_a_key_that_does_not_open_stops_the_start_in_one_line(
    api_factory: AppFactory, backend_url: str
) -> None:
    await api_factory(key_encryption_key=KEK)  # its first start makes the first key

    await check_signing_keys(make_settings(backend_url, key_encryption_key=KEK))
    with pytest.raises(SigningKeysUnreadable, match="ACCOUNTS_KEY_ENCRYPTION_KEY") as raised:
        await check_signing_keys(make_settings(backend_url, key_encryption_key=KEK[::-1]))
    assert "\n" not in str(raised.value)
    with pytest.raises(SigningKeysUnreadable):
        await api_factory(key_encryption_key=KEK[::-1])


async def test_keys_survive_a_restart_and_its_tokens_still_verify(api_factory: AppFactory) -> None:
    first = await api_factory(key_encryption_key=KEK)
    _, headers = await first.user("ada@example.com")

    restarted = await api_factory(key_encryption_key=KEK)

    assert (await restarted.client.get("/api/v1/users/me", headers=headers)).status_code == 200
    assert jwks_of(first) == jwks_of(restarted)


async def test_a_rotation_reaches_every_running_app_within_a_poll(
    api_factory: AppFactory,
) -> None:
    one = await api_factory(key_encryption_key=KEK)
    other = await api_factory(key_encryption_key=KEK)
    _, headers = await one.user("ada@example.com")
    old_kid = kid_of(headers)

    rotate: RotateSigningKey = await resolve(one.app.state.container.rotate_signing_key)
    new = await rotate.execute(RotateSigningKeyCommand(immediately=True))
    assert new is not None
    # Nobody tells the apps: their background polls find the new key within 10 seconds.
    for _ in range(100):
        if all(new.kid in {key["kid"] for key in jwks_of(api)["keys"]} for api in (one, other)):
            break
        await asyncio.sleep(0.1)

    login = await other.login("ada@example.com")
    assert kid_of(login) == new.kid
    assert [key["kid"] for key in jwks_of(other)["keys"]] == [old_kid, new.kid]
    # The old key's tokens verify until they expire; the new key's, on every app.
    assert (await other.client.get("/api/v1/users/me", headers=headers)).status_code == 200
    assert (await one.client.get("/api/v1/users/me", headers=login)).status_code == 200


def kid_of(headers: dict[str, str]) -> str:
    token = headers["Authorization"].removeprefix("Bearer ")
    return str(jwt.get_unverified_header(token)["kid"])


def jwks_of(api: Api) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(api.app.state.provided["public_keys"].jwks().body)
    return document

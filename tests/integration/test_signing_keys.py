"""Managed signing keys on real databases: stored, raced for, refreshed across apps."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.identity.secret_box import AesGcmSecretBox
from adapters.persistence.tables import signing_keys
from application.signing_keys import SigningKeyPolicy
from application.use_cases.rotate_signing_key import RotateSigningKey, RotateSigningKeyCommand
from tests.fakes import FixedClock, audit_events
from tests.integration.conftest import per_database_backend
from tests.integration.key_pairs import PremadeKeyPairs
from tests.integration.stored import NOW, UowFactory

KEK = "integration-key-encryption-key-0123456789-abcdef"
POLICY = SigningKeyPolicy(
    algorithm="ES256",
    publication_delay=timedelta(minutes=5),
    keep_after_retirement=timedelta(minutes=20),
    rotate_every=timedelta(days=30),
)


@pytest.fixture(params=["postgresql", "sqlite"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return per_database_backend(request, tmp_path)


def rotation(
    uow_factory: UowFactory, clock: FixedClock, pairs: PremadeKeyPairs
) -> RotateSigningKey:
    return RotateSigningKey(
        uow_factory,
        pairs,
        AesGcmSecretBox.for_signing_keys(lambda: KEK),
        clock,
        events=audit_events(),
        policy=POLICY,
    )


async def test_keys_are_stored_sealed_and_read_back(
    uow_factory: UowFactory, engine: AsyncEngine
) -> None:
    clock, pairs = FixedClock(NOW), PremadeKeyPairs()
    rotate = rotation(uow_factory, clock, pairs)
    first = await rotate.execute(RotateSigningKeyCommand())
    second = await rotate.execute(RotateSigningKeyCommand(immediately=True))
    assert first is not None
    assert second is not None

    async with uow_factory() as uow:
        stored = {key.kid: key for key in await uow.signing_keys.list_all()}
        version = await uow.signing_keys.version()

    assert stored[second.kid].signs_from == NOW
    assert stored[second.kid].public_jwk == second.public_jwk
    assert stored[first.kid].retired_at == NOW
    assert stored[first.kid].sealed_private_key is None  # erased: it never signs again
    async with engine.connect() as connection:
        sealed = (await connection.execute(select(signing_keys.c.sealed_private_key))).scalars()
        assert all(b"PRIVATE KEY" not in (value or b"") for value in sealed)
    await rotate.execute(RotateSigningKeyCommand())
    async with uow_factory() as uow:
        assert await uow.signing_keys.version() != version


async def test_racing_first_starts_make_exactly_one_key(uow_factory: UowFactory) -> None:
    clock, pairs = FixedClock(NOW), PremadeKeyPairs()

    made = await asyncio.gather(
        *(
            rotation(uow_factory, clock, pairs).execute(RotateSigningKeyCommand(only_if_due=True))
            for _ in range(6)
        ),
        return_exceptions=True,
    )

    async with uow_factory() as uow:
        stored = await uow.signing_keys.list_all()
    assert len(stored) == 1
    assert [key.kid for key in made if key is not None and not isinstance(key, BaseException)] == [
        stored[0].kid
    ]

"""Managed signing keys: the domain's rules, rotation, and the refresher, through fakes."""

from __future__ import annotations

from datetime import timedelta

from application.signing_key_refresher import SigningKeyRefresher
from application.signing_keys import SigningKeyPolicy
from application.use_cases.erase_retired_signing_keys import EraseRetiredSigningKeys
from application.use_cases.list_signing_keys import ListSigningKeys
from application.use_cases.rotate_signing_key import RotateSigningKey, RotateSigningKeyCommand
from domain.audit import AuditEventType
from domain.signing_keys import KeySet, KeyState, SigningKey
from tests.fakes import (
    DEFAULT_NOW,
    FakeKeyPairs,
    FakeSecretBox,
    FakeUnitOfWork,
    FixedClock,
    RecordingKeyring,
    audit_events,
)

DELAY = timedelta(minutes=5)
KEEP = timedelta(minutes=20)
POLICY = SigningKeyPolicy(
    algorithm="EdDSA",
    publication_delay=DELAY,
    keep_after_retirement=KEEP,
    rotate_every=timedelta(days=30),
)


def key(kid: str, generation: int, signs_from_minutes: int, retired_minutes: int | None = None):  # type: ignore[no-untyped-def]
    signs_from = DEFAULT_NOW + timedelta(minutes=signs_from_minutes)
    return SigningKey(
        kid=kid,
        generation=generation,
        algorithm="ES256",
        public_jwk={"kty": "EC"},
        sealed_private_key=b"sealed",
        created_at=signs_from - DELAY,
        signs_from=signs_from,
        retired_at=None
        if retired_minutes is None
        else DEFAULT_NOW + timedelta(minutes=retired_minutes),
    )


def test_the_newest_key_whose_time_has_come_signs() -> None:
    old, current, upcoming = key("a", 1, -60, 0), key("b", 2, 0, 10), key("c", 3, 10)
    keys = KeySet.of([upcoming, old, current])

    assert keys.signing_key(DEFAULT_NOW - timedelta(seconds=1)) is old
    assert keys.signing_key(DEFAULT_NOW) is current
    assert keys.signing_key(DEFAULT_NOW + timedelta(minutes=10)) is upcoming


def test_published_keys_are_next_current_and_recently_retired() -> None:
    expired, retired, current, upcoming = (
        key("a", 1, -120, -60),
        key("b", 2, -60, -10),
        key("c", 3, -10, 5),
        key("d", 4, 5),
    )
    keys = KeySet.of([expired, retired, current, upcoming])

    assert keys.published(DEFAULT_NOW, KEEP) == [retired, current, upcoming]
    assert [k.state(DEFAULT_NOW, KEEP) for k in keys.keys] == [
        KeyState.EXPIRED,
        KeyState.RETIRED,
        KeyState.CURRENT,
        KeyState.NEXT,
    ]
    # Retired ten minutes ago and kept for twenty: unpublished ten minutes from now.
    assert keys.next_change(DEFAULT_NOW, KEEP) == DEFAULT_NOW + timedelta(minutes=5)
    assert retired.state(DEFAULT_NOW + timedelta(minutes=10), KEEP) is KeyState.EXPIRED


def test_a_private_half_is_erased_only_once_the_key_is_retired() -> None:
    current = key("a", 1, -10, 5)

    assert not current.erase_private_key(DEFAULT_NOW)
    assert current.sealed_private_key == b"sealed"
    assert current.erase_private_key(DEFAULT_NOW + timedelta(minutes=5))
    assert current.sealed_private_key is None


def rotation(uow: FakeUnitOfWork, clock: FixedClock, pairs: FakeKeyPairs | None = None):  # type: ignore[no-untyped-def]
    return RotateSigningKey(
        uow.factory,
        pairs or FakeKeyPairs(),
        FakeSecretBox(),
        clock,
        events=audit_events(),
        policy=POLICY,
    )


async def test_the_first_key_signs_at_once_and_a_rotation_after_the_publication_delay() -> None:
    uow, clock = FakeUnitOfWork(), FixedClock()
    rotate = rotation(uow, clock)

    first = await rotate.execute(RotateSigningKeyCommand(only_if_due=True))
    clock.advance(timedelta(days=1))
    second = await rotate.execute(RotateSigningKeyCommand())

    assert first is not None
    assert second is not None
    assert first.signs_from == DEFAULT_NOW
    assert first.sealed_private_key == b"sealed:" + b"private-k1"[::-1]
    assert second.signs_from == clock.now() + DELAY
    stored = KeySet.of(await uow.signing_key_store.list_all())
    assert stored.signing_key(clock.now()) == first
    assert stored.signing_key(clock.now() + DELAY) == second
    assert stored.keys[0].retired_at == clock.now() + DELAY
    events = [e for e in uow.audit_store.events if e.type is AuditEventType.SIGNING_KEY_ROTATED]
    assert [e.details["kid"] for e in events] == ["k1", "k2"]
    assert [e.details["reason"] for e in events] == ["first_key", "requested"]
    assert all(e.subject_id is None and e.actor_id is None for e in events)


async def test_an_emergency_rotation_signs_at_once_and_erases_the_old_private_half() -> None:
    uow, clock = FakeUnitOfWork(), FixedClock()
    rotate = rotation(uow, clock)
    await rotate.execute(RotateSigningKeyCommand())
    await rotate.execute(RotateSigningKeyCommand())  # scheduled, waiting to sign
    clock.advance(timedelta(minutes=1))

    emergency = await rotate.execute(RotateSigningKeyCommand(immediately=True))

    stored = KeySet.of(await uow.signing_key_store.list_all())
    assert emergency is not None
    assert stored.signing_key(clock.now()) == emergency
    # The waiting key never signs: the emergency key took over before its turn.
    assert stored.signing_key(clock.now() + DELAY * 2) == emergency
    first, waiting = (k for k in stored.keys if k != emergency)
    assert first.sealed_private_key is None
    assert waiting.retired_at == clock.now()


async def test_automatic_rotation_only_when_due() -> None:
    uow, clock = FakeUnitOfWork(), FixedClock()
    rotate = rotation(uow, clock)
    await rotate.execute(RotateSigningKeyCommand(only_if_due=True))

    clock.advance(timedelta(days=29))
    assert await rotate.execute(RotateSigningKeyCommand(only_if_due=True)) is None
    clock.advance(timedelta(days=1))
    made = await rotate.execute(RotateSigningKeyCommand(only_if_due=True))

    assert made is not None
    assert made.signs_from == clock.now() + DELAY
    assert len(await uow.signing_key_store.list_all()) == 2


async def test_the_refresher_installs_on_change_and_runs_due_rotations() -> None:
    uow, clock, keyring = FakeUnitOfWork(), FixedClock(), RecordingKeyring()
    rotate = rotation(uow, clock)
    refresher = SigningKeyRefresher(
        uow.factory,
        FakeSecretBox(),
        keyring,
        clock,
        policy=POLICY,
        rotate=rotate,
        erase=EraseRetiredSigningKeys(uow.factory, clock),
        poll_seconds=5,
        on_error=lambda error: None,
    )

    await refresher.start()
    assert [(k.key.kid, k.private_key) for k in keyring.installed] == [("k1", b"private-k1")]
    await refresher.tick()
    assert keyring.installs == 1  # nothing changed: nothing reloaded

    await rotate.execute(RotateSigningKeyCommand())  # elsewhere, by `accounts keys rotate`
    await refresher.tick()
    assert [k.key.kid for k in keyring.installed] == ["k1", "k2"]

    clock.advance(DELAY)  # k2 signs, k1 retires: its private half goes
    await refresher.tick()
    assert [k.private_key for k in keyring.installed] == [None, b"private-k2"]

    clock.advance(timedelta(days=30))  # automatic rotation
    await refresher.tick()
    assert [k.key.kid for k in keyring.installed] == ["k1", "k2", "k3"]


async def test_listing_shows_each_state() -> None:
    uow, clock = FakeUnitOfWork(), FixedClock()
    rotate = rotation(uow, clock)
    await rotate.execute(RotateSigningKeyCommand())
    await rotate.execute(RotateSigningKeyCommand())

    listed = await ListSigningKeys(uow.factory, clock, POLICY).execute()

    assert [(k.kid, k.state) for k in listed] == [("k1", KeyState.CURRENT), ("k2", KeyState.NEXT)]

"""Delivering the outbox: sent once with its values erased, failures retried on a backoff."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from application.errors import StorageUnavailable
from application.mail_sender import MailDoorbell, MailSender
from application.ports.mail import MailNotSent
from application.use_cases.deliver_mail import DeliverMail, RetrySchedule
from domain.mail import MailKind, MailMessage, MailMessageId
from domain.users import EmailAddress
from tests.fakes import (
    FakeUnitOfWork,
    FixedClock,
    OutboxEntry,
    RecordingMailer,
    RecordingMailObserver,
)

NOW = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
LIMIT = timedelta(seconds=30)


def a_message(n: int, kind: MailKind = MailKind.PASSWORD_RESET) -> MailMessage:
    return MailMessage(
        id=MailMessageId(UUID(int=n)),
        kind=kind,
        to=EmailAddress(f"user{n}@example.com"),
        values={"link": f"https://accounts.example/reset-password?token=t{n}", "expires_in": "1"},
        created_at=NOW,
    )


class World:
    def __init__(self, *, max_attempts: int = 12, batch_size: int = 10) -> None:
        self.uow = FakeUnitOfWork()
        self.clock = FixedClock(NOW)
        self.mailer = RecordingMailer()
        self.observer = RecordingMailObserver()
        self.deliver = DeliverMail(
            lambda: self.uow,
            self.mailer,
            self.clock,
            self.observer,
            RetrySchedule(max_attempts=max_attempts),
            send_time_limit=LIMIT,
            batch_size=batch_size,
        )

    async def queue(self, *messages: MailMessage) -> None:
        async with self.uow as uow:
            for message in messages:
                await uow.outbox.add(message)
            await uow.commit()

    def entry(self, n: int) -> OutboxEntry:
        return self.uow.outbox_store.entries[MailMessageId(UUID(int=n))]


async def test_a_due_message_is_sent_once_and_its_values_forgotten() -> None:
    world = World()
    await world.queue(a_message(1))

    report = await world.deliver.execute()
    again = await world.deliver.execute()

    assert [m.id for m in world.mailer.sent] == [a_message(1).id]
    assert (report.sent, again.claimed) == (1, 0)
    entry = world.entry(1)
    assert entry.sent_at == NOW
    assert entry.attempts == 1
    assert not entry.values_kept
    assert entry.next_attempt_at is None
    assert world.observer.pending == {}


async def test_a_failure_is_recorded_and_retried_after_the_backoff() -> None:
    world = World()
    await world.queue(a_message(1))
    world.mailer.fail_with(MailNotSent("mail server answered 550: no such user"))

    report = await world.deliver.execute()

    entry = world.entry(1)
    assert report.failed == 1
    assert entry.attempts == 1
    assert entry.last_error == "mail server answered 550: no such user"
    assert entry.next_attempt_at == NOW + timedelta(seconds=30)
    assert entry.values_kept
    assert world.observer.pending == {MailKind.PASSWORD_RESET: 1}

    world.clock.advance(timedelta(seconds=29))
    assert (await world.deliver.execute()).claimed == 0
    world.clock.advance(timedelta(seconds=1))
    assert (await world.deliver.execute()).sent == 1
    assert world.entry(1).attempts == 2
    assert world.entry(1).last_error is None


def test_the_backoff_doubles_up_to_its_cap_and_ends_after_the_last_attempt() -> None:
    schedule = RetrySchedule(
        first_delay=timedelta(seconds=30), max_delay=timedelta(hours=1), max_attempts=12
    )

    delays = [schedule.delay_after(n).total_seconds() for n in range(1, 10)]

    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert schedule.retry_at(11, NOW) == NOW + timedelta(hours=1)
    assert schedule.retry_at(12, NOW) is None


@pytest.mark.parametrize("bad", [{"first_delay": timedelta(0)}, {"max_attempts": 0}])
def test_a_schedule_needs_positive_delays_and_an_attempt(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"positive|attempt"):
        RetrySchedule(**bad)  # type: ignore[arg-type]


async def test_after_the_last_attempt_the_message_is_given_up_and_forgotten() -> None:
    world = World(max_attempts=2)
    await world.queue(a_message(1))
    world.mailer.fail_with(MailNotSent("refused"), MailNotSent("refused"))

    await world.deliver.execute()
    world.clock.advance(timedelta(minutes=1))
    report = await world.deliver.execute()

    entry = world.entry(1)
    assert report.given_up == 1
    assert (entry.attempts, entry.next_attempt_at, entry.sent_at) == (2, None, None)
    assert not entry.values_kept
    assert [event for event, _ in world.observer.events] == ["failed", "gave_up"]
    assert world.observer.pending == {}


async def test_a_permanent_failure_is_given_up_at_once_not_retried_in_a_loop() -> None:
    world = World()
    await world.queue(a_message(1))
    world.mailer.fail_with(MailNotSent("password_reset needs the value link", permanent=True))

    report = await world.deliver.execute()
    world.clock.advance(timedelta(days=1))
    later = await world.deliver.execute()

    assert (report.given_up, later.claimed) == (1, 0)
    assert world.entry(1).last_error == "password_reset needs the value link"


async def test_an_unreachable_server_hands_the_rest_of_the_batch_back_untried() -> None:
    world = World()
    await world.queue(a_message(1), a_message(2), a_message(3))
    world.mailer.fail_with(MailNotSent("mail server unreachable", server_unavailable=True))

    report = await world.deliver.execute()

    assert (report.claimed, report.failed, report.sent) == (3, 1, 0)
    assert world.entry(1).attempts == 1
    assert world.entry(2).attempts == 0
    assert world.entry(2).next_attempt_at == NOW
    assert (await world.deliver.execute()).sent == 2


async def test_a_claimed_message_is_not_claimed_again_until_its_lease_ends() -> None:
    world = World()
    await world.queue(a_message(1))
    async with world.uow as uow:
        claimed = await uow.outbox.claim_due(NOW, NOW + world.deliver.lease, 10)
        await uow.commit()
    assert len(claimed) == 1

    assert (await world.deliver.execute()).claimed == 0
    world.clock.advance(world.deliver.lease)
    assert (await world.deliver.execute()).sent == 1


async def test_stopping_hands_untried_messages_back_due_at_once() -> None:
    world = World()
    await world.queue(a_message(1), a_message(2))

    report = await world.deliver.execute(stopping=lambda: bool(world.mailer.sent))

    assert (report.claimed, report.sent) == (2, 1)
    assert world.entry(2).next_attempt_at == NOW
    assert world.entry(2).attempts == 0


async def test_the_oldest_messages_go_first_a_batch_at_a_time() -> None:
    world = World(batch_size=2)
    await world.queue(a_message(3), a_message(1), a_message(2))

    first = await world.deliver.execute()

    assert first.claimed == 2
    assert [m.id.int for m in world.mailer.sent] == [1, 2]
    assert world.observer.pending == {MailKind.PASSWORD_RESET: 1}
    assert world.observer.oldest_age == timedelta(0)


async def test_the_sender_runs_passes_until_stopped_and_the_doorbell_wakes_it() -> None:
    world = World()
    doorbell = MailDoorbell()
    sender = MailSender(world.deliver, world.observer, doorbell, poll_seconds=3600)
    task = asyncio.create_task(sender.run())
    await asyncio.sleep(0)

    await world.queue(a_message(1))
    doorbell.ring()
    for _ in range(100):
        if world.mailer.sent:
            break
        await asyncio.sleep(0.01)
    sender.stop()
    await asyncio.wait_for(task, 1)

    assert [m.id for m in world.mailer.sent] == [a_message(1).id]


async def test_a_failed_pass_is_reported_and_the_sender_goes_on() -> None:
    world = World()

    def database_down() -> FakeUnitOfWork:
        raise StorageUnavailable("The fake database is down.")

    broken = DeliverMail(
        database_down,
        world.mailer,
        world.clock,
        world.observer,
        RetrySchedule(),
        send_time_limit=LIMIT,
    )
    sender = MailSender(broken, world.observer, MailDoorbell(), poll_seconds=0.01)
    task = asyncio.create_task(sender.run())
    await asyncio.sleep(0.1)
    sender.stop()
    await asyncio.wait_for(task, 1)

    assert len(world.observer.pass_errors) >= 2
    assert all(isinstance(e, StorageUnavailable) for e in world.observer.pass_errors)


async def test_an_unexpected_error_counts_as_a_failed_attempt_not_an_endless_lease() -> None:
    world = World(max_attempts=2)
    await world.queue(a_message(1))
    world.mailer.fail_with(RuntimeError("a bug"), RuntimeError("a bug"))

    await world.deliver.execute()
    world.clock.advance(timedelta(minutes=1))
    report = await world.deliver.execute()

    assert report.given_up == 1
    assert world.entry(1).last_error == "unexpected failure: RuntimeError"

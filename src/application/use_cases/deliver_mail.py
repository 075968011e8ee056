"""Send the mail waiting in the outbox: claim, send outside the transaction, record.

Delivery is at least once. A message is claimed in a short transaction that moves its
`next_attempt_at` to the end of a lease (on Postgres the claim takes rows with `FOR UPDATE
SKIP LOCKED`, so two senders never claim the same row), then sent with no transaction open.
A send never starts unless it can finish (by its time limit) before the lease ends, so while
clocks agree no other sender can claim a message being sent. A sender that dies between the
server's acceptance and recording it leaves the message to be sent again once its lease ends:
the only way a message goes out twice. Losing it instead would need the outbox row to vanish,
which nothing but a successful send or giving up changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from application.ports import Clock, UnitOfWorkFactory
from application.ports.mail import MailDeliveryObserver, Mailer, MailNotSent
from application.ports.persistence import QueuedMail

MAX_ERROR_LENGTH = 500


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Exponential backoff between attempts, capped; after `max_attempts` the message is
    given up (one-time links in it have long expired by then)."""

    first_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)
    max_attempts: int = 12

    def __post_init__(self) -> None:
        if self.first_delay <= timedelta(0) or self.max_delay < self.first_delay:
            raise ValueError("Delays must be positive, the cap no shorter than the first.")
        if self.max_attempts < 1:
            raise ValueError("At least one attempt.")

    def delay_after(self, attempts: int) -> timedelta:
        """How long to wait after the `attempts`-th failed attempt."""
        exponent = min(max(attempts - 1, 0), 32)
        delay: timedelta = self.first_delay * (2**exponent)
        return min(delay, self.max_delay)

    def retry_at(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after `attempts` failed attempts; None once they are used up."""
        if attempts >= self.max_attempts:
            return None
        return now + self.delay_after(attempts)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one pass did: messages claimed, sent, failed (to be retried), given up."""

    claimed: int = 0
    sent: int = 0
    failed: int = 0
    given_up: int = 0


class DeliverMail:
    """One delivery pass over the outbox: up to `batch_size` due messages, oldest first."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        mailer: Mailer,
        clock: Clock,
        observer: MailDeliveryObserver,
        schedule: RetrySchedule,
        *,
        send_time_limit: timedelta,
        batch_size: int = 10,
    ) -> None:
        if batch_size < 1 or send_time_limit <= timedelta(0):
            raise ValueError("A batch holds at least one message; sends need a time limit.")
        self._uow = uow
        self._mailer = mailer
        self._clock = clock
        self._observer = observer
        self._schedule = schedule
        self._send_time_limit = send_time_limit
        self.batch_size = batch_size
        # Room for every send of a full batch, and as long again for the bookkeeping around it.
        self.lease = send_time_limit * batch_size * 2

    async def execute(self, stopping: Callable[[], bool] = lambda: False) -> DeliveryReport:
        """Claim due messages, send each, record each outcome; `stopping` ends it early,
        handing the untried messages back due at once."""
        now = self._clock.now()
        lease_until = now + self.lease
        async with self._uow() as uow:
            claimed = await uow.outbox.claim_due(now, lease_until, self.batch_size)
            await uow.commit()
        sent = failed = given_up = 0
        for index, queued in enumerate(claimed):
            if stopping() or self._clock.now() + self._send_time_limit > lease_until:
                await self._release(claimed[index:])
                break
            outcome = await self._attempt(queued)
            sent += outcome == "sent"
            failed += outcome == "failed"
            given_up += outcome == "given_up"
            if outcome == "server_unavailable":
                failed += 1
                await self._release(claimed[index + 1 :])
                break
        await self._report_backlog()
        return DeliveryReport(len(claimed), sent, failed, given_up)

    async def _attempt(self, queued: QueuedMail) -> str:
        message = queued.message
        attempts = queued.attempts + 1
        try:
            async with asyncio.timeout(self._send_time_limit.total_seconds()):
                await self._mailer.send(message)
        except MailNotSent as error:
            return await self._record_failure(queued, error)
        except TimeoutError:
            slow = MailNotSent("sending took longer than its time limit", server_unavailable=True)
            return await self._record_failure(queued, slow)
        except Exception as error:  # noqa: BLE001 - counted as an attempt, so it cannot loop
            unexpected = MailNotSent(f"unexpected failure: {type(error).__name__}")
            return await self._record_failure(queued, unexpected)
        async with self._uow() as uow:
            await uow.outbox.record_sent(message.id, self._clock.now())
            await uow.commit()
        self._observer.sent(message, attempts)
        return "sent"

    async def _record_failure(self, queued: QueuedMail, error: MailNotSent) -> str:
        attempts = queued.attempts + 1
        now = self._clock.now()
        retry_at = None if error.permanent else self._schedule.retry_at(attempts, now)
        async with self._uow() as uow:
            await uow.outbox.record_failure(
                queued.message.id, error.reason[:MAX_ERROR_LENGTH], retry_at
            )
            await uow.commit()
        if retry_at is None:
            self._observer.gave_up(queued.message, error, attempts)
            return "given_up"
        self._observer.failed(queued.message, error, retry_at)
        return "server_unavailable" if error.server_unavailable else "failed"

    async def _release(self, untried: list[QueuedMail]) -> None:
        if not untried:
            return
        async with self._uow() as uow:
            await uow.outbox.release([q.message.id for q in untried], self._clock.now())
            await uow.commit()

    async def _report_backlog(self) -> None:
        async with self._uow() as uow:
            backlog = await uow.outbox.backlog()
        oldest = backlog.oldest_queued_at
        age = None if oldest is None else max(self._clock.now() - oldest, timedelta(0))
        self._observer.backlog(backlog.pending, age)

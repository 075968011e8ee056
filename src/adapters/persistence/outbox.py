"""The mail outbox on SQLAlchemy Core: messages written in the change's own transaction, and
the sender's claims and records.

A row is pending while `next_attempt_at` is set and `sent_at` is not; sent and given-up rows
have no `next_attempt_at` (so the due index never holds them) and no `template_values`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, RowMapping, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.errors import translate_errors
from adapters.persistence.tables import mail_outbox
from adapters.persistence.times import from_db_time, to_utc
from application.ports.persistence import MailBacklog, Outbox, QueuedMail
from domain.mail import MailKind, MailMessage, MailMessageId
from domain.users import EmailAddress


class SqlAlchemyOutbox(Outbox):
    """Rows of `mail_outbox`, due at once when the transaction commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        # Whether this transaction queued mail, so its commit can wake the sender.
        self.queued = False

    async def add(self, message: MailMessage) -> None:
        created_at = to_utc(message.created_at)
        with translate_errors():
            await self._session.execute(
                insert(mail_outbox).values(
                    id=message.id,
                    kind=message.kind.value,
                    recipient=message.to.value,
                    template_values=dict(message.values),
                    created_at=created_at,
                    attempts=0,
                    next_attempt_at=created_at,
                )
            )
        self.queued = True

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[QueuedMail]:
        now, lease_until = to_utc(now), to_utc(lease_until)
        due = (
            select(mail_outbox)
            .where(mail_outbox.c.next_attempt_at <= now, mail_outbox.c.sent_at.is_(None))
            .order_by(mail_outbox.c.next_attempt_at, mail_outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claimed = []
        with translate_errors():
            rows = (await self._session.execute(due)).mappings().all()
            for row in rows:
                # Conditional, for SQLite (no row locks): of two senders that read the same
                # row, only the first to update it gets it.
                taken = cast(
                    CursorResult[Any],
                    await self._session.execute(
                        update(mail_outbox)
                        .where(mail_outbox.c.id == row["id"], mail_outbox.c.next_attempt_at <= now)
                        .values(next_attempt_at=lease_until)
                    ),
                )
                if taken.rowcount != 1:
                    continue
                try:
                    claimed.append(QueuedMail(_message(row), row["attempts"]))
                except ValueError:
                    # A row this version cannot read (an unknown kind) is set aside, not retried.
                    await self._update(
                        row["id"],
                        next_attempt_at=None,
                        template_values=None,
                        last_error="unreadable message: unknown kind or recipient",
                    )
        return claimed

    async def record_sent(self, message_id: MailMessageId, now: datetime) -> None:
        await self._update(
            message_id,
            sent_at=to_utc(now),
            next_attempt_at=None,
            template_values=None,
            attempts=mail_outbox.c.attempts + 1,
            last_error=None,
        )

    async def record_failure(
        self, message_id: MailMessageId, error: str, retry_at: datetime | None
    ) -> None:
        values: dict[str, Any] = {
            "attempts": mail_outbox.c.attempts + 1,
            "last_error": error,
            "next_attempt_at": None if retry_at is None else to_utc(retry_at),
        }
        if retry_at is None:
            values["template_values"] = None
        await self._update(message_id, **values)

    async def release(self, message_ids: Sequence[MailMessageId], due_at: datetime) -> None:
        if not message_ids:
            return
        with translate_errors():
            await self._session.execute(
                update(mail_outbox)
                .where(mail_outbox.c.id.in_(message_ids), mail_outbox.c.sent_at.is_(None))
                .values(next_attempt_at=to_utc(due_at))
            )

    async def backlog(self) -> MailBacklog:
        pending = mail_outbox.c.next_attempt_at.is_not(None) & mail_outbox.c.sent_at.is_(None)
        query = (
            select(mail_outbox.c.kind, func.count(), func.min(mail_outbox.c.created_at))
            .where(pending)
            .group_by(mail_outbox.c.kind)
        )
        with translate_errors():
            rows = (await self._session.execute(query)).all()
        counts: dict[MailKind, int] = {}
        oldest: datetime | None = None
        for kind, count, first in rows:
            if kind in MailKind.__members__.values():
                counts[MailKind(kind)] = count
            first_at = from_db_time(first)
            oldest = first_at if oldest is None else min(oldest, first_at)
        return MailBacklog(counts, oldest)

    async def _update(self, message_id: MailMessageId, **values: Any) -> None:
        with translate_errors():
            await self._session.execute(
                update(mail_outbox).where(mail_outbox.c.id == message_id).values(**values)
            )


def _message(row: RowMapping) -> MailMessage:
    return MailMessage(
        id=MailMessageId(row["id"]),
        kind=MailKind(row["kind"]),
        to=EmailAddress(row["recipient"]),
        values=dict(row["template_values"] or {}),
        created_at=from_db_time(row["created_at"]),
    )

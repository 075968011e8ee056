"""The mail outbox on SQLAlchemy Core: messages written in the change's own transaction."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.errors import translate_errors
from adapters.persistence.tables import mail_outbox
from adapters.persistence.times import to_utc
from application.ports.persistence import Outbox
from domain.mail import MailMessage


class SqlAlchemyOutbox(Outbox):
    """Rows of `mail_outbox`, due at once when the transaction commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

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

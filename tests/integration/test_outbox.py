"""The SQLAlchemy outbox on Postgres and SQLite: mail is queued with the change, or not at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.tables import mail_outbox
from domain.mail import MailKind, MailMessage, MailMessageId
from domain.users import EmailAddress
from tests.integration.conftest import per_database_backend
from tests.integration.stored import UowFactory

NOW = datetime(2026, 12, 2, 6, 30, 0, 250000, tzinfo=UTC)


@pytest.fixture(params=["postgresql", "sqlite"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Overrides the conftest fixture: each test here runs once per supported database."""
    return per_database_backend(request, tmp_path)


def a_message(n: int = 1) -> MailMessage:
    return MailMessage(
        id=MailMessageId(UUID(int=n)),
        kind=MailKind.VERIFY_EMAIL,
        to=EmailAddress("Ada@Example.com"),
        values={"link": "https://accounts.example/verify-email?token=abc", "full_name": "Ada"},
        created_at=NOW,
    )


async def queued(engine: AsyncEngine) -> list[dict[str, object]]:
    async with engine.connect() as connection:
        rows = (await connection.execute(select(mail_outbox))).mappings().all()
    return [dict(row) for row in rows]


async def test_a_committed_message_is_queued_due_at_once(
    uow_factory: UowFactory, engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        await uow.outbox.add(a_message())
        await uow.commit()

    [row] = await queued(engine)
    assert row["recipient"] == a_message().to.value
    assert row["kind"] == "verify_email"
    assert row["template_values"] == dict(a_message().values)
    assert row["attempts"] == 0
    assert row["sent_at"] is None
    assert row["next_attempt_at"] is not None


async def test_a_rolled_back_change_queues_nothing(
    uow_factory: UowFactory, engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        await uow.outbox.add(a_message())

    assert await queued(engine) == []


async def test_a_claim_holds_messages_from_other_claims_until_its_lease_ends(
    uow_factory: UowFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.outbox.add(a_message(1))
        await uow.outbox.add(a_message(2))
        await uow.commit()
    lease_until = NOW + timedelta(minutes=5)

    async with uow_factory() as first, uow_factory() as second:
        mine = await first.outbox.claim_due(NOW, lease_until, limit=1)
        await first.commit()
        theirs = await second.outbox.claim_due(NOW, lease_until, limit=10)
        await second.commit()
    async with uow_factory() as uow:
        later = await uow.outbox.claim_due(lease_until, lease_until + timedelta(minutes=5), 10)
        await uow.commit()

    assert [q.message.id for q in mine] == [a_message(1).id]
    assert [q.message.id for q in theirs] == [a_message(2).id]
    assert {q.message.id for q in later} == {a_message(1).id, a_message(2).id}
    assert later[0].message.values == a_message().values


async def test_sent_and_given_up_messages_leave_the_backlog_without_their_values(
    uow_factory: UowFactory, engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        for n in (1, 2, 3):
            await uow.outbox.add(a_message(n))
        await uow.commit()

    async with uow_factory() as uow:
        await uow.outbox.record_sent(a_message(1).id, NOW)
        await uow.outbox.record_failure(a_message(2).id, "gave up", None)
        await uow.outbox.record_failure(a_message(3).id, "refused", NOW + timedelta(minutes=1))
        backlog = await uow.outbox.backlog()
        await uow.commit()

    rows = {row["id"]: row for row in await queued(engine)}
    assert backlog.pending == {MailKind.VERIFY_EMAIL: 1}
    assert backlog.oldest_queued_at == NOW
    assert rows[a_message(1).id]["template_values"] is None
    assert rows[a_message(2).id]["template_values"] is None
    assert rows[a_message(3).id]["template_values"] == dict(a_message().values)
    assert [rows[a_message(n).id]["attempts"] for n in (1, 2, 3)] == [1, 1, 1]

"""The SQLAlchemy audit log on Postgres and SQLite: atomic with the change, ordered, purgeable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from application.ports import AuditEventFilter
from application.request_context import RequestContext
from domain.audit import AuditEvent, AuditEventId, AuditEventType
from domain.users import UserId
from tests.fakes import audit_events
from tests.integration.conftest import per_database_backend
from tests.integration.stored import UowFactory, a_user

NOW = datetime(2026, 12, 1, 12, 0, 0, 123456, tzinfo=UTC)
CONTEXT = RequestContext(client_ip="2001:db8::7", user_agent="test/1.0", request_id="r-1")


@pytest.fixture(params=["postgresql", "sqlite"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Overrides the conftest fixture: each test here runs once per supported database."""
    return per_database_backend(request, tmp_path)


def event_at(moment: datetime, subject: UserId | None = None, n: int = 0) -> AuditEvent:
    return AuditEvent(
        id=AuditEventId(UUID(int=n + 1)),
        occurred_at=moment,
        type=AuditEventType.USER_UPDATED,
        subject_id=subject,
        details={"n": n, "after": {"full_name": "Zoë", "is_active": False}, "list": [1, None]},
    )


async def page(uow_factory: UowFactory, query: AuditEventFilter) -> list[AuditEvent]:
    async with uow_factory() as uow:
        return await uow.audit.list_page(query)


async def test_an_event_round_trips_every_field(uow_factory: UowFactory) -> None:
    user = await a_user(uow_factory)
    event = audit_events().new(
        AuditEventType.USER_LOGIN_SUCCEEDED,
        CONTEXT,
        NOW,
        actor_id=user.id,
        subject_id=user.id,
        details={"session_id": "s", "nested": {"a": [1, 2.5, True, None]}},
    )
    async with uow_factory() as uow:
        await uow.audit.record(event)
        await uow.commit()

    assert await page(uow_factory, AuditEventFilter(limit=5)) == [event]


async def test_an_event_of_a_rolled_back_change_is_not_kept(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        await uow.audit.record(event_at(NOW))
        # Leaving without commit: the change, and its event, roll back together.

    assert await page(uow_factory, AuditEventFilter(limit=5)) == []


async def test_events_come_newest_first_and_a_cursor_splits_equal_times_by_id(
    uow_factory: UowFactory,
) -> None:
    stored = [event_at(NOW, n=n) for n in range(3)] + [event_at(NOW - timedelta(seconds=1), n=3)]
    async with uow_factory() as uow:
        for event in stored:
            await uow.audit.record(event)
        await uow.commit()

    first = await page(uow_factory, AuditEventFilter(limit=2))
    rest = await page(
        uow_factory, AuditEventFilter(limit=5, before=(first[-1].occurred_at, first[-1].id))
    )

    assert [e.details["n"] for e in first + rest] == [2, 1, 0, 3]


async def test_filters_and_purge_by_time(uow_factory: UowFactory) -> None:
    user = await a_user(uow_factory)
    old, middle, new = (event_at(NOW - timedelta(days=d), user.id, n=d) for d in (10, 5, 0))
    async with uow_factory() as uow:
        for event in (old, middle, new):
            await uow.audit.record(event)
        await uow.audit.record(event_at(NOW, None, n=99))
        await uow.commit()

    window = await page(
        uow_factory,
        AuditEventFilter(limit=5, subject_id=user.id, since=middle.occurred_at, until=NOW),
    )
    async with uow_factory() as uow:
        purged = await uow.audit.purge_older_than(middle.occurred_at)
        await uow.commit()

    assert window == [middle]
    assert purged == 1
    remaining = await page(uow_factory, AuditEventFilter(limit=5, subject_id=user.id))
    assert remaining == [new, middle]


async def test_forgetting_an_account_strips_its_email_and_name_from_its_events_only(
    uow_factory: UowFactory,
) -> None:
    forgotten, kept = await a_user(uow_factory, 1), await a_user(uow_factory, 2)
    async with uow_factory() as uow:
        await uow.audit.record(event_at(NOW, forgotten.id, n=1))
        await uow.audit.record(event_at(NOW, kept.id, n=2))
        await uow.commit()

    async with uow_factory() as uow:
        changed = await uow.audit.forget_personal_data(forgotten.id)
        await uow.commit()

    assert changed == 1
    [mine] = await page(uow_factory, AuditEventFilter(limit=5, subject_id=forgotten.id))
    [theirs] = await page(uow_factory, AuditEventFilter(limit=5, subject_id=kept.id))
    assert mine.details == {"n": 1, "after": {"is_active": False}, "list": [1, None]}
    assert theirs.details["after"] == {"full_name": "Zoë", "is_active": False}

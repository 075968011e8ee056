"""Query plans of `GET /audit-events` over many events: `python bench/audit_query_plans.py`.

Creates a database on the Postgres server, migrates it, loads `--rows` events with one
`generate_series` insert (1,000 actors, 10,000 subjects, every event type, one event a second
back from now), ANALYZEs, then runs each filter of the listing through the repository itself,
captures the SQL it sends, and prints `EXPLAIN (ANALYZE, BUFFERS)` of it: the index read, whether
the page comes in index order or from sorting the few rows the index matched, the buffers
touched, the execution time. Exits 1 if a plan reads `audit_events` sequentially or uses no
index. The database is dropped at the end.
`tests/integration/test_audit_query_plans.py` runs the same checks on a smaller table.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import secrets
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from adapters.persistence import migrator
from adapters.persistence.audit_log import SqlAlchemyAuditLog
from application.ports import AuditEventFilter
from domain.audit import AuditEventId, AuditEventType
from domain.users import UserId

ACTORS = 1_000
SUBJECTS = 10_000
PAGE = 51  # the listing asks for limit + 1

_TYPES = "ARRAY[" + ", ".join(f"'{t.value}'" for t in AuditEventType) + "]"
# `md5(text)::uuid` gives each actor and subject number a stable id the checks can name.
LOAD_SQL = f"""
INSERT INTO audit_events (id, occurred_at, type, actor_id, subject_id, client_ip, user_agent,
                          request_id, details)
SELECT gen_random_uuid(),
       CAST(:start AS timestamptz) - n * interval '1 second',
       ({_TYPES})[1 + n % {len(AuditEventType)}],
       md5('actor' || (n % {ACTORS}))::uuid,
       md5('subject' || (n % {SUBJECTS}))::uuid,
       '203.0.113.' || (n % 250),
       'bench/1.0',
       md5(n::text),
       jsonb_build_object('n', n)
FROM generate_series(1, CAST(:rows AS integer)) AS n
"""  # noqa: S608 - the event types are our own constants


def actor(number: int) -> UserId:
    return UserId(UUID(_md5(f"actor{number}")))


def subject(number: int) -> UserId:
    return UserId(UUID(_md5(f"subject{number}")))


def _md5(value: str) -> str:
    return hashlib.md5(value.encode()).hexdigest()  # noqa: S324 - ids, not security


def filters(start: datetime, rows: int) -> dict[str, AuditEventFilter]:
    """Every filter shape the listing serves, with values that match rows of the load."""
    span = timedelta(seconds=rows)
    middle = start - span / 2
    return {
        "first page": AuditEventFilter(limit=PAGE),
        "actor_id": AuditEventFilter(limit=PAGE, actor_id=actor(7)),
        "subject_id": AuditEventFilter(limit=PAGE, subject_id=subject(7)),
        "type": AuditEventFilter(limit=PAGE, type=AuditEventType.USER_LOGIN_FAILED),
        "since (last hour)": AuditEventFilter(limit=PAGE, since=start - timedelta(hours=1)),
        "until (oldest tenth)": AuditEventFilter(limit=PAGE, until=start - span * 0.9),
        "since + until": AuditEventFilter(
            limit=PAGE, since=middle - timedelta(hours=1), until=middle
        ),
        "actor_id + since + until": AuditEventFilter(
            limit=PAGE, actor_id=actor(7), since=middle - span / 10, until=middle
        ),
        "type + subject_id": AuditEventFilter(
            limit=PAGE, type=AuditEventType.USER_UPDATED, subject_id=subject(9)
        ),
        "cursor (mid-table)": AuditEventFilter(
            limit=PAGE, before=(middle, AuditEventId(UUID(int=0)))
        ),
        "actor_id + cursor": AuditEventFilter(
            limit=PAGE, actor_id=actor(7), before=(middle, AuditEventId(UUID(int=0)))
        ),
    }


@dataclass(frozen=True)
class Plan:
    """What EXPLAIN says of one listing query."""

    name: str
    root: Mapping[str, Any]
    execution_ms: float | None

    def nodes(self) -> Iterator[Mapping[str, Any]]:
        stack = [self.root]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(node.get("Plans", ()))

    @property
    def sequential(self) -> bool:
        return any(
            n["Node Type"] == "Seq Scan" and n.get("Relation Name") == "audit_events"
            for n in self.nodes()
        )

    @property
    def sorted_rows(self) -> int | None:
        """Rows fed to a sort (the index narrowed them down first); None when nothing sorts."""
        for node in self.nodes():
            if node["Node Type"] in {"Sort", "Incremental Sort"}:
                return int(node["Plans"][0].get("Actual Rows", node["Plans"][0]["Plan Rows"]))
        return None

    @property
    def indexes(self) -> list[str]:
        return [n["Index Name"] for n in self.nodes() if "Index Name" in n]

    @property
    def problems(self) -> list[str]:
        found = []
        if self.sequential:
            found.append("reads audit_events sequentially")
        if not self.indexes:
            found.append("uses no index")
        return found

    def line(self) -> str:
        buffers = self.root.get("Shared Hit Blocks", 0) + self.root.get("Shared Read Blocks", 0)
        timing = f"{self.execution_ms:8.2f} ms" if self.execution_ms is not None else ""
        rows = self.root.get("Actual Rows", "-")
        order = "in index order" if self.sorted_rows is None else f"sorts {self.sorted_rows} rows"
        return (
            f"{self.name:<26} {', '.join(self.indexes):<28} rows {rows:>3}  {order:<16}"
            f"  buffers {buffers:>5}  {timing}  {'; '.join(self.problems) or 'ok'}"
        )


async def load(engine: AsyncEngine, rows: int, start: datetime) -> None:
    """Insert `rows` events ending one second before `start`, then ANALYZE the table."""
    async with engine.begin() as connection:
        await connection.execute(text(LOAD_SQL), {"start": start, "rows": rows})
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE audit_events"))


async def explain(
    engine: AsyncEngine, name: str, query: AuditEventFilter, *, analyze: bool
) -> Plan:
    """EXPLAIN of the exact statement `SqlAlchemyAuditLog.list_page` sends for `query`."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM audit_events" in statement:
            sent.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with AsyncSession(engine) as session:
            await SqlAlchemyAuditLog(session).list_page(query)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    [(statement, parameters)] = sent
    options = "ANALYZE, BUFFERS, FORMAT JSON" if analyze else "FORMAT JSON"
    async with engine.connect() as connection:
        result = await connection.exec_driver_sql(f"EXPLAIN ({options}) {statement}", parameters)
        [document] = result.scalar_one()
    return Plan(name, document["Plan"], document.get("Execution Time"))


async def explain_all(
    engine: AsyncEngine, start: datetime, rows: int, *, analyze: bool
) -> list[Plan]:
    return [
        await explain(engine, name, query, analyze=analyze)
        for name, query in filters(start, rows).items()
    ]


async def _create(server_url: str) -> str:
    name = f"accounts_bench_{secrets.token_hex(4)}"
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        await admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def _drop(server_url: str, url: str) -> None:
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(
                f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'
            )
    finally:
        await admin.dispose()


async def run(server_url: str, rows: int) -> int:
    url = await _create(server_url)
    try:
        await asyncio.to_thread(migrator.upgrade, url)
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            start = datetime.now(UTC).replace(microsecond=0)
            began = time.perf_counter()
            await load(engine, rows, start)
            print(f"loaded and analyzed {rows:,} events in {time.perf_counter() - began:.1f} s")
            plans = await explain_all(engine, start, rows, analyze=True)
        finally:
            await engine.dispose()
    finally:
        await _drop(server_url, url)
    for plan in plans:
        print(plan.line())
    return 1 if any(plan.problems for plan in plans) else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--server-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    arguments = parser.parse_args()
    sys.exit(asyncio.run(run(arguments.server_url, arguments.rows)))


if __name__ == "__main__":
    main()

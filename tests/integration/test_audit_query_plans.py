"""`GET /audit-events` reads an index for every filter: the plans Postgres picks, not a guess.

A hundred thousand events load in a few seconds; `bench/audit_query_plans.py` runs the same
checks on a million (see bench/RESULTS.md).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from bench.audit_query_plans import Plan, explain_all, load
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from adapters.persistence import migrator
from tests.integration.conftest import fresh_database

ROWS = 100_000

# The index each filter must lead with; combinations may use either of theirs.
EXPECTED_INDEX = {
    "first page": "ix_audit_events_occurred_at",
    "actor_id": "ix_audit_events_actor_id",
    "subject_id": "ix_audit_events_subject_id",
    "type": "ix_audit_events_type",
    "since (last hour)": "ix_audit_events_occurred_at",
    "until (oldest tenth)": "ix_audit_events_occurred_at",
    "since + until": "ix_audit_events_occurred_at",
    "actor_id + since + until": "ix_audit_events_actor_id",
    "cursor (mid-table)": "ix_audit_events_occurred_at",
    "actor_id + cursor": "ix_audit_events_actor_id",
}


@pytest.fixture(scope="module")
async def plans(postgres_server_url: str) -> dict[str, Plan]:
    async with fresh_database(postgres_server_url) as url:
        await asyncio.to_thread(migrator.upgrade, url)
        engine: AsyncEngine = create_async_engine(url, poolclass=NullPool)
        try:
            start = datetime.now(UTC).replace(microsecond=0)
            await load(engine, ROWS, start)
            found = await explain_all(engine, start, ROWS, analyze=False)
        finally:
            await engine.dispose()
    return {plan.name: plan for plan in found}


def test_every_filter_is_planned_and_checked(plans: dict[str, Plan]) -> None:
    assert set(EXPECTED_INDEX) < set(plans)


@pytest.mark.parametrize("name", sorted(EXPECTED_INDEX))
def test_a_filter_reads_its_index_and_never_the_whole_table(
    plans: dict[str, Plan], name: str
) -> None:
    plan = plans[name]

    assert not plan.sequential, plan.root
    assert plan.indexes[0] == EXPECTED_INDEX[name], plan.root


def test_combined_filters_read_one_of_their_indexes(plans: dict[str, Plan]) -> None:
    plan = plans["type + subject_id"]

    assert not plan.sequential, plan.root
    assert set(plan.indexes) <= {"ix_audit_events_subject_id", "ix_audit_events_type"}
    assert plan.indexes, plan.root

"""The mail the app queued in its outbox table, as the sender will find it."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.tables import mail_outbox
from entrypoints.container import Container, resolve
from tests.integration.http.conftest import Api


async def queued_mail(api: Api, to: str) -> list[dict[str, Any]]:
    """Every message queued to `to` (case-insensitively), oldest first: kind, recipient, values."""
    container: Container = api.app.state.container
    engine: AsyncEngine = await resolve(container.engine)
    statement = (
        select(mail_outbox.c.kind, mail_outbox.c.recipient, mail_outbox.c.template_values)
        .where(func.lower(mail_outbox.c.recipient) == to.lower())
        .order_by(mail_outbox.c.created_at, mail_outbox.c.id)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(statement)).mappings().all()
    return [
        {"kind": row["kind"], "to": row["recipient"], "values": row["template_values"]}
        for row in rows
    ]


def token_in(message: dict[str, Any]) -> str:
    """The token of the message's link, as a browser following it would send it."""
    (token,) = parse_qs(urlsplit(message["values"]["link"]).query)["token"]
    return token


async def last_token(api: Api, to: str, kind: str) -> str:
    """The token of the newest message of `kind` queued to `to`."""
    messages = [m for m in await queued_mail(api, to) if m["kind"] == kind]
    assert messages, f"no {kind} mail to {to}"
    return token_in(messages[-1])

"""Login sessions, refresh tokens, API keys, external identity links and one-time tokens on
SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, false, func, insert, literal, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.errors import translate_errors
from adapters.persistence.tables import (
    api_keys,
    external_identities,
    one_time_tokens,
    refresh_tokens,
    sessions,
)
from adapters.persistence.times import (
    from_db_time,
    optional_from_db_time,
    optional_to_utc,
    to_utc,
)
from application.ports.persistence import (
    ApiKeyRepository,
    ExternalIdentityLink,
    ExternalIdentityRepository,
    OneTimeTokenRepository,
    RefreshTokenRepository,
    SessionRepository,
)
from domain.credentials import (
    ApiKey,
    ApiKeyId,
    ApiKeyName,
    OneTimeToken,
    OneTimeTokenId,
    RefreshToken,
    RefreshTokenId,
    SecretDigest,
    TokenPurpose,
)
from domain.sessions import Session, SessionId
from domain.users import EmailAddress, UserId


class SqlAlchemySessionRepository(SessionRepository):
    """Login sessions in `sessions`."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, session: Session) -> None:
        await _execute(self._session, insert(sessions).values(**_session_row(session)))

    async def get(self, session_id: SessionId, *, for_update: bool = False) -> Session | None:
        statement = select(sessions).where(sessions.c.id == session_id)
        if for_update:
            statement = statement.with_for_update()
        with translate_errors():
            result = await self._session.execute(statement)
            row = result.mappings().one_or_none()
        return session_from_row(row) if row is not None else None

    async def update(self, session: Session) -> None:
        await _execute(
            self._session,
            update(sessions)
            .where(sessions.c.id == session.id)
            .values(
                last_used_at=to_utc(session.last_used_at),
                ended_at=optional_to_utc(session.ended_at),
            ),
        )

    async def list_for(
        self, user_id: UserId, *, usable_at: datetime | None = None
    ) -> list[Session]:
        statement = (
            select(sessions)
            .where(sessions.c.user_id == user_id)
            .order_by(sessions.c.created_at.desc(), sessions.c.id.desc())
        )
        if usable_at is not None:
            statement = statement.where(
                sessions.c.ended_at.is_(None), sessions.c.expires_at > to_utc(usable_at)
            )
        with translate_errors():
            result = await self._session.execute(statement)
            rows = result.mappings().all()
        return [session_from_row(row) for row in rows]

    async def end_all_of(
        self, user_id: UserId, now: datetime, *, keep: SessionId | None = None
    ) -> int:
        statement = update(sessions).where(
            sessions.c.user_id == user_id, sessions.c.ended_at.is_(None)
        )
        if keep is not None:
            statement = statement.where(sessions.c.id != keep)
        result = await _execute(self._session, statement.values(ended_at=to_utc(now)))
        return int(result.rowcount)

    async def purge_ended(self, now: datetime) -> int:
        ended = select(sessions.c.id).where(
            or_(sessions.c.ended_at.is_not(None), sessions.c.expires_at <= to_utc(now))
        )
        # Tokens first: SQLite does not enforce the foreign key's ON DELETE CASCADE.
        await _execute(
            self._session, delete(refresh_tokens).where(refresh_tokens.c.session_id.in_(ended))
        )
        result = await _execute(self._session, delete(sessions).where(sessions.c.id.in_(ended)))
        return int(result.rowcount)


class SqlAlchemyRefreshTokenRepository(RefreshTokenRepository):
    """Refresh tokens, as digests, in `refresh_tokens`."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, token: RefreshToken) -> None:
        await self._execute(
            insert(refresh_tokens).values(
                id=token.id,
                session_id=token.session_id,
                user_id=token.user_id,
                digest=token.digest.value,
                issued_at=to_utc(token.issued_at),
                expires_at=to_utc(token.expires_at),
                used_at=optional_to_utc(token.used_at),
            )
        )

    async def get_by_digest(
        self, digest: SecretDigest, *, for_update: bool = False
    ) -> RefreshToken | None:
        statement = select(refresh_tokens).where(refresh_tokens.c.digest == digest.value)
        if for_update:
            statement = statement.with_for_update()
        row = await self._one_or_none(statement)
        return _to_token(row) if row is not None else None

    async def update(self, token: RefreshToken) -> None:
        await self._execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.id == token.id)
            .values(used_at=optional_to_utc(token.used_at))
        )

    async def _execute(self, statement: Any) -> CursorResult[Any]:
        return await _execute(self._session, statement)

    async def _one_or_none(self, statement: Any) -> RowMapping | None:
        with translate_errors():
            result = await self._session.execute(statement)
            return result.mappings().one_or_none()


class SqlAlchemyApiKeyRepository(ApiKeyRepository):
    """API keys in `api_keys`: the public prefix in clear, the key as a digest."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, key: ApiKey) -> None:
        with translate_errors():
            await self._session.execute(
                insert(api_keys).values(
                    id=key.id,
                    user_id=key.user_id,
                    name=key.name.value,
                    prefix=key.prefix,
                    digest=key.digest.value,
                    created_at=to_utc(key.created_at),
                    expires_at=optional_to_utc(key.expires_at),
                    last_used_at=optional_to_utc(key.last_used_at),
                )
            )

    async def get(self, key_id: ApiKeyId) -> ApiKey | None:
        return await self._one_or_none(select(api_keys).where(api_keys.c.id == key_id))

    async def list_page(
        self, user_id: UserId, *, limit: int, after: ApiKeyId | None = None
    ) -> list[ApiKey]:
        statement = (
            select(api_keys)
            .where(api_keys.c.user_id == user_id)
            .order_by(api_keys.c.id)
            .limit(max(limit, 0))
        )
        if after is not None:
            statement = statement.where(api_keys.c.id > after)
        with translate_errors():
            result = await self._session.execute(statement)
            rows = result.mappings().all()
        return [api_key_from_row(row) for row in rows]

    async def count_for(self, user_id: UserId) -> int:
        statement = select(func.count()).select_from(api_keys).where(api_keys.c.user_id == user_id)
        with translate_errors():
            result = await self._session.execute(statement)
            return int(result.scalar_one())

    async def delete(self, key_id: ApiKeyId) -> None:
        with translate_errors():
            await self._session.execute(delete(api_keys).where(api_keys.c.id == key_id))

    async def delete_all_of(self, user_id: UserId) -> int:
        with translate_errors():
            result = cast(
                CursorResult[Any],
                await self._session.execute(delete(api_keys).where(api_keys.c.user_id == user_id)),
            )
        return int(result.rowcount)

    async def record_use(self, key: ApiKey) -> None:
        with translate_errors():
            await self._session.execute(
                update(api_keys)
                .where(api_keys.c.id == key.id)
                .values(last_used_at=optional_to_utc(key.last_used_at))
            )

    async def _one_or_none(self, statement: Any) -> ApiKey | None:
        with translate_errors():
            result = await self._session.execute(statement)
            row = result.mappings().one_or_none()
        return api_key_from_row(row) if row is not None else None


class SqlAlchemyExternalIdentityRepository(ExternalIdentityRepository):
    """Links (issuer, subject) → user in `external_identities`."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def find_user_id(self, issuer: str, subject: str) -> UserId | None:
        statement = select(external_identities.c.user_id).where(
            external_identities.c.issuer == issuer, external_identities.c.subject == subject
        )
        with translate_errors():
            result = await self._session.execute(statement)
            user_id = result.scalar_one_or_none()
        return UserId(user_id) if user_id is not None else None

    async def link(self, issuer: str, subject: str, user_id: UserId, now: datetime) -> None:
        with translate_errors():
            await self._session.execute(
                insert(external_identities).values(
                    issuer=issuer, subject=subject, user_id=user_id, created_at=to_utc(now)
                )
            )

    async def list_for(self, user_id: UserId) -> list[ExternalIdentityLink]:
        statement = (
            select(external_identities)
            .where(external_identities.c.user_id == user_id)
            .order_by(external_identities.c.created_at)
        )
        with translate_errors():
            result = await self._session.execute(statement)
            rows = result.mappings().all()
        return [
            ExternalIdentityLink(
                issuer=row["issuer"],
                subject=row["subject"],
                user_id=UserId(row["user_id"]),
                created_at=from_db_time(row["created_at"]),
            )
            for row in rows
        ]


async def _execute(session: AsyncSession, statement: Any) -> CursorResult[Any]:
    with translate_errors():
        return cast(CursorResult[Any], await session.execute(statement))


def _one_time_row(token: OneTimeToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "user_id": token.user_id,
        "purpose": token.purpose.value,
        "email": token.email.value,
        "digest": token.digest.value,
        "created_at": to_utc(token.created_at),
        "expires_at": to_utc(token.expires_at),
        "used_at": optional_to_utc(token.used_at),
    }


def _session_row(session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "user_id": session.user_id,
        "created_at": to_utc(session.created_at),
        "last_used_at": to_utc(session.last_used_at),
        "expires_at": to_utc(session.expires_at),
        "ended_at": optional_to_utc(session.ended_at),
        "auth_time": to_utc(session.auth_time),
        "amr": " ".join(session.amr),
        "client_ip": session.client_ip,
        "user_agent": session.user_agent,
    }


def session_from_row(row: Mapping[Any, Any]) -> Session:
    return Session(
        id=SessionId(row["id"]),
        user_id=UserId(row["user_id"]),
        created_at=from_db_time(row["created_at"]),
        last_used_at=from_db_time(row["last_used_at"]),
        expires_at=from_db_time(row["expires_at"]),
        ended_at=optional_from_db_time(row["ended_at"]),
        auth_time=from_db_time(row["auth_time"]),
        amr=tuple(row["amr"].split()),
        client_ip=row["client_ip"],
        user_agent=row["user_agent"],
    )


def _to_token(row: RowMapping) -> RefreshToken:
    return RefreshToken(
        id=RefreshTokenId(row["id"]),
        session_id=SessionId(row["session_id"]),
        user_id=UserId(row["user_id"]),
        digest=SecretDigest(row["digest"]),
        issued_at=from_db_time(row["issued_at"]),
        expires_at=from_db_time(row["expires_at"]),
        used_at=optional_from_db_time(row["used_at"]),
    )


def api_key_from_row(row: Mapping[Any, Any]) -> ApiKey:
    return ApiKey(
        id=ApiKeyId(row["id"]),
        user_id=UserId(row["user_id"]),
        name=ApiKeyName(row["name"]),
        prefix=row["prefix"],
        digest=SecretDigest(row["digest"]),
        created_at=from_db_time(row["created_at"]),
        expires_at=optional_from_db_time(row["expires_at"]),
        last_used_at=optional_from_db_time(row["last_used_at"]),
    )


class SqlAlchemyOneTimeTokenRepository(OneTimeTokenRepository):
    """Mailed one-time tokens in `one_time_tokens`."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, token: OneTimeToken) -> None:
        await _execute(self._session, insert(one_time_tokens).values(**_one_time_row(token)))

    async def rehearse_add(self, token: OneTimeToken) -> None:
        # INSERT … SELECT … WHERE false: parsed, planned and sent like `add`, inserts no row.
        row = _one_time_row(token)
        rows = select(
            *(
                literal(value, one_time_tokens.c[name].type).label(name)
                for name, value in row.items()
            )
        ).where(false())
        await _execute(self._session, insert(one_time_tokens).from_select(list(row), rows))

    async def get_by_digest(
        self, digest: SecretDigest, *, for_update: bool = False
    ) -> OneTimeToken | None:
        statement = select(one_time_tokens).where(one_time_tokens.c.digest == digest.value)
        if for_update:
            statement = statement.with_for_update()
        with translate_errors():
            result = await self._session.execute(statement)
            row = result.mappings().one_or_none()
        if row is None:
            return None
        return OneTimeToken(
            id=OneTimeTokenId(row["id"]),
            user_id=UserId(row["user_id"]),
            purpose=TokenPurpose(row["purpose"]),
            email=EmailAddress(row["email"]),
            digest=SecretDigest(row["digest"]),
            created_at=from_db_time(row["created_at"]),
            expires_at=from_db_time(row["expires_at"]),
            used_at=optional_from_db_time(row["used_at"]),
        )

    async def update(self, token: OneTimeToken) -> None:
        await _execute(
            self._session,
            update(one_time_tokens)
            .where(one_time_tokens.c.id == token.id)
            .values(used_at=optional_to_utc(token.used_at)),
        )

    async def delete_for(self, user_id: UserId, purpose: TokenPurpose) -> int:
        statement = delete(one_time_tokens).where(
            one_time_tokens.c.user_id == user_id, one_time_tokens.c.purpose == purpose.value
        )
        with translate_errors():
            result = cast(CursorResult[Any], await self._session.execute(statement))
        return int(result.rowcount)

"""The user repository on SQLAlchemy Core: explicit row <-> `User` mapping, no ORM state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import CursorResult, Select, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.errors import translate_errors
from adapters.persistence.tables import (
    api_keys,
    external_identities,
    mfa_challenges,
    one_time_tokens,
    refresh_tokens,
    sessions,
    totp_factors,
    users,
)
from adapters.persistence.times import from_db_time, to_utc
from application.errors import ConcurrentUpdate
from application.ports.persistence import UserFilter, UserRepository
from domain.users import EmailAddress, FullName, HashedPassword, Role, User, UserId


class SqlAlchemyUserRepository(UserRepository):
    """Users in the `users` table; runs inside the caller's session and never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get_by_id(
        self, user_id: UserId, *, for_update: bool = False, for_share: bool = False
    ) -> User | None:
        """The user, or None; `for_update` locks the row, `for_share` takes PostgreSQL's
        FOR KEY SHARE (SQLite: BEGIN IMMEDIATE already has the database)."""
        statement = select(users).where(users.c.id == user_id)
        if for_update:
            statement = statement.with_for_update()
        elif for_share:
            statement = statement.with_for_update(read=True, key_share=True)
        return await self._one_or_none(statement)

    async def get_by_email(self, email: EmailAddress) -> User | None:
        """The user whose email matches case-insensitively, or None."""
        statement = select(users).where(func.lower(users.c.email) == email.normalized)
        return await self._one_or_none(statement)

    async def add(self, user: User) -> None:
        """Insert now, so a taken email fails here as `EmailAlreadyRegistered`."""
        with translate_errors():
            await self._session.execute(insert(users).values(**_to_row(user)))

    async def update(self, user: User) -> None:
        """Write the user if its stored version is still `user.version`, then bump the version."""
        row = _to_row(user)
        del row["id"], row["created_at"], row["version"]
        statement = (
            update(users)
            .where(users.c.id == user.id, users.c.version == user.version)
            .values(**row, version=users.c.version + 1)
        )
        with translate_errors():
            result = cast(CursorResult[Any], await self._session.execute(statement))
        if result.rowcount != 1:
            raise ConcurrentUpdate("The user was changed or deleted since it was read.")
        user.version += 1

    async def list_page(self, query: UserFilter) -> list[User]:
        """Up to `query.limit` users matching the filter, in ascending id order."""
        statement = select(users).order_by(users.c.id).limit(max(query.limit, 0))
        if query.after is not None:
            statement = statement.where(users.c.id > query.after)
        if query.role is not None:
            statement = statement.where(users.c.role == query.role.value)
        if query.is_active is not None:
            statement = statement.where(users.c.is_active.is_(query.is_active))
        if query.email is not None:
            statement = statement.where(func.lower(users.c.email) == query.email.normalized)
        with translate_errors():
            result = await self._session.execute(statement)
            rows = result.mappings().all()
        return [user_from_row(row) for row in rows]

    async def lock_active_admin_ids(self) -> list[UserId]:
        """Ids of every active admin, locked in id order so concurrent callers cannot deadlock."""
        statement = (
            select(users.c.id)
            .where(users.c.role == Role.ADMIN.value, users.c.is_active.is_(True))
            .order_by(users.c.id)
            .with_for_update()
        )
        with translate_errors():
            result = await self._session.execute(statement)
            ids = result.scalars().all()
        return [UserId(user_id) for user_id in ids]

    async def delete(self, user_id: UserId) -> None:
        """Children first, in the order refreshes lock them (tokens, then sessions): SQLite
        does not enforce ON DELETE CASCADE, which on PostgreSQL removes them anyway."""
        with translate_errors():
            for table in (
                refresh_tokens,
                sessions,
                api_keys,
                external_identities,
                totp_factors,
                mfa_challenges,
                one_time_tokens,
            ):
                await self._session.execute(delete(table).where(table.c.user_id == user_id))
            await self._session.execute(delete(users).where(users.c.id == user_id))

    async def _one_or_none(self, statement: Select[Any]) -> User | None:
        with translate_errors():
            result = await self._session.execute(statement)
            row = result.mappings().one_or_none()
        return user_from_row(row) if row is not None else None


def _to_row(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email.value,
        "full_name": user.full_name.value,
        "role": user.role.value,
        "is_active": user.is_active,
        "password_hash": user.password_hash.value if user.password_hash else None,
        "created_at": to_utc(user.created_at),
        "updated_at": to_utc(user.updated_at),
        "version": user.version,
        "mfa_enabled": user.mfa_enabled,
        "email_verified": user.email_verified,
    }


def user_from_row(row: Mapping[Any, Any]) -> User:
    return User(
        id=UserId(row["id"]),
        email=EmailAddress(row["email"]),
        full_name=FullName(row["full_name"]),
        role=Role(row["role"]),
        is_active=bool(row["is_active"]),
        password_hash=HashedPassword(row["password_hash"]) if row["password_hash"] else None,
        created_at=from_db_time(row["created_at"]),
        updated_at=from_db_time(row["updated_at"]),
        version=int(row["version"]),
        mfa_enabled=bool(row["mfa_enabled"]),
        email_verified=bool(row["email_verified"]),
    )

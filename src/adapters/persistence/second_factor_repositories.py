"""TOTP factors and MFA login challenges on SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.errors import translate_errors
from adapters.persistence.tables import mfa_challenges, totp_factors
from adapters.persistence.times import (
    from_db_time,
    optional_from_db_time,
    optional_to_utc,
    to_utc,
)
from application.ports.persistence import MfaChallengeRepository, SecondFactorRepository
from domain.credentials import SecretDigest
from domain.mfa import MfaChallenge, MfaChallengeId, TotpFactor
from domain.users import UserId


async def _execute(session: AsyncSession, statement: Any) -> CursorResult[Any]:
    with translate_errors():
        return cast(CursorResult[Any], await session.execute(statement))


class SqlAlchemySecondFactorRepository(SecondFactorRepository):
    """TOTP factors in `totp_factors`, one row per user."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, user_id: UserId, *, for_update: bool = False) -> TotpFactor | None:
        statement = select(totp_factors).where(totp_factors.c.user_id == user_id)
        if for_update:
            statement = statement.with_for_update()
        row = (await _execute(self._session, statement)).mappings().one_or_none()
        return None if row is None else _factor(row)

    async def save(self, factor: TotpFactor) -> None:
        """Update the user's row, or insert it when there is none (callers hold the user's
        row lock, so no other transaction inserts meanwhile)."""
        values = _factor_row(factor)
        del values["user_id"]
        result = await _execute(
            self._session,
            update(totp_factors).where(totp_factors.c.user_id == factor.user_id).values(**values),
        )
        if result.rowcount == 0:
            await _execute(
                self._session, insert(totp_factors).values(user_id=factor.user_id, **values)
            )

    async def delete(self, user_id: UserId) -> None:
        await _execute(self._session, delete(totp_factors).where(totp_factors.c.user_id == user_id))


class SqlAlchemyMfaChallengeRepository(MfaChallengeRepository):
    """Challenges in `mfa_challenges`, by the digest of their `mfa_token`."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, challenge: MfaChallenge) -> None:
        await _execute(
            self._session,
            insert(mfa_challenges).values(
                id=challenge.id,
                user_id=challenge.user_id,
                digest=challenge.digest.value,
                created_at=to_utc(challenge.created_at),
                expires_at=to_utc(challenge.expires_at),
                used_at=optional_to_utc(challenge.used_at),
            ),
        )

    async def get_by_digest(
        self, digest: SecretDigest, *, for_update: bool = False
    ) -> MfaChallenge | None:
        statement = select(mfa_challenges).where(mfa_challenges.c.digest == digest.value)
        if for_update:
            statement = statement.with_for_update()
        row = (await _execute(self._session, statement)).mappings().one_or_none()
        if row is None:
            return None
        return MfaChallenge(
            id=MfaChallengeId(row["id"]),
            user_id=UserId(row["user_id"]),
            digest=SecretDigest(row["digest"]),
            created_at=from_db_time(row["created_at"]),
            expires_at=from_db_time(row["expires_at"]),
            used_at=optional_from_db_time(row["used_at"]),
        )

    async def update(self, challenge: MfaChallenge) -> None:
        await _execute(
            self._session,
            update(mfa_challenges)
            .where(mfa_challenges.c.id == challenge.id)
            .values(used_at=optional_to_utc(challenge.used_at)),
        )

    async def purge_expired(self, now: datetime) -> int:
        result = await _execute(
            self._session, delete(mfa_challenges).where(mfa_challenges.c.expires_at <= to_utc(now))
        )
        return int(result.rowcount)


def _factor_row(factor: TotpFactor) -> dict[str, Any]:
    return {
        "user_id": factor.user_id,
        "sealed_secret": factor.sealed_secret,
        "created_at": to_utc(factor.created_at),
        "confirmed_at": optional_to_utc(factor.confirmed_at),
        "last_used_step": factor.last_used_step,
        "recovery_codes": [digest.value for digest in factor.recovery_codes],
    }


def _factor(row: Mapping[Any, Any]) -> TotpFactor:
    return TotpFactor(
        user_id=UserId(row["user_id"]),
        sealed_secret=bytes(row["sealed_secret"]),
        created_at=from_db_time(row["created_at"]),
        confirmed_at=optional_from_db_time(row["confirmed_at"]),
        last_used_step=None if row["last_used_step"] is None else int(row["last_used_step"]),
        recovery_codes=[SecretDigest(value) for value in row["recovery_codes"]],
    )

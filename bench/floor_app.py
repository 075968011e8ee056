"""The floor: the least a `GET /users/me` can do, as a plain FastAPI app.

Verify the bearer token (PyJWT with the service's algorithm and key, `ACCOUNTS_JWT_ALGORITHM`:
the HS256 secret or the RS256/ES256 public key file, parsed once; issuer, audience and expiry), read
the user by id in one asyncpg query (a pool of `ACCOUNTS_DB_POOL_SIZE` connections, 10 by
default, prepared statement) and return it as JSON. No rate limit, no session check, no
middleware, no access log, no metrics. Served by `bench/run.py` under the same Gunicorn settings
as the service and the bare app, so its ratio to the bare app says how close to the bare app
any implementation of the scenario can come on this machine.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import jwt
from fastapi import FastAPI, Header, HTTPException

ALGORITHM = os.environ.get("ACCOUNTS_JWT_ALGORITHM", "HS256")
# The key prepared once, as the service prepares its own: a PEM is not parsed per request.
KEY = (
    jwt.PyJWS()
    .get_algorithm_by_name(ALGORITHM)
    .prepare_key(
        os.environ["ACCOUNTS_JWT_SECRET"]
        if ALGORITHM == "HS256"
        else Path(os.environ["ACCOUNTS_JWT_PUBLIC_KEY_FILE"]).read_bytes()
    )
)
# As the service: `JWT_ISSUER`, else `PUBLIC_URL` (the benches always set one of them).
ISSUER = os.environ.get("ACCOUNTS_JWT_ISSUER") or os.environ["ACCOUNTS_PUBLIC_URL"].rstrip("/")
AUDIENCE = os.environ.get("ACCOUNTS_JWT_AUDIENCE", "accounts-api")
DATABASE_URL = os.environ["ACCOUNTS_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
POOL_SIZE = int(os.environ.get("ACCOUNTS_DB_POOL_SIZE", "10"))
USER = (
    "SELECT id, email, email_verified, full_name, role, is_active, mfa_enabled, created_at,"
    " updated_at FROM users WHERE id = $1"
)
pool: Any = None


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    global pool  # noqa: PLW0603 - one pool per worker, like the service's
    pool = await asyncpg.create_pool(DATABASE_URL, min_size=POOL_SIZE, max_size=POOL_SIZE)
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/")
async def ready() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/me")
async def me(authorization: str = Header("")) -> dict[str, Any]:
    try:
        claims = jwt.decode(
            authorization.removeprefix("Bearer "),
            KEY,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            audience=AUDIENCE,
        )
    except jwt.InvalidTokenError as exc:
        raise HTTPException(401) from exc
    async with pool.acquire() as connection:
        row = await connection.fetchrow(USER, claims["sub"])
    if row is None or not row["is_active"]:
        raise HTTPException(401)
    return {
        "id": str(row["id"]),
        "email": row["email"],
        "email_verified": row["email_verified"],
        "full_name": row["full_name"],
        "role": row["role"],
        "is_active": row["is_active"],
        "mfa_enabled": row["mfa_enabled"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }

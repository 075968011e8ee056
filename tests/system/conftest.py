"""The security and reliability suites run the service end to end against real Postgres and Redis.

Its fixtures are the integration suite's own, imported rather than copied, so the servers are
found the same way (tests/integration/conftest.py: the TEST_* variables, else the local servers,
else private ones, else testcontainers).
"""

from tests.integration.conftest import (
    backend_url,
    clean_tables,
    database_url,
    engine,
    migrated_database_url,
    postgres_server_url,
    redis_url,
    session_factory,
    uow_factory,
)
from tests.integration.http.conftest import api, api_factory, key_pairs

__all__ = [
    "api",
    "api_factory",
    "backend_url",
    "clean_tables",
    "database_url",
    "engine",
    "key_pairs",
    "migrated_database_url",
    "postgres_server_url",
    "redis_url",
    "session_factory",
    "uow_factory",
]

"""Relational persistence for the application's ports, on PostgreSQL (asyncpg) or SQLite."""

from adapters.persistence.database import create_engine, create_session_factory, ping
from adapters.persistence.unit_of_work import SqlAlchemyUnitOfWork, unit_of_work_factory
from adapters.persistence.user_repository import SqlAlchemyUserRepository

__all__ = [
    "SqlAlchemyUnitOfWork",
    "SqlAlchemyUserRepository",
    "create_engine",
    "create_session_factory",
    "ping",
    "unit_of_work_factory",
]

"""Login sessions: what a user sees as "where am I logged in", and ends."""

from domain.sessions.entities import (
    MAX_USER_AGENT_LENGTH,
    PASSWORD_AMR,
    Session,
    SessionId,
)

__all__ = ["MAX_USER_AGENT_LENGTH", "PASSWORD_AMR", "Session", "SessionId"]

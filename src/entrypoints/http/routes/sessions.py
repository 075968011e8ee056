"""Login sessions: "where am I logged in", and ending them; the same for admins, per user."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response, status

from application.use_cases.end_all_sessions import EndAllSessions, EndAllSessionsCommand
from application.use_cases.end_session import EndSession, EndSessionCommand
from application.use_cases.list_sessions import ListSessions, ListSessionsQuery, SessionList
from domain.sessions import SessionId
from domain.users import UserId
from entrypoints.container import Container
from entrypoints.http.dependencies import AdminPrincipal, BearerPrincipal
from entrypoints.http.openapi import ALWAYS, AUTHENTICATED, problem_responses
from entrypoints.http.provided import provided
from entrypoints.http.request_context import request_context_of
from entrypoints.http.routes import API_PREFIX
from entrypoints.http.schemas import SessionListResponse, SessionResponse

ListSessionsDep = Annotated[ListSessions, Depends(provided(Container.list_sessions))]
EndSessionDep = Annotated[EndSession, Depends(provided(Container.end_session))]
EndAllSessionsDep = Annotated[EndAllSessions, Depends(provided(Container.end_all_sessions))]

router = APIRouter(prefix=f"{API_PREFIX}/users", tags=["sessions"])

_BEARER_ONLY = " Needs a bearer token: an API key gets 403 `forbidden`."
_ENDING = (
    "Ending a session stops its refresh tokens at once and its access tokens at their next request."
)
_ADMIN = (*AUTHENTICATED, "forbidden", *ALWAYS)


def _listing(sessions: SessionList) -> SessionListResponse:
    return SessionListResponse(
        items=[SessionResponse.of(s, sessions.current) for s in sessions.items]
    )


@router.get(
    "/me/sessions",
    operation_id="list_own_sessions",
    summary="List your active sessions",
    description="Every login session of yours that has neither ended nor expired, most "
    "recent login first; `current` marks the one of the token you called with." + _BEARER_ONLY,
    response_model=SessionListResponse,
    responses=problem_responses(*AUTHENTICATED, "forbidden", *ALWAYS),
)
async def list_own_sessions(
    principal: BearerPrincipal, list_sessions: ListSessionsDep
) -> SessionListResponse:
    sessions = await list_sessions.execute(ListSessionsQuery(principal=principal))
    return _listing(sessions)


@router.delete(
    "/me/sessions/{session_id}",
    operation_id="end_own_session",
    summary="End one of your sessions",
    description="Logs that device out. " + _ENDING + " An id that names no active session of "
    "yours (another user's, an ended or an expired one) is 404 `session_not_found`; an id that "
    "is not a UUID is 422." + _BEARER_ONLY,
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(
        *AUTHENTICATED, "forbidden", "session_not_found", "validation_failed", *ALWAYS
    ),
)
async def end_own_session(
    request: Request, session_id: UUID, principal: BearerPrincipal, end_session: EndSessionDep
) -> Response:
    await end_session.execute(
        EndSessionCommand(
            principal=principal,
            session_id=SessionId(session_id),
            context=request_context_of(request),
        )
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/me/sessions",
    operation_id="end_own_sessions",
    summary="End all your sessions",
    description="Logs out everywhere, the calling session included. "
    + _ENDING
    + " A refresh racing with this call loses: its new tokens belong to an ended session."
    + _BEARER_ONLY,
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(*AUTHENTICATED, "forbidden", *ALWAYS),
)
async def end_own_sessions(
    request: Request, principal: BearerPrincipal, end_all_sessions: EndAllSessionsDep
) -> Response:
    await end_all_sessions.execute(
        EndAllSessionsCommand(principal=principal, context=request_context_of(request))
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{user_id}/sessions",
    operation_id="list_user_sessions",
    summary="List a user's active sessions (admin)",
    description="As `GET /users/me/sessions`, for any account; `current` marks the admin's "
    "own session when the account is the admin's.",
    response_model=SessionListResponse,
    responses=problem_responses(*_ADMIN, "user_not_found", "validation_failed"),
)
async def list_user_sessions(
    user_id: UUID, principal: AdminPrincipal, list_sessions: ListSessionsDep
) -> SessionListResponse:
    sessions = await list_sessions.execute(
        ListSessionsQuery(principal=principal, user_id=UserId(user_id))
    )
    return _listing(sessions)


@router.delete(
    "/{user_id}/sessions",
    operation_id="end_user_sessions",
    summary="End all of a user's sessions (admin)",
    description="Logs the account out everywhere, e.g. after a suspected compromise. "
    + _ENDING
    + " API keys are not sessions: they keep working until deleted or the account is "
    "deactivated.",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(*_ADMIN, "user_not_found", "validation_failed"),
)
async def end_user_sessions(
    request: Request, user_id: UUID, principal: AdminPrincipal, end_all_sessions: EndAllSessionsDep
) -> Response:
    await end_all_sessions.execute(
        EndAllSessionsCommand(
            principal=principal, user_id=UserId(user_id), context=request_context_of(request)
        )
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)

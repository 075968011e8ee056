"""The caller's own account, and user management for admins."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response, status

from application.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from application.use_cases.change_password import ChangePassword, ChangePasswordCommand
from application.use_cases.create_user import CreateUser, CreateUserCommand
from application.use_cases.delete_account import DeleteAccount, DeleteAccountCommand
from application.use_cases.export_account import ExportAccount
from application.use_cases.get_own_profile import GetOwnProfile
from application.use_cases.get_user import GetUser, GetUserQuery
from application.use_cases.list_users import ListUsers, ListUsersQuery
from application.use_cases.request_email_change import (
    RequestEmailChange,
    RequestEmailChangeCommand,
)
from application.use_cases.send_verification_email import (
    SendVerificationEmail,
    SendVerificationEmailCommand,
)
from application.use_cases.update_own_profile import UpdateOwnProfile, UpdateOwnProfileCommand
from application.use_cases.update_user import UpdateUser, UpdateUserCommand
from domain.clients import Scope
from domain.users import Role, UserId
from entrypoints.container import Container
from entrypoints.http.dependencies import (
    AdminPrincipal,
    BearerAdminPrincipal,
    BearerPrincipal,
    CurrentPrincipal,
    PasswordChangePrincipal,
    UsersReaderPrincipal,
    UsersWriterPrincipal,
    require_json,
)
from entrypoints.http.etag import etag_of, parse_if_match
from entrypoints.http.openapi import (
    ALWAYS,
    AUTHENTICATED,
    CLIENT_CREDENTIALS_SCHEME,
    JSON_BODY,
    problem_responses,
)
from entrypoints.http.provided import provided
from entrypoints.http.request_context import request_context_of
from entrypoints.http.routes import API_PREFIX
from entrypoints.http.schemas import (
    AccountExportResponse,
    AdminUpdateUserRequest,
    ChangeEmailRequest,
    ChangePasswordRequest,
    CreateUserRequest,
    EmailField,
    UpdateProfileRequest,
    UserPageResponse,
    UserResponse,
)

router = APIRouter(prefix=f"{API_PREFIX}/users", tags=["users"])

_ETAG_HEADER = {
    "ETag": {
        "description": "The user's version, for `If-Match`.",
        "schema": {"type": "string", "example": '"v3"'},
    }
}
_ADMIN = (*AUTHENTICATED, "forbidden", *ALWAYS)
# Clients' tokens, with the scope each operation needs (the user schemes come from FastAPI).
_CLIENT_READS: dict[str, Any] = {
    "security": [{CLIENT_CREDENTIALS_SCHEME: [Scope.USERS_READ.value]}]
}
_CLIENT_WRITES: dict[str, Any] = {
    "security": [{CLIENT_CREDENTIALS_SCHEME: [Scope.USERS_WRITE.value]}]
}
_IF_MATCH = (
    "ETags from previous reads (RFC 9110 §13.1.1): the change is made only if one of them is "
    "the user's current ETag, compared strongly (a weak `W/` tag never matches), or with `*` "
    "alone if the user exists. Several `If-Match` lines are one list (RFC 9110 §5.3)."
)


@router.get(
    "/me",
    operation_id="get_current_user",
    summary="Get your own account",
    description="The account the credentials belong to, as stored now.",
    response_model=UserResponse,
    responses={200: {"headers": _ETAG_HEADER}, **problem_responses(*AUTHENTICATED, *ALWAYS)},
)
async def get_me(
    principal: CurrentPrincipal,
    response: Response,
    get_own_profile: Annotated[GetOwnProfile, Depends(provided(Container.get_own_profile))],
) -> UserResponse:
    user = await get_own_profile.execute(principal)
    response.headers["ETag"] = etag_of(user)
    return UserResponse.of(user)


@router.patch(
    "/me",
    operation_id="update_current_user",
    summary="Update your own profile",
    description="Changes your `full_name`. Role and activity can only be changed by an admin.",
    response_model=UserResponse,
    responses={
        200: {"headers": _ETAG_HEADER},
        **problem_responses(
            *AUTHENTICATED,
            *JSON_BODY,
            *ALWAYS,
        ),
    },
    dependencies=[Depends(require_json)],
)
async def update_me(
    request: Request,
    body: UpdateProfileRequest,
    principal: CurrentPrincipal,
    response: Response,
    update_own_profile: Annotated[
        UpdateOwnProfile, Depends(provided(Container.update_own_profile))
    ],
) -> UserResponse:
    user = await update_own_profile.execute(
        UpdateOwnProfileCommand(
            principal=principal, full_name=body.full_name, context=request_context_of(request)
        )
    )
    response.headers["ETag"] = etag_of(user)
    return UserResponse.of(user)


@router.post(
    "/me/password",
    operation_id="change_password",
    summary="Change your password",
    description="Needs a bearer token (an API key gets 403 `forbidden`) and the current "
    "password (400 `invalid_current_password` when wrong). The new password follows the same "
    "policy as registration. On success every login session of the account ends, this one "
    "included: refresh tokens stop working and access tokens are refused from the next "
    "request, so log in again with the new password.",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(
        *AUTHENTICATED,
        "forbidden",
        "invalid_current_password",
        *JSON_BODY,
        *ALWAYS,
    ),
    dependencies=[Depends(require_json)],
)
async def change_password(
    request: Request,
    body: ChangePasswordRequest,
    principal: PasswordChangePrincipal,
    change_password: Annotated[ChangePassword, Depends(provided(Container.change_password))],
) -> Response:
    await change_password.execute(
        ChangePasswordCommand(
            principal=principal,
            current_password=body.current_password,
            new_password=body.new_password,
            context=request_context_of(request),
        )
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/me/email",
    operation_id="change_email",
    summary="Change your email address",
    description="Needs a bearer token (an API key gets 403 `forbidden`) and the current "
    "password (400 `invalid_current_password` when wrong; password guesses spend the login "
    "rate limits). Mails a confirmation link (`ACCOUNTS_VERIFY_EMAIL_URL`, valid "
    "`ACCOUNTS_EMAIL_VERIFICATION_TTL_SECONDS`) to the new address and a notice to the "
    "current one. Nothing changes until the link is confirmed through "
    "`POST /api/v1/auth/verify-email`: then the new address becomes the account's email, "
    "verified. Asking again voids the earlier link. 409 `email_taken` when the new address "
    "is registered, yours included. A mail whose recipient's `mail` rate limit is spent is "
    "not sent; the answer is 202 either way.",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,
    responses={
        202: {"description": "Accepted: the confirmation link is on its way."},
        **problem_responses(
            *AUTHENTICATED,
            "forbidden",
            "invalid_current_password",
            "email_taken",
            *JSON_BODY,
            *ALWAYS,
        ),
    },
    dependencies=[Depends(require_json)],
)
async def change_email(
    request: Request,
    body: ChangeEmailRequest,
    principal: PasswordChangePrincipal,
    change: Annotated[RequestEmailChange, Depends(provided(Container.request_email_change))],
) -> Response:
    await change.execute(
        RequestEmailChangeCommand(
            principal=principal,
            new_email=body.new_email,
            current_password=body.current_password,
            context=request_context_of(request),
        )
    )
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/me/verification-email",
    operation_id="send_verification_email",
    summary="Mail a new verification link",
    description="Mails a new link to confirm your address; the link sent before stops "
    "working. Nothing is sent when the address is verified already, or when its `mail` rate "
    "limit (`ACCOUNTS_RATE_LIMIT_MAIL`) is spent; the answer is 202 either way. Needs a "
    "bearer token (an API key gets 403 `forbidden`).",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,
    responses={
        202: {"description": "Accepted: a link is on its way unless none was due."},
        **problem_responses(*AUTHENTICATED, "forbidden", *ALWAYS),
    },
)
async def send_verification_email(
    request: Request,
    principal: BearerPrincipal,
    send: Annotated[SendVerificationEmail, Depends(provided(Container.send_verification_email))],
) -> Response:
    await send.execute(
        SendVerificationEmailCommand(principal=principal, context=request_context_of(request))
    )
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.delete(
    "/me",
    operation_id="delete_current_user",
    summary="Delete your own account",
    description="Deletes the account and everything attached to it (sessions, refresh "
    "tokens, API keys, external identity links) at once; the email can then be registered "
    "again. Needs a bearer token (an API key gets 403 `forbidden`) from a recent login: when "
    "the token's `auth_time` is older than `ACCOUNTS_REAUTH_MAX_AGE_SECONDS` (300 by default) "
    "the answer is 401 `reauthentication_required` with `WWW-Authenticate: Bearer "
    'error="insufficient_user_authentication", max_age=N` (RFC 9470): log in again and '
    "retry. The last active admin cannot delete itself (409 `last_admin`).",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(
        *AUTHENTICATED, "reauthentication_required", "forbidden", "last_admin", *ALWAYS
    ),
)
async def delete_me(
    request: Request,
    principal: BearerPrincipal,
    delete_account: Annotated[DeleteAccount, Depends(provided(Container.delete_account))],
) -> Response:
    await delete_account.execute(
        DeleteAccountCommand(principal=principal, context=request_context_of(request))
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/me/export",
    operation_id="export_current_user",
    summary="Export everything held about you",
    description="Your data as one JSON document (GDPR art. 15 and 20): the profile, every "
    "stored session, every API key (never a secret or digest) and linked external "
    "identities. `audit_events` stays empty while the service keeps no audit log. Needs a "
    "bearer token (an API key gets 403 `forbidden`).",
    response_model=AccountExportResponse,
    responses=problem_responses(*AUTHENTICATED, "forbidden", *ALWAYS),
)
async def export_me(
    principal: BearerPrincipal,
    response: Response,
    export_account: Annotated[ExportAccount, Depends(provided(Container.export_account))],
) -> AccountExportResponse:
    export = await export_account.execute(principal)
    response.headers["Cache-Control"] = "no-store"
    return AccountExportResponse.of(export)


@router.post(
    "",
    operation_id="create_user",
    summary="Create a user (admin)",
    description="Creates an active account with the given role (`user` by default), no "
    "usable password and `email_verified` false. Its owner gets a mail with a link to set a "
    "password (`ACCOUNTS_RESET_PASSWORD_URL`, valid `ACCOUNTS_EMAIL_VERIFICATION_TTL_SECONDS`), "
    "spent through `POST /api/v1/auth/password-reset/confirm`, which also verifies the "
    "address; a new link can be had with `POST /api/v1/auth/password-reset`. 409 "
    "`email_taken` when the address is registered (case-insensitively).",
    status_code=status.HTTP_201_CREATED,
    response_model=UserResponse,
    responses={
        201: {
            "headers": {
                "Location": {
                    "description": "The new user's URL.",
                    "schema": {"type": "string", "example": "/api/v1/users/019ab2c4-5e6f"},
                },
                **_ETAG_HEADER,
            }
        },
        **problem_responses(*AUTHENTICATED, "forbidden", "email_taken", *JSON_BODY, *ALWAYS),
    },
    dependencies=[Depends(require_json)],
)
async def create_user(
    request: Request,
    body: CreateUserRequest,
    principal: AdminPrincipal,
    response: Response,
    create: Annotated[CreateUser, Depends(provided(Container.create_user))],
) -> UserResponse:
    user = await create.execute(
        CreateUserCommand(
            principal=principal,
            email=body.email,
            full_name=body.full_name,
            role=body.role,
            context=request_context_of(request),
        )
    )
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    response.headers["ETag"] = etag_of(user)
    return UserResponse.of(user)


@router.get(
    "",
    operation_id="list_users",
    summary="List users (admin)",
    description="Admins, and clients whose token holds `users:read`. Keyset pagination in "
    "creation order: pass `next_cursor` back as `cursor` "
    "until it is `null`. `email` matches exactly, case-insensitively. Each parameter is sent "
    "at most once: a repeated one (`?role=user&role=admin`) is a 422 `validation_failed` "
    "naming it (`duplicate_parameter`), never a guess at which was meant.",
    response_model=UserPageResponse,
    responses=problem_responses(*_ADMIN, "validation_failed"),
    openapi_extra=_CLIENT_READS,
)
async def list_users(
    *,
    principal: UsersReaderPrincipal,
    list_users: Annotated[ListUsers, Depends(provided(Container.list_users))],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    role: Role | None = None,
    is_active: bool | None = None,
    email: Annotated[EmailField | None, Query()] = None,
) -> UserPageResponse:
    page = await list_users.execute(
        ListUsersQuery(
            principal=principal,
            limit=limit,
            cursor=cursor,
            role=role,
            is_active=is_active,
            email=email,
        )
    )
    return UserPageResponse(
        items=[UserResponse.of(u) for u in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/{user_id}",
    operation_id="get_user",
    summary="Get a user (admin)",
    description="Admins, and clients whose token holds `users:read`. Any account by id, "
    "active or not, with its `ETag` for a later `If-Match`.",
    response_model=UserResponse,
    responses={
        200: {"headers": _ETAG_HEADER},
        **problem_responses(*_ADMIN, "user_not_found", "validation_failed"),
    },
    openapi_extra=_CLIENT_READS,
)
async def get_user(
    user_id: UUID,
    principal: UsersReaderPrincipal,
    response: Response,
    get_user: Annotated[GetUser, Depends(provided(Container.get_user))],
) -> UserResponse:
    user = await get_user.execute(GetUserQuery(principal=principal, user_id=UserId(user_id)))
    response.headers["ETag"] = etag_of(user)
    return UserResponse.of(user)


@router.patch(
    "/{user_id}",
    operation_id="update_user",
    summary="Update a user (admin)",
    description="Admins, and clients whose token holds `users:write` (the change is audited "
    "with the client id as `actor_id`). Changes `full_name`, `role` or `is_active`; absent "
    "fields stay unchanged. "
    "Send `If-Match` with the ETag you read to refuse the change (412) if the user changed "
    "meanwhile; any tag of the list, on any of its lines, may match. The last active admin "
    "cannot be demoted or deactivated (409 `last_admin`).",
    response_model=UserResponse,
    responses={
        200: {"headers": _ETAG_HEADER},
        **problem_responses(
            *_ADMIN,
            "user_not_found",
            "last_admin",
            "precondition_failed",
            *JSON_BODY,
        ),
    },
    dependencies=[Depends(require_json)],
    # Declared here rather than as a parameter: FastAPI would read only the first line.
    openapi_extra={
        **_CLIENT_WRITES,
        "parameters": [
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "description": _IF_MATCH,
                "schema": {"type": "string", "examples": ['"v3"', '"v3", "v4"', "*"]},
            }
        ],
    },
)
async def update_user(
    *,
    request: Request,
    user_id: UUID,
    body: AdminUpdateUserRequest,
    principal: UsersWriterPrincipal,
    response: Response,
    update_user: Annotated[UpdateUser, Depends(provided(Container.update_user))],
) -> UserResponse:
    user = await update_user.execute(
        UpdateUserCommand(
            principal=principal,
            user_id=UserId(user_id),
            full_name=body.full_name,
            role=body.role,
            is_active=body.is_active,
            if_match=parse_if_match(request.headers.getlist("If-Match")),
            context=request_context_of(request),
        )
    )
    response.headers["ETag"] = etag_of(user)
    return UserResponse.of(user)


@router.delete(
    "/{user_id}",
    operation_id="delete_user",
    summary="Delete a user (admin)",
    description="As `DELETE /users/me`, for any account: everything attached goes with it, and "
    "the admin's own login must be recent (401 `reauthentication_required`, RFC 9470). Send "
    "`If-Match` with the ETag you read to refuse the deletion (412) if the user changed "
    "meanwhile. The last active admin cannot be deleted (409 `last_admin`), also when two "
    "admins delete each other at once. Needs a bearer token.",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(
        *AUTHENTICATED,
        "reauthentication_required",
        "forbidden",
        "user_not_found",
        "last_admin",
        "precondition_failed",
        "validation_failed",
        *ALWAYS,
    ),
    openapi_extra={
        **_CLIENT_WRITES,
        "parameters": [
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "description": _IF_MATCH,
                "schema": {"type": "string", "examples": ['"v3"', '"v3", "v4"', "*"]},
            }
        ],
    },
)
async def delete_user(
    *,
    request: Request,
    user_id: UUID,
    principal: BearerAdminPrincipal,
    delete_account: Annotated[DeleteAccount, Depends(provided(Container.delete_account))],
) -> Response:
    await delete_account.execute(
        DeleteAccountCommand(
            principal=principal,
            user_id=UserId(user_id),
            if_match=parse_if_match(request.headers.getlist("If-Match")),
            context=request_context_of(request),
        )
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""Registration and the OAuth2 token endpoint."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel
from starlette.datastructures import FormData

from application.errors import InvalidClient, InvalidCredentials
from application.principal import ClientPrincipal
from application.rate_limiting import Caller, Operation
from application.request_context import RequestContext
from application.sessions import IssuedTokens
from application.use_cases.authenticate_with_password import (
    AuthenticateWithPassword,
    MfaRequired,
    PasswordGrantCommand,
)
from application.use_cases.client_credentials import (
    AuthenticateClient,
    ClientCredentialsGrantCommand,
    IssueClientToken,
)
from application.use_cases.complete_mfa_login import (
    CompleteMfaLogin,
    FindMfaChallenge,
    MfaGrantCommand,
)
from application.use_cases.confirm_password_reset import (
    ConfirmPasswordReset,
    ConfirmPasswordResetCommand,
)
from application.use_cases.introspect_token import (
    IntrospectedType,
    IntrospectToken,
    IntrospectTokenCommand,
)
from application.use_cases.refresh_access_token import (
    RefreshAccessToken,
    RefreshGrantCommand,
    RefreshTokenReuseDetected,
)
from application.use_cases.register_user import RegisterUser, RegisterUserCommand
from application.use_cases.request_password_reset import (
    RequestPasswordReset,
    RequestPasswordResetCommand,
)
from application.use_cases.revoke_token import RevokeToken, RevokeTokenCommand, TokenTypeHint
from application.use_cases.verify_email import VerifyEmail, VerifyEmailCommand
from domain.clients import scope_text
from domain.errors import ScopeNotGranted
from domain.users import Role
from entrypoints.container import Container
from entrypoints.http.client_auth import presented_client
from entrypoints.http.dependencies import require_json
from entrypoints.http.media_types import FORM, media_type_of
from entrypoints.http.openapi import ALWAYS, CLIENT_BASIC_SCHEME, JSON_BODY, problem_responses
from entrypoints.http.problems import ProblemError
from entrypoints.http.provided import provided
from entrypoints.http.rate_limits import (
    client_of,
    enforce,
    rate_limit_token_request,
    rate_limited,
)
from entrypoints.http.request_checks import check_request
from entrypoints.http.request_context import request_context_of
from entrypoints.http.routes import API_PREFIX
from entrypoints.http.schemas import (
    ClientTokenResponse,
    ConfirmPasswordResetRequest,
    IntrospectionResponse,
    PasswordResetRequest,
    RegisterRequest,
    TokenResponse,
    UserResponse,
    VerifyEmailRequest,
)

router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["auth"])


@router.post(
    "/register",
    operation_id="register_user",
    summary="Register a new account",
    description="Creates an active account with the `user` role. The password must have at "
    "least `ACCOUNTS_PASSWORD_MIN_LENGTH` characters (15 by default) and not be a common one. "
    "A verification link is mailed to the address (`email_verified` stays `false` until it is "
    "used), unless the address's `mail` rate limit is spent: the answer is the same either "
    "way.",
    status_code=status.HTTP_201_CREATED,
    response_model=UserResponse,
    responses=problem_responses(
        *JSON_BODY,
        "email_taken",
        *ALWAYS,
    ),
    dependencies=[Depends(rate_limited(Operation.REGISTER)), Depends(require_json)],
)
async def register(
    request: Request,
    body: RegisterRequest,
    response: Response,
    register_user: Annotated[RegisterUser, Depends(provided(Container.register_user))],
) -> UserResponse:
    user = await register_user.execute(
        RegisterUserCommand(
            email=body.email,
            password=body.password,
            full_name=body.full_name,
            role=Role.USER,
            context=request_context_of(request),
        )
    )
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return UserResponse.of(user)


MFA_GRANT_TYPE = "urn:accounts:params:oauth:grant-type:mfa"


@router.post(
    "/verify-email",
    operation_id="verify_email",
    summary="Confirm an email address with a mailed link's token",
    description="The token of a verification link (sent at registration or on request) "
    "marks the account's address verified; the token of an email-change link makes its new "
    "address the account's email, verified. Each token works once, before it expires "
    "(`ACCOUNTS_EMAIL_VERIFICATION_TTL_SECONDS`), and only for the latest link of its kind; "
    "an unknown, expired, used or tampered token is 400 `invalid_link`, all alike. 409 "
    "`email_taken` when the new address was registered by someone else meanwhile.",
    response_model=UserResponse,
    responses=problem_responses("invalid_link", "email_taken", *JSON_BODY, *ALWAYS),
    dependencies=[Depends(rate_limited(Operation.MAILED_LINK)), Depends(require_json)],
)
async def verify_email(
    request: Request,
    body: VerifyEmailRequest,
    verify: Annotated[VerifyEmail, Depends(provided(Container.verify_email))],
) -> UserResponse:
    user = await verify.execute(
        VerifyEmailCommand(token=body.token, context=request_context_of(request))
    )
    return UserResponse.of(user)


@router.post(
    "/password-reset",
    operation_id="request_password_reset",
    summary="Ask for a password-reset link",
    description="Mails a link to set a new password (`ACCOUNTS_RESET_PASSWORD_URL`, valid "
    "`ACCOUNTS_PASSWORD_RESET_TTL_SECONDS`, 1800 by default) to the address when it belongs "
    "to an active account; the link sent before stops working. The answer is 202 with no "
    "body whether or not the account exists, and takes the same time: nothing here tells "
    "which addresses are registered. Each request spends the address's `mail` rate limit "
    "(`ACCOUNTS_RATE_LIMIT_MAIL`); once it is spent, no mail is sent until the window moves "
    "on, and the answer is still 202.",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,
    responses={
        202: {"description": "Accepted: a link is on its way if the account exists."},
        **problem_responses(*JSON_BODY, *ALWAYS),
    },
    dependencies=[Depends(rate_limited(Operation.MAILED_LINK)), Depends(require_json)],
)
async def request_password_reset(
    request: Request,
    body: PasswordResetRequest,
    reset: Annotated[RequestPasswordReset, Depends(provided(Container.request_password_reset))],
) -> Response:
    await reset.execute(
        RequestPasswordResetCommand(email=body.email, context=request_context_of(request))
    )
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/password-reset/confirm",
    operation_id="confirm_password_reset",
    summary="Set a new password with a reset link's token",
    description="The token of a password-reset (or set-password) link and the new password, "
    "which follows the registration policy (422 `validation_failed` at `#/new_password` when "
    "weak; the link stays usable then). On success the password is set, the address verified, "
    "every login session ended, every API key of the account deleted (whoever held the "
    "account may have made one) and a notice mailed. An unknown, expired, used or tampered "
    "token is 400 `invalid_link`, all alike; so is a link of a deactivated account.",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses("invalid_link", *JSON_BODY, *ALWAYS),
    dependencies=[Depends(rate_limited(Operation.MAILED_LINK)), Depends(require_json)],
)
async def confirm_password_reset(
    request: Request,
    body: ConfirmPasswordResetRequest,
    confirm: Annotated[ConfirmPasswordReset, Depends(provided(Container.confirm_password_reset))],
) -> Response:
    await confirm.execute(
        ConfirmPasswordResetCommand(
            token=body.token, new_password=body.new_password, context=request_context_of(request)
        )
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


_TOKEN_FORM_SCHEMA = {
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "grant_type": {
            "type": "string",
            "enum": ["password", "refresh_token", "client_credentials", MFA_GRANT_TYPE],
        },
        "username": {
            "type": "string",
            "description": "The account email (`grant_type=password`).",
        },
        "password": {
            "type": "string",
            "format": "password",
            "description": "`grant_type=password` only.",
        },
        "refresh_token": {
            "type": "string",
            "description": "`grant_type=refresh_token` only.",
        },
        "mfa_token": {
            "type": "string",
            "description": f"`grant_type={MFA_GRANT_TYPE}` only: the `mfa_token` of the "
            "password grant's `mfa_required` answer.",
        },
        "otp": {
            "type": "string",
            "description": f"`grant_type={MFA_GRANT_TYPE}` only: the authenticator's current "
            "six-digit code, or one of the recovery codes.",
        },
        "scope": {
            "type": "string",
            "description": "`grant_type=client_credentials`: the scopes asked for, "
            "space-separated, a subset of the client's (absent: all of them). Ignored by the "
            "other grants.",
        },
        "client_id": {
            "type": "string",
            "description": "`client_secret_post`: the client's id (or send HTTP Basic instead).",
        },
        "client_secret": {
            "type": "string",
            "format": "password",
            "description": "`client_secret_post`: the client's secret.",
        },
    },
}
logger = structlog.get_logger("accounts.auth")


def _example_of(model: type[BaseModel]) -> Any:
    """The first example a response model declares."""
    return model.model_config["json_schema_extra"]["examples"][0]  # type: ignore[index]


@router.post(
    "/token",
    operation_id="issue_token",
    summary="Get tokens (OAuth2 password, refresh-token, client-credentials or MFA grant)",
    description="RFC 6749 token endpoint for first-party clients, as a form:\n\n"
    "- `grant_type=password` with `username` (the email) and `password` starts a login "
    "session;\n"
    "- `grant_type=refresh_token` with `refresh_token` rotates it: the answer holds a new "
    "access token and a new refresh token, and the one sent is spent. Sending a spent refresh "
    "token again ends the whole session (RFC 9700 §4.14);\n"
    f"- `grant_type={MFA_GRANT_TYPE}` with `mfa_token` and `otp` completes a password login "
    "to an account with its second factor on;\n"
    "- `grant_type=client_credentials` gives a client (`POST /api/v1/clients`) an access token "
    "of its own, holding the `scope` asked for (a subset of the client's; absent: all of them) "
    "and no refresh token. The client authenticates with HTTP Basic (`client_secret_basic`) "
    "or with `client_id` and `client_secret` in the form (`client_secret_post`); both at once "
    "is `invalid_request`. A failed authentication, an unknown client included, or a Basic "
    "value that is not base64 of `client_id:client_secret`, is 401 `invalid_client` (with "
    "`WWW-Authenticate: Basic` unless the form was used); a scope outside the client's is "
    "`invalid_scope`.\n\n"
    "With the second factor on, the password grant answers 400 `mfa_required` with an "
    "`mfa_token` (and `mfa_token_expires_in`, 300 seconds) instead of tokens. The MFA grant "
    "takes it with a TOTP code (one step of drift either way, each code once) or a recovery "
    'code (each once), and answers like the password grant, with `amr` `["pwd", "otp"]` '
    "and `auth_time` the time of the MFA grant. The `mfa_token` works once for a success; "
    "wrong codes get `invalid_grant` and leave it usable until it expires. Every code checked "
    "spends the account's `mfa` rate limit (`RATE_LIMIT_MFA`), right or wrong.\n\n"
    "A parameter sent empty counts as absent (RFC 6749 §3.2): missing where its grant "
    "needs it, ignored elsewhere.\n\n"
    "Errors are RFC 6749 §5.2 JSON (`error`, `error_description`) alongside the problem "
    "members; every answer carries `Cache-Control: no-store`.",
    response_model=TokenResponse | ClientTokenResponse,
    responses={
        200: {
            "description": "A user's tokens, or (client credentials) a client's access token.",
            "content": {
                "application/json": {
                    "examples": {
                        "user": {
                            "summary": "Password, refresh-token or MFA grant",
                            "value": _example_of(TokenResponse),
                        },
                        "client": {
                            "summary": "Client-credentials grant: no refresh token",
                            "value": _example_of(ClientTokenResponse),
                        },
                    }
                }
            },
        },
        **problem_responses(
            "invalid_request",
            "invalid_grant",
            "unsupported_grant_type",
            "mfa_required",
            "invalid_scope",
            "invalid_client",
            "payload_too_large",
            *ALWAYS,
        ),
    },
    dependencies=[Depends(rate_limit_token_request)],
    openapi_extra={
        "security": [{}, {CLIENT_BASIC_SCHEME: []}],
        "requestBody": {
            "required": True,
            "content": {
                FORM: {
                    "schema": _TOKEN_FORM_SCHEMA,
                    "examples": {
                        "password": {
                            "summary": "Log in",
                            "value": {
                                "grant_type": "password",
                                "username": "ada@example.com",
                                "password": "correct-horse-battery-staple-42",
                            },
                        },
                        "refresh_token": {
                            "summary": "Refresh",
                            "value": {
                                "grant_type": "refresh_token",
                                "refresh_token": "3q2-7wXnL0b9yY1u1kqQm2Hc5VJ8yCk4gZ6tVw0aP_s",
                            },
                        },
                        "client_credentials": {
                            "summary": "A client's token (client_secret_post)",
                            "value": {
                                "grant_type": "client_credentials",
                                "client_id": "cli_k3xq7mz2pdw4h6jn",
                                "client_secret": "Jx0vTq3mP9wR6yL2nB8cD5fG1hK4sZ7uA0eI3oU6tQ",
                                "scope": "users:read",
                            },
                        },
                        "mfa": {
                            "summary": "Complete a login with a one-time code",
                            "value": {
                                "grant_type": MFA_GRANT_TYPE,
                                "mfa_token": "Zk9xW2n4c1pQ8rT5vB7yH3jL6mD0aS9eK2uF4gX1wE8",
                                "otp": "492039",
                            },
                        },
                    },
                }
            },
        },
    },
)
async def issue_token(
    request: Request,
    response: Response,
    *,
    authenticate: Annotated[AuthenticateWithPassword, Depends(provided(Container.authenticate))],
    refresh: Annotated[RefreshAccessToken, Depends(provided(Container.refresh))],
    find_mfa_challenge: Annotated[
        FindMfaChallenge, Depends(provided(Container.find_mfa_challenge))
    ],
    complete_mfa_login: Annotated[
        CompleteMfaLogin, Depends(provided(Container.complete_mfa_login))
    ],
    issue_client_token: Annotated[
        IssueClientToken, Depends(provided(Container.issue_client_token))
    ],
) -> TokenResponse | ClientTokenResponse:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    form = await _read_form(request)
    grant_type = _single(form, "grant_type")
    if grant_type == "client_credentials":
        return await _client_credentials_grant(request, form, issue_client_token)
    if grant_type == "password":
        issued = await _password_grant(form, authenticate, request_context_of(request))
    elif grant_type == "refresh_token":
        issued = await _refresh_grant(form, refresh, request_context_of(request))
    elif grant_type == MFA_GRANT_TYPE:
        issued = await _mfa_grant(request, form, find_mfa_challenge, complete_mfa_login)
    else:
        raise ProblemError("unsupported_grant_type", f"Grant type {grant_type!r} is not supported.")
    return TokenResponse(
        access_token=issued.access_token.value,
        expires_in=issued.access_token.expires_in,
        refresh_token=issued.refresh_token,
    )


async def _client_credentials_grant(
    request: Request, form: FormData, issue: IssueClientToken
) -> ClientTokenResponse:
    presented = presented_client(request, form)
    scopes = form.getlist("scope")
    if len(scopes) > 1 or not all(isinstance(scope, str) for scope in scopes):
        raise ProblemError("invalid_request", "Parameter 'scope' is sent at most once.")
    # RFC 6749 §3.2: a parameter sent empty counts as absent.
    scope = str(scopes[0]) if scopes and scopes[0] else None
    try:
        issued = await issue.execute(
            ClientCredentialsGrantCommand(credentials=presented.credentials, scope=scope)
        )
    except InvalidClient as exc:
        raise presented.refused() from exc
    except ScopeNotGranted as exc:
        raise ProblemError("invalid_scope", str(exc)) from exc
    return ClientTokenResponse(
        access_token=issued.access_token.value,
        expires_in=issued.access_token.expires_in,
        scope=scope_text(issued.scopes),
    )


async def _password_grant(
    form: FormData, authenticate: AuthenticateWithPassword, context: RequestContext
) -> IssuedTokens:
    command = PasswordGrantCommand(
        username=_single(form, "username"), password=_single(form, "password"), context=context
    )
    try:
        result = await authenticate.execute(command)
    except InvalidCredentials as exc:
        raise ProblemError("invalid_grant", "Invalid email or password.") from exc
    if isinstance(result, MfaRequired):
        raise ProblemError(
            "mfa_required",
            extra={"mfa_token": result.mfa_token, "mfa_token_expires_in": result.expires_in},
        )
    return result


async def _mfa_grant(
    request: Request, form: FormData, find: FindMfaChallenge, complete: CompleteMfaLogin
) -> IssuedTokens:
    mfa_token = _single(form, "mfa_token")
    otp = _single(form, "otp")
    try:
        user_id = await find.execute(mfa_token)
    except InvalidCredentials as exc:
        raise ProblemError("invalid_grant", str(exc)) from exc
    # The code is about to be checked: spend the account's allowance first, right or wrong.
    await enforce(
        request, Operation.MFA_GRANT, Caller(client=client_of(request), account=str(user_id))
    )
    command = MfaGrantCommand(mfa_token=mfa_token, otp=otp, context=request_context_of(request))
    try:
        return await complete.execute(command)
    except InvalidCredentials as exc:
        raise ProblemError("invalid_grant", str(exc)) from exc


async def _refresh_grant(
    form: FormData, refresh: RefreshAccessToken, context: RequestContext
) -> IssuedTokens:
    command = RefreshGrantCommand(refresh_token=_single(form, "refresh_token"), context=context)
    try:
        return await refresh.execute(command)
    except RefreshTokenReuseDetected as exc:
        logger.warning("refresh_token_reused", detail="session ended")
        raise ProblemError("invalid_grant", "The refresh token is invalid or expired.") from exc
    except InvalidCredentials as exc:
        raise ProblemError("invalid_grant", "The refresh token is invalid or expired.") from exc


@router.post(
    "/revoke",
    operation_id="revoke_token",
    summary="Revoke a token (log out)",
    description="RFC 7009 revocation, as a form with `token` and an optional "
    "`token_type_hint`. Revoking either token of a login "
    "session ends that session: its refresh tokens stop refreshing and its access tokens are "
    "refused from the next request. The answer is 200 with an empty body also for unknown, "
    "expired or already revoked tokens, so it reveals nothing about them.",
    status_code=status.HTTP_200_OK,
    response_class=Response,
    dependencies=[Depends(rate_limited(Operation.REVOKE_TOKEN))],
    responses={
        200: {"description": "Revoked, or nothing to revoke.", "content": None},
        **problem_responses("invalid_request", "payload_too_large", *ALWAYS),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                FORM: {
                    "schema": {
                        "type": "object",
                        "required": ["token"],
                        "properties": {
                            "token": {"type": "string", "minLength": 1},
                            "token_type_hint": {
                                "type": "string",
                                "description": "`refresh_token` or `access_token` speeds the "
                                "search up; any other hint is ignored and every kind is "
                                "searched (RFC 7009 §2.1).",
                            },
                        },
                    },
                    "example": {
                        "token": "3q2-7wXnL0b9yY1u1kqQm2Hc5VJ8yCk4gZ6tVw0aP_s",
                        "token_type_hint": "refresh_token",
                    },
                }
            },
        }
    },
)
async def revoke_token(
    request: Request, revoke: Annotated[RevokeToken, Depends(provided(Container.revoke))]
) -> Response:
    form = await _read_form(request)
    token = _single(form, "token")
    hints = form.getlist("token_type_hint")
    # RFC 7009 §2.1: an unknown hint is not an error; the server searches every type.
    hint = next((TokenTypeHint(h) for h in hints if h in set(TokenTypeHint)), None)
    await revoke.execute(
        RevokeTokenCommand(token=token, hint=hint, context=request_context_of(request))
    )
    return Response(status_code=200, headers={"Cache-Control": "no-store"})


@router.post(
    "/introspect",
    operation_id="introspect_token",
    summary="Introspect a token (RFC 7662, for clients)",
    description="For registered clients (`POST /api/v1/clients`), authenticated like at the "
    "token endpoint: HTTP Basic or `client_id` and `client_secret` in the form, not both; a "
    "failed authentication is 401 `invalid_client`. The form's `token` may be an access token "
    "(a user's or a client's), a refresh token or an API key; `token_type_hint` "
    "(`access_token`, `refresh_token`, `api_key`) only decides which kind is looked up first.\n\n"
    "The answer reads the current state, so it sees at once what a self-contained token "
    'cannot: `{"active": false}` for anything not usable now (unknown, expired, revoked, '
    "its session ended, its key or client deleted, its account deactivated or deleted); else "
    "`active: true` with `sub`, `exp`, `iat`, `iss`, `aud`, `token_type` (`access_token`, "
    "`refresh_token` or `api_key`), `username` (the account's email) for a user's credential, "
    "and `client_id` and `scope` for a client's token. Each call spends the calling client's "
    "`client` rate limit; failed client authentications spend the address's `anonymous` one.",
    response_model=IntrospectionResponse,
    response_model_exclude_none=True,
    responses=problem_responses("invalid_request", "invalid_client", "payload_too_large", *ALWAYS),
    openapi_extra={
        "security": [{CLIENT_BASIC_SCHEME: []}, {}],
        "requestBody": {
            "required": True,
            "content": {
                FORM: {
                    "schema": {
                        "type": "object",
                        "required": ["token"],
                        "properties": {
                            "token": {"type": "string", "minLength": 1},
                            "token_type_hint": {
                                "type": "string",
                                "description": "`access_token`, `refresh_token` or `api_key`; "
                                "any other hint is ignored.",
                            },
                            "client_id": {
                                "type": "string",
                                "description": "`client_secret_post` only.",
                            },
                            "client_secret": {
                                "type": "string",
                                "format": "password",
                                "description": "`client_secret_post` only.",
                            },
                        },
                    },
                    "example": {
                        "token": "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9…",
                        "token_type_hint": "access_token",
                    },
                }
            },
        },
    },
)
async def introspect_token(
    request: Request,
    response: Response,
    authenticate: Annotated[AuthenticateClient, Depends(provided(Container.authenticate_client))],
    introspect: Annotated[IntrospectToken, Depends(provided(Container.introspect_token))],
) -> IntrospectionResponse:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    anonymous = Caller(client=client_of(request))
    try:
        form = await _read_form(request)
        presented = presented_client(request, form)
        try:
            client = await authenticate.execute(presented.credentials)
        except InvalidClient as exc:
            raise presented.refused() from exc
    except ProblemError:
        await enforce(request, Operation.REJECTED_CREDENTIALS, anonymous)
        raise
    principal = ClientPrincipal(client_id=client.id, scopes=client.scopes)
    await enforce(
        request, Operation.CLIENT_REQUEST, Caller(client=anonymous.client, principal=principal)
    )
    await check_request(request)
    token = _single(form, "token")
    hints = [h for h in form.getlist("token_type_hint") if h in set(IntrospectedType)]
    hint = IntrospectedType(hints[0]) if hints else None
    found = await introspect.execute(IntrospectTokenCommand(token=token, hint=hint))
    if not found.active:
        return IntrospectionResponse(active=False)
    return IntrospectionResponse(
        active=True,
        sub=found.subject,
        client_id=found.client_id,
        scope=scope_text(found.scopes) if found.scopes is not None else None,
        exp=_epoch(found.expires_at),
        iat=_epoch(found.issued_at),
        iss=found.issuer,
        aud=found.audience,
        token_type=found.token_type.value if found.token_type is not None else None,
        username=found.username,
    )


def _epoch(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


async def _read_form(request: Request) -> FormData:
    if media_type_of(request) != FORM:
        raise ProblemError("invalid_request", f"The token request must be {FORM}.")
    # Only urlencoded bodies get here; their parser cannot fail on content, and an oversized
    # body raises the 413 of the size-limit middleware.
    return await request.form()


def _single(form: FormData, name: str) -> str:
    """RFC 6749 §3.2: a parameter is sent once; missing or repeated is `invalid_request`."""
    values = form.getlist(name)
    if len(values) != 1 or not isinstance(values[0], str) or not values[0]:
        raise ProblemError("invalid_request", f"Parameter {name!r} is required exactly once.")
    return values[0]

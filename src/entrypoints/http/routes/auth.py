"""Registration and the OAuth2 token endpoint."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response, status
from starlette.datastructures import FormData

from application.errors import InvalidCredentials
from application.rate_limiting import Operation
from application.use_cases.authenticate_with_password import PasswordGrantCommand
from application.use_cases.register_user import RegisterUserCommand
from entrypoints.http.dependencies import ServicesDep, require_json
from entrypoints.http.openapi import ALWAYS, problem_responses
from entrypoints.http.problems import ProblemError
from entrypoints.http.rate_limits import rate_limit_token_request, rate_limited
from entrypoints.http.schemas import RegisterRequest, TokenResponse, UserResponse

router = APIRouter(prefix="/auth", tags=["auth"])

_FORM = "application/x-www-form-urlencoded"


@router.post(
    "/register",
    operation_id="register_user",
    summary="Register a new account",
    description="Creates an active account with the `user` role. The password must have at "
    "least `ACCOUNTS_PASSWORD_MIN_LENGTH` characters (15 by default) and not be a common one.",
    status_code=status.HTTP_201_CREATED,
    response_model=UserResponse,
    responses=problem_responses(
        "validation_failed",
        "malformed_request",
        "email_taken",
        "unsupported_media_type",
        "payload_too_large",
        *ALWAYS,
    ),
    dependencies=[Depends(rate_limited(Operation.REGISTER)), Depends(require_json)],
)
async def register(
    body: RegisterRequest, response: Response, services: ServicesDep
) -> UserResponse:
    user = await services.register_user.execute(
        RegisterUserCommand(email=body.email, password=body.password, full_name=body.full_name)
    )
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return UserResponse.of(user)


@router.post(
    "/token",
    operation_id="issue_token",
    summary="Get an access token (OAuth2 password grant)",
    description="RFC 6749 token endpoint for first-party clients: a form with "
    "`grant_type=password`, `username` (the email) and `password`. Errors are RFC 6749 §5.2 "
    "JSON (`error`, `error_description`) alongside the problem members.",
    response_model=TokenResponse,
    responses=problem_responses(
        "invalid_request", "invalid_grant", "unsupported_grant_type", "payload_too_large", *ALWAYS
    ),
    dependencies=[Depends(rate_limit_token_request)],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                _FORM: {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type", "username", "password"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": ["password"]},
                            "username": {"type": "string", "description": "The account email."},
                            "password": {"type": "string", "format": "password"},
                            "scope": {"type": "string", "description": "Ignored."},
                        },
                    },
                    "example": {
                        "grant_type": "password",
                        "username": "ada@example.com",
                        "password": "correct-horse-battery-staple-42",
                    },
                }
            },
        }
    },
)
async def issue_token(request: Request, response: Response, services: ServicesDep) -> TokenResponse:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    form = await _read_form(request)
    grant_type = _single(form, "grant_type")
    if grant_type != "password":
        raise ProblemError("unsupported_grant_type", f"Grant type {grant_type!r} is not supported.")
    command = PasswordGrantCommand(
        username=_single(form, "username"), password=_single(form, "password")
    )
    try:
        issued = await services.authenticate.execute(command)
    except InvalidCredentials as exc:
        raise ProblemError("invalid_grant", "Invalid email or password.") from exc
    return TokenResponse(
        access_token=issued.access_token.value, expires_in=issued.access_token.expires_in
    )


async def _read_form(request: Request) -> FormData:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != _FORM:
        raise ProblemError("invalid_request", f"The token request must be {_FORM}.")
    # Only urlencoded bodies get here; their parser cannot fail on content, and an oversized
    # body raises the 413 of the size-limit middleware.
    return await request.form()


def _single(form: FormData, name: str) -> str:
    """RFC 6749 §3.2: a parameter is sent once; missing or repeated is `invalid_request`."""
    values = form.getlist(name)
    if len(values) != 1 or not isinstance(values[0], str) or not values[0]:
        raise ProblemError("invalid_request", f"Parameter {name!r} is required exactly once.")
    return values[0]

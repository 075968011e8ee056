"""The second factor: TOTP enrolment, recovery codes, turning it off (and an admin's turn-off)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Query, Request, Response, status

from application.use_cases.confirm_totp_enrolment import ConfirmTotpEnrolment, OneTimeCodeCommand
from application.use_cases.disable_totp import DisableTotp, DisableTotpCommand
from application.use_cases.regenerate_recovery_codes import RegenerateRecoveryCodes
from application.use_cases.start_totp_enrolment import (
    StartTotpEnrolment,
    StartTotpEnrolmentCommand,
)
from domain.users import UserId
from entrypoints.container import Container
from entrypoints.http.dependencies import (
    AdminPrincipal,
    BearerPrincipal,
    MfaCodePrincipal,
    require_json,
)
from entrypoints.http.openapi import ALWAYS, AUTHENTICATED, JSON_BODY, problem_responses
from entrypoints.http.problems import FieldError, ProblemError
from entrypoints.http.provided import provided
from entrypoints.http.request_context import request_context_of
from entrypoints.http.routes import API_PREFIX
from entrypoints.http.schemas import (
    OneTimeCodeField,
    OneTimeCodeRequest,
    RecoveryCodesResponse,
    TotpEnrolmentResponse,
)

router = APIRouter(prefix=f"{API_PREFIX}/users", tags=["second factor"])

_BEARER_ONLY = " Needs a bearer token: an API key gets 403 `forbidden`."
_LIMITED = (
    " Every code sent spends the account's `mfa` rate limit (`RATE_LIMIT_MFA`, 5 per 5 "
    "minutes by default), right or wrong."
)
_CODE_ERRORS = (*AUTHENTICATED, "forbidden", "invalid_otp", *JSON_BODY, *ALWAYS)


@router.post(
    "/me/mfa/totp",
    operation_id="start_totp_enrolment",
    summary="Start enrolling a TOTP authenticator",
    description="Makes a new TOTP secret (RFC 6238: SHA-1, 6 digits, 30-second steps) and "
    "returns it, plain and as an `otpauth://` URI to show as a QR code. It is not in force "
    "until a code of it is confirmed (`POST /users/me/mfa/totp/confirm`); starting again "
    "replaces a pending secret, so codes of the older one stop confirming. 409 "
    "`mfa_already_enabled` when the second factor is on already. 503 when the service has no "
    "`KEY_ENCRYPTION_KEY` to seal the secret with (production only)." + _BEARER_ONLY,
    response_model=TotpEnrolmentResponse,
    responses=problem_responses(*AUTHENTICATED, "forbidden", "mfa_already_enabled", *ALWAYS),
)
async def start_totp_enrolment(
    principal: BearerPrincipal,
    response: Response,
    start: Annotated[StartTotpEnrolment, Depends(provided(Container.start_totp_enrolment))],
) -> TotpEnrolmentResponse:
    response.headers["Cache-Control"] = "no-store"
    enrolment = await start.execute(StartTotpEnrolmentCommand(principal=principal))
    return TotpEnrolmentResponse(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri)


@router.post(
    "/me/mfa/totp/confirm",
    operation_id="confirm_totp_enrolment",
    summary="Turn the second factor on with a first code",
    description="Confirms the pending enrolment with the authenticator's current code and "
    "turns the second factor on: from now on the password grant answers `mfa_required`. "
    "Returns ten recovery codes, shown only here (stored hashed), each usable once in place "
    "of a TOTP code. Every other session of yours ends; the calling one stays. 400 "
    "`invalid_otp` for a wrong, reused or malformed code, a code of an older enrolment, or no "
    "enrolment in progress." + _LIMITED + _BEARER_ONLY,
    response_model=RecoveryCodesResponse,
    responses=problem_responses(*_CODE_ERRORS, "mfa_already_enabled"),
    dependencies=[Depends(require_json)],
)
async def confirm_totp_enrolment(
    request: Request,
    body: OneTimeCodeRequest,
    principal: MfaCodePrincipal,
    response: Response,
    confirm: Annotated[ConfirmTotpEnrolment, Depends(provided(Container.confirm_totp_enrolment))],
) -> RecoveryCodesResponse:
    response.headers["Cache-Control"] = "no-store"
    codes = await confirm.execute(
        OneTimeCodeCommand(principal=principal, code=body.code, context=request_context_of(request))
    )
    return RecoveryCodesResponse(recovery_codes=codes.codes)


@router.post(
    "/me/mfa/recovery-codes",
    operation_id="regenerate_recovery_codes",
    summary="Get new recovery codes",
    description="Replaces your recovery codes with ten new ones, given a current code (a TOTP "
    "code or one of the recovery codes, which is spent); every earlier recovery code stops "
    "working. 400 `invalid_otp` for a wrong or reused code, or when the second factor is "
    "off." + _LIMITED + _BEARER_ONLY,
    response_model=RecoveryCodesResponse,
    responses=problem_responses(*_CODE_ERRORS),
    dependencies=[Depends(require_json)],
)
async def regenerate_recovery_codes(
    request: Request,
    body: OneTimeCodeRequest,
    principal: MfaCodePrincipal,
    response: Response,
    regenerate: Annotated[
        RegenerateRecoveryCodes, Depends(provided(Container.regenerate_recovery_codes))
    ],
) -> RecoveryCodesResponse:
    response.headers["Cache-Control"] = "no-store"
    codes = await regenerate.execute(
        OneTimeCodeCommand(principal=principal, code=body.code, context=request_context_of(request))
    )
    return RecoveryCodesResponse(recovery_codes=codes.codes)


@router.delete(
    "/me/mfa/totp",
    operation_id="disable_own_totp",
    summary="Turn your second factor off",
    description="Removes the TOTP factor (on or pending) and its recovery codes, given a "
    'current code (TOTP or recovery code) as a JSON body `{"code": …}` or as `?code=` (one '
    "of the two; a body needs `Content-Type: application/json`). The password alone logs in "
    "again. When the factor was on, every other session of yours ends. 400 `invalid_otp` for a "
    "wrong or reused code, or when there is no factor; 422 when no code is sent, or two."
    + _LIMITED
    + _BEARER_ONLY,
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(*_CODE_ERRORS),
)
async def disable_own_totp(
    request: Request,
    principal: MfaCodePrincipal,
    disable: Annotated[DisableTotp, Depends(provided(Container.disable_totp))],
    body: Annotated[
        OneTimeCodeRequest | None,
        Body(
            openapi_examples={
                "totp": {"summary": "A TOTP code", "value": {"code": "492039"}},
                "recovery_code": {
                    "summary": "A recovery code",
                    "value": {"code": "k7mq-2xvd-9pbr-wt4h"},
                },
            }
        ),
    ] = None,
    code: Annotated[OneTimeCodeField | None, Query()] = None,
) -> Response:
    sent = [value for value in (body.code if body else None, code) if value is not None]
    if len(sent) != 1:
        raise ProblemError(
            "validation_failed",
            errors=[
                FieldError(
                    pointer="#/code",
                    detail="Send the code once: in the JSON body or as `?code=`.",
                    code="missing" if not sent else "duplicate_parameter",
                )
            ],
        )
    await disable.execute(
        DisableTotpCommand(principal=principal, code=sent[0], context=request_context_of(request))
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/{user_id}/mfa/totp",
    operation_id="disable_user_totp",
    summary="Turn a user's second factor off (admin)",
    description="For a user who lost their authenticator and recovery codes: removes their "
    "TOTP factor without a code, ends every session of theirs, and records `mfa.disabled` "
    "with you as the actor. Nothing changes (still 204) when the user has no second factor. "
    "404 `user_not_found` for an unknown id.",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(
        *AUTHENTICATED, "forbidden", "user_not_found", "validation_failed", *ALWAYS
    ),
)
async def disable_user_totp(
    request: Request,
    user_id: UUID,
    principal: AdminPrincipal,
    disable: Annotated[DisableTotp, Depends(provided(Container.disable_totp))],
) -> Response:
    await disable.execute(
        DisableTotpCommand(
            principal=principal, user_id=UserId(user_id), context=request_context_of(request)
        )
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)

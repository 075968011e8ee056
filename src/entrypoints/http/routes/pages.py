"""The small HTML pages that mailed links open when no front end of its own is configured.

A GET only shows a form holding the link's token: mail scanners follow links, so nothing is
spent until the person presses the button, which posts the form back here to the same use
case the API calls. No script at all, so a strict Content-Security-Policy cannot break them.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import HTMLResponse

from application.errors import EmailAlreadyRegistered
from application.rate_limiting import Operation
from application.use_cases.confirm_password_reset import (
    ConfirmPasswordReset,
    ConfirmPasswordResetCommand,
)
from application.use_cases.verify_email import VerifyEmail, VerifyEmailCommand
from domain.errors import InvalidLink, WeakPassword
from domain.users.policies import ABSOLUTE_MAX_PASSWORD_LENGTH
from entrypoints.container import Container
from entrypoints.http.media_types import FORM, media_type_of
from entrypoints.http.openapi import problem_responses
from entrypoints.http.provided import provided
from entrypoints.http.rate_limits import rate_limited
from entrypoints.http.request_context import request_context_of
from entrypoints.http.schemas import MAX_LINK_TOKEN_LENGTH

router = APIRouter(tags=["pages"])

LinkToken = Annotated[
    str | None,
    Query(
        max_length=MAX_LINK_TOKEN_LENGTH,
        description="The token the mailed link carries; the page only shows it in its form.",
    ),
]
# The pages answer in HTML; only the edge's own refusals (rate limit, outage) are problems.
_POSTED = problem_responses("rate_limited", "service_unavailable")
_SHOWN = problem_responses("validation_failed")


def _html(example: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"text/html": {"schema": {"type": "string"}, "example": example}},
    }


PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1b1b1b}button{font-size:1rem;padding:.5rem 1rem}"
    "input{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box;margin:.3rem 0 1rem}"
    ".error{color:#a40000}"
)
INVALID_LINK = (
    "This link is invalid or has expired: it may have been used already, or a newer one sent "
    "since. Ask for a new link and use the newest mail."
)


def page(title: str, body: str, status_code: int = status.HTTP_200_OK) -> HTMLResponse:
    """A complete page: `body` is trusted markup, everything else is escaped here."""
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        '</title><meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


def message(text: str, *, error: bool = False) -> str:
    return f'<p class="error">{escape(text)}</p>' if error else f"<p>{escape(text)}</p>"


def usable_token(token: str | None) -> str | None:
    """The token if it could be one this service made; None for a missing or absurd one."""
    if token is None or not token or len(token) > MAX_LINK_TOKEN_LENGTH:
        return None
    return token


async def form_field(request: Request, name: str) -> str | None:
    """One text field of a posted form; None when absent, repeated or not text.

    The body is read first and on its own, so the body-size limit answers its 413 as on
    every route; only a body that is no form counts as a form without the field.
    """
    await request.body()
    if media_type_of(request) != FORM:
        return None
    try:
        form = await request.form()
    except ValueError:
        return None
    values = form.getlist(name)
    return values[0] if len(values) == 1 and isinstance(values[0], str) else None


def hidden_token(token: str) -> str:
    return f'<input type="hidden" name="token" value="{escape(token, quote=True)}">'


@router.get(
    "/verify-email",
    operation_id="show_verify_email_page",
    summary="Page: confirm an email address",
    description="The page a verification or email-change link opens: a form holding the "
    "token and a button that posts it to `POST /verify-email`. Showing it spends nothing, so "
    "mail scanners that follow links cannot use the token up. Without a token it says the "
    "link is incomplete. No script; safe under `script-src 'none'`.",
    response_class=HTMLResponse,
    responses={
        200: _html('<form method="post" action="verify-email">…</form>', "The page."),
        **_SHOWN,
    },
)
async def verify_email_page(token: LinkToken = None) -> HTMLResponse:
    usable = usable_token(token)
    if usable is None:
        return page("Confirm your email address", message(INVALID_LINK, error=True))
    return page(
        "Confirm your email address",
        '<form method="post" action="verify-email">'
        f"{hidden_token(usable)}"
        "<p>Press the button to confirm this address for your account.</p>"
        '<button type="submit">Confirm my email address</button></form>',
    )


@router.post(
    "/verify-email",
    operation_id="submit_verify_email_page",
    summary="Page: confirm an email address (the form's button)",
    description="Takes the page's form (`application/x-www-form-urlencoded`, field `token`) "
    "and confirms the address as `POST /api/v1/auth/verify-email` does, answering with an "
    "HTML page: 200 when confirmed, 400 for an invalid or expired link, 409 when the new "
    "address was registered by someone else meanwhile. Rate limited as anonymous requests.",
    response_class=HTMLResponse,
    responses={
        200: _html("<p>ada@example.com is confirmed.</p>", "The outcome, as a page."),
        **_POSTED,
    },
    dependencies=[Depends(rate_limited(Operation.MAILED_LINK))],
)
async def verify_email_submit(
    request: Request,
    verify: Annotated[VerifyEmail, Depends(provided(Container.verify_email))],
) -> HTMLResponse:
    title = "Confirm your email address"
    token = usable_token(await form_field(request, "token"))
    if token is None:
        return page(title, message(INVALID_LINK, error=True), 400)
    try:
        user = await verify.execute(
            VerifyEmailCommand(token=token, context=request_context_of(request))
        )
    except InvalidLink:
        return page(title, message(INVALID_LINK, error=True), 400)
    except EmailAlreadyRegistered:
        return page(
            title,
            message("This address now belongs to another account; it cannot be yours.", error=True),
            409,
        )
    return page("Email address confirmed", message(f"{user.email.value} is confirmed."))


def _reset_form(token: str, problem: str | None = None) -> str:
    return (
        (message(problem, error=True) if problem else "")
        + '<form method="post" action="reset-password">'
        + hidden_token(token)
        + '<label for="new_password">New password</label>'
        '<input id="new_password" name="new_password" type="password" '
        'autocomplete="new-password" required>'
        '<button type="submit">Set my password</button></form>'
    )


@router.get(
    "/reset-password",
    operation_id="show_reset_password_page",
    summary="Page: set a new password",
    description="The page a password-reset or set-password link opens: a form holding the "
    "token, with a field for the new password and a button that posts both to "
    "`POST /reset-password`. Showing it spends nothing. Without a token it says the link is "
    "incomplete. No script; safe under `script-src 'none'`.",
    response_class=HTMLResponse,
    responses={
        200: _html('<form method="post" action="reset-password">…</form>', "The page."),
        **_SHOWN,
    },
)
async def reset_password_page(token: LinkToken = None) -> HTMLResponse:
    usable = usable_token(token)
    if usable is None:
        return page("Set a new password", message(INVALID_LINK, error=True))
    return page("Set a new password", _reset_form(usable))


@router.post(
    "/reset-password",
    operation_id="submit_reset_password_page",
    summary="Page: set a new password (the form's button)",
    description="Takes the page's form (`application/x-www-form-urlencoded`, fields `token` "
    "and `new_password`) and sets the password as `POST /api/v1/auth/password-reset/confirm` "
    "does, answering with an HTML page: 200 when set, 400 for an invalid or expired link, "
    "422 with the form again when the password is too weak. Rate limited as anonymous "
    "requests.",
    response_class=HTMLResponse,
    responses={
        200: _html("<p>Your password is set.</p>", "The outcome, as a page."),
        **_POSTED,
    },
    dependencies=[Depends(rate_limited(Operation.MAILED_LINK))],
)
async def reset_password_submit(
    request: Request,
    confirm: Annotated[ConfirmPasswordReset, Depends(provided(Container.confirm_password_reset))],
) -> HTMLResponse:
    title = "Set a new password"
    token = usable_token(await form_field(request, "token"))
    password = await form_field(request, "new_password")
    if token is None:
        return page(title, message(INVALID_LINK, error=True), 400)
    if not password or len(password) > ABSOLUTE_MAX_PASSWORD_LENGTH:
        return page(title, _reset_form(token, "Enter a new password."), 422)
    try:
        await confirm.execute(
            ConfirmPasswordResetCommand(
                token=token, new_password=password, context=request_context_of(request)
            )
        )
    except InvalidLink:
        return page(title, message(INVALID_LINK, error=True), 400)
    except WeakPassword as exc:
        return page(title, _reset_form(token, str(exc)), 422)
    return page(
        "Password set",
        message("Your password is set. Every session was ended: log in with the new password."),
    )

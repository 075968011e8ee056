"""The one registry of error codes: what each means, as data.

Exceptions carry their `code` (`application.errors`, `domain.errors`); the problem responses,
the OpenAPI error responses and the `/errors/{code}` pages all read `ERRORS`, so a code cannot
be documented one way and answered another. Adding an error is its exception's `code` and one
entry here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# A 422 lists this many invalid fields and counts the rest in `errors_omitted`.
MAX_LISTED_ERRORS = 20
BEARER_CHALLENGE = 'Bearer realm="accounts"'


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorSpec:
    """One error code: its status, constant title, default detail and documentation page."""

    code: str
    status: int
    title: str
    detail: str
    meaning: str
    causes: Sequence[str]
    fix: str
    # RFC 6749 §5.2 errors of the token endpoint: `application/json` with `error` members.
    oauth: bool = False
    # Sent with every answer of this code (the caller's own headers win).
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "causes", tuple(self.causes))


ERRORS: dict[str, ErrorSpec] = {
    spec.code: spec
    for spec in (
        ErrorSpec(
            code="validation_failed",
            status=422,
            title="Request validation failed",
            detail="One or more fields are invalid; see `errors`.",
            meaning="The body, a query parameter or a path parameter did not pass validation.",
            causes=[
                "A required field is missing.",
                "A field has the wrong type or format.",
                "The body holds a field the operation does not accept.",
                "The JSON body holds more values (object members and array items, at every "
                "depth) than any operation needs: `too_many_values`.",
                "A query parameter sent twice, such as `?limit=1&limit=100`: "
                "`duplicate_parameter`.",
            ],
            fix="Correct each field listed in `errors` (its `pointer` names it) and send again; "
            f"at most {MAX_LISTED_ERRORS} are listed, and `errors_omitted` says how many more "
            "there were.",
        ),
        ErrorSpec(
            code="malformed_request",
            status=400,
            title="Malformed request",
            detail="The request body could not be parsed.",
            meaning="The body is not parseable JSON (or form data, where a form is expected).",
            causes=["Truncated or hand-written JSON.", "A body sent with the wrong encoding."],
            fix="Send a well-formed JSON document with `Content-Type: application/json`.",
        ),
        ErrorSpec(
            code="not_found",
            status=404,
            title="Not found",
            detail="No resource lives at this path.",
            meaning="No route matches the request path.",
            causes=["A typo in the path.", "A missing `/api/v1` prefix."],
            fix="Check the path against the API reference at `/docs`.",
        ),
        ErrorSpec(
            code="method_not_allowed",
            status=405,
            title="Method not allowed",
            detail="This path does not support the request method; see the `Allow` header.",
            meaning="The path exists but not with this HTTP method.",
            causes=["Using POST where PATCH is expected, or the reverse."],
            fix="Use one of the methods listed in the `Allow` response header.",
        ),
        ErrorSpec(
            code="payload_too_large",
            status=413,
            title="Payload too large",
            detail="The request body is larger than this service accepts.",
            meaning="The body (by `Content-Length` or by the bytes sent) passed the size limit.",
            causes=["Uploading something that is not an API payload.", "A runaway client."],
            fix="Send a smaller body; the limit is the `ACCOUNTS_MAX_BODY_BYTES` setting.",
        ),
        ErrorSpec(
            code="unsupported_media_type",
            status=415,
            title="Unsupported media type",
            detail="The request body's media type is not accepted by this operation.",
            meaning="The `Content-Type` header does not name a format the operation reads.",
            causes=["A JSON body sent without `Content-Type: application/json`."],
            fix="Send the body as `application/json` (the token endpoint takes a form).",
        ),
        ErrorSpec(
            code="not_authenticated",
            status=401,
            title="Not authenticated",
            detail="This operation needs credentials.",
            meaning="No bearer token (or API key) was sent to a protected operation.",
            causes=["The `Authorization` header is missing or not of the Bearer scheme."],
            fix="Get a token from `POST /api/v1/auth/token` and send `Authorization: Bearer …`.",
            headers={"WWW-Authenticate": BEARER_CHALLENGE},
        ),
        ErrorSpec(
            code="invalid_token",
            status=401,
            title="Invalid token",
            detail="The credential is not valid.",
            meaning="The token or key was sent but cannot be accepted.",
            causes=[
                "The token expired.",
                "Its signature, issuer, audience or type is wrong.",
                "The token was revoked or its user no longer exists.",
                "An unknown API key.",
            ],
            fix="Get a new access token (log in again or refresh) and retry.",
            headers={"WWW-Authenticate": f'{BEARER_CHALLENGE}, error="invalid_token"'},
        ),
        ErrorSpec(
            code="forbidden",
            status=403,
            title="Forbidden",
            detail="You are authenticated but not allowed to do this.",
            meaning="The principal lacks the role, or the credential type, the operation needs.",
            causes=[
                "A user without the admin role calling an admin operation.",
                "An API key used on a credential-management operation.",
            ],
            fix="Ask an admin for the role, or use a bearer token for credential management.",
            headers={"WWW-Authenticate": f'{BEARER_CHALLENGE}, error="insufficient_scope"'},
        ),
        ErrorSpec(
            code="account_disabled",
            status=403,
            title="Account disabled",
            detail="This account is deactivated.",
            meaning="The credential is valid but its account was deactivated by an admin.",
            causes=["An admin deactivated the account."],
            fix="Contact an administrator to reactivate the account.",
        ),
        ErrorSpec(
            code="email_taken",
            status=409,
            title="Email already registered",
            detail="An account with this email already exists.",
            meaning="Emails are unique, compared case-insensitively.",
            causes=["Registering twice.", "The same address written in another case."],
            fix="Log in with the existing account, or register with another email.",
        ),
        ErrorSpec(
            code="last_admin",
            status=409,
            title="Last active admin",
            detail="The change would leave no active admin.",
            meaning="The service must always keep at least one active admin.",
            causes=["Demoting or deactivating the only active admin."],
            fix="Promote another user to admin first, then repeat the change.",
        ),
        ErrorSpec(
            code="user_not_found",
            status=404,
            title="User not found",
            detail="No user has this id.",
            meaning="The user id in the path does not name an existing user.",
            causes=["A stale or mistyped id."],
            fix="List users with `GET /api/v1/users` to find the right id.",
        ),
        ErrorSpec(
            code="reauthentication_required",
            status=401,
            title="Recent login required",
            detail="This operation needs a recent login: sign in again, then retry.",
            meaning="The operation is destructive, so the login behind the token must be recent "
            "(RFC 9470 step-up): its `auth_time` is older than `ACCOUNTS_REAUTH_MAX_AGE_SECONDS`.",
            causes=[
                "Deleting an account with a token whose session started too long ago; "
                "refreshing keeps the session's original login time.",
            ],
            fix="Log in again with the password grant and retry with the new access token "
            "within the `max_age` seconds named in the `WWW-Authenticate` header.",
            headers={
                "WWW-Authenticate": f'{BEARER_CHALLENGE}, error="insufficient_user_authentication"'
            },
        ),
        ErrorSpec(
            code="session_not_found",
            status=404,
            title="Session not found",
            detail="You have no active session with this id.",
            meaning="The id does not name an active login session of the account.",
            causes=[
                "The session ended (logout, expiry, password change) or never existed.",
                "The id belongs to another user's session.",
            ],
            fix="List the active sessions with `GET /api/v1/users/me/sessions`.",
        ),
        ErrorSpec(
            code="client_not_found",
            status=404,
            title="Client not found",
            detail="No client has this id.",
            meaning="The id does not name a registered client.",
            causes=["The client was deleted already.", "A typo in the client id."],
            fix="List the clients with `GET /api/v1/clients`.",
        ),
        ErrorSpec(
            code="api_key_not_found",
            status=404,
            title="API key not found",
            detail="No API key of yours has this id.",
            meaning="The key id does not name one of the caller's API keys.",
            causes=["The key was deleted.", "The id belongs to another user's key."],
            fix="List your keys with `GET /api/v1/users/me/api-keys`.",
        ),
        ErrorSpec(
            code="api_key_limit_reached",
            status=409,
            title="API key limit reached",
            detail="You hold as many API keys as one account may.",
            meaning="An account may hold at most `ACCOUNTS_API_KEYS_PER_USER` API keys "
            "(50 by default); expired keys count until they are deleted.",
            causes=[
                "A new key made for every deployment or job, and the old ones never deleted.",
                "Expired keys that were never deleted.",
            ],
            fix="Delete keys you no longer use (`DELETE /api/v1/users/me/api-keys/{id}`), then "
            "create the new one.",
        ),
        ErrorSpec(
            code="precondition_failed",
            status=412,
            title="Precondition failed",
            detail="The resource changed since you read it.",
            meaning="`If-Match` does not match the resource's current `ETag`.",
            causes=["Another client changed the resource after you fetched it."],
            fix="GET the resource again, re-apply your change to it, send it with the new ETag.",
        ),
        ErrorSpec(
            code="invalid_current_password",
            status=400,
            title="Invalid current password",
            detail="The current password is not correct.",
            meaning="A password change needs the current password, and it did not match.",
            causes=["A typo in the current password."],
            fix="Send the account's current password in `current_password`.",
        ),
        ErrorSpec(
            code="invalid_link",
            status=400,
            title="Invalid or expired link",
            detail="The link is invalid or has expired.",
            meaning="The token of an email-verification, email-change or password-reset link is "
            "unknown, expired or already used; one answer for all of these.",
            causes=[
                "The link was used already, or a newer one was asked for since.",
                "The link is older than its lifetime (`EMAIL_VERIFICATION_TTL_SECONDS`, "
                "`PASSWORD_RESET_TTL_SECONDS`).",
                "The token was copied incompletely from the mail.",
                "The account's address or password changed since the link was sent.",
            ],
            fix="Ask for a new link (`POST /api/v1/auth/password-reset`, "
            "`POST /api/v1/users/me/verification-email`) and use the newest mail.",
        ),
        ErrorSpec(
            code="rate_limited",
            status=429,
            title="Too many requests",
            detail="A rate limit is exhausted; retry after the number of seconds in `Retry-After`.",
            meaning="The client sent more requests than its policy allows in the window.",
            causes=["A retry loop without backoff.", "Many clients behind one address."],
            fix="Wait `Retry-After` seconds; read the `RateLimit` headers to pace requests.",
        ),
        ErrorSpec(
            code="service_unavailable",
            status=503,
            title="Service unavailable",
            detail="A backing service is unreachable; try again shortly.",
            meaning="The database (or, when configured to fail closed, the rate-limit store) "
            "is down; or, for the second factor, the service lacks the key that protects it.",
            causes=[
                "A database restart or failover.",
                "Connection pool exhausted under load.",
                "Second factor: `ACCOUNTS_KEY_ENCRYPTION_KEY` unset in production, or changed "
                "since the stored secrets were sealed.",
            ],
            fix="Retry with backoff; operators should check `/health/ready`.",
            headers={"Retry-After": "5"},
        ),
        ErrorSpec(
            code="internal_error",
            status=500,
            title="Internal server error",
            detail="An unexpected error occurred; it was logged under `request_id`.",
            meaning="Something failed that the service did not expect.",
            causes=["A bug in the service."],
            fix="Retry later; report the `request_id` to the operators if it persists.",
        ),
        ErrorSpec(
            code="invalid_request",
            status=400,
            title="Invalid token request",
            detail="The token request is missing a parameter or is malformed.",
            meaning="RFC 6749 §5.2: a required parameter is missing, repeated or malformed.",
            causes=["A JSON body instead of a form.", "No `grant_type`, `username` or `password`."],
            fix="Send `application/x-www-form-urlencoded` with the grant's parameters.",
            oauth=True,
        ),
        ErrorSpec(
            code="invalid_grant",
            status=400,
            title="Invalid grant",
            detail="Invalid email or password.",
            meaning="RFC 6749 §5.2: the credentials or refresh token cannot be used.",
            causes=[
                "A wrong email or password.",
                "A deactivated account.",
                "An expired, revoked or reused refresh token.",
                "At the MFA grant: an `mfa_token` that is unknown, expired or used already, or a "
                "one-time code that is wrong, malformed or used already.",
            ],
            fix="Check the credentials, or log in again with the password grant.",
            oauth=True,
        ),
        ErrorSpec(
            code="invalid_client",
            status=401,
            title="Invalid client",
            detail="Client authentication failed.",
            meaning="RFC 6749 §5.2: the client could not be authenticated at the token or "
            'introspection endpoint. Sent with `WWW-Authenticate: Basic realm="accounts"` '
            "when the client used (or could have used) HTTP Basic.",
            causes=[
                "An unknown `client_id`, a wrong or missing secret, or a deleted client.",
                "An `Authorization: Basic` value that is not base64 of `client_id:client_secret`.",
            ],
            fix="Send the id and secret `POST /api/v1/clients` returned, by HTTP Basic "
            "(`client_secret_basic`) or as `client_id` and `client_secret` in the form "
            "(`client_secret_post`), not both.",
            oauth=True,
        ),
        ErrorSpec(
            code="invalid_scope",
            status=400,
            title="Invalid scope",
            detail="The requested scope is invalid or beyond the client's.",
            meaning="RFC 6749 §5.2: the `scope` names a scope this service does not know, or one "
            "the client does not hold.",
            causes=["A scope outside the client's `scopes`.", "A misspelt scope name."],
            fix="Ask for a subset of the client's scopes (`GET /api/v1/clients`), separated by "
            "single spaces, or leave `scope` out to get them all.",
            oauth=True,
        ),
        ErrorSpec(
            code="unsupported_grant_type",
            status=400,
            title="Unsupported grant type",
            detail="This grant type is not supported.",
            meaning="RFC 6749 §5.2: the `grant_type` is not one this server issues tokens for.",
            causes=["A client configured for another flow."],
            fix="Use `grant_type=password`, `grant_type=refresh_token` or "
            "`grant_type=urn:accounts:params:oauth:grant-type:mfa`.",
            oauth=True,
        ),
        ErrorSpec(
            code="mfa_required",
            status=400,
            title="Second factor required",
            detail="The password is right; this account also needs a one-time code.",
            meaning="The password grant succeeded, but the account has its second factor on. "
            "The answer carries `mfa_token` (valid 5 minutes): send it with a one-time code to "
            "the MFA grant to get tokens.",
            causes=["A password login to an account with TOTP enabled."],
            fix="POST `grant_type=urn:accounts:params:oauth:grant-type:mfa` with `mfa_token` and "
            "`otp` (the authenticator's current code, or a recovery code) to the token endpoint.",
            oauth=True,
        ),
        ErrorSpec(
            code="invalid_otp",
            status=400,
            title="Invalid one-time code",
            detail="The one-time code is wrong or was used already.",
            meaning="A code sent to enrol, regenerate recovery codes or turn off the second "
            "factor was not accepted.",
            causes=[
                "A wrong, expired or mistyped code, or one that is not six digits.",
                "A code that was used already (each works once).",
                "A code of an earlier enrolment's secret.",
                "No enrolment in progress, or no second factor to check the code against.",
            ],
            fix="Send the authenticator's current code (or, where accepted, an unused recovery "
            "code); check the device's clock if codes keep failing.",
        ),
        ErrorSpec(
            code="mfa_already_enabled",
            status=409,
            title="Second factor already enabled",
            detail="The second factor is on already.",
            meaning="TOTP enrolment was asked for while the account's second factor is on.",
            causes=["Enrolling again without turning the factor off first."],
            fix="Turn it off with `DELETE /api/v1/users/me/mfa/totp` and a code, then enrol.",
        ),
    )
}

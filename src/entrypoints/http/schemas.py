"""Request and response bodies of the HTTP API (never the domain entities themselves)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from application.use_cases.export_account import AccountExport
from domain.audit import AuditEvent, AuditEventType
from domain.clients import (
    CLIENT_ID_ALPHABET,
    CLIENT_ID_PREFIX,
    CLIENT_ID_RANDOM_LENGTH,
    MAX_CLIENT_NAME_LENGTH,
    Client,
    ClientName,
    Scope,
    is_client_id,
)
from domain.credentials import ApiKey, ApiKeyName
from domain.credentials.api_keys import API_KEY_NAME_PATTERN
from domain.credentials.api_keys import MAX_NAME_LENGTH as MAX_API_KEY_NAME_LENGTH
from domain.errors import InvalidValue
from domain.sessions import Session, SessionId
from domain.users import EmailAddress, FullName, Role, User
from domain.users.policies import ABSOLUTE_MAX_PASSWORD_LENGTH
from domain.users.values import (
    EMAIL_PATTERN,
    FULL_NAME_PATTERN,
    MAX_EMAIL_LENGTH,
    MAX_FULL_NAME_LENGTH,
)
from entrypoints.http.error_registry import MAX_LISTED_ERRORS


def _domain_checked(factory: type[Any]) -> AfterValidator:
    """Validate with the domain's value object, so HTTP and domain agree on what is valid."""

    def check(value: str) -> str:
        try:
            return str(factory(value))
        except InvalidValue as exc:
            raise PydanticCustomError(exc.code, str(exc)) from None

    return AfterValidator(check)


# Each limit and pattern is the domain's own, so the document states what the server
# enforces (the domain's value objects check it). Unicode categories beyond the control
# characters are no regex that ECMA-262 and Python read alike: the descriptions state them.
EmailField = Annotated[
    str,
    Field(
        max_length=MAX_EMAIL_LENGTH,
        examples=["ada@example.com"],
        description="`local@domain`: a dot-atom local part of at most 64 characters and a "
        "domain of two or more DNS labels, the last not all digits. Surrounding whitespace "
        "is dropped; the domain is stored in lower case, and addresses match "
        "case-insensitively.",
        json_schema_extra={"pattern": EMAIL_PATTERN},
    ),
    _domain_checked(EmailAddress),
]
FullNameField = Annotated[
    str,
    Field(
        max_length=MAX_FULL_NAME_LENGTH,
        examples=["Ada Lovelace"],
        description="May be empty. Each run of whitespace becomes one space and the ends are "
        "trimmed; at most 200 characters as sent. No other control characters, nor format "
        "characters but the zero-width (non-)joiner, nor private-use, surrogate or "
        "unassigned ones.",
        json_schema_extra={"pattern": FULL_NAME_PATTERN},
    ),
    _domain_checked(FullName),
]
# Marks a new password: the document's `minLength` is the configured policy's, filled in by
# `openapi.build_openapi`; the policy itself (the use case) enforces it and the rest.
POLICY_MIN_LENGTH = "x-policy-min-length"
NewPasswordField = Annotated[
    str,
    Field(
        min_length=1,
        max_length=ABSOLUTE_MAX_PASSWORD_LENGTH,
        examples=["correct-horse-battery-staple-42"],
        description="At least `ACCOUNTS_PASSWORD_MIN_LENGTH` characters (15 by default), not a "
        "common password, not your email address.",
        json_schema_extra={POLICY_MIN_LENGTH: True},
    ),
]
CurrentPasswordField = Annotated[
    str,
    Field(
        min_length=1,
        max_length=ABSOLUTE_MAX_PASSWORD_LENGTH,
        examples=["correct-horse-battery-staple-42"],
    ),
]


# A mailed link's token as the link carries it; longer input is no token this service made.
MAX_LINK_TOKEN_LENGTH = 256
LinkTokenField = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_LINK_TOKEN_LENGTH,
        examples=["q7Xx0mJ1C0k8yTz6bPqW3nHc5VJ8yCk4gZ6tVw0aP_s"],
        description="The `token` parameter of the mailed link, URL-decoded.",
    ),
]


# RFC 3339 §5.6 `date-time`, which JSON Schema's `format` only annotates: the pattern asserts it.
_DATE, _TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}", r"[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
RFC3339_DATE_TIME = "^" + _DATE + "[Tt]" + _TIME + r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
RFC3339_UTC_DATE_TIME = "^" + _DATE + "T" + _TIME + "Z$"


def _rfc3339(value: object) -> object:
    if not isinstance(value, str) or not re.fullmatch(RFC3339_DATE_TIME, value):
        raise PydanticCustomError(
            "datetime_format",
            "Must be an RFC 3339 date-time with an offset, such as 2027-06-30T00:00:00Z.",
        )
    return value


def _in_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError(
            "datetime_out_of_range", "Must fall within the years 0001 to 9999 in UTC."
        ) from None


# A date-time a client sends: RFC 3339 text only (no numbers, no other ISO 8601 forms), with
# any offset, held in UTC from here on; an instant outside UTC's years 1-9999 is refused.
RequestDateTime = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339),
    AfterValidator(_in_utc),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": RFC3339_DATE_TIME}),
]
# A date-time the service answers with: always UTC, written with `Z` (RFC 3339).
ResponseDateTime = Annotated[
    AwareDatetime,
    AfterValidator(_in_utc),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": RFC3339_UTC_DATE_TIME}),
]


class _Input(BaseModel):
    """A request body: unknown fields are refused (422); subclasses inherit this config."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, frozen=True)


class RegisterRequest(_Input):
    email: EmailField
    password: NewPasswordField
    full_name: FullNameField = ""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "ada@example.com",
                    "password": "correct-horse-battery-staple-42",
                    "full_name": "Ada Lovelace",
                }
            ]
        },
    )


class CreateUserRequest(_Input):
    email: EmailField
    full_name: FullNameField = ""
    role: Role = Role.USER

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"email": "grace@example.com", "full_name": "Grace Hopper", "role": "admin"},
                {"email": "alan@example.com"},
            ]
        },
    )


class UpdateProfileRequest(_Input):
    full_name: FullNameField

    model_config = ConfigDict(json_schema_extra={"examples": [{"full_name": "Ada King"}]})


def _not_nullable(schema: dict[str, Any]) -> None:
    """Document an optional field's value type only: `None` stands for absent, `null` is refused."""
    (value,) = [member for member in schema.pop("anyOf") if member != {"type": "null"}]
    schema.update(value)


class AdminUpdateUserRequest(_Input):
    """Absent fields stay as they are; `null` is refused."""

    full_name: FullNameField | None = Field(None, json_schema_extra=_not_nullable)
    role: Role | None = Field(None, json_schema_extra=_not_nullable)
    is_active: bool | None = Field(None, json_schema_extra=_not_nullable)

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"role": "admin"}, {"is_active": False}]},
    )

    @field_validator("full_name", "role", "is_active", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Runs only for fields present in the body: absent means "unchanged", null is an error.
        if value is None:
            raise PydanticCustomError("null_not_allowed", "May be omitted but not null.")
        return value


_USER_EXAMPLE: dict[str, Any] = {
    "id": "019ab2c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
    "email": "ada@example.com",
    "email_verified": True,
    "full_name": "Ada Lovelace",
    "role": "user",
    "is_active": True,
    "mfa_enabled": False,
    "created_at": "2026-11-23T10:15:30Z",
    "updated_at": "2026-11-23T10:15:30Z",
}


class UserResponse(BaseModel):
    id: UUID
    email: str
    email_verified: bool = Field(
        description="Whether the owner confirmed the address through a mailed link; a new "
        "account and a changed address start `false`."
    )
    full_name: str
    role: Role
    is_active: bool
    mfa_enabled: bool = Field(description="Whether a login also needs a one-time code.")
    created_at: ResponseDateTime
    updated_at: ResponseDateTime

    model_config = ConfigDict(json_schema_extra={"examples": [_USER_EXAMPLE]})

    @classmethod
    def of(cls, user: User) -> UserResponse:
        return cls(
            id=user.id,
            email=user.email.value,
            email_verified=user.email_verified,
            full_name=user.full_name.value,
            role=user.role,
            is_active=user.is_active,
            mfa_enabled=user.mfa_enabled,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class UserPageResponse(BaseModel):
    items: list[UserResponse]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; `null` on the last page."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [_USER_EXAMPLE],
                    "next_cursor": "MDE5YWIyYzQtNWU2Zi03YThiLTljMGQtMWUyZjNhNGI1YzZk",
                }
            ]
        }
    )


class TokenResponse(BaseModel):
    access_token: str = Field(description="A signed JWT (`typ: at+jwt`) for `Authorization`.")
    token_type: str = Field("Bearer", examples=["Bearer"])
    expires_in: int = Field(examples=[900], description="Seconds until the access token expires.")
    refresh_token: str = Field(
        description="Opaque and single-use: send it with `grant_type=refresh_token` for a new "
        "pair. Presenting a used one again ends the whole login session."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9…",
                    "token_type": "Bearer",
                    "expires_in": 900,
                    "refresh_token": "3q2-7wXnL0b9yY1u1kqQm2Hc5VJ8yCk4gZ6tVw0aP_s",
                }
            ]
        }
    )


class ChangePasswordRequest(_Input):
    current_password: CurrentPasswordField
    new_password: NewPasswordField

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "current_password": "correct-horse-battery-staple-42",
                    "new_password": "tangerine-umbrella-quietly-1987",
                }
            ]
        },
    )


class VerifyEmailRequest(_Input):
    token: LinkTokenField

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"token": "q7Xx0mJ1C0k8yTz6bPqW3nHc5VJ8yCk4gZ6tVw0aP_s"}]},
    )


class ChangeEmailRequest(_Input):
    new_email: EmailField
    current_password: CurrentPasswordField

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "new_email": "ada.king@example.com",
                    "current_password": "correct-horse-battery-staple-42",
                }
            ]
        },
    )


class PasswordResetRequest(_Input):
    email: EmailField

    model_config = ConfigDict(json_schema_extra={"examples": [{"email": "ada@example.com"}]})


class ConfirmPasswordResetRequest(_Input):
    token: LinkTokenField
    new_password: NewPasswordField

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "token": "q7Xx0mJ1C0k8yTz6bPqW3nHc5VJ8yCk4gZ6tVw0aP_s",
                    "new_password": "tangerine-umbrella-quietly-1987",
                }
            ]
        },
    )


ApiKeyNameField = Annotated[
    str,
    Field(
        max_length=MAX_API_KEY_NAME_LENGTH,
        examples=["deploy bot"],
        description="Not only whitespace; the ends are trimmed. No control characters inside, "
        "nor format, private-use, surrogate or unassigned ones.",
        json_schema_extra={"pattern": API_KEY_NAME_PATTERN},
    ),
    _domain_checked(ApiKeyName),
]


class CreateApiKeyRequest(_Input):
    name: ApiKeyNameField
    expires_at: RequestDateTime | None = Field(
        None,
        description="When the key stops working: an RFC 3339 date-time with an offset, later "
        "than now and at most `9999-12-31T23:59:59Z`; answered in UTC. Absent or `null`: never.",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "deploy bot", "expires_at": "2027-06-30T00:00:00Z"}]
        },
    )


_API_KEY_EXAMPLE: dict[str, Any] = {
    "id": "019ab2c4-9a1b-7c2d-8e3f-4a5b6c7d8e9f",
    "name": "deploy bot",
    "prefix": "acc_k3xq7mz2pd",
    "created_at": "2026-11-23T10:15:30Z",
    "expires_at": "2027-06-30T00:00:00Z",
    "last_used_at": None,
}


class ApiKeyResponse(BaseModel):
    id: UUID
    name: str
    prefix: str = Field(description="The key's public beginning, to recognise it in listings.")
    created_at: ResponseDateTime
    expires_at: ResponseDateTime | None
    last_used_at: ResponseDateTime | None = Field(
        description="Approximate (updated at most once a minute); `null` if never used."
    )

    model_config = ConfigDict(json_schema_extra={"examples": [_API_KEY_EXAMPLE]})

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyResponse:
        return cls(
            id=key.id,
            name=key.name.value,
            prefix=key.prefix,
            created_at=key.created_at,
            expires_at=key.expires_at,
            last_used_at=key.last_used_at,
        )


class CreatedApiKeyResponse(ApiKeyResponse):
    key: str = Field(
        description="The whole key, for the `X-API-Key` header. Shown only in this response."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_API_KEY_EXAMPLE,
                    "key": "acc_k3xq7mz2pd_Jx0vTq3mP9wR6yL2nB8cD5fG1hK4sZ7uA0eI3oU6tQ",
                }
            ]
        }
    )


class ApiKeyPageResponse(BaseModel):
    items: list[ApiKeyResponse]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; `null` on the last page."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [_API_KEY_EXAMPLE],
                    "next_cursor": "azE6AZqyxJobfC2OP0pbbH2Onw",
                }
            ]
        }
    )


def _actor_id(value: str) -> str:
    try:
        return str(UUID(value))
    except ValueError:
        if is_client_id(value):
            return value
        raise ValueError("An account id (a UUID) or a client id (cli_…).") from None


ActorIdField = Annotated[
    str,
    Field(
        max_length=64,
        examples=["019ab2c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d", "cli_k3xq7mz2pdw4h6jn"],
        json_schema_extra={
            "pattern": rf"^(?:[0-9a-fA-F-]{{32,36}}|{CLIENT_ID_PREFIX}"
            rf"[{CLIENT_ID_ALPHABET}]{{{CLIENT_ID_RANDOM_LENGTH}}})$"
        },
    ),
    AfterValidator(_actor_id),
]

ClientNameField = Annotated[
    str,
    Field(
        max_length=MAX_CLIENT_NAME_LENGTH,
        examples=["billing service"],
        description="Not only whitespace; the ends are trimmed. No control characters inside, "
        "nor format, private-use, surrogate or unassigned ones.",
        json_schema_extra={"pattern": API_KEY_NAME_PATTERN},
    ),
    _domain_checked(ClientName),
]


class CreateClientRequest(_Input):
    name: ClientNameField
    scopes: list[Scope] = Field(
        min_length=1,
        max_length=len(Scope),
        description="What the client's tokens may do: `users:read` (`GET /users`, "
        "`GET /users/{id}`), `users:write` (also `PATCH /users/{id}`). An unknown scope is a "
        "422.",
    )

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "billing service", "scopes": ["users:read"]}]},
    )


_CLIENT_EXAMPLE: dict[str, Any] = {
    "client_id": "cli_k3xq7mz2pdw4h6jn",
    "name": "billing service",
    "scopes": ["users:read"],
    "created_at": "2026-12-02T10:15:30Z",
}


class ClientResponse(BaseModel):
    client_id: str = Field(description="The client's public id, for Basic or `client_id`.")
    name: str
    scopes: list[Scope]
    created_at: ResponseDateTime

    model_config = ConfigDict(json_schema_extra={"examples": [_CLIENT_EXAMPLE]})

    @classmethod
    def of(cls, client: Client) -> ClientResponse:
        return cls(
            client_id=client.id,
            name=client.name.value,
            scopes=sorted(client.scopes),
            created_at=client.created_at,
        )


class CreatedClientResponse(ClientResponse):
    client_secret: str = Field(
        description="The client's secret. Shown only in this response; only its digest is kept."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {**_CLIENT_EXAMPLE, "client_secret": "Jx0vTq3mP9wR6yL2nB8cD5fG1hK4sZ7uA0eI3oU6tQ"}
            ]
        }
    )


class ClientListResponse(BaseModel):
    items: list[ClientResponse]

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_CLIENT_EXAMPLE]}]})


class ClientTokenResponse(BaseModel):
    access_token: str = Field(description="A signed JWT (`typ: at+jwt`) for `Authorization`.")
    token_type: str = Field("Bearer", examples=["Bearer"])
    expires_in: int = Field(examples=[900], description="Seconds until the access token expires.")
    scope: str = Field(description="The scopes granted, space-separated.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9…",
                    "token_type": "Bearer",
                    "expires_in": 900,
                    "scope": "users:read",
                }
            ]
        }
    )


class IntrospectionResponse(BaseModel):
    """RFC 7662 §2.2; every member but `active` is absent for an inactive token."""

    active: bool
    sub: str | None = Field(None, description="The account id, or the client id of a client.")
    client_id: str | None = Field(None, description="For a client's access token.")
    scope: str | None = Field(None, description="For a client's access token, space-separated.")
    exp: int | None = Field(
        None,
        description="Expiry (seconds since the epoch); absent for an API key that never expires.",
    )
    iat: int | None = None
    iss: str | None = None
    aud: str | None = None
    token_type: str | None = Field(
        None, description="`access_token`, `refresh_token` or `api_key`."
    )
    username: str | None = Field(None, description="The account's email, for a user's token.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "active": True,
                    "sub": "cli_k3xq7mz2pdw4h6jn",
                    "client_id": "cli_k3xq7mz2pdw4h6jn",
                    "scope": "users:read",
                    "exp": 1796207730,
                    "iat": 1796206830,
                    "iss": "http://127.0.0.1:8000",
                    "aud": "accounts-api",
                    "token_type": "access_token",
                },
                {"active": False},
            ]
        }
    )


class AuthorizationServerMetadata(BaseModel):
    """RFC 8414 authorization server metadata, as served (documentation only)."""

    issuer: str
    token_endpoint: str
    jwks_uri: str
    revocation_endpoint: str
    introspection_endpoint: str
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    revocation_endpoint_auth_methods_supported: list[str]
    introspection_endpoint_auth_methods_supported: list[str]
    scopes_supported: list[str]
    response_types_supported: list[str]
    claims_supported: list[str]
    service_documentation: str | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "issuer": "https://id.example.com",
                    "token_endpoint": "https://id.example.com/api/v1/auth/token",
                    "jwks_uri": "https://id.example.com/.well-known/jwks.json",
                    "revocation_endpoint": "https://id.example.com/api/v1/auth/revoke",
                    "introspection_endpoint": "https://id.example.com/api/v1/auth/introspect",
                    "grant_types_supported": [
                        "password",
                        "refresh_token",
                        "client_credentials",
                        "urn:accounts:params:oauth:grant-type:mfa",
                    ],
                    "token_endpoint_auth_methods_supported": [
                        "client_secret_basic",
                        "client_secret_post",
                    ],
                    "revocation_endpoint_auth_methods_supported": ["none"],
                    "introspection_endpoint_auth_methods_supported": [
                        "client_secret_basic",
                        "client_secret_post",
                    ],
                    "scopes_supported": ["users:read", "users:write"],
                    "response_types_supported": [],
                    "claims_supported": ["iss", "aud", "sub", "exp", "iat", "jti", "role"],
                }
            ]
        }
    )


class JsonWebKey(BaseModel):
    """A public signing key (RFC 7517); members beyond these depend on `kty`."""

    kty: str = Field(examples=["RSA"])
    kid: str = Field(examples=["NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"])
    use: str = Field(examples=["sig"])
    alg: str = Field(examples=["RS256"])

    model_config = ConfigDict(extra="allow")


class JsonWebKeySet(BaseModel):
    """The public keys that verify live access tokens; empty with HS256 (a shared secret)."""

    keys: list[JsonWebKey]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "keys": [
                        {
                            "kty": "RSA",
                            "kid": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
                            "use": "sig",
                            "alg": "RS256",
                            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4…",
                            "e": "AQAB",
                        }
                    ]
                }
            ]
        }
    )


class HealthResponse(BaseModel):
    status: str = Field(examples=["ok"])
    checks: dict[str, str] = Field(default_factory=dict, examples=[{"database": "ok"}])

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "ok", "checks": {"database": "ok", "rate_limit": "ok"}}]
        }
    )


class FieldErrorModel(BaseModel):
    pointer: str = Field(examples=["#/email"])
    detail: str
    code: str = Field(examples=["invalid_email"])


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable machine-readable `code`."""

    type: str = Field(examples=["http://127.0.0.1:8000/errors/email_taken"])
    title: str = Field(examples=["Email already registered"])
    status: int = Field(examples=[409])
    detail: str = Field(examples=["An account with this email already exists."])
    instance: str = Field(examples=["/api/v1/auth/register"])
    code: str = Field(examples=["email_taken"])
    request_id: str | None = Field(examples=["5f0c8d1e9a7b4c3d"])
    errors: list[FieldErrorModel] | None = Field(
        None,
        max_length=MAX_LISTED_ERRORS,
        description=f"`validation_failed` only: one entry per invalid field, at most "
        f"{MAX_LISTED_ERRORS}, in the order they were found.",
    )
    errors_omitted: int | None = Field(
        None,
        ge=1,
        examples=[30],
        description=f"`validation_failed` only, when more than {MAX_LISTED_ERRORS} fields "
        "are invalid: how many were left out of `errors`. Absent when every one is listed.",
    )


class OAuthProblem(Problem):
    """RFC 6749 §5.2 error members beside the problem members; `code` equals `error`."""

    error: str = Field(examples=["invalid_grant"])
    error_description: str = Field(examples=["Invalid email or password."])
    mfa_token: str | None = Field(
        None,
        description="With `mfa_required` only: send it to the MFA grant with a one-time code.",
    )
    mfa_token_expires_in: int | None = Field(
        None, description="With `mfa_required` only: seconds the `mfa_token` stays valid."
    )


_SESSION_EXAMPLE: dict[str, Any] = {
    "id": "019ab2c4-7d3e-7f10-8a2b-3c4d5e6f7a8b",
    "created_at": "2026-11-23T10:15:30Z",
    "last_used_at": "2026-11-23T11:02:11Z",
    "ip": "203.0.113.7",
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "amr": ["pwd"],
    "current": True,
}


class SessionResponse(BaseModel):
    id: UUID
    created_at: ResponseDateTime = Field(description="When the login happened.")
    last_used_at: ResponseDateTime = Field(description="The last refresh (or the login).")
    ip: str | None = Field(
        description="The client address at login, as the rate limiter resolves it (behind "
        "trusted proxies, from `X-Forwarded-For`); `null` when unknown."
    )
    user_agent: str | None = Field(
        description="The `User-Agent` at login, cut to 256 characters; `null` when absent."
    )
    amr: list[str] = Field(description="How the user proved who they are (RFC 8176).")
    current: bool = Field(description="Whether this is the session of the calling token.")

    model_config = ConfigDict(json_schema_extra={"examples": [_SESSION_EXAMPLE]})

    @classmethod
    def of(cls, session: Session, current: SessionId | None) -> SessionResponse:
        return cls(
            id=session.id,
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            ip=session.client_ip,
            user_agent=session.user_agent,
            amr=list(session.amr),
            current=session.id == current,
        )


class SessionListResponse(BaseModel):
    items: list[SessionResponse]

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_SESSION_EXAMPLE]}]})


_EXPORTED_SESSION_EXAMPLE: dict[str, Any] = {
    "id": "019ab2c4-7d3e-7f10-8a2b-3c4d5e6f7a8b",
    "created_at": "2026-11-23T10:15:30Z",
    "last_used_at": "2026-11-23T11:02:11Z",
    "expires_at": "2027-02-21T10:15:30Z",
    "ended_at": None,
    "auth_time": "2026-11-23T10:15:30Z",
    "amr": ["pwd"],
    "ip": "203.0.113.7",
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
}


class ExportedSession(BaseModel):
    id: UUID
    created_at: ResponseDateTime
    last_used_at: ResponseDateTime
    expires_at: ResponseDateTime
    ended_at: ResponseDateTime | None
    auth_time: ResponseDateTime
    amr: list[str]
    ip: str | None
    user_agent: str | None

    @classmethod
    def of(cls, session: Session) -> ExportedSession:
        return cls(
            id=session.id,
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            expires_at=session.expires_at,
            ended_at=session.ended_at,
            auth_time=session.auth_time,
            amr=list(session.amr),
            ip=session.client_ip,
            user_agent=session.user_agent,
        )


class ExportedExternalIdentity(BaseModel):
    issuer: str
    subject: str
    created_at: ResponseDateTime


_AUDIT_EVENT_EXAMPLE: dict[str, Any] = {
    "id": "019ad3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
    "occurred_at": "2026-12-02T09:30:00.123456Z",
    "type": "user.updated",
    "actor_id": "019ab2c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
    "subject_id": "019ab2c5-0a1b-7c2d-8e3f-4a5b6c7d8e9f",
    "client_ip": "203.0.113.7",
    "user_agent": "curl/8.5.0",
    "request_id": "5f0c8d1e9a7b4c3d",
    "details": {"before": {"role": "user"}, "after": {"role": "admin"}},
}


class AuditEventResponse(BaseModel):
    id: UUID
    occurred_at: ResponseDateTime
    type: AuditEventType
    actor_id: str | None = Field(
        description="Who made the request: an account's id (a UUID) or a client's id "
        "(`cli_…`); `null` when anonymous or automatic."
    )
    subject_id: UUID | None = Field(description="The account the event is about.")
    client_ip: str | None = Field(description="The client address, behind trusted proxies.")
    user_agent: str | None
    request_id: str | None = Field(description="The request's `X-Request-ID`.")
    details: dict[str, Any] = Field(
        description="What changed, by type: `before`/`after` for `user.updated`, `api_key_id` "
        "for `api_key.*`, `session_id` or `count` for `session.*`, `reason` (and, for unknown "
        "accounts, `username_pseudonym`) for `user.login_failed`. Never a secret."
    )

    model_config = ConfigDict(json_schema_extra={"examples": [_AUDIT_EVENT_EXAMPLE]})

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventResponse:
        return cls(
            id=event.id,
            occurred_at=event.occurred_at,
            type=event.type,
            actor_id=str(event.actor_id) if event.actor_id is not None else None,
            subject_id=event.subject_id,
            client_ip=event.client_ip,
            user_agent=event.user_agent,
            request_id=event.request_id,
            details=dict(event.details),
        )


class AccountExportResponse(BaseModel):
    """Everything the service holds about the caller (GDPR art. 15 and 20)."""

    exported_at: ResponseDateTime
    user: UserResponse
    sessions: list[ExportedSession] = Field(
        description="Every stored session, ended ones included until the periodic purge "
        "removes them."
    )
    api_keys: list[ApiKeyResponse] = Field(description="Every key, never its secret or digest.")
    external_identities: list[ExportedExternalIdentity] = Field(
        description="Identities at external providers linked to the account."
    )
    audit_events: list[AuditEventResponse] = Field(
        description="Audit events about the account (it is their `subject_id`), oldest first."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "exported_at": "2026-11-23T12:00:00Z",
                    "user": _USER_EXAMPLE,
                    "sessions": [_EXPORTED_SESSION_EXAMPLE],
                    "api_keys": [_API_KEY_EXAMPLE],
                    "external_identities": [],
                    "audit_events": [_AUDIT_EVENT_EXAMPLE],
                }
            ]
        }
    )

    @classmethod
    def of(cls, export: AccountExport) -> AccountExportResponse:
        return cls(
            exported_at=export.exported_at,
            user=UserResponse.of(export.user),
            sessions=[ExportedSession.of(s) for s in export.sessions],
            api_keys=[ApiKeyResponse.of(k) for k in export.api_keys],
            external_identities=[
                ExportedExternalIdentity(
                    issuer=link.issuer, subject=link.subject, created_at=link.created_at
                )
                for link in export.external_identities
            ],
            audit_events=[AuditEventResponse.of(event) for event in export.audit_events],
        )


class AuditEventPageResponse(BaseModel):
    items: list[AuditEventResponse]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; `null` on the last page."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [_AUDIT_EVENT_EXAMPLE],
                    "next_cursor": "ZTE6AAYNf3R8ngABms_EXm96i5wNHi86S1xt",
                }
            ]
        }
    )


OneTimeCodeField = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="The authenticator's current six-digit code, or (where accepted) one of "
        "the recovery codes, with or without its hyphens.",
    ),
]


class OneTimeCodeRequest(_Input):
    code: OneTimeCodeField

    model_config = ConfigDict(json_schema_extra={"examples": [{"code": "492039"}]})


class TotpEnrolmentResponse(BaseModel):
    secret: str = Field(description="The TOTP secret, base32 (160 bits): shown once.")
    otpauth_uri: str = Field(
        description="The same as an `otpauth://totp/…` URI (SHA-1, 6 digits, 30 s) for "
        "authenticator apps, usually shown as a QR code."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
                    "otpauth_uri": "otpauth://totp/accounts:ada%40example.com?digits=6"
                    "&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&algorithm=SHA1&issuer=accounts"
                    "&period=30",
                }
            ]
        }
    )


class RecoveryCodesResponse(BaseModel):
    recovery_codes: list[str] = Field(
        description="Ten single-use codes, shown once: each stands in for a TOTP code once."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "recovery_codes": [
                        "k7mq-2xvd-9pbr-wt4h",
                        "c3nf-8jzs-6aye-ug5k",
                        "r2wd-x9hm-4qtc-7bnv",
                        "f6pz-3ksa-8ewr-2myj",
                        "t9gv-5cbn-2hxq-6rdw",
                        "m4ja-7tfu-3zkp-9sce",
                        "w8rb-2nyd-6gvh-4qxt",
                        "e5kc-9uwm-3fjr-8pza",
                        "h2sx-6dqb-7vnt-3kmy",
                        "z7pf-4cre-9awg-5jhu",
                    ]
                }
            ]
        }
    )

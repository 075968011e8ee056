"""Configuration, from `ACCOUNTS_*` environment variables only, validated at start.

The variables are flat (`ACCOUNTS_JWT_SECRET`); the settings group them (`settings.tokens.secret`).
A group's field names its variable with `validation_alias`, and `Settings(jwt_secret=...)`
takes the same flat names as the environment.
"""

from __future__ import annotations

import functools
import os
import secrets
from email.utils import parseaddr
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

import limits
import structlog
from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from application.ports.rate_limiting import RateLimitPolicy, Strategy
from application.rate_limiting import PolicyName

ENV_PREFIX = "ACCOUNTS_"
MIN_HMAC_SECRET_BYTES = 32
_WEAK_SECRETS = frozenset({"secret", "changeme", "change-me", "password", "jwt-secret", "dev"})
MEMORY_STORAGE_SCHEMES = ("memory", "async+memory")
REDIS_STORAGE_SCHEMES = ("redis", "rediss", "async+redis", "async+rediss")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


def parse_rate_limit(value: str) -> tuple[int, int]:
    """`60/minute`, `10 per hour`, `5/2 minutes` as (requests, window in seconds)."""
    try:
        items = limits.parse_many(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a rate limit like 60/minute") from None
    if len(items) != 1:
        raise ValueError(f"{value!r} must be exactly one rate limit like 60/minute")
    item = items[0]
    if item.amount < 1:
        raise ValueError(f"{value!r} must allow at least one request")
    return item.amount, item.get_expiry()


def _valid_rate_limit(value: str) -> str:
    parse_rate_limit(value)
    return value


def parse_trusted_proxies(value: str) -> tuple[IPv4Network | IPv6Network, ...] | None:
    """The trusted proxy networks; None means `*`, every peer."""
    entries = [entry.strip() for entry in value.split(",") if entry.strip()]
    if "*" in entries:
        return None
    networks = []
    for entry in entries:
        try:
            networks.append(ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or CIDR network") from None
    return tuple(networks)


def _valid_proxies(value: str) -> str:
    parse_trusted_proxies(value)
    return value


def _base_url(value: AnyHttpUrl | None) -> AnyHttpUrl | None:
    if value is not None and (value.query is not None or value.fragment is not None):
        raise ValueError("must be a base URL, without a query or a fragment")
    return value


RateLimit = Annotated[str, AfterValidator(_valid_rate_limit)]
BaseUrl = Annotated[AnyHttpUrl | None, AfterValidator(_base_url)]


def _is_weak(secret: str) -> bool:
    return (
        secret.lower() in _WEAK_SECRETS
        or len(set(secret)) < 8
        or len(secret.encode()) < MIN_HMAC_SECRET_BYTES
    )


@functools.cache
def _process_secret() -> str:
    """One random secret per process, made on first use."""
    return secrets.token_urlsafe(48)


class _Group(BaseModel):
    """A group of settings; each field's `validation_alias` is its variable without the prefix."""

    model_config = ConfigDict(frozen=True, validate_default=True, extra="forbid")


class DatabaseSettings(_Group):
    """The database and its connection pool."""

    url: str = Field(
        "sqlite+aiosqlite:///./accounts.db",
        validation_alias="database_url",
        description="SQLAlchemy async URL; Postgres is `postgresql+asyncpg://…`.",
    )
    pool_size: int = Field(
        10,
        ge=1,
        le=1000,
        validation_alias="db_pool_size",
        description="Connection pool size (Postgres).",
    )
    max_overflow: int = Field(
        10,
        ge=0,
        le=1000,
        validation_alias="db_max_overflow",
        description="Connections opened beyond the pool under load, then kept.",
    )
    pool_timeout_seconds: float = Field(
        5,
        gt=0,
        le=300,
        validation_alias="db_pool_timeout_seconds",
        description="Seconds to wait for a pooled connection before a 503.",
    )

    @field_validator("url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must be sqlite+aiosqlite://… or postgresql+asyncpg://…")
        return value

    @property
    def connections(self) -> int:
        """The most connections the pool opens at once."""
        return self.pool_size + self.max_overflow


class TokenSettings(_Group):
    """How tokens are signed and verified, and how long they and login sessions live."""

    algorithm: Literal["RS256", "ES256", "EdDSA", "HS256"] = Field(
        "RS256",
        validation_alias="jwt_algorithm",
        description="The one algorithm tokens are signed and verified with: RS256, ES256 or "
        "EdDSA (Ed25519) with keys the service manages (or a fixed PEM pair), or HS256 with a "
        "shared secret (nothing published in the JWKS).",
    )
    secret: SecretStr | None = Field(
        None,
        validation_alias="jwt_secret",
        description="HMAC secret for HS256 (≥ 32 bytes); random per process in development.",
    )
    private_key_file: Path | None = Field(
        None,
        validation_alias="jwt_private_key_file",
        description="PEM private key of a fixed pair (RS256, ES256, EdDSA) instead of managed "
        "keys: no automatic rotation.",
    )
    public_key_file: Path | None = Field(
        None,
        validation_alias="jwt_public_key_file",
        description="PEM public key of the fixed pair.",
    )
    key_id: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        validation_alias="jwt_key_id",
        description="`kid` of the HS256 secret or fixed key pair, sent in every token's header "
        "(a fixed pair's RFC 7638 thumbprint by default); managed keys are named by theirs.",
    )
    previous_key_id: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        validation_alias="jwt_previous_key_id",
        description="`kid` of the previous key during a rotation: its tokens are still accepted.",
    )
    previous_secret: SecretStr | None = Field(
        None,
        validation_alias="jwt_previous_secret",
        description="The previous HMAC secret (HS256) during a rotation; verifies only.",
    )
    previous_public_key_file: Path | None = Field(
        None,
        validation_alias="jwt_previous_public_key_file",
        description="The previous PEM public key of a fixed pair during a rotation.",
    )
    key_encryption_key: SecretStr | None = Field(
        None,
        validation_alias="key_encryption_key",
        description="Secret (≥ 32 characters) that encrypts private signing keys and "
        "second-factor (TOTP) secrets at rest and keys the pseudonyms of unknown login names in "
        "the audit log, each with a key derived for that purpose alone; in development, made "
        "once and kept in `./var/key-encryption-key`. Required in production with managed "
        "keys; without it there, pseudonyms fall back to the token signing secret and "
        "enrolling a second factor answers 503. Losing it loses the signing keys.",
    )
    signing_key_rotation_days: int = Field(
        30,
        ge=0,
        le=3650,
        validation_alias="signing_key_rotation_days",
        description="A new managed signing key every N days (0: only by `accounts keys rotate`).",
    )
    jwks_max_age_seconds: int = Field(
        300,
        ge=0,
        le=86_400,
        validation_alias="jwks_max_age_seconds",
        description="How long resource servers may cache the JWKS (`Cache-Control: max-age`), "
        "and so how long a new managed key is published before it signs.",
    )
    issuer: str | None = Field(
        None,
        min_length=1,
        validation_alias="jwt_issuer",
        description="`iss` of issued and accepted tokens, and the discovery `issuer`; "
        "default `PUBLIC_URL`.",
    )
    audience: str = Field(
        "accounts-api",
        min_length=1,
        validation_alias="jwt_audience",
        description="`aud` of tokens.",
    )
    access_ttl_seconds: int = Field(
        900,
        ge=30,
        le=86_400,
        validation_alias="access_token_ttl_seconds",
        description="Access token lifetime.",
    )
    refresh_ttl_seconds: int = Field(
        2_592_000,
        ge=60,
        le=31_536_000,
        validation_alias="refresh_token_ttl_seconds",
        description="Lifetime of each refresh token; every refresh issues a new one.",
    )
    session_max_age_seconds: int = Field(
        7_776_000,
        ge=60,
        le=31_536_000,
        validation_alias="session_max_age_seconds",
        description="Absolute lifetime of a login session: "
        "refreshing never extends a session past it.",
    )
    reauth_max_age_seconds: int = Field(
        300,
        ge=30,
        le=86_400,
        validation_alias="reauth_max_age_seconds",
        description="How recent the caller's login must be to delete an account "
        "(`DELETE /users/me`, `DELETE /users/{id}`); older logins get 401 "
        "`reauthentication_required` (RFC 9470).",
    )

    @model_validator(mode="after")
    def _keys(self) -> Self:
        if self.algorithm == "HS256":
            secret = self.secret.get_secret_value() if self.secret else None
            if secret is not None and len(secret.encode()) < MIN_HMAC_SECRET_BYTES:
                raise ValueError(
                    f"ACCOUNTS_JWT_SECRET must be at least {MIN_HMAC_SECRET_BYTES} bytes"
                )
        elif self.private_key_file is not None or self.public_key_file is not None:
            for variable, path in (
                ("JWT_PRIVATE_KEY_FILE", self.private_key_file),
                ("JWT_PUBLIC_KEY_FILE", self.public_key_file),
            ):
                if path is None or not path.is_file():
                    raise ValueError(
                        f"ACCOUNTS_{variable} must name a readable PEM file for a fixed "
                        f"{self.algorithm} key pair (or set neither for managed keys)"
                    )
        elif self.previous_key_id is not None or self.key_id is not None:
            variable = "JWT_PREVIOUS_KEY_ID" if self.previous_key_id else "JWT_KEY_ID"
            raise ValueError(
                f"ACCOUNTS_{variable} applies to HS256 or a fixed key pair; managed keys are "
                "named and rotated by the service (`accounts keys`)"
            )
        self._check_previous_key()
        if self.key_encryption_key is not None and (
            len(self.key_encryption_key.get_secret_value()) < MIN_KEY_ENCRYPTION_KEY_LENGTH
        ):
            raise ValueError(_WEAK_KEY_ENCRYPTION_KEY)
        return self

    def _check_previous_key(self) -> None:
        """A previous key comes with its own `kid`, distinct from the current one's."""
        secret = self.previous_secret_value
        key_file = self.previous_public_key_file
        if self.previous_key_id is None:
            if secret is not None or key_file is not None:
                raise ValueError("ACCOUNTS_JWT_PREVIOUS_KEY_ID must name the previous key")
            return
        if self.key_id is None:
            raise ValueError("ACCOUNTS_JWT_KEY_ID must be set when a previous key is")
        if self.previous_key_id == self.key_id:
            raise ValueError("ACCOUNTS_JWT_PREVIOUS_KEY_ID must differ from ACCOUNTS_JWT_KEY_ID")
        if self.algorithm == "HS256":
            if key_file is not None:
                raise ValueError("ACCOUNTS_JWT_PREVIOUS_PUBLIC_KEY_FILE is for a fixed key pair")
            if secret is None:
                raise ValueError("ACCOUNTS_JWT_PREVIOUS_SECRET must be set for HS256")
            if len(secret.encode()) < MIN_HMAC_SECRET_BYTES:
                raise ValueError(_WEAK_PREVIOUS_SECRET)
        else:
            if secret is not None:
                raise ValueError("ACCOUNTS_JWT_PREVIOUS_SECRET is for HS256")
            if key_file is None or not key_file.is_file():
                raise ValueError(
                    "ACCOUNTS_JWT_PREVIOUS_PUBLIC_KEY_FILE must name a readable PEM file"
                )

    @property
    def managed_keys(self) -> bool:
        """Whether the service makes, stores and rotates its own signing keys."""
        return self.algorithm != "HS256" and self.private_key_file is None

    @property
    def previous_secret_value(self) -> str | None:
        return self.previous_secret.get_secret_value() if self.previous_secret else None

    def hmac_secret(self) -> str:
        """The HS256 secret; in development without one, a random secret for this process."""
        if self.secret is not None:
            return self.secret.get_secret_value()
        return _process_secret()


MIN_KEY_ENCRYPTION_KEY_LENGTH = 32
DEVELOPMENT_KEY_FILE = Path("var/key-encryption-key")
_WEAK_KEY_ENCRYPTION_KEY = (
    "ACCOUNTS_KEY_ENCRYPTION_KEY must be a strong secret of at least "
    f"{MIN_KEY_ENCRYPTION_KEY_LENGTH} characters"
)
_WEAK_PREVIOUS_SECRET = (
    f"ACCOUNTS_JWT_PREVIOUS_SECRET must be a strong secret of at least {MIN_HMAC_SECRET_BYTES} "
    "bytes"
)


class ExternalProviderSettings(_Group):
    """An external identity provider whose access tokens are accepted too: all or nothing."""

    jwks_url: AnyHttpUrl | None = Field(
        None,
        validation_alias="external_jwks_url",
        description="JWKS URL of an external identity provider whose tokens are accepted.",
    )
    issuer: str | None = Field(
        None,
        min_length=1,
        validation_alias="external_issuer",
        description="`iss` of the external provider's access tokens.",
    )
    audience: str | None = Field(
        None,
        min_length=1,
        validation_alias="external_audience",
        description="`aud` the external provider's tokens must carry.",
    )
    roles_claim: str | None = Field(
        None,
        min_length=1,
        validation_alias="external_roles_claim",
        description="Claim (dotted path allowed) listing the external user's roles; `admin` "
        "in it makes a newly provisioned account an admin.",
    )

    @model_validator(mode="after")
    def _all_or_nothing(self) -> Self:
        required = {
            "EXTERNAL_JWKS_URL": self.jwks_url,
            "EXTERNAL_ISSUER": self.issuer,
            "EXTERNAL_AUDIENCE": self.audience,
        }
        missing = [variable for variable, value in required.items() if value is None]
        if missing and len(missing) < len(required):
            raise ValueError(
                f"ACCOUNTS_{missing[0]} must be set with the other EXTERNAL_* settings"
            )
        return self

    @property
    def configured(self) -> bool:
        return self.jwks_url is not None


class AccountSettings(_Group):
    """Limits on what one account may hold."""

    password_min_length: int = Field(
        15,
        ge=8,
        le=128,
        validation_alias="password_min_length",
        description="Minimum password length (NIST SP 800-63B-4).",
    )
    api_keys_per_user: int = Field(
        50,
        ge=1,
        le=10_000,
        validation_alias="api_keys_per_user",
        description="The most API keys one user may hold, expired ones included until deleted; "
        "creating one more answers 409 `api_key_limit_reached`.",
    )


class HttpSettings(_Group):
    """Where the server listens and what it accepts from clients."""

    host: str = Field(
        "127.0.0.1",
        validation_alias="host",
        description="Address the server binds to (`accounts serve` and Gunicorn alike).",
    )
    port: int = Field(
        8000,
        ge=1,
        le=65535,
        validation_alias="port",
        description="Port the server binds to (`accounts serve` and Gunicorn alike).",
    )
    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        validation_alias="metrics_port",
        description="Port where `/metrics` is served instead of the API's port: Gunicorn's "
        "master answers there for all its workers (`gunicorn.conf.py` sets 9464 unless given). "
        "Unset, as under `accounts serve`, the API's own port serves `/metrics`.",
    )
    max_body_bytes: int = Field(
        1_048_576,
        ge=1024,
        le=100 * 1_048_576,
        validation_alias="max_body_bytes",
        description="Larger request bodies get 413.",
    )
    max_header_bytes: int = Field(
        65_536,
        ge=4096,
        le=1_048_576,
        validation_alias="max_header_bytes",
        description="Largest request head (request line and headers) the server reads; a "
        "larger one gets 431 and the connection is closed.",
    )
    max_header_count: int = Field(
        100,
        ge=10,
        le=1000,
        validation_alias="max_header_count",
        description="Most header lines one request may have; more get 400 and the connection "
        "is closed.",
    )
    header_timeout_seconds: float = Field(
        10,
        gt=0,
        le=300,
        validation_alias="header_timeout_seconds",
        description="Seconds a client has to send a request's whole head, counted from its "
        "first byte (or from connecting); then the connection is closed.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        validation_alias="cors_origins",
        description="Comma-separated CORS allow-list.",
    )
    forwarded_allow_ips: Annotated[str, AfterValidator(_valid_proxies)] = Field(
        "127.0.0.1",
        validation_alias="forwarded_allow_ips",
        description="Proxies (IPs, CIDRs, comma-separated, or `*`) whose `X-Forwarded-For` is "
        "trusted; resolved right to left.",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_urls(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"CORS origin {origin!r} must start with http:// or https://")
        return value

    @property
    def trusted_proxies(self) -> tuple[IPv4Network | IPv6Network, ...] | None:
        """The proxies whose `X-Forwarded-For` is trusted; None means every peer."""
        return parse_trusted_proxies(self.forwarded_allow_ips)

    @property
    def forwarded_allow_ips_for_uvicorn(self) -> str:
        """The trusted proxies as Uvicorn reads them (it knows `*` only on its own)."""
        return "*" if self.trusted_proxies is None else self.forwarded_allow_ips


class RateLimitSettings(_Group):
    """Where requests are counted and how many each policy allows."""

    enabled: bool = Field(
        True,
        validation_alias="rate_limit_enabled",
        description="Apply the rate limits; `false` turns them and their headers off.",
    )
    storage_url: str = Field(
        "memory://",
        validation_alias="rate_limit_storage_url",
        description="`memory://` (per process) or `redis://host:6379/0`; many workers or "
        "instances need Redis.",
    )
    strategy: Strategy = Field(
        "moving-window",
        validation_alias="rate_limit_strategy",
        description="How a window is counted.",
    )
    anonymous: RateLimit = Field(
        "60/minute",
        validation_alias="rate_limit_anonymous",
        description="Per client IP: unauthenticated requests and bad credentials.",
    )
    user: RateLimit = Field(
        "600/minute", validation_alias="rate_limit_user", description="Per user, for bearer tokens."
    )
    api_key: RateLimit = Field(
        "1200/minute", validation_alias="rate_limit_api_key", description="Per API key."
    )
    client: RateLimit = Field(
        "1200/minute",
        validation_alias="rate_limit_client",
        description="Per client (service account): requests with its access token, and its "
        "introspection calls.",
    )
    login_ip: RateLimit = Field(
        "30/minute",
        validation_alias="rate_limit_login_ip",
        description="Password grants per client IP.",
    )
    login_username: RateLimit = Field(
        "10/minute",
        validation_alias="rate_limit_login_username",
        description="Password grants (and password changes) per (username, client IP) pair: "
        "stops a guesser without locking the owner out at another address.",
    )
    login_account: RateLimit = Field(
        "100/hour",
        validation_alias="rate_limit_login_account",
        description="Password grants per username, whatever the IP: a ceiling on guessing "
        "from many addresses. One client IP may spend half of it, so a lone guesser cannot "
        "lock the owner out; guessers at many addresses can, until the window moves on.",
    )
    registration: RateLimit = Field(
        "10/hour",
        validation_alias="rate_limit_register",
        description="Registrations per client IP.",
    )
    mfa: RateLimit = Field(
        "5/5minute",
        validation_alias="rate_limit_mfa",
        description="Second-factor codes checked per account, right or wrong: at the MFA grant, "
        "enrolment, recovery-code regeneration and removal.",
    )
    mail: RateLimit = Field(
        "5/hour",
        validation_alias="rate_limit_mail",
        description="Mails to one recipient address (verification, reset, email change, "
        "notices), whatever the client IP. When spent, the request answers as usual and the "
        "mail is not sent (logged, counted in `accounts_mail_refused_total`).",
    )
    fail_open: bool = Field(
        True,
        validation_alias="rate_limit_fail_open",
        description="When the storage is down: let requests through and log (`true`), or 503.",
    )
    key_prefix: str = Field(
        "accounts",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        validation_alias="rate_limit_key_prefix",
        description="Prefix of every Redis key, so services or environments can share a Redis.",
    )

    @field_validator("storage_url")
    @classmethod
    def _known_storage(cls, value: str) -> str:
        scheme = value.partition("://")[0]
        if "://" not in value or scheme not in (*MEMORY_STORAGE_SCHEMES, *REDIS_STORAGE_SCHEMES):
            raise ValueError("must be memory:// or redis://host:port/db (async+ forms accepted)")
        return value

    @property
    def redis_url(self) -> str | None:
        """Where the counters live: a Redis URL, or None for this process's memory."""
        scheme = self.storage_url.partition("://")[0]
        return None if scheme in MEMORY_STORAGE_SCHEMES else self.storage_url

    @property
    def per_process(self) -> bool:
        """Whether limits are counted in process memory, so each worker counts on its own."""
        return self.enabled and self.redis_url is None

    def policies(self) -> dict[PolicyName, RateLimitPolicy]:
        """Each configured policy under the name clients see."""
        rates = {
            PolicyName.ANONYMOUS: self.anonymous,
            PolicyName.USER: self.user,
            PolicyName.API_KEY: self.api_key,
            PolicyName.CLIENT: self.client,
            PolicyName.LOGIN_IP: self.login_ip,
            PolicyName.LOGIN_USERNAME: self.login_username,
            PolicyName.LOGIN_ACCOUNT: self.login_account,
            PolicyName.REGISTER: self.registration,
            PolicyName.MFA: self.mfa,
            PolicyName.MAIL: self.mail,
        }
        return {
            name: RateLimitPolicy(name.value, *parse_rate_limit(rate))
            for name, rate in rates.items()
        }


class DocsSettings(_Group):
    """The API's documentation pages and the base of problem `type`s."""

    enabled: bool | None = Field(
        None,
        validation_alias="docs_enabled",
        description="Serve /docs, /redoc, /openapi.json (default: on in development only).",
    )
    error_base_url: BaseUrl = Field(
        None,
        validation_alias="error_docs_base_url",
        description="Base of every problem `type` (default: `PUBLIC_URL` + `/errors`).",
    )


class LoggingSettings(_Group):
    """What is logged, and how it is rendered."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", validation_alias="log_level", description="Lowest level logged."
    )
    format: Literal["console", "json"] | None = Field(
        None,
        validation_alias="log_format",
        description="`console` (default in development) or `json` (default in production).",
    )

    @field_validator("level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class AuditSettings(_Group):
    """How long the audit log keeps its events."""

    retention_days: int = Field(
        400,
        ge=1,
        le=36_500,
        validation_alias="audit_retention_days",
        description="Audit events older than this many days are removed by `accounts purge-audit`.",
    )


MAIL_SCHEMES = ("smtp://", "smtps://", "file:")


class MailSettings(_Group):
    """Where mail goes, who it is from, and how the background sender works."""

    url: SecretStr = Field(
        SecretStr("file:./var/mail"),
        validation_alias="mail_url",
        description="Where mail goes: `smtp://[user:password@]host:port` (STARTTLS when "
        "offered), `smtps://…` (implicit TLS), or `file:DIR` (each message an `.eml` file in "
        "DIR; refused in production). Percent-encode `@` and `:` in the user and password.",
    )
    sender: str = Field(
        "accounts@localhost",
        validation_alias="mail_from",
        description="Sender address, `addr@host` or `Name <addr@host>`.",
    )
    timeout_seconds: float = Field(
        30,
        gt=0,
        le=300,
        validation_alias="mail_timeout_seconds",
        description="Time limit of each SMTP operation, and of the whole send of one message.",
    )
    poll_seconds: float = Field(
        5,
        gt=0,
        le=3600,
        validation_alias="mail_poll_seconds",
        description="How often each worker's sender looks for due mail in the outbox.",
    )
    max_attempts: int = Field(
        12,
        ge=1,
        le=100,
        validation_alias="mail_max_attempts",
        description="Attempts before a message is given up (backoff from 30 s, doubling, "
        "capped at 1 hour: 12 attempts span about 6 hours).",
    )
    sender_enabled: bool = Field(
        True,
        validation_alias="mail_sender_enabled",
        description="Whether this process runs the background sender (every worker may: "
        "claims never overlap). `false` leaves mail queued for other processes.",
    )

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value()
        if not url.startswith(MAIL_SCHEMES):
            raise ValueError("must be smtp://host:port, smtps://host:port or file:DIR")
        if url.startswith("file:") and not url.removeprefix("file:"):
            raise ValueError("file: needs a folder, e.g. file:./var/mail")
        if not url.startswith("file:"):
            parts = urlsplit(url)
            try:
                parts.port  # noqa: B018 - reading it validates it
            except ValueError:
                raise ValueError("has an invalid port") from None
            if not parts.hostname:
                raise ValueError("must name the mail server's host")
        return value

    @field_validator("sender")
    @classmethod
    def _one_address(cls, value: str) -> str:
        _, address = parseaddr(value)
        local, at, domain = address.rpartition("@")
        if any(c in value for c in "\r\n,;") or not (at and local and domain):
            raise ValueError("must be one address like accounts@example.com")
        return value

    @property
    def folder(self) -> Path | None:
        """The folder of the `file:` sink, or None when mail goes to an SMTP server."""
        url = self.url.get_secret_value()
        return Path(url.removeprefix("file:")) if url.startswith("file:") else None


def _link_template(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.startswith(("http://", "https://")) or value.count("{token}") != 1:
        raise ValueError("must be an http(s) URL holding `{token}` once")
    return value


LinkTemplate = Annotated[str | None, AfterValidator(_link_template)]


class MailLinkSettings(_Group):
    """The links mailed to people, and how long their one-time tokens work."""

    verify_email_url: LinkTemplate = Field(
        None,
        validation_alias="verify_email_url",
        description="Link in verification and email-change mail; `{token}` is replaced by the "
        "URL-encoded token (default: `PUBLIC_URL` + `/verify-email?token={token}`).",
    )
    reset_password_url: LinkTemplate = Field(
        None,
        validation_alias="reset_password_url",
        description="Link in password-reset and set-password mail; `{token}` as above "
        "(default: `PUBLIC_URL` + `/reset-password?token={token}`).",
    )
    email_verification_ttl_seconds: int = Field(
        86_400,
        ge=300,
        le=2_592_000,
        validation_alias="email_verification_ttl_seconds",
        description="Lifetime of verification, email-change and set-password links.",
    )
    password_reset_ttl_seconds: int = Field(
        1_800,
        ge=60,
        le=86_400,
        validation_alias="password_reset_ttl_seconds",
        description="Lifetime of password-reset links.",
    )


class _FlatEnvironment(PydanticBaseSettingsSource):
    """Every `ACCOUNTS_*` variable the settings know, under its flat name (case-insensitive)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        raise NotImplementedError  # __call__ reads every variable at once

    def __call__(self) -> dict[str, Any]:
        environment = {name.upper(): value for name, value in os.environ.items()}
        return {
            name: environment[variable]
            for name in FLAT_FIELDS
            if (variable := f"{ENV_PREFIX}{name.upper()}") in environment
        }


class Settings(BaseSettings):
    """Every setting the service reads; see the README's configuration table."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid", validate_default=True)

    env: Environment = Field(Environment.DEVELOPMENT, description="`development` or `production`.")
    public_url: BaseUrl = Field(
        None,
        description="The service's external base URL (scheme, host, optional path), the base "
        "of problem `type`s; default `http://HOST:PORT` in development, required in production.",
    )
    database: DatabaseSettings
    tokens: TokenSettings
    external_provider: ExternalProviderSettings
    accounts: AccountSettings
    http: HttpSettings
    rate_limits: RateLimitSettings
    docs: DocsSettings
    logging: LoggingSettings
    audit: AuditSettings
    mail: MailSettings
    mail_links: MailLinkSettings

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments first, then the environment; no dotenv or secrets files."""
        return init_settings, _FlatEnvironment(settings_cls)

    @model_validator(mode="before")
    @classmethod
    def _group(cls, data: Any) -> Any:
        """Flat names, as in the environment (`jwt_secret`), into their groups."""
        if not isinstance(data, dict):
            return data
        grouped: dict[str, Any] = {group: {} for group in GROUPS}
        for name, value in data.items():
            if name in GROUP_OF:
                grouped[GROUP_OF[name]][name] = value
            else:
                grouped[name] = value
        return grouped

    @model_validator(mode="after")
    def _production_rules(self) -> Self:
        external = self.external_provider
        if external.issuer is not None and external.issuer == self.effective_issuer:
            raise ValueError("ACCOUNTS_EXTERNAL_ISSUER must differ from ACCOUNTS_JWT_ISSUER")
        if not self.is_production:
            return self
        if self.tokens.algorithm == "HS256":
            secret = self.tokens.secret.get_secret_value() if self.tokens.secret else None
            if secret is None or _is_weak(secret):
                raise ValueError(
                    "ACCOUNTS_JWT_SECRET must be set to a strong random value in production"
                )
            previous = self.tokens.previous_secret_value
            if previous is not None and _is_weak(previous):
                raise ValueError(_WEAK_PREVIOUS_SECRET)
        kek = self.tokens.key_encryption_key
        if kek is not None and _is_weak(kek.get_secret_value()):
            raise ValueError(_WEAK_KEY_ENCRYPTION_KEY)
        if kek is None and self.tokens.managed_keys:
            raise ValueError(
                "ACCOUNTS_KEY_ENCRYPTION_KEY must be set in production to seal the managed "
                f"{self.tokens.algorithm} signing keys (or configure a fixed key pair)"
            )
        if external.jwks_url is not None and external.jwks_url.scheme != "https":
            raise ValueError("ACCOUNTS_EXTERNAL_JWKS_URL must use https in production")
        if "*" in self.http.cors_origins:
            raise ValueError("ACCOUNTS_CORS_ORIGINS may not be '*' in production")
        if self.public_url is None:
            raise ValueError(
                "ACCOUNTS_PUBLIC_URL must be set in production to the service's external URL"
            )
        if self.mail.folder is not None:
            raise ValueError("ACCOUNTS_MAIL_URL must name an SMTP server in production")
        return self

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def effective_public_url(self) -> str:
        """`PUBLIC_URL` without its trailing slash; in development, by default where we listen."""
        if self.public_url is not None:
            return str(self.public_url).rstrip("/")
        host = f"[{self.http.host}]" if ":" in self.http.host else self.http.host
        return f"http://{host}:{self.http.port}"

    @property
    def effective_issuer(self) -> str:
        """`iss` of our tokens and the discovery `issuer`: `JWT_ISSUER`, else `PUBLIC_URL`."""
        return self.tokens.issuer or self.effective_public_url

    @property
    def totp_issuer(self) -> str:
        """The name authenticator apps show for our codes: the issuer's host when it is a URL."""
        issuer = self.effective_issuer
        return urlsplit(issuer).netloc or issuer

    @property
    def effective_verify_email_url(self) -> str:
        """The verification link template, by default this service's own page."""
        return self.mail_links.verify_email_url or (
            f"{self.effective_public_url}/verify-email?token={{token}}"
        )

    @property
    def effective_reset_password_url(self) -> str:
        """The password-reset link template, by default this service's own page."""
        return self.mail_links.reset_password_url or (
            f"{self.effective_public_url}/reset-password?token={{token}}"
        )

    @property
    def effective_error_docs_base_url(self) -> str:
        """The base of every problem `type`: never derived from a request's `Host`."""
        if self.docs.error_base_url is not None:
            return str(self.docs.error_base_url).rstrip("/")
        return f"{self.effective_public_url}/errors"

    @property
    def docs_served(self) -> bool:
        return self.docs.enabled if self.docs.enabled is not None else not self.is_production

    @property
    def effective_log_format(self) -> str:
        return self.logging.format or ("json" if self.is_production else "console")

    def pseudonym_key(self) -> str:
        """The secret audit pseudonyms are keyed with.

        `KEY_ENCRYPTION_KEY` when set; in development, one made once and kept under `./var/`,
        so pseudonyms stay comparable across restarts. In production without it, the token
        signing secret (required there anyway): the pseudonymizer derives a key of its own
        from it, so neither can stand in for the other.
        """
        tokens = self.tokens
        if tokens.key_encryption_key is not None:
            return tokens.key_encryption_key.get_secret_value()
        if not self.is_production:
            return development_key(DEVELOPMENT_KEY_FILE)
        if tokens.algorithm == "HS256":
            return tokens.hmac_secret()
        if tokens.private_key_file is None:
            raise ValueError(f"{tokens.algorithm} needs ACCOUNTS_JWT_PRIVATE_KEY_FILE")
        return tokens.private_key_file.read_text()

    def signing_key_secret(self) -> str | None:
        """The secret private signing keys are sealed with: `KEY_ENCRYPTION_KEY`, in development
        the one kept under `./var/`; None in production without it (refused with managed keys)."""
        return self.second_factor_key()

    def second_factor_key(self) -> str | None:
        """The secret second-factor secrets are sealed with, or None when there is none.

        `KEY_ENCRYPTION_KEY` when set; in development, the one kept under `./var/`. Production
        has no fallback: a secret sealed under the signing key would be lost at its rotation,
        locking every enrolled user out, so enrolment is refused (503) until the key is set.
        """
        kek = self.tokens.key_encryption_key
        if kek is not None:
            return kek.get_secret_value()
        if not self.is_production:
            return development_key(DEVELOPMENT_KEY_FILE)
        return None


def development_key(path: Path) -> str:
    """The key kept in `path`, made (readable by its owner only) the first time it is asked for.

    Written whole to a private file, then linked into place: of two processes starting at
    once, one key wins and both read it, never a half-written file.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = path.read_text().strip()
    if len(key) < MIN_KEY_ENCRYPTION_KEY_LENGTH:
        raise ValueError(f"{path} holds no usable key; delete it to have a new one made")
    return key


def _flat_fields() -> tuple[dict[str, FieldInfo], dict[str, str]]:
    """Each setting by its flat name, and the group holding each one that is in a group."""
    fields: dict[str, FieldInfo] = {}
    group_of: dict[str, str] = {}
    for name, info in Settings.model_fields.items():
        group = info.annotation
        if not (isinstance(group, type) and issubclass(group, _Group)):
            fields[name] = info
            continue
        for field_name, field in group.model_fields.items():
            if not isinstance(field.validation_alias, str):
                raise TypeError(f"{group.__name__}.{field_name} must name its variable")
            fields[field.validation_alias] = field
            group_of[field.validation_alias] = name
    return fields, group_of


FLAT_FIELDS, GROUP_OF = _flat_fields()
GROUPS = tuple(dict.fromkeys(GROUP_OF.values()))


def warn_if_limits_split_across_workers(settings: Settings, workers: int) -> None:
    """Several workers with memory storage each allow the full limit: say so at start."""
    if workers > 1 and settings.rate_limits.per_process:
        structlog.get_logger("accounts.settings").warning(
            "rate_limits_counted_per_worker",
            workers=workers,
            detail="each worker counts in its own memory, so clients get up to "
            f"{workers} times every limit; set ACCOUNTS_RATE_LIMIT_STORAGE_URL=redis://...",
        )


def workers_from_environment() -> int:
    """Gunicorn's (and Uvicorn's) `WEB_CONCURRENCY`: how many workers share the service."""
    try:
        return max(1, int(os.environ.get("WEB_CONCURRENCY", "1")))
    except ValueError:
        return 1


class SettingsError(Exception):
    """Configuration is invalid; the message is one line naming the variable."""


def load_settings() -> Settings:
    """Read settings from the environment, or raise `SettingsError` with one clear line."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        names = [str(part) for part in first["loc"] if str(part) in FLAT_FIELDS]
        if names:
            message = f"{ENV_PREFIX}{names[-1].upper()}: {message}"
        raise SettingsError(f"invalid configuration: {message}") from None


def configuration_table() -> str:
    """The README's configuration table, generated from the fields above."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, info in FLAT_FIELDS.items():
        if info.default_factory is not None:
            default = "empty"
        elif info.default is None:
            default = "unset"
        elif isinstance(info.default, SecretStr):
            default = f"`{info.default.get_secret_value()}`"
        else:
            default = f"`{getattr(info.default, 'value', info.default)}`"
        rows.append(f"| `{ENV_PREFIX}{name.upper()}` | {default} | {info.description} |")
    return "\n".join(rows)

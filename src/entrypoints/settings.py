"""Configuration, from `ACCOUNTS_*` environment variables only, validated at start."""

from __future__ import annotations

import functools
import os
import secrets
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal, Self

import limits
import structlog
from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIN_HMAC_SECRET_BYTES = 32
_WEAK_SECRETS = frozenset({"secret", "changeme", "change-me", "password", "jwt-secret", "dev"})


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every setting the service reads; see the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix="ACCOUNTS_", extra="ignore", frozen=True, validate_default=True
    )

    env: Environment = Field(Environment.DEVELOPMENT, description="`development` or `production`.")
    public_url: AnyHttpUrl | None = Field(
        None,
        description="The service's external base URL (scheme, host, optional path), the base "
        "of problem `type`s; default `http://HOST:PORT` in development, required in production.",
    )
    database_url: str = Field(
        "sqlite+aiosqlite:///./accounts.db",
        description="SQLAlchemy async URL; Postgres is `postgresql+asyncpg://…`.",
    )
    db_pool_size: int = Field(10, ge=1, le=1000, description="Connection pool size (Postgres).")
    db_max_overflow: int = Field(
        10, ge=0, le=1000, description="Connections opened beyond the pool under load, then kept."
    )
    db_pool_timeout_seconds: float = Field(
        5, gt=0, le=300, description="Seconds to wait for a pooled connection before a 503."
    )
    jwt_algorithm: Literal["HS256", "RS256", "ES256"] = Field(
        "HS256", description="The one algorithm tokens are signed and verified with."
    )
    jwt_secret: SecretStr | None = Field(
        None, description="HMAC secret for HS256 (≥ 32 bytes); random per process in development."
    )
    jwt_private_key_file: Path | None = Field(None, description="PEM private key for RS256/ES256.")
    jwt_public_key_file: Path | None = Field(None, description="PEM public key for RS256/ES256.")
    jwt_key_id: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="`kid` of the current signing key, sent in every token's header; needed "
        "for key rotation.",
    )
    jwt_previous_key_id: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="`kid` of the previous key during a rotation: its tokens are still accepted.",
    )
    jwt_previous_secret: SecretStr | None = Field(
        None, description="The previous HMAC secret (HS256) during a rotation; verifies only."
    )
    jwt_previous_public_key_file: Path | None = Field(
        None, description="The previous PEM public key (RS256/ES256) during a rotation."
    )
    key_encryption_key: SecretStr | None = Field(
        None,
        description="Secret (≥ 32 characters) that keys the pseudonyms of unknown login names in "
        "the audit log; in development, made once and kept in `./var/key-encryption-key`. "
        "In production it falls back to the token signing secret until set.",
    )
    jwt_issuer: str = Field("accounts", min_length=1, description="`iss` of issued tokens.")
    jwt_audience: str = Field("accounts-api", min_length=1, description="`aud` of tokens.")
    access_token_ttl_seconds: int = Field(
        900, ge=30, le=86_400, description="Access token lifetime."
    )
    refresh_token_ttl_seconds: int = Field(
        2_592_000,
        ge=60,
        le=31_536_000,
        description="Lifetime of each refresh token; every refresh issues a new one.",
    )
    session_max_age_seconds: int = Field(
        7_776_000,
        ge=60,
        le=31_536_000,
        description="Absolute lifetime of a login session: "
        "refreshing never extends a session past it.",
    )
    reauth_max_age_seconds: int = Field(
        300,
        ge=30,
        le=86_400,
        description="How recent the caller's login must be to delete an account "
        "(`DELETE /users/me`, `DELETE /users/{id}`); older logins get 401 "
        "`reauthentication_required` (RFC 9470).",
    )
    external_jwks_url: AnyHttpUrl | None = Field(
        None, description="JWKS URL of an external identity provider whose tokens are accepted."
    )
    external_issuer: str | None = Field(
        None, min_length=1, description="`iss` of the external provider's access tokens."
    )
    external_audience: str | None = Field(
        None, min_length=1, description="`aud` the external provider's tokens must carry."
    )
    external_roles_claim: str | None = Field(
        None,
        min_length=1,
        description="Claim (dotted path allowed) listing the external user's roles; `admin` "
        "in it makes a newly provisioned account an admin.",
    )
    audit_retention_days: int = Field(
        400,
        ge=1,
        le=36_500,
        description="Audit events older than this many days are removed by `accounts purge-audit`.",
    )
    password_min_length: int = Field(
        15, ge=8, le=128, description="Minimum password length (NIST SP 800-63B-4)."
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, le=100 * 1_048_576, description="Larger request bodies get 413."
    )
    max_header_bytes: int = Field(
        65_536,
        ge=4096,
        le=1_048_576,
        description="Largest request head (request line and headers) the server reads; a "
        "larger one gets 431 and the connection is closed.",
    )
    max_header_count: int = Field(
        100,
        ge=10,
        le=1000,
        description="Most header lines one request may have; more get 400 and the connection "
        "is closed.",
    )
    header_timeout_seconds: float = Field(
        10,
        gt=0,
        le=300,
        description="Seconds a client has to send a request's whole head, counted from its "
        "first byte (or from connecting); then the connection is closed.",
    )
    api_keys_per_user: int = Field(
        50,
        ge=1,
        le=10_000,
        description="The most API keys one user may hold, expired ones included until deleted; "
        "creating one more answers 409 `api_key_limit_reached`.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated CORS allow-list."
    )
    rate_limit_enabled: bool = Field(
        True, description="Apply the rate limits; `false` turns them and their headers off."
    )
    rate_limit_storage_url: str = Field(
        "memory://",
        description="`memory://` (per process) or `redis://host:6379/0`; many workers or "
        "instances need Redis.",
    )
    rate_limit_strategy: Literal["fixed-window", "moving-window", "sliding-window-counter"] = Field(
        "moving-window", description="How a window is counted."
    )
    rate_limit_anonymous: str = Field(
        "60/minute", description="Per client IP: unauthenticated requests and bad credentials."
    )
    rate_limit_user: str = Field("600/minute", description="Per user, for bearer tokens.")
    rate_limit_api_key: str = Field("1200/minute", description="Per API key.")
    rate_limit_login_ip: str = Field("30/minute", description="Password grants per client IP.")
    rate_limit_login_username: str = Field(
        "10/minute",
        description="Password grants (and password changes) per (username, client IP) pair: "
        "stops a guesser without locking the owner out at another address.",
    )
    rate_limit_login_account: str = Field(
        "100/hour",
        description="Password grants per username, whatever the IP: a ceiling on guessing "
        "from many addresses. One client IP may spend half of it, so a lone guesser cannot "
        "lock the owner out; guessers at many addresses can, until the window moves on.",
    )
    rate_limit_register: str = Field("10/hour", description="Registrations per client IP.")
    rate_limit_fail_open: bool = Field(
        True,
        description="When the storage is down: let requests through and log (`true`), or 503.",
    )
    rate_limit_key_prefix: str = Field(
        "accounts",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Prefix of every Redis key, so services or environments can share a Redis.",
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="Proxies (IPs, CIDRs, comma-separated, or `*`) whose `X-Forwarded-For` is "
        "trusted; resolved right to left.",
    )
    docs_enabled: bool | None = Field(
        None,
        description="Serve /docs, /redoc, /openapi.json (default: on in development only).",
    )
    error_docs_base_url: AnyHttpUrl | None = Field(
        None, description="Base of every problem `type` (default: `PUBLIC_URL` + `/errors`)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", description="Lowest level logged."
    )
    log_format: Literal["console", "json"] | None = Field(
        None, description="`console` (default in development) or `json` (default in production)."
    )
    host: str = Field("127.0.0.1", description="Address `accounts serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `accounts serve` binds to.")
    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Port where `/metrics` is served instead of the API's port: Gunicorn's "
        "master answers there for all its workers (`gunicorn.conf.py` sets 9464 unless given). "
        "Unset, as under `accounts serve`, the API's own port serves `/metrics`.",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

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

    @field_validator(
        "rate_limit_anonymous",
        "rate_limit_user",
        "rate_limit_api_key",
        "rate_limit_login_ip",
        "rate_limit_login_username",
        "rate_limit_login_account",
        "rate_limit_register",
    )
    @classmethod
    def _one_rate_limit(cls, value: str) -> str:
        parse_rate_limit(value)
        return value

    @field_validator("rate_limit_storage_url")
    @classmethod
    def _known_storage(cls, value: str) -> str:
        scheme = value.partition("://")[0]
        if "://" not in value or scheme not in RATE_LIMIT_STORAGE_SCHEMES:
            raise ValueError("must be memory:// or redis://host:port/db (async+ forms accepted)")
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        parse_trusted_proxies(value)
        return value

    @field_validator("public_url", "error_docs_base_url")
    @classmethod
    def _base_url(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        if value is not None and (value.query is not None or value.fragment is not None):
            raise ValueError("must be a base URL, without a query or a fragment")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must be sqlite+aiosqlite://… or postgresql+asyncpg://…")
        return value

    @model_validator(mode="after")
    def _keys_and_production_rules(self) -> Self:
        if self.jwt_algorithm == "HS256":
            secret = self.jwt_secret.get_secret_value() if self.jwt_secret else None
            if secret is not None and len(secret.encode()) < MIN_HMAC_SECRET_BYTES:
                raise ValueError(
                    f"ACCOUNTS_JWT_SECRET must be at least {MIN_HMAC_SECRET_BYTES} bytes"
                )
            if self.is_production and (secret is None or _is_weak(secret)):
                raise ValueError(
                    "ACCOUNTS_JWT_SECRET must be set to a strong random value in production"
                )
        else:
            for name in ("jwt_private_key_file", "jwt_public_key_file"):
                path = getattr(self, name)
                if path is None or not path.is_file():
                    raise ValueError(
                        f"ACCOUNTS_{name.upper()} must name a readable PEM file for "
                        f"{self.jwt_algorithm}"
                    )
        self._check_previous_key()
        self._check_external_provider()
        self._check_key_encryption_key()
        if self.is_production and "*" in self.cors_origins:
            raise ValueError("ACCOUNTS_CORS_ORIGINS may not be '*' in production")
        if self.is_production and self.public_url is None:
            raise ValueError(
                "ACCOUNTS_PUBLIC_URL must be set in production to the service's external URL"
            )
        return self

    def _check_key_encryption_key(self) -> None:
        if self.key_encryption_key is None:
            return
        key = self.key_encryption_key.get_secret_value()
        if len(key) < MIN_KEY_ENCRYPTION_KEY_LENGTH or (self.is_production and _is_weak(key)):
            raise ValueError(
                "ACCOUNTS_KEY_ENCRYPTION_KEY must be a strong secret of at least "
                f"{MIN_KEY_ENCRYPTION_KEY_LENGTH} characters"
            )

    def _check_previous_key(self) -> None:
        """A previous key comes with its own `kid`, distinct from the current one's."""
        secret = self.jwt_previous_secret.get_secret_value() if self.jwt_previous_secret else None
        key_file = self.jwt_previous_public_key_file
        if self.jwt_previous_key_id is None:
            if secret is not None or key_file is not None:
                raise ValueError("ACCOUNTS_JWT_PREVIOUS_KEY_ID must name the previous key")
            return
        if self.jwt_key_id is None:
            raise ValueError("ACCOUNTS_JWT_KEY_ID must be set when a previous key is")
        if self.jwt_previous_key_id == self.jwt_key_id:
            raise ValueError("ACCOUNTS_JWT_PREVIOUS_KEY_ID must differ from ACCOUNTS_JWT_KEY_ID")
        if self.jwt_algorithm == "HS256":
            if key_file is not None:
                raise ValueError("ACCOUNTS_JWT_PREVIOUS_PUBLIC_KEY_FILE is for RS256/ES256")
            if secret is None:
                raise ValueError("ACCOUNTS_JWT_PREVIOUS_SECRET must be set for HS256")
            if len(secret.encode()) < MIN_HMAC_SECRET_BYTES or (
                self.is_production and _is_weak(secret)
            ):
                raise ValueError(
                    "ACCOUNTS_JWT_PREVIOUS_SECRET must be a strong secret of at least "
                    f"{MIN_HMAC_SECRET_BYTES} bytes"
                )
        else:
            if secret is not None:
                raise ValueError("ACCOUNTS_JWT_PREVIOUS_SECRET is for HS256")
            if key_file is None or not key_file.is_file():
                raise ValueError(
                    "ACCOUNTS_JWT_PREVIOUS_PUBLIC_KEY_FILE must name a readable PEM file"
                )

    def _check_external_provider(self) -> None:
        external = {
            "external_jwks_url": self.external_jwks_url,
            "external_issuer": self.external_issuer,
            "external_audience": self.external_audience,
        }
        missing = [name for name, value in external.items() if value is None]
        if missing and len(missing) < len(external):
            raise ValueError(
                f"ACCOUNTS_{missing[0].upper()} must be set with the other EXTERNAL_* settings"
            )
        if self.external_issuer is not None and self.external_issuer == self.jwt_issuer:
            raise ValueError("ACCOUNTS_EXTERNAL_ISSUER must differ from ACCOUNTS_JWT_ISSUER")
        url = self.external_jwks_url
        if url is not None and self.is_production and url.scheme != "https":
            raise ValueError("ACCOUNTS_EXTERNAL_JWKS_URL must use https in production")

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def effective_public_url(self) -> str:
        """`PUBLIC_URL` without its trailing slash; in development, by default where we listen."""
        if self.public_url is not None:
            return str(self.public_url).rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def effective_error_docs_base_url(self) -> str:
        """The base of every problem `type`: never derived from a request's `Host`."""
        if self.error_docs_base_url is not None:
            return str(self.error_docs_base_url).rstrip("/")
        return f"{self.effective_public_url}/errors"

    @property
    def docs_served(self) -> bool:
        return self.docs_enabled if self.docs_enabled is not None else not self.is_production

    @property
    def effective_log_format(self) -> str:
        return self.log_format or ("json" if self.is_production else "console")

    @property
    def rate_limits_per_process(self) -> bool:
        """Whether limits are counted in process memory, so each worker counts on its own."""
        scheme = self.rate_limit_storage_url.partition("://")[0]
        return self.rate_limit_enabled and scheme in MEMORY_STORAGE_SCHEMES

    @property
    def forwarded_allow_ips_for_uvicorn(self) -> str:
        """The trusted proxies as Uvicorn reads them (it knows `*` only on its own)."""
        if parse_trusted_proxies(self.forwarded_allow_ips) is None:
            return "*"
        return self.forwarded_allow_ips

    def rate_limit(self, name: str) -> tuple[int, int]:
        """The `rate_limit_<name>` setting as (requests, window in seconds)."""
        value: str = getattr(self, f"rate_limit_{name}")
        return parse_rate_limit(value)

    def hmac_secret(self) -> str:
        """The HS256 secret; in development without one, a random secret for this process."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        return _process_secret()

    def pseudonym_key(self) -> str:
        """The secret audit pseudonyms are keyed with.

        `KEY_ENCRYPTION_KEY` when set; in development, one made once and kept under `./var/`,
        so pseudonyms stay comparable across restarts. In production without it, the token
        signing secret (required there anyway): the pseudonymizer derives a key of its own
        from it, so neither can stand in for the other.
        """
        if self.key_encryption_key is not None:
            return self.key_encryption_key.get_secret_value()
        if not self.is_production:
            return development_key(DEVELOPMENT_KEY_FILE)
        if self.jwt_algorithm == "HS256":
            return self.hmac_secret()
        if self.jwt_private_key_file is None:
            raise ValueError(f"{self.jwt_algorithm} needs ACCOUNTS_JWT_PRIVATE_KEY_FILE")
        return self.jwt_private_key_file.read_text()


MIN_KEY_ENCRYPTION_KEY_LENGTH = 32
DEVELOPMENT_KEY_FILE = Path("var/key-encryption-key")


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


@functools.cache
def _process_secret() -> str:
    """One random secret per process, made on first use."""
    return secrets.token_urlsafe(48)


def _is_weak(secret: str) -> bool:
    return (
        secret.lower() in _WEAK_SECRETS
        or len(set(secret)) < 8
        or len(secret.encode()) < MIN_HMAC_SECRET_BYTES
    )


# The schemes the rate-limit adapter opens (`adapters.rate_limiting.storage`, which the settings
# may not import; a test keeps the two lists equal).
MEMORY_STORAGE_SCHEMES = ("memory", "async+memory")
REDIS_STORAGE_SCHEMES = ("redis", "rediss", "async+redis", "async+rediss")
RATE_LIMIT_STORAGE_SCHEMES = (*MEMORY_STORAGE_SCHEMES, *REDIS_STORAGE_SCHEMES)


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


def warn_if_limits_split_across_workers(settings: Settings, workers: int) -> None:
    """Several workers with memory storage each allow the full limit: say so at start."""
    if workers > 1 and settings.rate_limits_per_process:
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
        field = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        if field:
            message = f"ACCOUNTS_{field.upper()}: {message}"
        raise SettingsError(f"invalid configuration: {message}") from None


def configuration_table() -> str:
    """The README's configuration table, generated from the fields above."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        if info.default_factory is not None:
            default = "empty"
        elif info.default is None:
            default = "unset"
        else:
            default = f"`{getattr(info.default, 'value', info.default)}`"
        rows.append(f"| `ACCOUNTS_{name.upper()}` | {default} | {info.description} |")
    return "\n".join(rows)

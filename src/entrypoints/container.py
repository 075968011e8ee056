"""The composition root: the only module that imports adapters.

Everything with a lifetime (engine, hashing threads) is a `providers.Resource`, opened in the
app's lifespan and closed after it; tests replace any provider with `.override(...)`.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from dependency_injector import containers, providers
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.identity.common_passwords import load_common_passwords
from adapters.identity.external_tokens import JwksTokenVerifier
from adapters.identity.jwt_tokens import JwtKeys, JwtTokenService
from adapters.identity.password_hasher import Argon2PasswordHasher
from adapters.identity.pseudonyms import HmacPseudonymizer
from adapters.persistence.database import create_engine, create_session_factory, describe, ping
from adapters.persistence.gate import ConnectionGate
from adapters.persistence.principal_reader import SqlAlchemyPrincipalReader
from adapters.persistence.unit_of_work import unit_of_work_factory
from adapters.rate_limiting.storage import open_rate_limiter
from adapters.system.clock import SystemClock
from adapters.system.ids import UuidV7Generator
from adapters.system.secrets import OsSecretGenerator
from application.audit import AuditEvents
from application.external_accounts import ExternalAccounts
from application.ports import ExternalTokenVerifier
from application.ports.rate_limiting import RateLimiter
from application.rate_limiting import Throttle
from application.sessions import SessionIssuer
from application.use_cases.authenticate_with_password import AuthenticateWithPassword
from application.use_cases.change_password import ChangePassword
from application.use_cases.create_api_key import CreateApiKey
from application.use_cases.delete_account import DeleteAccount
from application.use_cases.delete_api_key import DeleteApiKey
from application.use_cases.end_all_sessions import EndAllSessions
from application.use_cases.end_session import EndSession
from application.use_cases.export_account import ExportAccount
from application.use_cases.get_own_profile import GetOwnProfile
from application.use_cases.get_user import GetUser
from application.use_cases.list_api_keys import ListApiKeys
from application.use_cases.list_audit_events import ListAuditEvents
from application.use_cases.list_sessions import ListSessions
from application.use_cases.list_users import ListUsers
from application.use_cases.purge_audit_events import PurgeAuditEvents
from application.use_cases.purge_ended_sessions import PurgeEndedSessions
from application.use_cases.refresh_access_token import RefreshAccessToken
from application.use_cases.register_user import RegisterUser
from application.use_cases.resolve_api_key_principal import ResolveApiKeyPrincipal
from application.use_cases.resolve_principal import ResolvePrincipal
from application.use_cases.revoke_token import RevokeToken
from application.use_cases.update_own_profile import UpdateOwnProfile
from application.use_cases.update_user import UpdateUser
from domain.users import PasswordPolicy
from entrypoints.metrics import Metrics, PrometheusRateLimitObserver
from entrypoints.settings import Settings, workers_from_environment


async def _engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(
        settings.database.url,
        pool_size=settings.database.pool_size,
        max_overflow=settings.database.max_overflow,
        pool_timeout=settings.database.pool_timeout_seconds,
    )
    try:
        yield engine
    finally:
        await engine.dispose()


def hashing_threads(workers: int, cores: int | None = None) -> int:
    """Hashing threads per worker: the machine's cores shared out among its workers.

    Each hash uses one core and 19 MiB while it runs; more threads than cores only make every
    hash slower, take memory, and take CPU from the event loops. At least one per worker.
    """
    if cores is None:
        cores = (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count() or 1
        )
    return max(1, cores // max(1, workers))


def _hasher() -> Iterator[Argon2PasswordHasher]:
    hasher = Argon2PasswordHasher(
        max_threads=hashing_threads(workers_from_environment()),
    )
    try:
        yield hasher
    finally:
        hasher.close()


def _jwt_keys(settings: Settings) -> JwtKeys:
    previous: dict[str, str | bytes] = {}
    if settings.tokens.previous_key_id is not None:
        if settings.tokens.previous_secret is not None:
            previous[settings.tokens.previous_key_id] = (
                settings.tokens.previous_secret.get_secret_value()
            )
        elif settings.tokens.previous_public_key_file is not None:
            previous[settings.tokens.previous_key_id] = (
                settings.tokens.previous_public_key_file.read_bytes()
            )
    if settings.tokens.algorithm == "HS256":
        secret = settings.tokens.hmac_secret()
        return JwtKeys(
            "HS256",
            signing_key=secret,
            verification_key=secret,
            key_id=settings.tokens.key_id,
            previous_keys=previous,
        )
    private, public = settings.tokens.private_key_file, settings.tokens.public_key_file
    if private is None or public is None:
        raise ValueError(f"{settings.tokens.algorithm} needs both key files")
    return JwtKeys(
        settings.tokens.algorithm,
        signing_key=private.read_bytes(),
        verification_key=public.read_bytes(),
        key_id=settings.tokens.key_id,
        previous_keys=previous,
    )


def _external_tokens(settings: Settings) -> ExternalTokenVerifier | None:
    """The identity provider's verifier, when `EXTERNAL_*` names one."""
    if (
        settings.external_provider.jwks_url is None
        or settings.external_provider.issuer is None
        or settings.external_provider.audience is None
    ):
        return None
    return JwksTokenVerifier(
        jwks_url=str(settings.external_provider.jwks_url),
        issuer=settings.external_provider.issuer,
        audience=settings.external_provider.audience,
        roles_claim=settings.external_provider.roles_claim,
    )


async def _rate_limiter(settings: Settings) -> AsyncIterator[RateLimiter]:
    async with open_rate_limiter(
        settings.rate_limits.redis_url,
        settings.rate_limits.strategy,
        key_prefix=settings.rate_limits.key_prefix,
    ) as limiter:
        yield limiter


class Container(containers.DeclarativeContainer):
    """Builds adapters from settings and hands them to the use cases."""

    settings = providers.Dependency(instance_of=Settings)

    engine = providers.Resource(_engine, settings)
    session_factory = providers.Singleton(create_session_factory, engine)
    gate = providers.Singleton(
        ConnectionGate,
        size=settings.provided.database.connections,
        timeout=settings.provided.database.pool_timeout_seconds,
    )
    uow = providers.Singleton(unit_of_work_factory, session_factory, gate)
    principal_reader = providers.Singleton(SqlAlchemyPrincipalReader, engine, gate)

    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(UuidV7Generator)
    secrets = providers.Singleton(OsSecretGenerator)
    audit_events = providers.Singleton(AuditEvents, ids=ids)
    pseudonyms = providers.Singleton(HmacPseudonymizer, settings.provided.pseudonym_key)
    hasher = providers.Resource(_hasher)
    tokens = providers.Singleton(
        JwtTokenService,
        keys=providers.Callable(_jwt_keys, settings),
        issuer=settings.provided.tokens.issuer,
        audience=settings.provided.tokens.audience,
        access_token_ttl=providers.Callable(
            lambda s: timedelta(seconds=s.tokens.access_ttl_seconds), settings
        ),
    )
    password_policy = providers.Singleton(
        PasswordPolicy,
        min_length=settings.provided.accounts.password_min_length,
        blocklist=providers.Singleton(load_common_passwords),
    )

    sessions = providers.Singleton(
        SessionIssuer,
        tokens=tokens,
        secrets=secrets,
        ids=ids,
        refresh_token_lifetime=providers.Callable(
            lambda s: timedelta(seconds=s.tokens.refresh_ttl_seconds), settings
        ),
        session_lifetime=providers.Callable(
            lambda s: timedelta(seconds=s.tokens.session_max_age_seconds), settings
        ),
    )
    external_tokens = providers.Singleton(_external_tokens, settings)
    external_accounts = providers.Singleton(
        ExternalAccounts, uow=uow, clock=clock, ids=ids, events=audit_events
    )

    register_user = providers.Singleton(
        RegisterUser,
        uow=uow,
        hasher=hasher,
        clock=clock,
        ids=ids,
        policy=password_policy,
        events=audit_events,
    )
    authenticate = providers.Singleton(
        AuthenticateWithPassword,
        uow=uow,
        hasher=hasher,
        sessions=sessions,
        clock=clock,
        policy=password_policy,
        events=audit_events,
        pseudonyms=pseudonyms,
    )
    refresh = providers.Singleton(
        RefreshAccessToken, uow=uow, sessions=sessions, clock=clock, events=audit_events
    )
    purge_ended_sessions = providers.Singleton(PurgeEndedSessions, uow=uow, clock=clock)
    purge_audit_events = providers.Singleton(
        PurgeAuditEvents,
        uow=uow,
        clock=clock,
        retention=providers.Callable(lambda s: timedelta(days=s.audit.retention_days), settings),
    )
    revoke = providers.Singleton(
        RevokeToken, uow=uow, verifier=tokens, clock=clock, events=audit_events
    )
    resolve_principal = providers.Singleton(
        ResolvePrincipal,
        reader=principal_reader,
        verifier=tokens,
        external=external_tokens,
        external_accounts=external_accounts,
    )
    resolve_api_key = providers.Singleton(
        ResolveApiKeyPrincipal, reader=principal_reader, uow=uow, clock=clock
    )
    change_password = providers.Singleton(
        ChangePassword,
        uow=uow,
        hasher=hasher,
        clock=clock,
        policy=password_policy,
        events=audit_events,
    )
    create_api_key = providers.Singleton(
        CreateApiKey,
        uow=uow,
        clock=clock,
        ids=ids,
        secrets=secrets,
        events=audit_events,
        keys_per_user=settings.provided.accounts.api_keys_per_user,
    )
    list_api_keys = providers.Singleton(ListApiKeys, uow=uow)
    delete_api_key = providers.Singleton(DeleteApiKey, uow=uow, clock=clock, events=audit_events)
    get_own_profile = providers.Singleton(GetOwnProfile)
    update_own_profile = providers.Singleton(
        UpdateOwnProfile, uow=uow, clock=clock, events=audit_events
    )
    list_users = providers.Singleton(ListUsers, uow=uow)
    get_user = providers.Singleton(GetUser, uow=uow)
    update_user = providers.Singleton(UpdateUser, uow=uow, clock=clock, events=audit_events)
    list_audit_events = providers.Singleton(ListAuditEvents, uow=uow)
    list_sessions = providers.Singleton(ListSessions, uow=uow, clock=clock)
    end_session = providers.Singleton(EndSession, uow=uow, clock=clock, events=audit_events)
    end_all_sessions = providers.Singleton(
        EndAllSessions, uow=uow, clock=clock, events=audit_events
    )
    delete_account = providers.Singleton(
        DeleteAccount,
        uow=uow,
        clock=clock,
        events=audit_events,
        reauth_max_age=providers.Callable(
            lambda s: timedelta(seconds=s.tokens.reauth_max_age_seconds), settings
        ),
    )
    export_account = providers.Singleton(ExportAccount, uow=uow, clock=clock)

    metrics = providers.Singleton(Metrics)
    rate_limiter = providers.Resource(_rate_limiter, settings)
    rate_limit_observer = providers.Singleton(PrometheusRateLimitObserver, metrics)
    throttle = providers.Singleton(
        Throttle,
        limiter=rate_limiter,
        policies=settings.provided.rate_limits.policies.call(),
        observer=rate_limit_observer,
        fail_open=settings.provided.rate_limits.fail_open,
    )


@dataclass(frozen=True, slots=True)
class Services:
    """Everything the HTTP layer calls, resolved once at start-up (no per-request graphs)."""

    register_user: RegisterUser
    authenticate: AuthenticateWithPassword
    refresh: RefreshAccessToken
    revoke: RevokeToken
    resolve_principal: ResolvePrincipal
    resolve_api_key: ResolveApiKeyPrincipal
    change_password: ChangePassword
    create_api_key: CreateApiKey
    list_api_keys: ListApiKeys
    delete_api_key: DeleteApiKey
    get_own_profile: GetOwnProfile
    update_own_profile: UpdateOwnProfile
    list_users: ListUsers
    get_user: GetUser
    update_user: UpdateUser
    list_audit_events: ListAuditEvents
    list_sessions: ListSessions
    end_session: EndSession
    end_all_sessions: EndAllSessions
    delete_account: DeleteAccount
    export_account: ExportAccount
    engine: AsyncEngine
    metrics: Metrics
    # None when ACCOUNTS_RATE_LIMIT_ENABLED=false: nothing is counted and no header is sent.
    throttle: Throttle | None

    async def check_database(self) -> None:
        """Raise `StorageNotMigrated` when the database has no schema, `StorageUnavailable`
        when it does not answer."""
        await ping(self.engine)


async def resolve(provider: providers.Provider[Any]) -> Any:
    """A provider's value; providers that depend on async resources hand back awaitables."""
    value = provider()
    return await value if inspect.isawaitable(value) else value


async def build_services(container: Container) -> Services:
    """Open the container's resources and resolve every service once."""
    await _resolve_resources(container)
    return Services(
        register_user=await resolve(container.register_user),
        authenticate=await resolve(container.authenticate),
        refresh=await resolve(container.refresh),
        revoke=await resolve(container.revoke),
        resolve_principal=await resolve(container.resolve_principal),
        resolve_api_key=await resolve(container.resolve_api_key),
        change_password=await resolve(container.change_password),
        create_api_key=await resolve(container.create_api_key),
        list_api_keys=await resolve(container.list_api_keys),
        delete_api_key=await resolve(container.delete_api_key),
        get_own_profile=await resolve(container.get_own_profile),
        update_own_profile=await resolve(container.update_own_profile),
        list_users=await resolve(container.list_users),
        get_user=await resolve(container.get_user),
        update_user=await resolve(container.update_user),
        list_audit_events=await resolve(container.list_audit_events),
        list_sessions=await resolve(container.list_sessions),
        end_session=await resolve(container.end_session),
        end_all_sessions=await resolve(container.end_all_sessions),
        delete_account=await resolve(container.delete_account),
        export_account=await resolve(container.export_account),
        engine=await resolve(container.engine),
        metrics=await resolve(container.metrics),
        throttle=(
            await resolve(container.throttle) if container.settings().rate_limits.enabled else None
        ),
    )


async def _resolve_resources(container: Container) -> None:
    result = container.init_resources()
    if inspect.isawaitable(result):
        await result


async def shutdown(container: Container) -> None:
    """Close every resource the container opened."""
    result = container.shutdown_resources()
    if inspect.isawaitable(result):
        await result


async def check_database(settings: Settings) -> None:
    """As `Services.check_database`, on an engine of its own, for commands that need a schema."""
    engine = create_engine(
        settings.database.url,
        pool_size=1,
        max_overflow=0,
        pool_timeout=settings.database.pool_timeout_seconds,
    )
    try:
        await ping(engine)
    finally:
        await engine.dispose()


def database_location(settings: Settings) -> tuple[str, str]:
    """Where the configured database is, for an operator (a SQLite file's absolute path, or a
    server's `host:port/database`), and its URL without the password."""
    return describe(settings.database.url)


def migrate_database(settings: Settings, revision: str = "head") -> None:
    """Apply migrations up to `revision` (a separate step, never inside a worker's start)."""
    # Imported here, not at the top: workers never migrate, and loading Alembic in each of
    # them costs start-up time and a burst of its log lines.
    from adapters.persistence import migrator  # noqa: PLC0415

    migrator.upgrade(settings.database.url, revision)

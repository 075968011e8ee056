"""The composition root: the only module that imports adapters.

Everything with a lifetime (engine, hashing threads) is a `providers.Resource`, opened in the
app's lifespan and closed after it; every singleton is built once when it starts (`start`).
Tests replace any provider with `.override(...)`. A new use case is one provider here; a route
takes it with `Depends(provided(Container.<name>))`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import structlog
from dependency_injector import containers, providers
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.identity.common_passwords import load_common_passwords
from adapters.identity.external_tokens import JwksTokenVerifier
from adapters.identity.jwt_tokens import ConfiguredKeys, JwtKeys, JwtTokenService, ManagedKeys
from adapters.identity.key_pairs import CryptographyKeyPairGenerator
from adapters.identity.password_hasher import Argon2PasswordHasher
from adapters.identity.pseudonyms import HmacPseudonymizer
from adapters.identity.published import published
from adapters.identity.secret_box import AesGcmSecretBox
from adapters.identity.totp import CryptographyOneTimePasswords
from adapters.mail.compose import parse_sender
from adapters.mail.file_sink import FileMailer
from adapters.mail.smtp import SmtpMailer, SmtpServer
from adapters.mail.templates import MailTemplates
from adapters.persistence.database import (
    SqlAlchemyDatabaseProbe,
    create_engine,
    create_session_factory,
    describe,
    ping,
)
from adapters.persistence.gate import ConnectionGate
from adapters.persistence.principal_reader import SqlAlchemyPrincipalReader
from adapters.persistence.unit_of_work import unit_of_work_factory
from adapters.rate_limiting.storage import open_rate_limiter
from adapters.system.clock import SystemClock
from adapters.system.ids import UuidV7Generator
from adapters.system.secrets import OsSecretGenerator
from application.audit import AuditEvents
from application.external_accounts import ExternalAccounts
from application.mail_links import LinkSettings, MailLinks
from application.mail_sender import MailDoorbell, MailSender
from application.ports import ExternalTokenVerifier
from application.ports.mail import MailDeliveryObserver, Mailer
from application.ports.rate_limiting import RateLimiter
from application.rate_limiting import Throttle, ThrottledMailQuota
from application.second_factor import SecondFactorCodes
from application.sessions import SessionIssuer
from application.signing_key_refresher import SigningKeyRefresher
from application.signing_keys import SigningKeyPolicy, load_key_set, unseal
from application.use_cases.authenticate_with_password import AuthenticateWithPassword
from application.use_cases.change_password import ChangePassword
from application.use_cases.check_readiness import CheckReadiness
from application.use_cases.client_credentials import (
    AuthenticateClient,
    IssueClientToken,
    ResolveClientPrincipal,
)
from application.use_cases.complete_mfa_login import CompleteMfaLogin, FindMfaChallenge
from application.use_cases.confirm_password_reset import ConfirmPasswordReset
from application.use_cases.confirm_totp_enrolment import ConfirmTotpEnrolment
from application.use_cases.create_api_key import CreateApiKey
from application.use_cases.create_user import CreateUser
from application.use_cases.delete_account import DeleteAccount
from application.use_cases.delete_api_key import DeleteApiKey
from application.use_cases.deliver_mail import DeliverMail, RetrySchedule
from application.use_cases.disable_totp import DisableTotp
from application.use_cases.end_all_sessions import EndAllSessions
from application.use_cases.end_session import EndSession
from application.use_cases.erase_retired_signing_keys import EraseRetiredSigningKeys
from application.use_cases.export_account import ExportAccount
from application.use_cases.get_own_profile import GetOwnProfile
from application.use_cases.get_user import GetUser
from application.use_cases.introspect_token import IntrospectToken
from application.use_cases.list_api_keys import ListApiKeys
from application.use_cases.list_audit_events import ListAuditEvents
from application.use_cases.list_sessions import ListSessions
from application.use_cases.list_signing_keys import ListSigningKeys
from application.use_cases.list_users import ListUsers
from application.use_cases.manage_clients import CreateClient, DeleteClient, ListClients
from application.use_cases.purge_audit_events import PurgeAuditEvents
from application.use_cases.purge_ended_sessions import PurgeEndedSessions
from application.use_cases.refresh_access_token import RefreshAccessToken
from application.use_cases.regenerate_recovery_codes import RegenerateRecoveryCodes
from application.use_cases.register_user import RegisterUser
from application.use_cases.request_email_change import RequestEmailChange
from application.use_cases.request_password_reset import RequestPasswordReset
from application.use_cases.resolve_api_key_principal import ResolveApiKeyPrincipal
from application.use_cases.resolve_principal import ResolvePrincipal
from application.use_cases.revoke_token import RevokeToken
from application.use_cases.rotate_signing_key import RotateSigningKey
from application.use_cases.send_verification_email import SendVerificationEmail
from application.use_cases.start_totp_enrolment import StartTotpEnrolment
from application.use_cases.update_own_profile import UpdateOwnProfile
from application.use_cases.update_user import UpdateUser
from application.use_cases.verify_email import VerifyEmail
from domain.users import PasswordPolicy
from entrypoints.discovery import authorization_server_metadata
from entrypoints.metrics import Metrics, PrometheusMailObserver, PrometheusRateLimitObserver
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


# How long a retired key stays published past the access-token lifetime: clocks disagree.
RETIRED_KEY_MARGIN = timedelta(minutes=5)
# How often each worker asks whether the stored signing keys changed (one small query).
SIGNING_KEY_POLL_SECONDS = 5.0


def _signing_key_policy(settings: Settings) -> SigningKeyPolicy:
    tokens = settings.tokens
    return SigningKeyPolicy(
        algorithm=tokens.algorithm,
        publication_delay=timedelta(seconds=tokens.jwks_max_age_seconds),
        keep_after_retirement=timedelta(seconds=tokens.access_ttl_seconds) + RETIRED_KEY_MARGIN,
        rotate_every=(
            timedelta(days=tokens.signing_key_rotation_days)
            if tokens.signing_key_rotation_days
            else None
        ),
    )


def _keyring(settings: Settings, policy: SigningKeyPolicy) -> ManagedKeys | ConfiguredKeys:
    """Managed keys (installed by the refresher), or the secret or fixed pair of settings."""
    if settings.tokens.managed_keys:
        return ManagedKeys(policy.keep_after_retirement)
    return ConfiguredKeys(_jwt_keys(settings))


def _refresh_failed(error: Exception) -> None:
    structlog.get_logger("accounts.signing_keys").error(
        "signing_key_refresh_failed", error=type(error).__name__, detail=str(error)
    )


async def _signing_key_refresher(
    settings: Settings, enabled: bool, refresher: SigningKeyRefresher
) -> AsyncIterator[SigningKeyRefresher | None]:
    """This worker's keyring refresher, with managed keys: the first key made (when none
    exists) and the keys installed before the app serves, then kept current in the background."""
    if not enabled or not settings.tokens.managed_keys:
        yield None
        return
    await refresher.start()
    task = asyncio.create_task(refresher.run(), name="signing-key-refresher")
    try:
        yield refresher
    finally:
        refresher.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, settings.database.pool_timeout_seconds)


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


def _throttle(enabled: bool, **arguments: Any) -> Throttle | None:
    """The rate limits, or None when they are off: nothing is counted and no header is sent."""
    return Throttle(**arguments) if enabled else None


def _link_settings(settings: Settings) -> LinkSettings:
    return LinkSettings(
        verify_email_url=settings.effective_verify_email_url,
        reset_password_url=settings.effective_reset_password_url,
        verification_lifetime=timedelta(seconds=settings.mail_links.email_verification_ttl_seconds),
        reset_lifetime=timedelta(seconds=settings.mail_links.password_reset_ttl_seconds),
    )


def _mailer(settings: Settings) -> Mailer:
    """SMTP, or the `.eml` folder of `file:DIR` (development only)."""
    templates = MailTemplates()
    sender = parse_sender(settings.mail.sender)
    folder = settings.mail.folder
    if folder is not None:
        return FileMailer(folder, templates, sender)
    return SmtpMailer(
        SmtpServer.from_url(settings.mail.url.get_secret_value()),
        templates,
        sender,
        timeout_seconds=settings.mail.timeout_seconds,
    )


async def _mail_sender(
    settings: Settings,
    deliver: DeliverMail,
    observer: MailDeliveryObserver,
    doorbell: MailDoorbell,
) -> AsyncIterator[MailSender | None]:
    """This worker's background sender, for the lifetime of the app (when enabled).

    Stopped between messages at shutdown; a send still under way after its time limit is
    cancelled, and that message comes due again when its lease ends.
    """
    if not settings.mail.sender_enabled:
        yield None
        return
    sender = MailSender(deliver, observer, doorbell, poll_seconds=settings.mail.poll_seconds)
    task = asyncio.create_task(sender.run(), name="mail-sender")
    try:
        yield sender
    finally:
        sender.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, settings.mail.timeout_seconds)


def _watch_pool(metrics: Metrics, engine: AsyncEngine) -> None:
    metrics.watch_pool(engine)


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
    mail_doorbell = providers.Singleton(MailDoorbell)
    uow = providers.Singleton(
        unit_of_work_factory, session_factory, gate, mail_doorbell.provided.ring
    )
    principal_reader = providers.Singleton(SqlAlchemyPrincipalReader, engine, gate)

    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(UuidV7Generator)
    secrets = providers.Singleton(OsSecretGenerator)
    audit_events = providers.Singleton(AuditEvents, ids=ids)
    pseudonyms = providers.Singleton(HmacPseudonymizer, settings.provided.pseudonym_key)
    hasher = providers.Resource(_hasher)

    signing_key_policy = providers.Singleton(_signing_key_policy, settings)
    keyring = providers.Singleton(_keyring, settings, signing_key_policy)
    # The keyring publishes what it verifies with: one object, two names.
    public_keys = keyring
    signing_key_box = providers.Singleton(
        AesGcmSecretBox.for_signing_keys, settings.provided.signing_key_secret
    )
    key_pairs = providers.Singleton(CryptographyKeyPairGenerator)
    rotate_signing_key = providers.Singleton(
        RotateSigningKey,
        uow=uow,
        key_pairs=key_pairs,
        box=signing_key_box,
        clock=clock,
        events=audit_events,
        policy=signing_key_policy,
    )
    erase_retired_signing_keys = providers.Singleton(EraseRetiredSigningKeys, uow=uow, clock=clock)
    list_signing_keys = providers.Singleton(
        ListSigningKeys, uow=uow, clock=clock, policy=signing_key_policy
    )
    # False in one-off commands: they neither serve tokens nor make the first key.
    refresh_signing_keys = providers.Object(True)
    signing_key_refresher = providers.Resource(
        _signing_key_refresher,
        settings,
        refresh_signing_keys,
        providers.Singleton(
            SigningKeyRefresher,
            uow=uow,
            box=signing_key_box,
            keyring=keyring,
            clock=clock,
            policy=signing_key_policy,
            rotate=rotate_signing_key,
            erase=erase_retired_signing_keys,
            poll_seconds=SIGNING_KEY_POLL_SECONDS,
            on_error=_refresh_failed,
        ),
    )

    authorization_server_metadata = providers.Singleton(
        published, providers.Callable(authorization_server_metadata, settings)
    )
    tokens = providers.Singleton(
        JwtTokenService,
        keys=keyring,
        issuer=settings.provided.effective_issuer,
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

    metrics = providers.Singleton(Metrics)
    rate_limiter = providers.Resource(_rate_limiter, settings)
    rate_limit_observer = providers.Singleton(PrometheusRateLimitObserver, metrics)
    throttle = providers.Singleton(
        _throttle,
        enabled=settings.provided.rate_limits.enabled,
        limiter=rate_limiter,
        policies=settings.provided.rate_limits.policies.call(),
        observer=rate_limit_observer,
        fail_open=settings.provided.rate_limits.fail_open,
    )
    mail_links = providers.Singleton(
        MailLinks,
        secrets=secrets,
        ids=ids,
        quota=providers.Singleton(ThrottledMailQuota, throttle, rate_limit_observer),
        settings=providers.Callable(_link_settings, settings),
    )

    register_user = providers.Singleton(
        RegisterUser,
        uow=uow,
        hasher=hasher,
        clock=clock,
        ids=ids,
        policy=password_policy,
        events=audit_events,
        links=mail_links,
    )
    verify_email = providers.Singleton(VerifyEmail, uow=uow, clock=clock, events=audit_events)
    send_verification_email = providers.Singleton(
        SendVerificationEmail, uow=uow, clock=clock, links=mail_links
    )
    request_password_reset = providers.Singleton(
        RequestPasswordReset,
        uow=uow,
        clock=clock,
        ids=ids,
        links=mail_links,
        events=audit_events,
        pseudonyms=pseudonyms,
    )
    create_user = providers.Singleton(
        CreateUser, uow=uow, clock=clock, ids=ids, links=mail_links, events=audit_events
    )
    request_email_change = providers.Singleton(
        RequestEmailChange,
        uow=uow,
        hasher=hasher,
        clock=clock,
        policy=password_policy,
        links=mail_links,
    )
    confirm_password_reset = providers.Singleton(
        ConfirmPasswordReset,
        uow=uow,
        hasher=hasher,
        clock=clock,
        policy=password_policy,
        links=mail_links,
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
    resolve_client_principal = providers.Singleton(
        ResolveClientPrincipal, reader=principal_reader, tokens=tokens
    )
    authenticate_client = providers.Singleton(AuthenticateClient, reader=principal_reader)
    issue_client_token = providers.Singleton(
        IssueClientToken, authenticate=authenticate_client, tokens=tokens, clock=clock
    )
    introspect_token = providers.Singleton(
        IntrospectToken,
        uow=uow,
        reader=principal_reader,
        verifier=tokens,
        client_tokens=tokens,
        clock=clock,
        issuer=settings.provided.effective_issuer,
        audience=settings.provided.tokens.audience,
    )
    create_client = providers.Singleton(
        CreateClient, uow=uow, clock=clock, secrets=secrets, events=audit_events
    )
    list_clients = providers.Singleton(ListClients, uow=uow)
    delete_client = providers.Singleton(DeleteClient, uow=uow, clock=clock, events=audit_events)
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

    secret_box = providers.Singleton(AesGcmSecretBox, settings.provided.second_factor_key)
    second_factor_codes = providers.Singleton(
        SecondFactorCodes,
        otp=providers.Singleton(CryptographyOneTimePasswords),
        box=secret_box,
        secrets=secrets,
    )
    start_totp_enrolment = providers.Singleton(
        StartTotpEnrolment,
        uow=uow,
        codes=second_factor_codes,
        clock=clock,
        issuer=settings.provided.totp_issuer,
    )
    confirm_totp_enrolment = providers.Singleton(
        ConfirmTotpEnrolment, uow=uow, codes=second_factor_codes, clock=clock, events=audit_events
    )
    regenerate_recovery_codes = providers.Singleton(
        RegenerateRecoveryCodes,
        uow=uow,
        codes=second_factor_codes,
        clock=clock,
        events=audit_events,
    )
    disable_totp = providers.Singleton(
        DisableTotp, uow=uow, codes=second_factor_codes, clock=clock, events=audit_events
    )
    find_mfa_challenge = providers.Singleton(FindMfaChallenge, uow=uow, clock=clock)
    complete_mfa_login = providers.Singleton(
        CompleteMfaLogin,
        uow=uow,
        codes=second_factor_codes,
        sessions=sessions,
        clock=clock,
        events=audit_events,
    )

    pool_metrics = providers.Resource(_watch_pool, metrics, engine)

    mailer = providers.Singleton(_mailer, settings)
    mail_observer = providers.Singleton(PrometheusMailObserver, metrics)
    deliver_mail = providers.Singleton(
        DeliverMail,
        uow=uow,
        mailer=mailer,
        clock=clock,
        observer=mail_observer,
        schedule=providers.Callable(
            lambda s: RetrySchedule(max_attempts=s.mail.max_attempts), settings
        ),
        send_time_limit=providers.Callable(
            lambda s: timedelta(seconds=s.mail.timeout_seconds), settings
        ),
    )
    mail_sender = providers.Resource(
        _mail_sender, settings, deliver_mail, mail_observer, mail_doorbell
    )
    check_readiness = providers.Singleton(
        CheckReadiness,
        database=providers.Singleton(SqlAlchemyDatabaseProbe, engine),
        throttle=throttle,
    )


def command_container(settings: Settings) -> Container:
    """The container of a one-off command (`create-admin`, the purges): the same wiring
    without the background mail sender, which belongs to the service's workers."""
    mail = settings.mail.model_copy(update={"sender_enabled": False})
    return Container(
        settings=settings.model_copy(update={"mail": mail}), refresh_signing_keys=False
    )


async def check_signing_keys(settings: Settings) -> None:
    """Whether every stored private signing key opens with the key-encryption key: raises
    `SigningKeysUnreadable` (or `StorageNotMigrated`, `StorageUnavailable`) otherwise."""
    if not settings.tokens.managed_keys:
        return
    container = command_container(settings)
    await open_resources(container)
    try:
        _, key_set = await load_key_set(await resolve(container.uow))
        unseal(key_set, await resolve(container.signing_key_box))
    finally:
        await shutdown(container)


async def resolve(provider: providers.Provider[Any]) -> Any:
    """A provider's value; providers that depend on async resources hand back awaitables."""
    value = provider()
    return await value if inspect.isawaitable(value) else value


async def open_resources(container: Container) -> None:
    """Open every resource of the container (engine, hashing threads, rate-limit store)."""
    result = container.init_resources()
    if inspect.isawaitable(result):
        await result


async def start(container: Container) -> dict[str, Any]:
    """Open the resources, then build each singleton once: name -> instance.

    Built here rather than per request: a singleton built on an async resource hands back a
    new awaitable at every call.
    """
    await open_resources(container)
    return {
        name: await resolve(provider)
        for name, provider in container.providers.items()
        if isinstance(provider, providers.BaseSingleton)
    }


async def shutdown(container: Container) -> None:
    """Close every resource the container opened."""
    result = container.shutdown_resources()
    if inspect.isawaitable(result):
        await result


async def check_database(settings: Settings) -> None:
    """Whether the database answers and holds the schema, on an engine of its own, for
    commands that need a schema: raises `StorageNotMigrated` or `StorageUnavailable`."""
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

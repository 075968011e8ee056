"""The `accounts` command line: serve, migrate, create-admin, purge-sessions, purge-audit,
openapi."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from dependency_injector.providers import Provider

from application.errors import (
    ApplicationError,
    EmailAlreadyRegistered,
    SigningKeysUnreadable,
    StorageNotMigrated,
    StorageUnavailable,
)
from application.use_cases.list_signing_keys import ListSigningKeys
from application.use_cases.purge_audit_events import PurgeAuditEvents
from application.use_cases.purge_ended_sessions import PurgeEndedSessions
from application.use_cases.register_user import RegisterUser, RegisterUserCommand
from application.use_cases.rotate_signing_key import RotateSigningKey, RotateSigningKeyCommand
from domain.errors import DomainError
from domain.users import Role
from entrypoints.container import (
    Container,
    check_database,
    check_signing_keys,
    command_container,
    database_location,
    migrate_database,
    open_resources,
    resolve,
    shutdown,
)
from entrypoints.logging import configure_logging
from entrypoints.settings import (
    Settings,
    SettingsError,
    load_settings,
    warn_if_limits_split_across_workers,
)

cli = typer.Typer(
    name="accounts",
    help="Identity and accounts service.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
keys_cli = typer.Typer(
    help="Managed signing keys: list them, or rotate now.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
cli.add_typer(keys_cli, name="keys")


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _not_migrated(command: str, settings: Settings) -> typer.Exit:
    """Say which database has no schema, and what gives it one; the exit to raise."""
    location, url = database_location(settings)
    missing_file = url.startswith("sqlite") and not Path(location).exists()
    problem = (
        f"there is no database file at {location}"
        if missing_file
        else (f"the database at {location} has no tables")
    )
    typer.echo(
        f"{command}: {problem}: run `accounts migrate` first (ACCOUNTS_DATABASE_URL={url})",
        err=True,
    )
    return typer.Exit(1)


def _require_schema(command: str, settings: Settings) -> None:
    """Stop with one line unless the database answers and has been migrated."""
    try:
        asyncio.run(check_database(settings))
    except StorageNotMigrated:
        raise _not_migrated(command, settings) from None
    except StorageUnavailable:
        typer.echo(f"{command}: the database is unavailable", err=True)
        raise typer.Exit(1) from None


def _require_signing_keys(
    command: str, settings: Settings, *, database_optional: bool = False
) -> None:
    """Stop with one line when the stored signing keys do not open with the configured
    key-encryption key (lost or changed), before any worker starts. `database_optional`: a
    server starts without its database (and reports not ready), a command does not."""
    try:
        asyncio.run(check_signing_keys(settings))
    except SigningKeysUnreadable as exc:
        typer.echo(f"{command}: {exc}", err=True)
        raise typer.Exit(1) from None
    except StorageNotMigrated:
        if not database_optional:
            raise _not_migrated(command, settings) from None
    except StorageUnavailable:
        if not database_optional:
            typer.echo(f"{command}: the database is unavailable", err=True)
            raise typer.Exit(1) from None


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default ACCOUNTS_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default ACCOUNTS_PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False,
) -> None:
    """Serve the API with Uvicorn (production runs Gunicorn; see the Dockerfile)."""
    import uvicorn  # noqa: PLC0415 - only `serve` needs the server

    from entrypoints.worker import EVENT_LOOP, HTTP_PROTOCOL  # noqa: PLC0415 - same reason

    settings = _settings()
    if settings.http.metrics_port is not None:
        # Only Gunicorn's master serves that port; this server would serve /metrics nowhere.
        typer.echo(
            "accounts serve: ACCOUNTS_METRICS_PORT is served by Gunicorn's master "
            "(gunicorn --config gunicorn.conf.py); unset it to serve /metrics on this port",
            err=True,
        )
        raise typer.Exit(2)
    _require_signing_keys("accounts serve", settings, database_optional=True)
    configure_logging(settings.logging.level, settings.effective_log_format)
    warn_if_limits_split_across_workers(settings, workers)
    if workers > 1 and settings.tokens.algorithm == "HS256" and settings.tokens.secret is None:
        # Every worker must verify the others' tokens: share one random development secret.
        os.environ["ACCOUNTS_JWT_SECRET"] = secrets.token_urlsafe(48)
    # The workers read their settings again: the default PUBLIC_URL names where they listen.
    if host is not None:
        os.environ["ACCOUNTS_HOST"] = host
    if port is not None:
        os.environ["ACCOUNTS_PORT"] = str(port)
    uvicorn.run(
        "entrypoints.asgi:create",
        factory=True,
        host=host or settings.http.host,
        port=port or settings.http.port,
        workers=workers,
        reload=reload,
        # The loop and HTTP protocol Gunicorn's workers use (see entrypoints/worker.py): the
        # protocol limits each request's head, since nothing may stand in front of the server.
        loop=EVENT_LOOP,
        http=HTTP_PROTOCOL,
        # Uvicorn rewrites the client address from X-Forwarded-For for the proxies it trusts,
        # before the app resolves it again for rate limits. Given the same trusted list, the
        # app's second pass finds an untrusted client and keeps it, so both agree.
        proxy_headers=True,
        forwarded_allow_ips=settings.http.forwarded_allow_ips_for_uvicorn,
        server_header=False,
        log_config=None,
    )


@cli.command()
def migrate(
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Apply database migrations."""
    settings = _settings()
    try:
        migrate_database(settings, revision)
    except StorageUnavailable as exc:
        typer.echo(f"migrate: database unavailable: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"migrated to {revision}")


@cli.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(help="The admin's email.")],
    full_name: Annotated[str, typer.Option(help="Display name.")] = "",
) -> None:
    """Create an admin account; the password is read from stdin when it is not a terminal."""
    settings = _settings()
    # Before the password is asked for: a database without tables cannot take the account.
    _require_schema("create-admin", settings)
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            typer.echo("create-admin: passwords do not match", err=True)
            raise typer.Exit(1)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        user = asyncio.run(_create_admin(settings, email, password, full_name))
    except EmailAlreadyRegistered:
        typer.echo(f"create-admin: {email} is already registered", err=True)
        raise typer.Exit(1) from None
    except StorageNotMigrated:
        raise _not_migrated("create-admin", settings) from None
    except (DomainError, ApplicationError) as exc:
        typer.echo(f"create-admin: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps({"id": str(user), "email": email, "role": "admin"}))


async def _create_admin(settings: Settings, email: str, password: str, full_name: str) -> str:
    container = command_container(settings)
    await open_resources(container)
    try:
        register: RegisterUser = await resolve(container.register_user)
        user = await register.execute(
            RegisterUserCommand(email, password, full_name=full_name, role=Role.ADMIN)
        )
        return str(user.id)
    finally:
        await shutdown(container)


@cli.command("purge-sessions")
def purge_sessions() -> None:
    """Delete ended and expired login sessions with their refresh tokens (run it daily)."""
    _purge("purge-sessions", "purged_sessions", lambda c: c.purge_ended_sessions)


@cli.command("purge-audit")
def purge_audit() -> None:
    """Delete audit events older than ACCOUNTS_AUDIT_RETENTION_DAYS (run it daily)."""
    _purge("purge-audit", "purged_audit_events", lambda c: c.purge_audit_events)


Purge = PurgeEndedSessions | PurgeAuditEvents


def _purge(command: str, counted: str, use_case: Callable[[Container], Provider[Any]]) -> None:
    """Run a purge use case on its own container and print how many records it removed."""
    settings = _settings()

    async def run() -> int:
        container = command_container(settings)
        await open_resources(container)
        try:
            purge: Purge = await resolve(use_case(container))
            return await purge.execute()
        finally:
            await shutdown(container)

    try:
        purged = asyncio.run(run())
    except StorageNotMigrated:
        raise _not_migrated(command, settings) from None
    except StorageUnavailable:
        typer.echo(f"{command}: the database is unavailable", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps({counted: purged}))


def _managed_keys_only(command: str, settings: Settings) -> None:
    if not settings.tokens.managed_keys:
        typer.echo(
            f"{command}: ACCOUNTS_JWT_ALGORITHM={settings.tokens.algorithm} with "
            + ("a shared secret" if settings.tokens.algorithm == "HS256" else "a fixed key pair")
            + ": there are no managed keys",
            err=True,
        )
        raise typer.Exit(2)


def _on_keys(
    command: str, settings: Settings, use_case: Callable[[Container], Provider[Any]]
) -> Any:
    """Run a signing-key use case on its own container, once the stored keys open."""
    _managed_keys_only(command, settings)
    _require_signing_keys(command, settings)

    async def run(action: Callable[[Any], Any]) -> Any:
        container = command_container(settings)
        await open_resources(container)
        try:
            return await action(await resolve(use_case(container)))
        finally:
            await shutdown(container)

    return run


@keys_cli.command("list")
def keys_list() -> None:
    """The signing keys, oldest first: kid, algorithm, dates and state (no secret)."""
    settings = _settings()
    run = _on_keys("keys list", settings, lambda c: c.list_signing_keys)

    async def listed(use_case: ListSigningKeys) -> list[dict[str, str | None]]:
        return [
            {
                "kid": key.kid,
                "algorithm": key.algorithm,
                "created_at": key.created_at.isoformat(),
                "signs_from": key.signs_from.isoformat(),
                "retired_at": key.retired_at.isoformat() if key.retired_at else None,
                "state": key.state.value,
            }
            for key in await use_case.execute()
        ]

    typer.echo(json.dumps({"keys": asyncio.run(run(listed))}, indent=2))


@keys_cli.command("rotate")
def keys_rotate(
    now: Annotated[
        bool,
        typer.Option(
            "--now",
            help="Sign with the new key at once (an emergency: tokens fetched with the "
            "cached JWKS fail until resource servers refetch it).",
        ),
    ] = False,
) -> None:
    """Make a new signing key: published at once, signing after the JWKS cache lifetime."""
    settings = _settings()
    run = _on_keys("keys rotate", settings, lambda c: c.rotate_signing_key)

    async def rotated(use_case: RotateSigningKey) -> dict[str, str]:
        key = await use_case.execute(RotateSigningKeyCommand(immediately=now))
        if key is None:
            raise ApplicationError("no key was made")
        return {
            "kid": key.kid,
            "algorithm": key.algorithm,
            "signs_from": key.signs_from.isoformat(),
        }

    try:
        typer.echo(json.dumps(asyncio.run(run(rotated))))
    except ApplicationError as exc:
        typer.echo(f"keys rotate: {exc}", err=True)
        raise typer.Exit(1) from None


@cli.command()
def openapi(
    indent: Annotated[int, typer.Option(help="JSON indentation.")] = 2,
) -> None:
    """Print the OpenAPI document."""
    from entrypoints.http.app import create_app  # noqa: PLC0415 - keeps other commands light

    settings = _settings()
    typer.echo(json.dumps(create_app(settings).openapi(), indent=indent, ensure_ascii=False))


def main() -> None:
    """Console-script entry point."""
    cli()

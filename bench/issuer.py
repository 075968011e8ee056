"""What the issuer's endpoints for other services cost: `make bench-issuer`.

Under the same `gunicorn.conf.py` (one Uvicorn worker each, no recycling, driven by wrk on
loopback, in interleaved rounds so drift hits all alike), against the floor app of `make bench`
(`bench/floor_app.py`: the same JWT check and one SELECT, nothing else), target ≥ 0.5 each:

- `POST /api/v1/auth/token` with `grant_type=client_credentials` (client_secret_basic): the
  client read and its secret checked, a token signed;
- `POST /api/v1/auth/introspect` (a registered client, Basic) of a user's access token (the
  client read, the token verified, the user and its session read) and of a client's token.

The service runs as `make bench` runs it (`ACCOUNTS_ENV=production`, JSON access log, rate limits
set never to refuse, in Redis unless `--limits memory`) on a fresh Postgres database dropped
afterwards, signing with a fixed key pair made here (RS256, or `--jwt-algorithm ES256|EdDSA` to
see what RSA signing costs the grant), which the floor app verifies with too.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from base64 import b64encode
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from harness import Gunicorn, cleanup_on_exit, run_wrk, unlimited_rate_limits, wrk_command
from run import drain, fresh_database

PASSWORD = "correct-horse-battery-staple-42"  # noqa: S105 - throwaway bench accounts
MIN_RATIO = 0.5
FLOOR = "floor /me (JWT + 1 SELECT)"
ALGORITHMS = ("RS256", "ES256", "EdDSA")
NO_RECYCLING = ["--max-requests", "0"]


@dataclass(frozen=True)
class Scenario:
    name: str
    server: str
    path: str
    headers: tuple[str, ...] = ()
    form: str | None = None
    """The POST body (form-encoded); None for a GET."""


@dataclass(frozen=True)
class Seed:
    user_token: str
    client_token: str
    basic: str
    """`Authorization: Basic …` of a client holding `users:read`."""


def key_pair_env(algorithm: str, directory: Path) -> dict[str, str]:
    """A fixed key pair of `algorithm` in PEM files, as the service and the floor app read it."""
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    if algorithm == "RS256":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif algorithm == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = ed25519.Ed25519PrivateKey.generate()
    private, public = directory / "jwt-private.pem", directory / "jwt-public.pem"
    private.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    public.write_bytes(
        key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    return {
        "ACCOUNTS_JWT_ALGORITHM": algorithm,
        "ACCOUNTS_JWT_PRIVATE_KEY_FILE": str(private),
        "ACCOUNTS_JWT_PUBLIC_KEY_FILE": str(public),
    }


def service_env(arguments: argparse.Namespace, database_url: str, keys: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ACCOUNTS_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return {
        **env,
        **unlimited_rate_limits(),
        **key_pair_env(arguments.jwt_algorithm, keys),
        "MALLOC_ARENA_MAX": "1",
        "ACCOUNTS_ENV": "production",
        # The issuer both the service and the floor app name (the floor reads it from here).
        "ACCOUNTS_PUBLIC_URL": "https://accounts.example.com",
        "ACCOUNTS_KEY_ENCRYPTION_KEY": secrets.token_urlsafe(32),
        "ACCOUNTS_DATABASE_URL": database_url,
        "ACCOUNTS_MAIL_URL": "smtp://127.0.0.1:25",
        "ACCOUNTS_MAIL_SENDER_ENABLED": "false",
        "ACCOUNTS_LOG_LEVEL": "INFO",
        "ACCOUNTS_ACCESS_TOKEN_TTL_SECONDS": "3600",
        "ACCOUNTS_RATE_LIMIT_STORAGE_URL": (
            arguments.redis_url if arguments.limits == "redis" else "memory://"
        ),
        "ACCOUNTS_RATE_LIMIT_KEY_PREFIX": f"bench-{secrets.token_hex(6)}",
    }


def seed(base: str, env: dict[str, str]) -> Seed:
    """An admin registers a client with `users:read`; a user signs in; the client gets a token."""
    suffix = secrets.token_hex(4)
    admin = f"admin-{suffix}@example.com"
    subprocess.run(  # noqa: S603 - our own console script
        [str(Path(sys.executable).parent / "accounts"), "create-admin", "--email", admin],
        input=f"{PASSWORD}\n".encode(),
        env=env,
        check=True,
        capture_output=True,
    )
    with httpx.Client(base_url=base, timeout=30) as client:
        user = f"user-{suffix}@example.com"
        client.post(
            "/api/v1/auth/register", json={"email": user, "password": PASSWORD}
        ).raise_for_status()
        admin_token, user_token = (_login(client, email) for email in (admin, user))
        created = client.post(
            "/api/v1/clients",
            json={"name": "bench", "scopes": ["users:read"]},
            headers={"Authorization": f"Bearer {admin_token}"},
        )
        created.raise_for_status()
        # Generated ids and secrets are URL-safe: no form-encoding needed before Basic.
        pair = f"{created.json()['client_id']}:{created.json()['client_secret']}"
        basic = f"Authorization: Basic {b64encode(pair.encode()).decode()}"
        issued = client.post(
            "/api/v1/auth/token",
            data={"grant_type": "client_credentials"},
            headers=dict([basic.split(": ", 1)]),
        )
        issued.raise_for_status()
        return Seed(user_token, issued.json()["access_token"], basic)


def _login(client: httpx.Client, email: str) -> str:
    response = client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": PASSWORD},
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def scenarios_for(seeded: Seed) -> list[Scenario]:
    basic = (seeded.basic,)
    return [
        Scenario(FLOOR, "floor", "/me", (f"Authorization: Bearer {seeded.user_token}",)),
        Scenario(
            "client_credentials", "service", "/api/v1/auth/token", basic,
            "grant_type=client_credentials",
        ),
        Scenario(
            "introspect a user token", "service", "/api/v1/auth/introspect", basic,
            f"token={seeded.user_token}",
        ),
        Scenario(
            "introspect a client token", "service", "/api/v1/auth/introspect", basic,
            f"token={seeded.client_token}",
        ),
    ]  # fmt: skip


def main(arguments: argparse.Namespace) -> int:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    with (
        tempfile.TemporaryDirectory() as directory,
        cleanup_on_exit(),
        fresh_database(arguments.admin_database_url) as database_url,
    ):
        workdir = Path(directory)
        env = service_env(arguments, database_url, workdir)
        log = workdir / "servers.log"
        with (
            Gunicorn(env, 1, log, extra=NO_RECYCLING) as service,
            Gunicorn(env, 1, log, "floor_app:app", extra=NO_RECYCLING) as floor,
        ):
            scenarios = scenarios_for(seed(service.base, env))
            bases = {"service": service.base, "floor": floor.base}
            rates: dict[str, list[float]] = {s.name: [] for s in scenarios}
            errors: dict[str, int] = {s.name: 0 for s in scenarios}
            for _ in range(arguments.rounds):
                for scenario in scenarios:
                    result = run_wrk(
                        wrk_command(
                            f"{bases[scenario.server]}{scenario.path}",
                            arguments.seconds,
                            arguments.connections,
                            headers=scenario.headers,
                            script=None if scenario.form is None else "form.lua",
                        ),
                        env=None
                        if scenario.form is None
                        else {**os.environ, "BENCH_FORM": scenario.form},
                    )
                    drain(result, arguments.connections)
                    rates[scenario.name].append(result.rps)
                    errors[scenario.name] += result.errors
    return report(arguments, scenarios, rates, errors)


def report(
    arguments: argparse.Namespace,
    scenarios: list[Scenario],
    rates: dict[str, list[float]],
    errors: dict[str, int],
) -> int:
    print(
        f"1 Gunicorn worker each, wrk {arguments.connections} connections, "
        f"{arguments.rounds} rounds x {arguments.seconds} s (median req/s), "
        f"rate limits in {arguments.limits}, tokens signed with {arguments.jwt_algorithm}"
    )
    print(f"{'scenario':<30}{'req/s':>10}{'ratio':>8}{'target':>8}{'errors':>8}")
    floor = statistics.median(rates[FLOOR])
    missed = False
    for scenario in scenarios:
        rate = statistics.median(rates[scenario.name])
        ratio = verdict = ""
        if scenario.name != FLOOR:
            value = rate / floor
            ratio, verdict = f"{value:.2f}", "PASS" if value >= MIN_RATIO else "MISS"
            missed = missed or value < MIN_RATIO
        print(f"{scenario.name:<30}{rate:>10.0f}{ratio:>8}{verdict:>8}{errors[scenario.name]:>8}")
    return 1 if missed or any(errors.values()) else 0


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--admin-database-url",
        default=os.environ.get(
            "TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        ),
        help="a Postgres URL allowed to CREATE and DROP DATABASE",
    )
    parser.add_argument("--limits", choices=["redis", "memory"], default="redis")
    parser.add_argument("--jwt-algorithm", choices=ALGORITHMS, default="RS256")
    parser.add_argument(
        "--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 2 seconds")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.seconds, arguments.rounds = 2.0, 2
    return arguments


if __name__ == "__main__":
    sys.exit(main(parse_arguments()))

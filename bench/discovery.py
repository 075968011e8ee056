"""What serving discovery and verifying tokens elsewhere cost: `make bench-discovery`.

Under the same `gunicorn.conf.py` (one Uvicorn worker each, driven by wrk on loopback, in
interleaved rounds so drift hits all alike):

- the service's `/.well-known/jwks.json` and `/.well-known/oauth-authorization-server` against
  the bare app's constant route (`bench/bare_app.py`), both prepared bytes, so the ratio is what
  the service's middleware and routing cost (target ≥ 0.5);
- the example resource server's protected `/me` (a real RS256 access token of the service,
  verified locally from its JWKS) against its own unprotected `/public` (target ≥ 0.5): what
  local verification costs, and proof that no request waits on the service (the JWKS fetches
  it made during the run are counted from the service's access log: one per example server).
  wrk sends one token, so the default example verifies it once and then finds it in its cache
  of verified tokens; a second example with that cache off (`uncached`) shows what checking
  the RS256 signature on every request costs.

The service signs with an RS256 PEM pair made here and keeps its data in a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from harness import ROOT, Gunicorn, cleanup_on_exit, run_wrk, unlimited_rate_limits, wrk_command

from entrypoints.container import migrate_database
from entrypoints.settings import Settings

PASSWORD = "correct-horse-battery-staple-42"  # noqa: S105 - a throwaway bench account
MIN_RATIO = 0.5
# No worker recycling: a restart inside a short cell would be measured (and would empty the
# example's key cache) instead of the request path, as in `bench/run.py`.
NO_RECYCLING = ["--max-requests", "0"]
EXAMPLE = "examples.resource_server.app:from_environment()"
EXAMPLE_OPTIONS = ["--pythonpath", str(ROOT), *NO_RECYCLING]


@dataclass(frozen=True)
class Scenario:
    name: str
    server: str
    path: str
    baseline: str | None
    headers: tuple[str, ...] = ()
    judged: bool = True


def write_key_pair(directory: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private, public = directory / "private.pem", directory / "public.pem"
    private.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    public.write_bytes(
        key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    return private, public


def access_token(base: str) -> str:
    email = "bench-discovery@example.com"
    httpx.post(
        f"{base}/api/v1/auth/register", json={"email": email, "password": PASSWORD}, timeout=30
    ).raise_for_status()
    response = httpx.post(
        f"{base}/api/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": PASSWORD},
        timeout=30,
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def main(arguments: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as directory, cleanup_on_exit():
        workdir = Path(directory)
        private, public = write_key_pair(workdir)
        database_url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        migrate_database(Settings(database_url=database_url))
        log = workdir / "servers.log"
        base_env = {
            key: value for key, value in os.environ.items() if not key.startswith("ACCOUNTS_")
        }
        service_env = {
            **base_env,
            **unlimited_rate_limits(),
            "ACCOUNTS_DATABASE_URL": database_url,
            "ACCOUNTS_JWT_ALGORITHM": "RS256",
            "ACCOUNTS_JWT_PRIVATE_KEY_FILE": str(private),
            "ACCOUNTS_JWT_PUBLIC_KEY_FILE": str(public),
            "ACCOUNTS_LOG_LEVEL": "INFO",
            "ACCOUNTS_LOG_FORMAT": "json",
            "ACCOUNTS_MAIL_SENDER_ENABLED": "false",
        }
        with (
            Gunicorn(service_env, 1, log, extra=NO_RECYCLING) as service,
            Gunicorn(base_env, 1, log, "bare_app:app", extra=NO_RECYCLING) as bare,
        ):
            token = access_token(service.base)
            example_env = {**base_env, "RESOURCE_SERVER_ISSUER": service.base}
            uncached_env = {**example_env, "RESOURCE_SERVER_VERIFIED_CACHE_SIZE": "0"}
            with (
                Gunicorn(
                    example_env, 1, log, EXAMPLE, EXAMPLE_OPTIONS, ready_path="/public"
                ) as example,
                Gunicorn(
                    uncached_env, 1, log, EXAMPLE, EXAMPLE_OPTIONS, ready_path="/public"
                ) as uncached,
            ):
                bases = {
                    "service": service.base,
                    "bare": bare.base,
                    "example": example.base,
                    "uncached": uncached.base,
                }
                scenarios = [
                    Scenario("bare /", "bare", "/", None),
                    Scenario("jwks", "service", "/.well-known/jwks.json", "bare /"),
                    Scenario(
                        "metadata", "service", "/.well-known/oauth-authorization-server", "bare /"
                    ),
                    Scenario("example /public", "example", "/public", None),
                    Scenario(
                        "example /me (bearer)",
                        "example",
                        "/me",
                        "example /public",
                        (f"Authorization: Bearer {token}",),
                    ),
                    Scenario("uncached /public", "uncached", "/public", None),
                    Scenario(
                        "uncached /me (bearer)",
                        "uncached",
                        "/me",
                        "uncached /public",
                        (f"Authorization: Bearer {token}",),
                        judged=False,
                    ),
                ]
                jwks_fetches = 0
                rates: dict[str, list[float]] = {s.name: [] for s in scenarios}
                errors: dict[str, int] = {s.name: 0 for s in scenarios}
                for _ in range(arguments.rounds):
                    for scenario in scenarios:
                        fetched_before = _jwks_fetches(log)
                        result = run_wrk(
                            wrk_command(
                                f"{bases[scenario.server]}{scenario.path}",
                                arguments.seconds,
                                arguments.connections,
                                headers=scenario.headers,
                            )
                        )
                        rates[scenario.name].append(result.rps)
                        errors[scenario.name] += result.errors
                        if scenario.server in {"example", "uncached"}:
                            # Only the example talks to the service while its scenarios run.
                            jwks_fetches += _jwks_fetches(log) - fetched_before
    return report(arguments, scenarios, rates, errors, jwks_fetches)


def _jwks_fetches(log: Path) -> int:
    """JWKS requests in the service's access log, once the log has stopped growing."""
    size = -1
    while size != (size := log.stat().st_size):
        time.sleep(0.3)
    return log.read_text(errors="replace").count("/.well-known/jwks.json")


def report(
    arguments: argparse.Namespace,
    scenarios: list[Scenario],
    rates: dict[str, list[float]],
    errors: dict[str, int],
    jwks_fetches: int,
) -> int:
    print(
        f"1 Gunicorn worker each, wrk {arguments.connections} connections, "
        f"{arguments.rounds} rounds x {arguments.seconds} s (median req/s)"
    )
    print(f"{'scenario':<24}{'req/s':>10}{'ratio':>8}{'target':>8}{'errors':>8}")
    missed = False
    for scenario in scenarios:
        rate = statistics.median(rates[scenario.name])
        ratio = ""
        verdict = ""
        if scenario.baseline is not None:
            value = rate / statistics.median(rates[scenario.baseline])
            ratio = f"{value:.2f}"
            if scenario.judged:
                verdict = "PASS" if value >= MIN_RATIO else "MISS"
                missed = missed or value < MIN_RATIO
            else:
                verdict = "info"
        print(f"{scenario.name:<24}{rate:>10.0f}{ratio:>8}{verdict:>8}{errors[scenario.name]:>8}")
    print(f"JWKS fetches by the two examples during the run: {jwks_fetches} (one each expected)")
    return 1 if missed or any(errors.values()) else 0


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
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

"""Throughput by Gunicorn worker count: `make bench-workers` (needs `wrk`, Postgres, Redis).

Starts `gunicorn --config gunicorn.conf.py` with 1, 2 and 4 workers per core on a loopback port,
against a fresh migrated Postgres database and Redis rate limits (limits set high enough never
to refuse), and drives `GET /api/v1/users/me` with a bearer token and `GET /health/live` with
wrk. Prints requests/second and p99 latency for each; gunicorn.conf.py's default comes from it.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

PASSWORD = "correct-horse-battery-staple-42"  # noqa: S105 - a throwaway bench account
ROOT = Path(__file__).resolve().parent.parent
LATENCY_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited at start")
        try:
            if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError("gunicorn did not become ready")


def run_wrk(url: str, seconds: int, connections: int, token: str | None) -> tuple[float, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    return rps, float(p99[1]) * LATENCY_UNITS[p99[2]]  # type: ignore[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True, help="a migrated postgresql+asyncpg URL")
    parser.add_argument(
        "--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    cores = len(os.sched_getaffinity(0))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ACCOUNTS_")},
        "ACCOUNTS_DATABASE_URL": args.database_url,
        "ACCOUNTS_JWT_SECRET": secrets.token_urlsafe(48),
        "ACCOUNTS_LOG_LEVEL": "WARNING",
        "ACCOUNTS_RATE_LIMIT_STORAGE_URL": args.redis_url,
        "ACCOUNTS_RATE_LIMIT_KEY_PREFIX": f"bench-{secrets.token_hex(6)}",
        "ACCOUNTS_RATE_LIMIT_USER": "100000000/minute",
        "ACCOUNTS_RATE_LIMIT_REGISTER": "1000/minute",
    }
    email = f"bench-{secrets.token_hex(4)}@example.com"
    print(f"{cores} cores; wrk -t2 -c{args.connections} -d{args.seconds}s; rps (p99 ms)")
    for per_core in (1, 2, 4):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        worker_env = {**env, "WEB_CONCURRENCY": str(per_core * cores), "ACCOUNTS_PORT": str(port)}
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py")],
            env=worker_env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_ready(base, process)
            httpx.post(f"{base}/api/v1/auth/register", json={"email": email, "password": PASSWORD})
            token = httpx.post(
                f"{base}/api/v1/auth/token",
                data={"grant_type": "password", "username": email, "password": PASSWORD},
            ).json()["access_token"]
            run_wrk(f"{base}/health/live", 2, args.connections, None)  # warm-up
            me = run_wrk(f"{base}/api/v1/users/me", args.seconds, args.connections, token)
            live = run_wrk(f"{base}/health/live", args.seconds, args.connections, None)
            print(
                f"{per_core}/core ({per_core * cores} workers): "
                f"/users/me {me[0]:.0f} rps ({me[1]:.1f} ms)  "
                f"/health/live {live[0]:.0f} rps ({live[1]:.1f} ms)",
                flush=True,
            )
        finally:
            process.terminate()
            process.wait(timeout=40)


if __name__ == "__main__":
    main()

"""`make bench`: the service against a bare FastAPI app, same Gunicorn settings, same run.

Creates and migrates a fresh Postgres database (dropped afterwards), starts the service the
production way (`gunicorn --config gunicorn.conf.py`, Uvicorn workers, `ACCOUNTS_ENV=production`,
rate limits in Redis or memory, set high enough never to refuse) and the bare app of
`bench/bare_app.py` under the same config, drives both with wrk on loopback, and prints one row
per scenario, workers and connections: req/s, p50, p99, errors (non-2xx and socket errors) and
the ratio to the bare app at the same workers and connections. Writes `bench/results/latest.json`,
the chart `bench/results/latest.png`, and the table into `bench/RESULTS.md`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
from harness import BENCH, ROOT, Gunicorn, WrkResult, rss_mib, run_wrk, start, wrk_command

PASSWORD = "correct-horse-battery-staple-42"  # noqa: S105 - throwaway bench accounts
HIGH = "100000000/minute"
LOGIN_STORM_CONNECTIONS = 64
# How long the service idles after its last cell before its workers' memory is read.
SETTLE_SECONDS = 3.0
SEED_USERS = 50
RESULTS = BENCH / "results"
DRAIN_CAP_SECONDS = 11.0
FLOOR = "floor"
FLOOR_LABEL = "floor: JWT + 1 SELECT, no more"
_ORDER = {"bare": 0, FLOOR: 1}


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    label: str
    # wrk arguments for a server, given the seeded credentials.
    wrk: Callable[[Seed, str, float, int], list[str]]
    storm: bool = False


@dataclass(frozen=True, slots=True)
class Seed:
    email: str
    token: str
    api_key: str
    admin_token: str


SCENARIOS = {
    s.name: s
    for s in (
        Scenario(
            "me_bearer",
            "GET /users/me (bearer)",
            lambda seed, base, secs, conns: wrk_command(
                f"{base}/api/v1/users/me",
                secs,
                conns,
                headers=[f"Authorization: Bearer {seed.token}"],
            ),
        ),
        Scenario(
            "me_api_key",
            "GET /users/me (API key)",
            lambda seed, base, secs, conns: wrk_command(
                f"{base}/api/v1/users/me", secs, conns, headers=[f"X-API-Key: {seed.api_key}"]
            ),
        ),
        Scenario(
            "list_users",
            "GET /users?limit=50 (admin)",
            lambda seed, base, secs, conns: wrk_command(
                f"{base}/api/v1/users?limit=50",
                secs,
                conns,
                headers=[f"Authorization: Bearer {seed.admin_token}"],
            ),
        ),
        Scenario(
            "register",
            "POST /auth/register",
            lambda _seed, base, secs, conns: wrk_command(
                f"{base}/api/v1/auth/register", secs, conns, script="register.lua"
            ),
        ),
        Scenario(
            "token",
            "POST /auth/token (password)",
            lambda _seed, base, secs, conns: wrk_command(
                f"{base}/api/v1/auth/token", secs, conns, script="token.lua"
            ),
        ),
        Scenario(
            "live_storm",
            "GET /health/live (login storm)",
            lambda _seed, base, secs, conns: wrk_command(f"{base}/health/live", secs, conns),
            storm=True,
        ),
        Scenario(
            "live",
            "GET /health/live",
            lambda _seed, base, secs, conns: wrk_command(f"{base}/health/live", secs, conns),
        ),
    )
}
DEFAULT_SCENARIOS = ["me_bearer", "me_api_key", "list_users", "register", "token", "live_storm"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--admin-database-url",
        default=os.environ.get(
            "TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        ),
        help="a Postgres URL allowed to CREATE and DROP DATABASE",
    )
    parser.add_argument(
        "--limits",
        choices=["redis", "memory", "off"],
        default="redis",
        help="rate-limit storage (limits stay on and high unless 'off')",
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--seconds", type=int, default=4, help="per cell")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--connections", default="32,64,256")
    parser.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS))
    parser.add_argument("--log-level", default="INFO", help="the service's ACCOUNTS_LOG_LEVEL")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="ACCOUNTS_NAME=VALUE",
        help="extra service setting for an experiment (repeatable)",
    )
    parser.add_argument(
        "--recycle",
        action="store_true",
        help="keep gunicorn.conf.py's max_requests recycling (off by default: a worker "
        "restart in a 4 s cell would be measured instead of the request path)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="CI-size: 2 s cells, 1 worker, 32 and 256 connections"
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help="only rewrite RESULTS.md from results/latest.json",
    )
    parser.add_argument(
        "--no-save", action="store_true", help="print only; leave results/ and RESULTS.md alone"
    )
    args = parser.parse_args(argv)
    if args.render:
        update_results_md(json.loads((RESULTS / "latest.json").read_text()))
        return
    if args.quick:
        args.seconds, args.workers, args.connections = 2, "1", "32,256"
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    workers = [int(w) for w in args.workers.split(",")]
    connections = [int(c) for c in args.connections.split(",")]
    scenarios = [SCENARIOS[name] for name in args.scenarios.split(",")]
    started = time.monotonic()
    from harness import cleanup_on_exit  # noqa: PLC0415

    try:
        with cleanup_on_exit(), fresh_database(args.admin_database_url) as database_url:
            report = measure(
                args,
                argv=argv,
                database_url=database_url,
                workers=workers,
                connections=connections,
                scenarios=scenarios,
            )
    except KeyboardInterrupt:
        sys.exit(
            "interrupted: every process the benchmark started is stopped, its database dropped"
        )
    report["wall_seconds"] = round(time.monotonic() - started, 1)
    print(render_table(report))
    print("\n" + "\n".join(targets(report)))
    print(f"\nwall clock {report['wall_seconds']} s")
    if not args.no_save:
        save(report)


class fresh_database:  # noqa: N801 - used as a context manager, like contextlib's
    """CREATE DATABASE bench_<random>, migrated to head; DROP ... WITH (FORCE) afterwards."""

    def __init__(self, admin_url: str) -> None:
        self._admin = admin_url.replace("postgresql+asyncpg://", "postgresql://")
        self._name = f"bench_{secrets.token_hex(4)}"

    def __enter__(self) -> str:
        asyncio.run(self._execute(f'CREATE DATABASE "{self._name}"'))
        url = _with_database(self._admin, self._name).replace(
            "postgresql://", "postgresql+asyncpg://"
        )
        env = {**os.environ, "ACCOUNTS_DATABASE_URL": url}
        subprocess.run(  # noqa: S603
            [str(Path(sys.executable).parent / "accounts"), "migrate"],
            env=env,
            check=True,
            capture_output=True,
        )
        return url

    def __exit__(self, *_: object) -> None:
        asyncio.run(self._execute(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)'))

    async def _execute(self, statement: str) -> None:
        connection = await asyncpg.connect(self._admin)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()


def _with_database(url: str, name: str) -> str:
    head, _, query = url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{query}" if query else "")


def service_env(args: argparse.Namespace, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCOUNTS_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        {
            "ACCOUNTS_ENV": "production",
            "ACCOUNTS_PUBLIC_URL": "https://accounts.example.com",
            "ACCOUNTS_DATABASE_URL": database_url,
            "ACCOUNTS_JWT_SECRET": secrets.token_urlsafe(48),
            "ACCOUNTS_LOG_LEVEL": args.log_level,
            "ACCOUNTS_ACCESS_TOKEN_TTL_SECONDS": "3600",
            "ACCOUNTS_RATE_LIMIT_ENABLED": "false" if args.limits == "off" else "true",
            "ACCOUNTS_RATE_LIMIT_STORAGE_URL": (
                args.redis_url if args.limits == "redis" else "memory://"
            ),
            "ACCOUNTS_RATE_LIMIT_KEY_PREFIX": f"bench-{secrets.token_hex(6)}",
        }
    )
    for name in (
        "ANONYMOUS",
        "USER",
        "API_KEY",
        "LOGIN_IP",
        "LOGIN_USERNAME",
        "LOGIN_ACCOUNT",
        "REGISTER",
    ):
        env[f"ACCOUNTS_RATE_LIMIT_{name}"] = HIGH
    env.update(setting.split("=", 1) for setting in getattr(args, "env", []))
    return env


def seed(base: str, env: dict[str, str]) -> Seed:
    """An admin, the bench user with a token and an API key, and enough users for a page."""
    admin = f"admin-{secrets.token_hex(4)}@example.com"
    subprocess.run(  # noqa: S603
        [str(Path(sys.executable).parent / "accounts"), "create-admin", "--email", admin],
        input=f"{PASSWORD}\n".encode(),
        env=env,
        check=True,
        capture_output=True,
    )
    email = f"bench-{secrets.token_hex(4)}@example.com"
    with httpx.Client(base_url=base, timeout=30) as client:
        for n in range(SEED_USERS):
            client.post(
                "/api/v1/auth/register",
                json={"email": f"seed-{n}-{email}", "password": PASSWORD},
            ).raise_for_status()
        client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        ).raise_for_status()

        def login(username: str) -> str:
            response = client.post(
                "/api/v1/auth/token",
                data={"grant_type": "password", "username": username, "password": PASSWORD},
            )
            response.raise_for_status()
            token: str = response.json()["access_token"]
            return token

        token = login(email)
        key = client.post(
            "/api/v1/users/me/api-keys",
            json={"name": "bench"},
            headers={"Authorization": f"Bearer {token}"},
        )
        key.raise_for_status()
        return Seed(email=email, token=token, api_key=key.json()["key"], admin_token=login(admin))


def _service_hasher() -> Any:
    """pwdlib's hasher with the service's Argon2id parameters."""
    sys.path.insert(0, str(ROOT / "src"))
    from pwdlib import PasswordHash  # noqa: PLC0415
    from pwdlib.hashers.argon2 import Argon2Hasher  # noqa: PLC0415

    from adapters.identity.password_hasher import Argon2Parameters  # noqa: PLC0415

    params = Argon2Parameters()
    return PasswordHash(
        (
            Argon2Hasher(
                memory_cost=params.memory_cost_kib,
                time_cost=params.time_cost,
                parallelism=params.parallelism,
            ),
        )
    )


def hash_seconds() -> float:
    """One Argon2id verification with the service's parameters, on one core (median of 5)."""
    hasher = _service_hasher()
    hashed = hasher.hash(PASSWORD)
    times = []
    for _ in range(5):
        began = time.perf_counter()
        hasher.verify(PASSWORD, hashed)
        times.append(time.perf_counter() - began)
    return sorted(times)[2]


def cores() -> int:
    """The cores this process may run on: the ceiling and the capacity count the same ones."""
    return len(os.sched_getaffinity(0))


def hashing_capacity(seconds: float = 2.0) -> float:
    """Verifications per second with one thread per core hashing and nothing else running.

    What the cores deliver when every one of them hashes at once: Argon2id is memory-bound, so
    parallel hashes slow each other down (shared cache and memory bandwidth), and this falls
    short of cores / hash time by that much. No service on this machine logs in faster.
    """
    hasher = _service_hasher()
    hashed = hasher.hash(PASSWORD)
    threads = cores()
    deadline = time.perf_counter() + seconds
    counts = [0] * threads

    def hash_until_deadline(slot: int) -> None:
        while time.perf_counter() < deadline:
            hasher.verify(PASSWORD, hashed)
            counts[slot] += 1

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(hash_until_deadline, range(threads)))
    return sum(counts) / (time.perf_counter() - began)


def measure(
    args: argparse.Namespace,
    *,
    argv: list[str] | None,
    database_url: str,
    workers: list[int],
    connections: list[int],
    scenarios: list[Scenario],
) -> dict[str, object]:
    env = service_env(args, database_url)
    logs = Path(tempfile.mkdtemp(prefix="accounts-bench-"))
    rows: list[dict[str, object]] = []
    rss: dict[str, list[float]] = {}
    peak: dict[str, list[float]] = {}
    credentials: Seed | None = None
    run_id = secrets.token_hex(3)
    print(f"logs in {logs}", flush=True)
    extra = [] if args.recycle else ["--max-requests", "0"]
    for count in workers:
        bare: dict[int, WrkResult] = {}
        bare_log = logs / f"bare-{count}.log"
        with Gunicorn(env, count, bare_log, app="bare_app:app", extra=extra) as server:
            run_wrk(wrk_command(f"{server.base}/", 1, 32))  # warm-up
            for conns in connections:
                bare[conns] = run_wrk(wrk_command(f"{server.base}/", args.seconds, conns))
                rows.append(
                    row(
                        "bare",
                        "bare FastAPI (constant)",
                        workers=count,
                        connections=conns,
                        result=bare[conns],
                        ratio=1.0,
                    )
                )
                print_row(rows[-1])
        with Gunicorn(env, count, logs / f"service-{count}.log", extra=extra) as server:
            if credentials is None:
                credentials = seed(server.base, env)
            wrk_env = {
                **os.environ,
                "BENCH_EMAIL": credentials.email,
                "BENCH_PASSWORD": PASSWORD,
            }
            warm = SCENARIOS["me_bearer"].wrk(credentials, server.base, 1, 32)
            run_wrk(warm)
            for scenario in scenarios:
                for conns in connections:
                    command = scenario.wrk(credentials, server.base, args.seconds, conns)
                    cell_env = {**wrk_env, "BENCH_RUN_ID": f"{run_id}-{count}-{conns}"}
                    storm_result = None
                    if scenario.storm:
                        storm = start(
                            wrk_command(
                                f"{server.base}/api/v1/auth/token",
                                args.seconds + 2,
                                LOGIN_STORM_CONNECTIONS,
                                script="token.lua",
                            ),
                            env=wrk_env,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                        )
                        time.sleep(1.0)  # let the storm fill the hasher first
                    result = run_wrk(command, env=cell_env)
                    if scenario.storm:
                        output, _ = storm.communicate()
                        from harness import _started, parse_wrk  # noqa: PLC0415

                        _started.remove(storm)
                        storm_result = parse_wrk(output.decode())
                    drain(result, conns)
                    ratio = result.rps / bare[conns].rps if bare[conns].rps else math.nan
                    rows.append(
                        row(
                            scenario.name,
                            scenario.label,
                            workers=count,
                            connections=conns,
                            result=result,
                            ratio=ratio,
                        )
                    )
                    if storm_result is not None:
                        rows[-1]["storm"] = storm_result.as_dict()
                    print_row(rows[-1])
            pids = server.worker_pids()
            peak[str(count)] = [round(rss_mib(pid, "VmHWM"), 1) for pid in pids]
            # What a worker keeps once the load has stopped, not what the last request left
            # in flight: the hasher returns its Argon2 blocks after a second of idleness.
            time.sleep(SETTLE_SECONDS)
            rss[str(count)] = [round(rss_mib(pid), 1) for pid in pids]
            print(
                f"{count} worker(s): RSS MiB per worker {SETTLE_SECONDS:.0f} s after the run: "
                f"{rss[str(count)]} (peak {peak[str(count)]})"
            )
        if credentials is not None and SCENARIOS["me_bearer"] in scenarios:
            rows += measure_floor(
                env,
                count=count,
                logs=logs,
                extra=extra,
                credentials=credentials,
                bare=bare,
                connections=connections,
                args=args,
            )
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "settings": {
            "seconds_per_cell": args.seconds,
            "limits": args.limits,
            "max_requests_recycling": args.recycle,
            "log_level": args.log_level,
            "env": args.env,
            "login_storm_connections": LOGIN_STORM_CONNECTIONS,
            "command": " ".join(argv if argv is not None else sys.argv[1:]),
        },
        "hash_seconds": round(hash_seconds(), 4),
        "hashing_capacity": round(hashing_capacity(), 1),
        "rows": rows,
        "rss_mib": rss,
        "peak_rss_mib": peak,
    }


def measure_floor(
    env: dict[str, str],
    *,
    count: int,
    logs: Path,
    extra: list[str],
    credentials: Seed,
    bare: dict[int, WrkResult],
    connections: list[int],
    args: argparse.Namespace,
) -> list[dict[str, object]]:
    """`bench/floor_app.py` (token check and one SELECT, nothing else) with the bench token."""
    rows = []
    with Gunicorn(env, count, logs / f"floor-{count}.log", app="floor_app:app", extra=extra) as app:
        headers = [f"Authorization: Bearer {credentials.token}"]
        run_wrk(wrk_command(f"{app.base}/me", 1, 32, headers=headers))  # warm-up
        for conns in connections:
            result = run_wrk(wrk_command(f"{app.base}/me", args.seconds, conns, headers=headers))
            ratio = result.rps / bare[conns].rps if bare[conns].rps else math.nan
            rows.append(
                row(
                    FLOOR, FLOOR_LABEL, workers=count, connections=conns, result=result, ratio=ratio
                )
            )
            print_row(rows[-1])
    return rows


def drain(result: WrkResult, connections: int) -> None:
    """Wait out what the server still owes the cell wrk just left.

    wrk stops sending, but requests it had in flight still run: on the hashing endpoints 256
    queued requests are seconds of work, which the next cell would otherwise be measured in.
    """
    backlog_seconds = connections / result.rps if result.rps > 0 else DRAIN_CAP_SECONDS
    time.sleep(min(DRAIN_CAP_SECONDS, backlog_seconds + 0.2))


def row(
    name: str, label: str, *, workers: int, connections: int, result: WrkResult, ratio: float
) -> dict[str, object]:
    return {
        "scenario": name,
        "label": label,
        "workers": workers,
        "connections": connections,
        **result.as_dict(),
        "ratio": round(ratio, 3),
    }


def print_row(entry: dict[str, object]) -> None:
    print(format_row(entry), flush=True)


def format_row(e: dict[str, object]) -> str:
    return (
        f"| {e['label']:<31} | {e['workers']:>2} | {e['connections']:>4} | {e['rps']:>8.0f} "
        f"| {e['p50_ms']:>8.1f} | {e['p99_ms']:>8.1f} | {e['errors']:>6} | {e['ratio']:>5.3f} |"
    )


def render_table(report: dict[str, object]) -> str:
    lines = [
        f"| {'scenario':<31} | w  | conn |    req/s |  p50 ms  |  p99 ms  | errors | ratio |",
        f"|{'-' * 33}|----|------|----------|----------|----------|--------|-------|",
    ]
    rows = sorted(
        report["rows"],  # type: ignore[arg-type]
        key=lambda e: (
            e["workers"],
            _ORDER[e["scenario"]]
            if e["scenario"] in _ORDER
            else list(SCENARIOS).index(e["scenario"]) + 2,
            e["connections"],
        ),
    )
    lines += [format_row(e) for e in rows]
    rss = report["rss_mib"]
    peak = report.get("peak_rss_mib", {})
    lines.append("")
    lines.append(
        f"RSS per worker {SETTLE_SECONDS:.0f} s after the run (MiB): "
        + "; ".join(f"{w} worker(s): {', '.join(map(str, v))}" for w, v in rss.items())  # type: ignore[attr-defined]
        + (
            "; peak during the run: "
            + "; ".join(f"{w} worker(s): {', '.join(map(str, v))}" for w, v in peak.items())  # type: ignore[attr-defined]
            if peak
            else ""
        )
    )
    cores = report["machine"]["nproc"]  # type: ignore[index]
    hash_s = report["hash_seconds"]
    lines.append(
        f"Argon2id verify on one core: {hash_s * 1000:.1f} ms; cores / hash time = "  # type: ignore[operator]
        f"{cores / hash_s:.0f} logins/s"  # type: ignore[operator]
        + (
            f"; every core hashing at once, nothing else running: "
            f"{report['hashing_capacity']:.0f} verifications/s"
            if "hashing_capacity" in report
            else ""
        )
    )
    return "\n".join(lines)


def targets(report: dict[str, Any]) -> list[str]:
    """Issue 7's targets, each with the figures it was judged on."""
    rows = report["rows"]
    lines = []

    def cells(scenario: str) -> list[dict[str, Any]]:
        return [r for r in rows if r["scenario"] == scenario]

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    me = [r for r in cells("me_bearer") if (r["workers"], r["connections"]) == (1, 32)]
    if me:
        lines.append(
            f"- GET /users/me bearer >= 0.30 of bare at 1 worker, 32 connections: "
            f"{verdict(me[0]['ratio'] >= 0.30)} ({me[0]['ratio']:.3f}: "
            f"{me[0]['rps']:.0f} req/s)"
        )
    floor = [r for r in cells(FLOOR) if (r["workers"], r["connections"]) == (1, 32)]
    if floor:
        lines.append(
            f"  (for scale: the floor app, a token check and one SELECT and nothing else, "
            f"reached {floor[0]['ratio']:.3f} of bare in the same run: {floor[0]['rps']:.0f} req/s)"
        )
    wide = [r for r in rows if r["connections"] == 256 and r["scenario"] not in ("bare", FLOOR)]
    if wide:
        errors = [r for r in wide if r["errors"]]
        slow = [r for r in wide if r["p99_ms"] >= 1000]
        lines.append(
            f"- 256 connections, zero errors: {verdict(not errors)}"
            + (f" ({', '.join(_cell(r) for r in errors)})" if errors else "")
        )
        lines.append(
            f"- 256 connections, p99 < 1 s: {verdict(not slow)}"
            + (
                " (over: " + ", ".join(f"{_cell(r)} {r['p99_ms']:.0f} ms" for r in slow) + ")"
                if slow
                else ""
            )
        )
    storm = cells("live_storm")
    bare_p99 = {(r["workers"], r["connections"]): r["p99_ms"] for r in cells("bare")}
    if storm:
        worst = max(storm, key=lambda r: r["p99_ms"])
        lines.append(
            f"- /health/live p99 < 50 ms during a login storm: "
            f"{verdict(worst['p99_ms'] < 50)} (p99 by workers/connections: "
            + ", ".join(
                f"{r['workers']}w/{r['connections']}c {r['p99_ms']:.0f} ms "
                f"[bare {bare_p99.get((r['workers'], r['connections']), math.nan):.0f}]"
                for r in storm
            )
            + ")"
        )
    tokens = cells("token")
    if tokens:
        ceiling = report["machine"]["nproc"] / report["hash_seconds"]
        best = max(tokens, key=lambda r: r["rps"])
        lines.append(
            f"- login throughput >= 80% of cores / hash time ({ceiling:.0f}/s): "
            f"{verdict(best['rps'] >= 0.8 * ceiling)} (best {best['rps']:.0f}/s = "
            f"{best['rps'] / ceiling:.0%}, {_cell(best)})"
        )
        if "hashing_capacity" in report:
            capacity = report["hashing_capacity"]
            lines.append(
                f"  (for scale: every core hashing at once with nothing else running reached "
                f"{capacity:.0f}/s = {capacity / ceiling:.0%} of cores / hash time; the service "
                f"reached {best['rps'] / capacity:.0%} of that)"
            )
    rss = [mib for values in report["rss_mib"].values() for mib in values]
    if rss:
        lines.append(
            f"- RSS < 150 MiB per worker after the run: {verdict(max(rss) < 150)} "
            f"(max {max(rss):.0f} MiB)"
        )
    return lines


def _cell(row: dict[str, Any]) -> str:
    return f"{row['scenario']} {row['workers']}w/{row['connections']}c"


def machine() -> dict[str, object]:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "nproc": cores(),
        "cpu_model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def update_results_md(report: dict[str, Any]) -> None:
    """Put the table and the targets between RESULTS.md's markers (`--render` redoes it)."""
    results_md = BENCH / "RESULTS.md"
    if not results_md.exists():
        return
    m = report["machine"]
    block = (
        f"Run `make bench` ({report['settings']['command'] or 'defaults'}) on "
        f"{report['date']}; {m['nproc']} cores, {m['cpu_model']}, "
        f"load average at the end {m['load_average_at_end']}; "
        f"wall clock {report['wall_seconds']} s.\n\n```\n" + render_table(report) + "\n```"
    )
    text = results_md.read_text()
    for name, content in (("results", block), ("targets", "\n".join(targets(report)))):
        text = re.sub(
            rf"(<!-- {name}:start -->\n)(?:.*?\n)?(<!-- {name}:end -->)",
            lambda found, content=content: found[1] + content + "\n" + found[2],
            text,
            flags=re.S,
        )
    results_md.write_text(text)


def save(report: dict[str, object]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    from chart import draw  # noqa: PLC0415

    draw(report, RESULTS / "latest.png")
    update_results_md(report)
    print(f"wrote {RESULTS / 'latest.json'}, {RESULTS / 'latest.png'}")


if __name__ == "__main__":
    main()

"""Instructions per request of the app itself: `make bench-instructions`.

The same requests as `make bench-cpu` (the ASGI app driven straight, one request after another,
against a fresh migrated Postgres database and Redis), counted in machine instructions by
valgrind's callgrind instead of timed. A count does not move with what else the machine is
doing: the same code gives the same count within about 0.1 % run to run, where CPU time on a
shared 2-core machine varies by 15-20 %. So a change of 2 % to the request path shows here, and
`bench-cpu` cannot see it.

What it counts: this process's own user-space instructions, from the ASGI call to the last
byte handed to `send`, including the event loop's work for the database and Redis round
trips; not Postgres, Redis, the kernel, or the server's HTTP parsing (`make bench` measures
those, under load). Each cell runs in its own process under `valgrind --tool=callgrind
--instr-atstart=no`: instrumentation starts after imports and startup, then 300 warm-up
requests, then the counters are zeroed, `--requests` are served and the counters dumped. The
markers are callgrind's client requests (`valgrind/callgrind.h`), compiled at run time into a
small library called through ctypes. Cells run side by side, one per core.

The bare app of `bench/bare_app.py` is counted the same way, and each row shows the ratio of
the bare app's count to its own: the deterministic counterpart of `make bench`'s req/s ratio
(it leaves out the server's share, which both pay alike, so it reads lower). The floor app of
`bench/floor_app.py` (the bearer token checked and the user read in one asyncpg SELECT, nothing
else) is counted on the same user and token: how close to the bare app any `GET /users/me` can
come with this framework and driver.

`--concurrency N` sends the requests from N clients at once, interleaved by the event loop as a
server's connections are: what requests share under load (a Redis pipeline, the loop's
wake-ups) shows there and not one request at a time.

Needs valgrind and a C compiler (Debian: `apt-get install valgrind gcc`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from asgi_lifespan import LifespanManager
from request_cpu import (
    PATHS,
    START_TIMEOUT_SECONDS,
    WARM_UP,
    add_store_arguments,
    credentials,
    sequential,
    settings_for,
    started,
)
from run import cores, fresh_database

BARE = "bare"
FLOOR = "floor"
MARKERS_C = """
#include <valgrind/callgrind.h>
void bench_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void bench_zero(void) { CALLGRIND_ZERO_STATS; }
void bench_dump(void) { CALLGRIND_DUMP_STATS_AT("measured"); }
"""
# callgrind's dump: "summary: <instructions>" (or "totals:" in older releases).
_MEASURED = "Trigger: Client Request: measured"
_TOTAL = re.compile(r"^(?:summary|totals):\s+(\d+)", re.MULTILINE)


def build_markers(directory: Path) -> Path:
    """The callgrind client requests as a shared library (the macros are inline assembly)."""
    source = directory / "markers.c"
    library = directory / "markers.so"
    source.write_text(MARKERS_C)
    compiler = os.environ.get("CC", "cc")
    subprocess.run(  # noqa: S603 - our own source, compiled with the system compiler
        [compiler, "-O1", "-shared", "-fPIC", "-o", str(library), str(source)], check=True
    )
    return library


async def child(args: argparse.Namespace) -> None:
    """Inside valgrind: serve the cell's requests between the markers."""
    markers = ctypes.CDLL(args.markers)
    if args.scenario == BARE:
        from bare_app import app  # noqa: PLC0415 - the child imports only what its cell serves

        await _count(markers, app, "/", [], args)
        return
    settings = settings_for(args.limits, args.database_url, args.redis_url, args.run)
    async with started(settings, args.limits, slow=True) as app:
        headers = await credentials(app)
        if args.scenario == FLOOR:
            # The floor app reads its secret and database from the environment at import, as
            # under Gunicorn in `make bench`; the service's token for the same user is its input.
            os.environ["ACCOUNTS_JWT_ALGORITHM"] = settings.tokens.algorithm
            os.environ["ACCOUNTS_JWT_SECRET"] = settings.tokens.hmac_secret()
            os.environ["ACCOUNTS_JWT_ISSUER"] = settings.effective_issuer
            os.environ["ACCOUNTS_DATABASE_URL"] = args.database_url
            from floor_app import app as floor  # noqa: PLC0415

            async with LifespanManager(floor, startup_timeout=START_TIMEOUT_SECONDS) as manager:
                await _count(markers, manager.app, "/me", headers["me_bearer"], args)
            return
        await _count(markers, app, PATHS[args.scenario], headers[args.scenario], args)


async def _count(
    markers: Any, app: Any, path: str, headers: list[tuple[bytes, bytes]], args: argparse.Namespace
) -> None:
    """Count `args.requests` requests, from `args.concurrency` clients at once."""
    clients = max(1, args.concurrency)
    streams = [sequential(app, path, headers) for _ in range(clients)]

    async def serve(total: int) -> None:
        # Each client sends its share one request after another; the event loop interleaves
        # them as a server's connections are, so what batches across requests shows here.
        await asyncio.gather(*(one_client(total // clients) for one_client, _ in streams))

    # The access log is rendered but kept in memory, as in `bench-cpu`.
    with contextlib.redirect_stderr(io.StringIO()):
        markers.bench_start()
        await serve(WARM_UP)
        markers.bench_zero()
        await serve(args.requests)
        markers.bench_dump()
    statuses = set().union(*(seen for _, seen in streams))
    if statuses != {200}:
        raise RuntimeError(f"{path} answered {sorted(statuses)}")


def count_cell(
    args: argparse.Namespace, scenario: str, limits: str, database_url: str, workdir: Path
) -> int:
    """Instructions per request of one cell, from its own valgrind process."""
    out = workdir / f"callgrind.{scenario}.{limits}"
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}",
        sys.executable,
        __file__,
        "--child",
        scenario,
        "--limits",
        limits,
        "--requests",
        str(args.requests),
        "--concurrency",
        str(args.concurrency),
        "--database-url",
        database_url,
        "--redis-url",
        args.redis_url,
        "--markers",
        str(workdir / "markers.so"),
        "--run",
        f"{os.getpid()}-{scenario}-{limits}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    # The dump the marker asked for, not the one callgrind writes at exit.
    measured = [
        m.group(1)
        for dump in workdir.glob(f"callgrind.{scenario}.{limits}*")
        for text in [dump.read_text()]
        if _MEASURED in text
        for m in [_TOTAL.search(text)]
        if m
    ]
    if done.returncode != 0 or len(measured) != 1:
        raise RuntimeError(f"{scenario}/{limits} failed:\n{done.stderr[-3000:]}")
    return int(measured[0]) // args.requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_store_arguments(parser)
    parser.add_argument("--requests", type=int, default=1000, help="counted per cell")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="clients sending at once (1: one request after another); --requests must divide",
    )
    parser.add_argument(
        "--cells",
        default="floor:-,me_bearer:off,me_bearer:memory,me_bearer:redis,me_api_key:redis,live:off",
        help="scenario:limits pairs (scenarios: floor, me_bearer, me_api_key, live; limits: off, "
        "memory, redis, redis-alone: Redis without the per-turn pipeline; the floor app of "
        "`bench/floor_app.py` answers the bearer request with a token check and one SELECT, "
        "nothing else)",
    )
    parser.add_argument("--jobs", type=int, default=cores(), help="cells counted at once")
    # The child's own arguments, when this script runs itself under valgrind.
    parser.add_argument("--child", metavar="SCENARIO", help=argparse.SUPPRESS)
    parser.add_argument("--limits", default="off", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--markers", help=argparse.SUPPRESS)
    parser.add_argument("--run", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.scenario = args.child
        asyncio.run(child(args))
        return
    if args.requests % max(1, args.concurrency):
        sys.exit("--requests must be a multiple of --concurrency")
    missing = [tool for tool in ("valgrind", os.environ.get("CC", "cc")) if not shutil.which(tool)]
    if missing:
        sys.exit(f"needs {' and '.join(missing)}: apt-get install valgrind gcc")
    cells = [tuple(cell.split(":", 1)) for cell in args.cells.split(",")]
    with (
        tempfile.TemporaryDirectory(prefix="bench-instructions-") as tmp,
        fresh_database(args.admin_database_url) as database_url,
    ):
        workdir = Path(tmp)
        build_markers(workdir)
        jobs = [(BARE, "-"), *cells]
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            counts = dict(
                zip(
                    jobs,
                    pool.map(
                        lambda cell: count_cell(args, cell[0], cell[1], database_url, workdir),
                        jobs,
                    ),
                    strict=True,
                )
            )
    bare = counts.pop((BARE, "-"))
    print(f"Instructions per request (callgrind), {args.requests} requests after {WARM_UP}")
    print(f"| {'request':<12} | {'limits':<6} | {'instructions':>12} | {'bare / this':>11} |")
    print(f"|{'-' * 14}|{'-' * 8}|{'-' * 14}|{'-' * 13}|")
    print(f"| {'bare FastAPI':<12} | {'-':<6} | {bare:>12,} | {1:>11.3f} |")
    for (scenario, limits), count in counts.items():
        print(f"| {scenario:<12} | {limits:<6} | {count:>12,} | {bare / count:>11.3f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""What the benchmarks share: Gunicorn servers started the production way, wrk runs, cleanup.

Every process is started in its own session (process group), recorded, and killed with its
whole group when the benchmark ends, fails or is interrupted (Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from application.rate_limiting import CONFIGURED_POLICIES

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
LUA = BENCH / "lua"
LATENCY_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
# wrk gives up on a request after this long and counts a timeout: longer than the service's
# pool checkout timeout (5 s), so a stall shows up as the server's 503, not the client's guess.
WRK_TIMEOUT_SECONDS = 10

# A rate limit no benchmark or soak ever reaches, for every policy the service configures.
UNLIMITED = "100000000/minute"

_started: list[subprocess.Popen[bytes]] = []


def unlimited_rate_limits() -> dict[str, str]:
    """The service's environment with every rate-limit policy set to `UNLIMITED`."""
    return {f"ACCOUNTS_RATE_LIMIT_{name.value.upper()}": UNLIMITED for name in CONFIGURED_POLICIES}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start(command: Sequence[str], **options: object) -> subprocess.Popen[bytes]:
    """Start `command` in its own process group and remember it for `stop_all`."""
    process = subprocess.Popen(command, start_new_session=True, **options)  # type: ignore[call-overload]  # noqa: S603
    _started.append(process)
    return process


def stop(process: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    """SIGTERM the process group (Gunicorn stops its workers gracefully), SIGKILL after `grace`."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    # Whatever is left of the group (a worker that outlived its master) goes too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
    if process in _started:
        _started.remove(process)


def stop_all() -> None:
    for process in list(reversed(_started)):
        stop(process, grace=10.0)


@contextlib.contextmanager
def cleanup_on_exit() -> Iterator[None]:
    """Stop every started process on the way out, SIGTERM and Ctrl-C included."""

    def terminate(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, terminate)
    # Ctrl-C raises KeyboardInterrupt even when the shell started us with SIGINT ignored.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stop_all()
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def wait_ready(base: str, process: subprocess.Popen[bytes], path: str = "/health/ready") -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited at start (code {process.returncode})")
        try:
            if httpx.get(f"{base}{path}", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError("the server did not become ready")


class Gunicorn:
    """`gunicorn --config gunicorn.conf.py [app]` on a free loopback port: the image's command."""

    def __init__(
        self,
        env: dict[str, str],
        workers: int,
        log: Path,
        app: str | None = None,
        extra: Sequence[str] = (),
        *,
        ready_path: str | None = None,
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._env = {
            # Its issuer and links name where it listens, unless the caller says otherwise.
            "ACCOUNTS_PUBLIC_URL": self.base,
            **env,
            "WEB_CONCURRENCY": str(workers),
            "ACCOUNTS_HOST": "127.0.0.1",
            "ACCOUNTS_PORT": str(self.port),
            # Gunicorn's master serves /metrics here: a port of its own, so runs never collide.
            "ACCOUNTS_METRICS_PORT": str(free_port()),
        }
        self._command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(ROOT / "gunicorn.conf.py"),
        ]
        self._command += list(extra)
        if app is not None:
            # The app on the command line wins over the config's `wsgi_app`: same settings.
            self._command += ["--pythonpath", str(BENCH), app]
        self._log = log
        self._ready_path = ready_path or ("/health/ready" if app is None else "/")
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Gunicorn:
        with self._log.open("ab") as log:
            self.process = start(
                self._command, env=self._env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        wait_ready(self.base, self.process, self._ready_path)
        return self

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            stop(self.process)

    def worker_pids(self) -> list[int]:
        assert self.process is not None  # noqa: S101 - only called inside `with`
        return children_of(self.process.pid)


def children_of(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields start after the last ')'.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == parent:
            pids.append(int(entry.name))
    return sorted(pids)


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """Resident memory now (`VmRSS`) or at its peak (`VmHWM`), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors

    def as_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "errors": self.errors}


def wrk_command(
    url: str,
    seconds: float,
    connections: int,
    *,
    headers: Sequence[str] = (),
    script: str | None = None,
) -> list[str]:
    threads = min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{math.ceil(seconds)}s", "--latency"]
    command.append(f"--timeout={WRK_TIMEOUT_SECONDS}s")
    for header in headers:
        command += ["-H", header]
    if script is not None:
        command += ["-s", str(LUA / script)]
    return [*command, url]


def parse_wrk(output: str) -> WrkResult:
    def number(pattern: str) -> float:
        found = re.search(pattern, output)
        return float(found[1]) if found else 0.0

    def latency(percent: str) -> float:
        found = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
        return float(found[1]) * LATENCY_UNITS[found[2]] if found else float("nan")

    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return WrkResult(
        requests=int(number(r"(\d+) requests in")),
        rps=number(r"Requests/sec:\s+([\d.]+)"),
        p50_ms=latency("50"),
        p99_ms=latency("99"),
        non_2xx=int(number(r"Non-2xx or 3xx responses: (\d+)")),
        socket_errors=sum(int(n) for n in socket_errors.groups()) if socket_errors else 0,
    )


def run_wrk(command: Sequence[str], env: dict[str, str] | None = None) -> WrkResult:
    return wait_wrk(start(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env))


def wait_wrk(process: subprocess.Popen[bytes]) -> WrkResult:
    """The result of a wrk started with `start` (stdout and stderr piped), once it ends."""
    output, error = process.communicate()
    _started.remove(process)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed: {error.decode(errors='replace')}")
    return parse_wrk(output.decode())

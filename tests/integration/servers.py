"""Processes the tests start themselves: a private Redis, a private PostgreSQL, the service
under Uvicorn (`accounts serve`) and under Gunicorn (the production command).

Each binds to 127.0.0.1 on a free port, waits a bounded time to come up, and is stopped by the
test (or session) that started it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
# Generous: a shared, loaded machine takes many seconds to import the app in each process.
START_TIMEOUT_SECONDS = 60.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(
    ready: Callable[[], bool], what: str, timeout: float = START_TIMEOUT_SECONDS
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not come up within {timeout} seconds")


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate a process we started, killing it if it does not exit promptly."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class PrivateRedis:
    """A `redis-server` of this test's own, which the test may stop and start again."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server is not on PATH")
        self._binary = binary
        self._workdir = workdir
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self._process = subprocess.Popen(  # noqa: S603 - a fixed binary and arguments
            [
                self._binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self._workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: _accepts(self.port), f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self._process is not None:
            stop(self._process)
            self._process = None


# initdb refuses to run as root: as root the server runs as this OS user, through runuser.
POSTGRES_OS_USER = "postgres"


def find_postgres_binaries() -> Path | None:
    """The newest `/usr/lib/postgresql/*/bin` holding initdb and pg_ctl, or one on PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    for directory in reversed(candidates):
        if (Path(directory) / "initdb").exists() and (Path(directory) / "pg_ctl").exists():
            return Path(directory)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


class PrivatePostgres:
    """A PostgreSQL server of the caller's own, from the machine's `initdb` and `pg_ctl`, which
    the caller may stop and start again: trusts local users, keeps its data in a temporary
    directory, removed by `remove`. As root it runs as the `postgres` OS user."""

    def __init__(self, binaries: Path) -> None:
        self._bin = binaries
        self.port = free_port()
        self._as_root = os.geteuid() == 0
        if self._as_root and shutil.which("runuser") is None:
            raise FileNotFoundError("running as root needs runuser to start PostgreSQL")
        self._dir = Path(tempfile.mkdtemp(prefix="accounts-pg-"))
        if self._as_root:
            user = pwd.getpwnam(POSTGRES_OS_USER)
            os.chown(self._dir, user.pw_uid, user.pw_gid)
        self._data = self._dir / "data"
        self._run(
            "initdb",
            "-D",
            str(self._data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self._bin / tool), *args]
        if self._as_root:
            command = ["runuser", "-u", POSTGRES_OS_USER, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)  # noqa: S603

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self._dir} -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self._data),
            "-o",
            options,
            "-l",
            str(self._dir / "log"),
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self) -> None:
        """Stop at once, as a crash or a lost host would: clients see their connections die."""
        self._run("pg_ctl", "-D", str(self._data), "-m", "immediate", "-w", "-t", "30", "stop")

    def remove(self) -> None:
        subprocess.run(  # noqa: S603
            [
                *(["runuser", "-u", POSTGRES_OS_USER, "--"] if self._as_root else []),
                str(self._bin / "pg_ctl"),
                "-D",
                str(self._data),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(self._dir, ignore_errors=True)


def start_service(
    env: dict[str, str],
    log: Path,
    port: int | None = None,
    factory: str = "entrypoints.asgi:create",
) -> tuple[subprocess.Popen[bytes], str]:
    """The service (or another app `factory` of the repo) under Uvicorn on a loopback port
    (`port`, else a free one), as `accounts serve` runs it."""
    port = port or free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                factory,
                "--app-dir",
                str(ROOT),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: process.poll() is not None or _accepts(port), f"the service on port {port}"
        )
    except TimeoutError:
        stop(process)
        raise
    if process.poll() is not None:
        raise RuntimeError(f"the service exited at start:\n{log.read_text(errors='replace')}")
    return process, f"http://127.0.0.1:{port}"


def answers(url: str) -> bool:
    """Whether `url` answers 200 within a second."""
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def start_accounts_serve(
    env: dict[str, str], log: Path, cwd: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """`accounts serve` (Uvicorn) on a free loopback port, as a developer runs it."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
            [
                str(Path(sys.executable).with_name("accounts")),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    _await_start(process, base_url, log, "accounts serve")
    return process, base_url


def _await_start(process: subprocess.Popen[bytes], base_url: str, log: Path, name: str) -> None:
    """Wait until `base_url` answers; stop the process and say why when it never does."""
    try:
        wait_until(
            lambda: process.poll() is not None or answers(f"{base_url}/health/live"),
            f"{name} at {base_url}",
        )
    except TimeoutError:
        stop(process)
        raise
    if process.poll() is not None:
        raise RuntimeError(f"{name} exited at start:\n{log.read_text(errors='replace')}")


@dataclass
class Gunicorn:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path
    metrics_directory: Path
    # The master's metrics listener, where Prometheus scrapes.
    metrics_url: str


def start_gunicorn(env: dict[str, str], log: Path, workers: int = 2) -> Gunicorn:
    """`gunicorn --config gunicorn.conf.py`, as the image's CMD runs it, on free ports."""
    port = free_port()
    metrics_port = free_port()
    metrics_directory = Path(tempfile.mkdtemp(prefix="accounts-test-prometheus-"))
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our interpreter, the repo's config
            [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py")],
            env={
                **env,
                "ACCOUNTS_HOST": "127.0.0.1",
                "ACCOUNTS_PORT": str(port),
                "ACCOUNTS_METRICS_PORT": str(metrics_port),
                "WEB_CONCURRENCY": str(workers),
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_directory),
            },
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    _await_start(process, base_url, log, "gunicorn")
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    return Gunicorn(process, base_url, log, metrics_directory, metrics_url)


def stop_gunicorn(gunicorn: Gunicorn) -> None:
    stop(gunicorn.process)
    shutil.rmtree(gunicorn.metrics_directory, ignore_errors=True)

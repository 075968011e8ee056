"""A PostgreSQL server of the test's own, from the machine's `initdb` and `pg_ctl`, which the
test may stop and start again. It listens on 127.0.0.1 on a free port, trusts local users,
keeps its data in a temporary directory and is stopped and removed by the test.

`initdb` refuses to run as root, so when the tests run as root the server runs as the
`postgres` OS user (through `runuser`), in a directory that user owns.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.integration.servers import free_port

SERVER_USER = "postgres"


def find_binaries() -> Path | None:
    """The newest `/usr/lib/postgresql/*/bin` holding initdb and pg_ctl, or one on PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    for directory in reversed(candidates):
        if (Path(directory) / "initdb").exists() and (Path(directory) / "pg_ctl").exists():
            return Path(directory)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


class PrivatePostgres:
    def __init__(self, binaries: Path) -> None:
        self._bin = binaries
        self.port = free_port()
        self._as_root = os.geteuid() == 0
        if self._as_root and shutil.which("runuser") is None:
            raise FileNotFoundError("running as root needs runuser to start PostgreSQL")
        self._dir = Path(tempfile.mkdtemp(prefix="accounts-pg-"))
        if self._as_root:
            user = pwd.getpwnam(SERVER_USER)
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
            command = ["runuser", "-u", SERVER_USER, "--", *command]
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
                *(["runuser", "-u", SERVER_USER, "--"] if self._as_root else []),
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

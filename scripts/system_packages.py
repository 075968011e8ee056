"""`make test`'s first step: the system programs its tests drive, installed when missing.

Run as root on a machine with apt-get, it installs the missing packages (one `apt-get update`,
then `apt-get install`). Otherwise it stops `make test` with one line naming what to install;
with TEST_PARTIAL=1 that line is a note and the run goes on without the tests that need them
(they skip, and the run is partial). Benchmarks' tools (wrk, valgrind) are not tests': not here.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

PARTIAL = "TEST_PARTIAL"


@dataclass(frozen=True)
class SystemPackage:
    """A Debian package a test drives, how to tell it is there, and who needs it."""

    name: str
    needed_by: str
    present: Callable[[], bool]
    # Chromium's recommended packages bring the fonts the browser test was written against.
    with_recommends: bool = False


def _nginx() -> bool:
    return shutil.which("nginx") is not None or os.access("/usr/sbin/nginx", os.X_OK)


def _postgres_server() -> bool:
    if glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return True
    return shutil.which("initdb") is not None and shutil.which("pg_ctl") is not None


PACKAGES = (
    SystemPackage("nginx", "the deployment test", _nginx),
    SystemPackage(
        "chromium",
        "the Swagger UI browser test",
        lambda: Path("/usr/bin/chromium").exists(),
        with_recommends=True,
    ),
    SystemPackage(
        "redis-server", "the Redis outage tests", lambda: shutil.which("redis-server") is not None
    ),
    SystemPackage("postgresql", "the database outage test (initdb, pg_ctl)", _postgres_server),
)


def missing(packages: Sequence[SystemPackage]) -> list[SystemPackage]:
    return [package for package in packages if not package.present()]


def apt_get_install(packages: Sequence[SystemPackage]) -> bool:
    """apt-get update once, then install (Chromium with its recommends); False if apt failed."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = ["apt-get", "-qq", "-o", "Dpkg::Use-Pty=0"]
    print(f"make test: installing {' '.join(p.name for p in packages)}", flush=True)
    commands = [[*apt, "update"]]
    for with_recommends in (False, True):
        names = [p.name for p in packages if p.with_recommends == with_recommends]
        if names:
            recommends = [] if with_recommends else ["--no-install-recommends"]
            commands.append([*apt, "install", "-y", *recommends, *names])
    for command in commands:
        done = subprocess.run(  # noqa: S603 - apt-get with package names of our own
            command, check=False, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            print(
                f"{done.stdout}{done.stderr}make test: `{' '.join(command)}` failed",
                file=sys.stderr,
            )
            return False
    return True


def can_install() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def ensure(
    packages: Sequence[SystemPackage],
    *,
    may_install: bool,
    install: Callable[[Sequence[SystemPackage]], bool] = apt_get_install,
    partial: bool = False,
) -> int:
    """0 when every package is there (installed if it may be) or a partial run was asked."""
    needed = missing(packages)
    if needed and may_install and install(needed):
        needed = missing(needed)
    if not needed:
        return 0
    why = "; ".join(f"{p.name} for {p.needed_by}" for p in needed)
    if partial:
        print(f"make test: without {why}: those tests will skip ({PARTIAL}=1)")
        return 0
    print(
        f"make test needs {why}: install them (apt-get install "
        f"{' '.join(p.name for p in needed)}), or run it as root to have them installed, "
        f"or set {PARTIAL}=1 for a partial run",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(
        ensure(
            PACKAGES,
            may_install=can_install(),
            partial=os.environ.get(PARTIAL, "") not in ("", "0"),
        )
    )

"""A server process in the image gives its hashing memory back once logins stop.

Run in a fresh interpreter each: glibc reads its heap settings from the environment when the
process starts, and the resident memory read must be the hasher's alone, not the test run's.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

# What is tested is glibc's heap (entrypoints/process.py leaves any other C library's alone) and
# the memory read is Linux's /proc: elsewhere there is nothing to test, and the skip fails a run
# that did not ask to be partial (tests/conftest.py). Every machine of the project is Linux+glibc.
pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or platform.libc_ver()[0] != "glibc",
    reason="needs Linux with glibc: the hasher's memory release is glibc's heap, read in /proc",
)

# Two hashing threads verify 16 passwords while the event loop allocates and keeps memory, then
# the process idles for a second. Resident memory (MiB) before, just after the hashes, and idle.
_SCRIPT = """
import asyncio, json, sys
from adapters.identity.password_hasher import Argon2PasswordHasher
from entrypoints.process import release_free_memory

release = release_free_memory if sys.argv[1] != "never" else None
release_after = float(sys.argv[1]) if release is not None else 1.0


def rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024


async def main():
    hasher = Argon2PasswordHasher(
        max_threads=2, release_idle_memory=release, release_idle_memory_after=release_after
    )
    before = rss_mib()
    hashed = await hasher.hash("correct horse battery staple")
    checks = [hasher.verify("correct horse battery staple", hashed) for _ in range(16)]
    kept = []

    async def serve_meanwhile():
        # Like the event loop serving other requests: what it allocates during the hashes
        # and keeps lies above their blocks, so freeing a block does not shrink the heap.
        while len(kept) < 400:
            kept.append(bytes(16384))
            await asyncio.sleep(0.001)

    serving = asyncio.create_task(serve_meanwhile())
    verified = all(v.valid for v in await asyncio.gather(*checks))
    busy = rss_mib()
    await serving
    await asyncio.sleep(1.0)
    idle = rss_mib()
    hasher.close()
    print(json.dumps({"verified": verified, "before": before,
                      "busy": busy, "idle": idle}))


asyncio.run(main())
"""


DOCKERFILE = Path(__file__).resolve().parents[2] / "Dockerfile"


def _image_heap_environment() -> dict[str, str]:
    """The glibc heap settings the image's runtime stage gives every process."""
    runtime = DOCKERFILE.read_text().split(" AS runtime", 1)[1]
    instructions = "\n".join(line for line in runtime.splitlines() if not line.startswith("#"))
    return dict(re.findall(r"\b(MALLOC_[A-Z_]+)=([^\s\\]+)", instructions))


def _run(heap: str, release_after: str) -> dict[str, float]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    if heap == "image":
        environment |= _image_heap_environment()
    completed = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _SCRIPT, release_after],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, float] = json.loads(completed.stdout)
    assert result["verified"]
    return result


def test_an_idle_hasher_returns_its_argon2_blocks() -> None:
    memory = _run("image", "0.2")
    # Both hashing threads' 19 MiB blocks are resident while hashes run...
    assert memory["busy"] - memory["before"] > 30
    # ...and back with the system once the hasher idles: what is left is the loop's own.
    assert memory["idle"] - memory["before"] < 15


def test_without_the_release_the_blocks_stay_resident() -> None:
    memory = _run("image", "never")
    assert memory["idle"] - memory["before"] > 30


def test_blocks_on_per_thread_heaps_stay_resident() -> None:
    """Why the image shares one heap: trimming cannot reach the hashing threads' own heaps."""
    memory = _run("glibc default", "0.2")
    assert memory["idle"] - memory["before"] > 30

"""Process-wide tuning for a server process: its garbage collector and its C heap."""

from __future__ import annotations

import ctypes
import gc
import platform

# glibc's own functions, or None on another C library (musl, macOS).
_GLIBC = ctypes.CDLL(None) if platform.libc_ver()[0] == "glibc" else None


def freeze_startup_objects() -> None:
    """Collect once, then freeze what is left: the app, its routes, schemas and services.

    CPython's full (generation 2) collection walks every tracked object, so in a worker
    serving requests it stopped the event loop for 50-60 ms each time, about once a second
    under load (~150,000 objects, nearly all built at start-up and alive for the life of the
    process; it found nothing to free). Every request in flight waited out each pause: that
    was the p99 of `GET /users/me`. Frozen objects (`gc.freeze`) are skipped by every later
    collection but still freed by reference counting; only a reference cycle among them would
    outlive its use, and the collection just before the freeze leaves none behind.
    """
    gc.collect()
    gc.freeze()


def release_free_memory() -> None:
    """Return the main heap's free pages to the system (glibc `malloc_trim(0)`).

    glibc has no setting for this: its trim threshold only shortens the heap's free end, and
    what the event loop keeps above the hashes' blocks holds that end in place. It reaches
    every thread's blocks when they share the main heap (`MALLOC_ARENA_MAX=1`, set by the image).
    """
    if _GLIBC is not None:
        _GLIBC.malloc_trim(0)

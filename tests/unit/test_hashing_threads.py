"""The hashing thread pool is the machine's cores shared out among the Gunicorn workers."""

from __future__ import annotations

from entrypoints.container import hashing_threads


def test_one_worker_gets_every_core() -> None:
    assert hashing_threads(1, cores=4) == 4


def test_cores_are_shared_among_workers() -> None:
    assert hashing_threads(2, cores=4) == 2


def test_every_worker_keeps_at_least_one_thread() -> None:
    assert hashing_threads(8, cores=2) == 1

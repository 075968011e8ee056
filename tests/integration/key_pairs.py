"""Real signing key pairs, made once per test session and handed out in order."""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

from adapters.identity.key_pairs import CryptographyKeyPairGenerator
from application.ports import GeneratedKeyPair, KeyPairGenerator


class PremadeKeyPairs(KeyPairGenerator):
    """The n-th pair asked of one instance is the session's n-th pair of that algorithm: each
    test (whose tables start empty) gets distinct keys, made by the real generator once."""

    _pool: ClassVar[dict[str, list[GeneratedKeyPair]]] = {}

    def __init__(self) -> None:
        self._handed_out: Counter[str] = Counter()

    def generate(self, algorithm: str) -> GeneratedKeyPair:
        pool = self._pool.setdefault(algorithm, [])
        index = self._handed_out[algorithm]
        self._handed_out[algorithm] += 1
        while len(pool) <= index:
            pool.append(CryptographyKeyPairGenerator().generate(algorithm))
        return pool[index]

"""A stand-in identity provider for tests: signing keys, signed tokens and a loopback JWKS URL.

    with JwksServer() as provider:
        key = SigningKey.rsa("key-1")
        provider.publish(key)
        token = sign({"iss": ..., "sub": ...}, key)
        ...  # point the code under test at provider.url; provider.requests counts the fetches

`down()`, `slow(seconds)` and `malformed()` make the endpoint misbehave until `up()`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class SigningKey:
    """A provider's private key, its `kid` and the algorithm it signs with."""

    kid: str
    algorithm: str
    private_key: PrivateKey = field(repr=False)

    @classmethod
    def rsa(cls, kid: str = "rsa-1", bits: int = 2048) -> SigningKey:
        return cls(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=bits))

    @classmethod
    def ec(cls, kid: str = "ec-1") -> SigningKey:
        return cls(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))

    def jwk(self, **members: object) -> dict[str, object]:
        """The public key as a JWK (`kid`, `alg`, `use: sig`); `members` add or replace."""
        public = self.private_key.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            document = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            document = ECAlgorithm.to_jwk(public, as_dict=True)
        return {**document, "kid": self.kid, "alg": self.algorithm, "use": "sig", **members}

    def write_pem_pair(self, directory: Path) -> tuple[Path, Path]:
        """The key as `JWT_PRIVATE_KEY_FILE` and `JWT_PUBLIC_KEY_FILE` take it, in `directory`."""
        private_file, public_file = directory / "private.pem", directory / "public.pem"
        private_file.write_bytes(
            self.private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        public_file.write_bytes(self.public_pem())
        return private_file, public_file

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def sign(
    claims: Mapping[str, object],
    key: SigningKey,
    kid: str | None = None,
    alg: str | None = None,
    *,
    with_kid: bool = True,
) -> str:
    """A JWT signed by `key`, naming `kid` (the key's own by default, none if not `with_kid`)."""
    headers: dict[str, Any] = {"kid": kid or key.kid} if with_kid else {}
    return jwt.encode(
        dict(claims), key.private_key, algorithm=alg or key.algorithm, headers=headers
    )


def forge(header: dict[str, object], payload: dict[str, object], hmac_secret: bytes | None) -> str:
    """A token PyJWT refuses to make: HS256 keyed by a public key, or unsigned."""

    def encode(part: bytes) -> str:
        return base64.urlsafe_b64encode(part).rstrip(b"=").decode()

    signing_input = f"{encode(json.dumps(header).encode())}.{encode(json.dumps(payload).encode())}"
    if hmac_secret is None:
        return f"{signing_input}."
    signature = hmac.new(hmac_secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{encode(signature)}"


class JwksServer:
    """A JWKS endpoint on 127.0.0.1 (a free port), serving a key set the test replaces at will."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._document: object = {"keys": []}
        self._requests = 0
        self._status = 200
        self._delay = 0.0
        self._malformed = False
        self._release = threading.Event()  # ends every pending `slow` answer at once
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        # A short poll interval: `shutdown()` waits up to one interval, and tests stop a lot.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the port: later fetches see a refused connection."""
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("JwksServer.start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/.well-known/jwks.json"

    @property
    def requests(self) -> int:
        """How many times the key set was asked for, whatever the answer."""
        with self._lock:
            return self._requests

    def publish(self, *keys: SigningKey | Mapping[str, object]) -> None:
        """Serve these public keys (a `SigningKey` or a raw JWK) from now on, and only these."""
        entries = [key.jwk() if isinstance(key, SigningKey) else dict(key) for key in keys]
        self.publish_document({"keys": entries})

    def publish_document(self, document: object) -> None:
        """Serve any JSON value, e.g. one that is not a JWK Set."""
        with self._lock:
            self._document = document

    def down(self, status: int = 503) -> None:
        """Answer every fetch with `status` and no key set."""
        with self._lock:
            self._status = status

    def slow(self, seconds: float) -> None:
        """Wait `seconds` before answering each fetch (cut short by `up()` or `stop()`)."""
        with self._lock:
            self._delay = seconds
            self._release.clear()

    def malformed(self) -> None:
        """Answer 200 with a body that is not JSON."""
        with self._lock:
            self._malformed = True

    def up(self) -> None:
        """Back to answering promptly with the published key set."""
        with self._lock:
            self._status, self._delay, self._malformed = 200, 0.0, False
        self._release.set()

    def _answer(self) -> tuple[float, int, bytes]:
        with self._lock:
            self._requests += 1
            if self._status != 200:
                return self._delay, self._status, b'{"error": "unavailable"}'
            if self._malformed:
                return self._delay, 200, b'{"keys": [ this is not json'
            return self._delay, 200, json.dumps(self._document).encode()


def _handler_for(provider: JwksServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            delay, status, body = provider._answer()
            if delay:
                provider._release.wait(delay)
            # The client may have given up waiting, which is what a slow test expects.
            with contextlib.suppress(OSError):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: pytest output is for failures."""

    return Handler

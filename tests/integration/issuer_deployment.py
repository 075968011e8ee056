"""accounts and the example resource server as two real servers side by side, for tests of
accounts as the token issuer of other services.

    deployment = IssuerDeployment.start(database_url, workdir)
    token = deployment.login(email)                 # a real access token from accounts
    deployment.example.get("/me", headers=bearer(token))
    deployment.accounts_cli("keys", "list")        # any `accounts` command, same settings
    deployment.fetches(JWKS_PATH)                   # how often anyone fetched the JWKS

Each server binds 127.0.0.1 on a free port, comes up within a bounded time and is stopped by
`stop()`. By default accounts signs with RS256 under a PEM pair made here (`signing_key`), so a
test can also sign tokens of its own with the real key; with `managed_keys=True` it makes and
rotates its own keys in the database, sealed with the deployment's `KEY_ENCRYPTION_KEY`.

    admin = deployment.login(admin_email)
    client = deployment.create_client(admin, "users:read")   # {client_id, client_secret, …}
    token = deployment.client_token(client)                  # client_credentials grant
    deployment.introspect(client, token)                     # {"active": …, …}
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import httpx

from tests.integration.servers import free_port, start_service, stop
from tests.jwks_server import SigningKey

PASSWORD = "correct-horse-battery-staple-42"
JWKS_PATH = "/.well-known/jwks.json"
METADATA_PATH = "/.well-known/oauth-authorization-server"
EXAMPLE_FACTORY = "examples.resource_server.app:from_environment"
COMMAND_TIMEOUT_SECONDS = 60
KEY_ENCRYPTION_KEY = "issuer-deployment-key-encryption-key-0123456789"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(client: dict[str, Any]) -> dict[str, str]:
    """HTTP Basic for a client (RFC 6749 §2.3.1: id and secret form-encoded first)."""
    raw = f"{quote_plus(client['client_id'])}:{quote_plus(client['client_secret'])}"
    return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}


@dataclass
class IssuerDeployment:
    """accounts (`accounts_url`, `accounts`) and the example (`example_url`, `example`)."""

    env: dict[str, str]
    signing_key: SigningKey | None
    accounts_url: str
    accounts_log: Path
    example_url: str
    accounts: httpx.Client
    example: httpx.Client
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        database_url: str,
        workdir: Path,
        example_settings: dict[str, str] | None = None,
        *,
        managed_keys: bool = False,
        **settings: str,
    ) -> IssuerDeployment:
        """accounts on `database_url` (already migrated), then the example pointed at it.

        `managed_keys`: no key files, accounts keeps its own keys (then `sign` is unavailable).
        `settings` are extra `ACCOUNTS_*` variables, named without the prefix;
        `example_settings` extra `RESOURCE_SERVER_*` variables, named in full.
        """
        key = None
        key_files = {}
        if not managed_keys:
            key = SigningKey.rsa("unused")
            private_file, public_file = key.write_pem_pair(workdir)
            key_files = {
                "ACCOUNTS_JWT_PRIVATE_KEY_FILE": str(private_file),
                "ACCOUNTS_JWT_PUBLIC_KEY_FILE": str(public_file),
            }
        port = free_port()
        accounts_url = f"http://127.0.0.1:{port}"
        # No signing setting of the caller's shell decides which keys this deployment uses.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("ACCOUNTS_JWT_")}
        env = {
            **inherited,
            "ACCOUNTS_DATABASE_URL": database_url,
            "ACCOUNTS_PUBLIC_URL": accounts_url,
            "ACCOUNTS_JWT_ALGORITHM": "RS256",
            **key_files,
            "ACCOUNTS_KEY_ENCRYPTION_KEY": KEY_ENCRYPTION_KEY,
            "ACCOUNTS_MAIL_URL": f"file:{workdir / 'mail'}",
            "ACCOUNTS_LOG_FORMAT": "json",
            "ACCOUNTS_LOG_LEVEL": "INFO",
            **{f"ACCOUNTS_{name.upper()}": value for name, value in settings.items()},
        }
        accounts_log = workdir / "accounts.log"
        accounts_process, _ = start_service(env, accounts_log, port=port)
        processes = [accounts_process]
        try:
            example_process, example_url = start_service(
                {
                    **os.environ,
                    "RESOURCE_SERVER_ISSUER": accounts_url,
                    **(example_settings or {}),
                },
                workdir / "example.log",
                factory=EXAMPLE_FACTORY,
            )
        except BaseException:
            stop(accounts_process)
            raise
        processes.append(example_process)
        return cls(
            env=env,
            signing_key=key,
            accounts_url=accounts_url,
            accounts_log=accounts_log,
            example_url=example_url,
            accounts=httpx.Client(base_url=accounts_url, timeout=30),
            example=httpx.Client(base_url=example_url, timeout=30),
            _processes=processes,
        )

    def stop(self) -> None:
        self.accounts.close()
        self.example.close()
        for process in reversed(self._processes):
            stop(process)

    def accounts_cli(
        self, *args: str, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`accounts ARGS…` with the deployment's settings; fails the test on a non-zero exit."""
        result = subprocess.run(  # noqa: S603 - our own console script
            [str(Path(sys.executable).with_name("accounts")), *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result

    def register(self, email: str) -> str:
        """A new user's id."""
        response = self.accounts.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 201, response.text
        user_id: str = response.json()["id"]
        return user_id

    def create_admin(self, email: str) -> None:
        self.accounts_cli("create-admin", "--email", email, stdin=f"{PASSWORD}\n")

    def login(self, email: str) -> str:
        """An access token from the password grant."""
        response = self.accounts.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": email, "password": PASSWORD},
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def create_client(
        self, admin_token: str, *scopes: str, name: str = "reports"
    ) -> dict[str, Any]:
        """A new client (`POST /api/v1/clients` by an admin): its id, secret and scopes."""
        response = self.accounts.post(
            "/api/v1/clients",
            json={"name": name, "scopes": list(scopes)},
            headers=bearer(admin_token),
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def client_token(self, client: dict[str, Any], **form: str) -> str:
        """An access token from the client-credentials grant (client_secret_basic)."""
        response = self.accounts.post(
            "/api/v1/auth/token",
            data={"grant_type": "client_credentials", **form},
            headers=basic(client),
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def introspect(self, client: dict[str, Any], token: str) -> dict[str, Any]:
        """RFC 7662's answer about `token`, asked by `client`."""
        response = self.accounts.post(
            "/api/v1/auth/introspect", data={"token": token}, headers=basic(client)
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        """A token signed with accounts' real private key (for expired or foreign claims)."""
        import jwt  # noqa: PLC0415 - only tests that forge tokens need it

        assert self.signing_key is not None, "managed keys never leave accounts"
        return jwt.encode(claims, self.signing_key.private_key, algorithm="RS256", headers=header)

    def fetches(self, path: str) -> int:
        """How many requests for `path` accounts has answered, from its JSON access log."""
        counts: Counter[str] = Counter()
        for line in self.accounts_log.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("event") == "request":
                counts[str(entry.get("path"))] += 1
        return counts[path]

"""The example resource server (examples/resource_server) beside accounts, both real servers:
it trusts accounts' tokens from discovery and the JWKS alone, never calling accounts per request.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import jwt
import pytest

from adapters.persistence import migrator
from tests.integration.conftest import fresh_database, run_in_thread
from tests.integration.issuer_deployment import (
    JWKS_PATH,
    METADATA_PATH,
    IssuerDeployment,
    bearer,
)
from tests.jwks_server import SigningKey

REFETCH_INTERVAL = 60
# CONTRACT §9: running workers pick up a rotation within 10 seconds.
ROTATION_PICKUP_SECONDS = 10


@pytest.fixture(scope="module")
async def deployment(
    postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[IssuerDeployment]:
    """One deployment for the module, on a database of its own."""
    async with fresh_database(postgres_server_url) as database_url:
        run_in_thread(migrator.upgrade, database_url)
        started = IssuerDeployment.start(
            database_url,
            tmp_path_factory.mktemp("issuer"),
            # Longer than the unknown-kid test takes even on a loaded machine.
            example_settings={"RESOURCE_SERVER_REFETCH_INTERVAL": str(REFETCH_INTERVAL)},
        )
        try:
            yield started
        finally:
            started.stop()


@pytest.fixture
async def managed(postgres_server_url: str, tmp_path: Path) -> AsyncIterator[IssuerDeployment]:
    """A deployment whose accounts makes and rotates its own keys, on a database of its own;
    its example verifies every request afresh, so a token it accepts is checked against the
    keys published now, not remembered from before a rotation."""
    async with fresh_database(postgres_server_url) as database_url:
        run_in_thread(migrator.upgrade, database_url)
        started = IssuerDeployment.start(
            database_url,
            tmp_path,
            example_settings={
                "RESOURCE_SERVER_REFETCH_INTERVAL": "1",
                "RESOURCE_SERVER_VERIFIED_CACHE_SIZE": "0",
            },
            managed_keys=True,
        )
        try:
            yield started
        finally:
            started.stop()


def _claims(deployment: IssuerDeployment, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": deployment.accounts_url,
        "aud": "accounts-api",
        "sub": str(uuid4()),
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid4()),
        "role": "admin",
        **overrides,
    }


def _kid(token: str) -> str:
    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


def _refused(deployment: IssuerDeployment, token: str, path: str = "/me") -> None:
    response = deployment.example.get(path, headers=bearer(token))
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_a_user_token_is_accepted_without_calling_accounts_per_request(
    deployment: IssuerDeployment,
) -> None:
    email = f"ada-{uuid4().hex[:8]}@example.com"
    user_id = deployment.register(email)
    token = deployment.login(email)
    jwks_before = deployment.fetches(JWKS_PATH)

    for _ in range(20):
        response = deployment.example.get("/me", headers=bearer(token))
        assert response.status_code == 200, response.text
        assert response.json() == {"sub": user_id, "role": "user"}

    # Discovery once, when the example started; the JWKS at most once, for the first token.
    assert deployment.fetches(METADATA_PATH) == 1
    assert deployment.fetches(JWKS_PATH) - jwks_before <= 1
    assert deployment.fetches(JWKS_PATH) == 1


def test_the_admin_route_takes_an_admin_and_refuses_a_user(deployment: IssuerDeployment) -> None:
    email = f"root-{uuid4().hex[:8]}@example.com"
    deployment.create_admin(email)
    admin = deployment.login(email)
    user = deployment.login(_new_user(deployment))

    assert deployment.example.get("/admin", headers=bearer(admin)).json()["admin"] is True
    refused = deployment.example.get("/admin", headers=bearer(user))
    assert refused.status_code == 403
    assert refused.headers["www-authenticate"] == 'Bearer error="insufficient_scope"'


def test_a_user_token_lacks_a_client_scope(deployment: IssuerDeployment) -> None:
    user = deployment.login(_new_user(deployment))

    response = deployment.example.get("/reports", headers=bearer(user))

    assert response.status_code == 403
    assert 'scope="users:read"' in response.headers["www-authenticate"]


def test_a_tampered_token_is_refused(deployment: IssuerDeployment) -> None:
    token = deployment.login(_new_user(deployment))
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    _refused(deployment, f"{header}.{forged}.{signature}", "/admin")


def test_expired_and_foreign_tokens_are_refused(deployment: IssuerDeployment) -> None:
    kid = _kid(deployment.login(_new_user(deployment)))
    past = int(time.time()) - 60
    valid = deployment.sign(_claims(deployment), kid=kid, typ="at+jwt")
    assert deployment.example.get("/admin", headers=bearer(valid)).status_code == 200

    cases = {
        "expired": deployment.sign(
            _claims(deployment, iat=past - 900, exp=past), kid=kid, typ="at+jwt"
        ),
        "another issuer": deployment.sign(
            _claims(deployment, iss="https://evil.example"), kid=kid, typ="at+jwt"
        ),
        "another audience": deployment.sign(
            _claims(deployment, aud="another-api"), kid=kid, typ="at+jwt"
        ),
        "not an access token": deployment.sign(_claims(deployment), kid=kid, typ="JWT"),
        "a key in the header": deployment.sign(
            _claims(deployment), kid=kid, typ="at+jwt", jku="https://evil.example/jwks"
        ),
        "another key under our kid": jwt.encode(
            _claims(deployment),
            SigningKey.rsa().private_key,
            algorithm="RS256",
            headers={"kid": kid, "typ": "at+jwt"},
        ),
        "unsigned": jwt.encode(
            _claims(deployment), None, algorithm="none", headers={"kid": kid, "typ": "at+jwt"}
        ),
    }
    for name, token in cases.items():
        response = deployment.example.get("/admin", headers=bearer(token))
        assert response.status_code == 401, name


def test_unknown_kids_refetch_the_jwks_at_most_once_per_interval(
    deployment: IssuerDeployment,
) -> None:
    before = deployment.fetches(JWKS_PATH)

    for _ in range(10):
        _refused(deployment, deployment.sign(_claims(deployment), kid=uuid4().hex, typ="at+jwt"))

    assert deployment.fetches(JWKS_PATH) - before <= 1


def test_no_token_is_a_bare_challenge_and_the_public_route_needs_none(
    deployment: IssuerDeployment,
) -> None:
    missing = deployment.example.get("/me")

    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert deployment.example.get("/public").json() == {"hello": "anyone"}


@pytest.fixture(scope="module")
def admin(deployment: IssuerDeployment) -> str:
    """An admin's access token on the module's deployment."""
    email = f"admin-{uuid4().hex[:8]}@example.com"
    deployment.create_admin(email)
    return deployment.login(email)


def test_a_client_token_opens_the_scope_it_holds_and_nothing_else(
    deployment: IssuerDeployment, admin: str
) -> None:
    client = deployment.create_client(admin, "users:read")
    token = deployment.client_token(client)

    reports = deployment.example.get("/reports", headers=bearer(token))
    writing = deployment.example.post("/reports", headers=bearer(token))
    as_admin = deployment.example.get("/admin", headers=bearer(token))
    as_user = deployment.example.get("/me", headers=bearer(token))

    assert reports.status_code == 200, reports.text
    assert reports.json() == {"client_id": client["client_id"], "scopes": ["users:read"]}
    assert writing.status_code == 403
    assert writing.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", scope="users:write"'
    )
    # A client acts for no user, so neither the admin route nor a user's route is its.
    assert as_admin.status_code == 403
    assert as_user.status_code == 403


def test_a_client_token_with_the_scope_it_asked_for(
    deployment: IssuerDeployment, admin: str
) -> None:
    client = deployment.create_client(admin, "users:read", "users:write")
    narrow = deployment.client_token(client, scope="users:read")
    wide = deployment.client_token(client)

    refused = deployment.example.post("/reports", headers=bearer(narrow))
    filed = deployment.example.post("/reports", headers=bearer(wide))

    assert refused.status_code == 403
    assert filed.status_code == 201, filed.text
    assert filed.json() == {"client_id": client["client_id"], "filed": True}


def test_introspection_sees_a_deactivation_the_self_contained_token_cannot(
    deployment: IssuerDeployment, admin: str
) -> None:
    resource_server = deployment.create_client(admin, "users:read", name="resource server")
    email = f"leaver-{uuid4().hex[:8]}@example.com"
    user_id = deployment.register(email)
    token = deployment.login(email)
    assert deployment.example.get("/me", headers=bearer(token)).status_code == 200
    before = deployment.introspect(resource_server, token)

    deactivated = deployment.accounts.patch(
        f"/api/v1/users/{user_id}", json={"is_active": False}, headers=bearer(admin)
    )
    assert deactivated.status_code == 200, deactivated.text

    # The token still verifies locally until it expires: nothing in it has changed.
    still = deployment.example.get("/me", headers=bearer(token))
    assert still.status_code == 200
    assert still.json() == {"sub": user_id, "role": "user"}
    # Introspection reads the account now, and so does accounts itself.
    assert before["active"] is True
    assert (before["sub"], before["username"]) == (user_id, email)
    assert before["iss"] == deployment.accounts_url
    assert deployment.introspect(resource_server, token) == {"active": False}
    refused = deployment.accounts.get("/api/v1/users/me", headers=bearer(token))
    assert refused.status_code == 403
    assert refused.json()["code"] == "account_disabled"


def _key_states(deployment: IssuerDeployment) -> dict[str, str]:
    listed = json.loads(deployment.accounts_cli("keys", "list").stdout)["keys"]
    return {key["kid"]: key["state"] for key in listed}


def test_a_rotation_reaches_new_tokens_and_the_running_example(managed: IssuerDeployment) -> None:
    admin_email = f"root-{uuid4().hex[:8]}@example.com"
    managed.create_admin(admin_email)
    client = managed.create_client(managed.login(admin_email), "users:read")
    email = _new_user(managed)
    old_client_token = managed.client_token(client)
    old_user_token = managed.login(email)
    old_kid = _kid(old_client_token)
    assert _kid(old_user_token) == old_kid
    assert _key_states(managed) == {old_kid: "current"}
    assert managed.example.get("/reports", headers=bearer(old_client_token)).status_code == 200
    jwks_fetches = managed.fetches(JWKS_PATH)

    new_kid = json.loads(managed.accounts_cli("keys", "rotate", "--now").stdout)["kid"]
    rotated_at = time.monotonic()

    assert new_kid != old_kid
    assert _key_states(managed) == {old_kid: "retired", new_kid: "current"}
    # The running accounts signs with the new key once its own poll has seen it: no restart.
    new_client_token = managed.client_token(client)
    while _kid(new_client_token) != new_kid:
        waited = time.monotonic() - rotated_at
        assert waited < ROTATION_PICKUP_SECONDS, f"still {old_kid} after {waited:.1f} s"
        time.sleep(0.25)
        new_client_token = managed.client_token(client)
    new_user_token = managed.login(email)
    assert _kid(new_user_token) == new_kid
    published = {key["kid"] for key in managed.accounts.get(JWKS_PATH).json()["keys"]}
    assert published == {old_kid, new_kid}

    # The example, started before the rotation, fetches the new key on its first unknown kid
    # and keeps accepting the old key's tokens, which have not expired.
    for token, path in (
        (new_client_token, "/reports"),
        (new_user_token, "/me"),
        (old_client_token, "/reports"),
        (old_user_token, "/me"),
    ):
        response = managed.example.get(path, headers=bearer(token))
        assert response.status_code == 200, (path, _kid(token), response.text)
    assert managed.fetches(JWKS_PATH) > jwks_fetches
    # accounts itself still takes the old key's tokens too.
    assert managed.introspect(client, old_user_token)["active"] is True
    assert managed.accounts.get("/api/v1/users/me", headers=bearer(old_user_token)).is_success


def _new_user(deployment: IssuerDeployment) -> str:
    email = f"user-{uuid4().hex[:8]}@example.com"
    deployment.register(email)
    return email


def test_the_example_is_independent_of_accounts_source() -> None:
    """The example imports nothing of the service: it is what another team would write."""
    example = Path(__file__).resolve().parents[2] / "examples" / "resource_server"
    for source in example.glob("*.py"):
        text = source.read_text()
        for package in ("domain", "application", "adapters", "entrypoints"):
            assert f"from {package}" not in text, source
            assert f"import {package}" not in text, source


def test_the_ten_lines_in_the_docs_verify_our_token(deployment: IssuerDeployment) -> None:
    """docs/resource-servers.md's snippet, run as written against the running service."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "resource-servers.md"
    snippet = re.search(r"```python\n(.*?)```", docs.read_text(), re.S)
    assert snippet is not None
    code = snippet[1].replace('"https://id.example.com"', repr(deployment.accounts_url))
    namespace: dict[str, Any] = {}
    exec(compile(code, str(docs), "exec"), namespace)  # noqa: S102 - our own documentation
    email = _new_user(deployment)

    claims = namespace["verify"](deployment.login(email))

    assert claims["iss"] == deployment.accounts_url
    kid = _kid(deployment.login(email))
    for forged in (
        deployment.sign(_claims(deployment, iss="https://evil.example"), kid=kid, typ="at+jwt"),
        deployment.sign(_claims(deployment), kid=kid, typ="JWT"),
        deployment.sign(_claims(deployment), kid="unknown", typ="at+jwt"),
    ):
        with pytest.raises(jwt.PyJWTError):
            namespace["verify"](forged)

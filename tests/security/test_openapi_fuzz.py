"""Property-based fuzzing of every operation against the app's own OpenAPI document.

schemathesis generates valid and invalid requests for each operation from the spec the app
serves, and each is sent four times over real HTTP to a Uvicorn on loopback backed by real
Postgres: anonymously, with a normal user's bearer token, with an admin's, and with an API
key. Every answer must be no 5xx, conform to the documented status codes, media types,
headers and schemas, and, if an error, be a problem (or the token endpoint's OAuth JSON).
Bounded by `FUZZ_MAX_EXAMPLES` per operation and mode (default 50) so CI stays near two minutes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration.http.conftest import JWT_SECRET, PASSWORD
from tests.integration.servers import start_service, stop

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "50"))
UNLIMITED = "1000000/minute"
ADMIN_EMAIL = "fuzz-admin@example.com"
USER_EMAIL = "fuzz-user@example.com"
# RFC 6749 §5.2 errors: the token endpoint, and revocation, whose RFC 7009 §2.2.1 reuses them.
OAUTH_ENDPOINTS = {"/api/v1/auth/token", "/api/v1/auth/revoke"}


def every_error_is_a_problem(ctx: Any, response: Any, case: Any) -> bool | None:
    """4xx and 5xx bodies are RFC 9457 problems; the token endpoint's 400s are OAuth JSON."""
    if response.status_code < 400:
        return None
    media = response.headers.get("content-type", [""])
    media = (media[0] if isinstance(media, list) else media).split(";")[0].strip()
    body = response.json()
    if case.path in OAUTH_ENDPOINTS and response.status_code == 400:
        assert media == "application/json", media
        assert body["error"] == body["code"], body
    else:
        assert media == "application/problem+json", (response.status_code, media)
    assert body["status"] == response.status_code, body
    assert {"type", "title", "detail", "code", "request_id"} <= set(body), body
    return True


@pytest.fixture(scope="module")
def fuzz_server(
    migrated_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    env = {
        **os.environ,
        "ACCOUNTS_DATABASE_URL": migrated_database_url,
        "ACCOUNTS_JWT_SECRET": JWT_SECRET,
        "ACCOUNTS_LOG_LEVEL": "WARNING",
        "ACCOUNTS_RATE_LIMIT_ANONYMOUS": UNLIMITED,
        "ACCOUNTS_RATE_LIMIT_USER": UNLIMITED,
        "ACCOUNTS_RATE_LIMIT_API_KEY": UNLIMITED,
        "ACCOUNTS_RATE_LIMIT_LOGIN_IP": UNLIMITED,
        "ACCOUNTS_RATE_LIMIT_LOGIN_USERNAME": UNLIMITED,
        "ACCOUNTS_RATE_LIMIT_LOGIN_ACCOUNT": UNLIMITED,
        "ACCOUNTS_RATE_LIMIT_REGISTER": UNLIMITED,
    }
    log = tmp_path_factory.mktemp("fuzz") / "service.log"
    subprocess.run(  # noqa: S603 - our own console script
        [str(Path(sys.executable).parent / "accounts"), "create-admin", "--email", ADMIN_EMAIL],
        input=PASSWORD.encode(),
        env=env,
        check=True,
        capture_output=True,
    )
    process, base_url = start_service(env, log)
    try:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            assert (
                client.post(
                    "/api/v1/auth/register", json={"email": USER_EMAIL, "password": PASSWORD}
                ).status_code
                == 201
            )

            def login(email: str) -> dict[str, str]:
                token = client.post(
                    "/api/v1/auth/token",
                    data={"grant_type": "password", "username": email, "password": PASSWORD},
                )
                return {"Authorization": f"Bearer {token.json()['access_token']}"}

            user = login(USER_EMAIL)
            key = client.post("/api/v1/users/me/api-keys", json={"name": "fuzz"}, headers=user)
            credentials = {
                "anonymous": {},
                "user": user,
                "admin": login(ADMIN_EMAIL),
                "api_key": {"X-API-Key": key.json()["key"]},
            }
            spec = client.get("/openapi.json").json()
        yield {"base_url": base_url, "credentials": credentials, "spec": spec, "log": log}
    finally:
        stop(process)
    assert "Traceback" not in log.read_text(errors="replace")


def _spec() -> dict[str, Any]:
    """The document the app serves, built without starting it (nothing is opened)."""
    return create_app(Settings(jwt_secret=JWT_SECRET, log_level="WARNING")).openapi()


SPEC = _spec()
SCHEMA = schemathesis.openapi.from_dict(SPEC)
OPERATIONS = {op.ok().label: op.ok() for op in SCHEMA.get_all_operations()}
# Negative cases need something to break: parameters or a body. Any string is a well-formed
# error code (unknown ones are 404), so that path parameter cannot be broken either.
UNBREAKABLE = {"GET /errors/{code}"}
CASES = [
    (label, mode)
    for label, operation in sorted(OPERATIONS.items())
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE
    or (
        label not in UNBREAKABLE
        and {"parameters", "requestBody"} & set(SPEC["paths"][operation.path][operation.method])
    )
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    every_error_is_a_problem,
]


@pytest.mark.parametrize(("label", "mode"), CASES)
def test_every_operation_with_every_credential(
    label: str, mode: GenerationMode, fuzz_server: dict[str, Any]
) -> None:
    sent: list[int] = []

    @given(case=OPERATIONS[label].as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def fuzz(case: Any) -> None:
        for headers in fuzz_server["credentials"].values():
            response = case.call(base_url=fuzz_server["base_url"], headers=headers, timeout=30)
            case.validate_response(response, checks=CHECKS)
            sent.append(response.status_code)

    fuzz()
    print(f"{label} {mode}: {len(sent)} requests")

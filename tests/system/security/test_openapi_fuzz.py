"""Property-based fuzzing of every operation against the app's own OpenAPI document.

schemathesis generates valid and invalid requests for each operation from the spec the app
serves, and each is sent over real HTTP to a Uvicorn on loopback backed by real Postgres:
anonymously, with a normal user's bearer token, with an admin's, and with an API key (an
operation open to anyone, only anonymously and with the user's token). Every answer must be
no 5xx, conform to the documented status codes, media types, headers and schemas, and, if an
error, be a problem (or the token endpoint's OAuth JSON).

The document must also be the truth about input. What it allows is accepted: a positive case
gets no 400 or 422 (401, 403, 404 and 409 stay fine: credentials and stored state decide
those). What it forbids is refused: a negative case gets a 4xx; those come from the coverage
phase too, which tries each constraint's boundary (a string one past `maxLength`, a value
just outside a `pattern`). Set aside, each because the document cannot state it:
- positive strings are ASCII: the names' rules about Unicode categories beyond Latin-1
  (format, private-use, unassigned characters) are no regex that ECMA-262 and Python read
  alike, so the descriptions state them (tests/unit/test_documented_patterns.py holds the
  patterns to the domain);
- a positive registration carries a known-good password: the policy's blocklist and its
  "not your email" and "not one repeated character" rules depend on data, not on a shape;
- a positive API-key expiry lies in the future, an instant the document cannot name;
- a positive listing (users, API keys, audit events) has no `cursor`: cursors are opaque,
  only the server issues them;
- a password or email change may answer 400 `invalid_current_password`: the caller's
  password is a secret, so a positive case's `current_password` is wrong; likewise a mailed
  link's token, so `verify_email` and `confirm_password_reset` may answer 400 `invalid_link`
  (and an email change or verification 409 `email_taken`);
- the form posts of the `/verify-email` and `/reset-password` pages answer HTML pages, not
  problems, and are left out;
- the token endpoint may answer 400 to positive cases (schemathesis knows it as the
  `tokenUrl`): credentials decide those, as RFC 6749 says;
- positive cases skip the coverage phase: drawing strings of exactly `maxLength` that match
  the email pattern costs minutes; tests/integration/http/test_openapi.py sends each
  documented limit and one past it instead.
Rate limits are set far beyond what the run sends.

Bounded by `FUZZ_MAX_EXAMPLES` per operation and mode (default 30; registration, which
hashes every password, 10) besides the coverage phase's boundary cases, and derandomized, so
the run stays near two minutes on two cores and every run sends the same requests.
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
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration.http.conftest import JWT_SECRET
from tests.integration.servers import start_service, stop

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "30"))
UNLIMITED = "1000000/minute"
# Not the document's example password: a generated password change must not succeed.
PASSWORD = "fuzzing-tangerine-umbrella-1987"
ADMIN_EMAIL = "fuzz-admin@example.com"
USER_EMAIL = "fuzz-user@example.com"
# RFC 6749 §5.2 errors: the token endpoint, revocation (RFC 7009 §2.2.1 reuses them) and
# introspection, which authenticates clients as the token endpoint does.
OAUTH_ENDPOINTS = {"/api/v1/auth/token", "/api/v1/auth/revoke", "/api/v1/auth/introspect"}


def every_error_is_a_problem(ctx: Any, response: Any, case: Any) -> bool | None:
    """4xx and 5xx bodies are RFC 9457 problems; the OAuth endpoints' 400s and their 401
    `invalid_client` are OAuth JSON."""
    if response.status_code < 400:
        return None
    media = response.headers.get("content-type", [""])
    media = (media[0] if isinstance(media, list) else media).split(";")[0].strip()
    body = response.json()
    oauth_error = response.status_code == 400 or (
        response.status_code == 401 and body.get("code") == "invalid_client"
    )
    if case.path in OAUTH_ENDPOINTS and oauth_error:
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
        "ACCOUNTS_RATE_LIMIT_CLIENT": UNLIMITED,
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
# Derandomized, so every run sends the same requests; what the document cannot state is set
# aside per operation (see the module docstring). A negative run sends some valid cases too
# (the examples phase's), so both runs share the operations' settings.
GENERATION = {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"}
OPERATIONS = [
    {
        "include-operation-id": "change_password",
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "429", "5xx"]
            }
        },
    },
    # Every registration hashes its password (Argon2id, slow by design).
    {"include-operation-id": "register_user", "generation": {"max-examples": 10}},
    # A mailed link's token is a secret only a mail holds: a positive case's is unknown.
    *(
        {
            "include-operation-id": operation_id,
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "400", "401", "403", "409", "429", "5xx"]
                }
            },
        }
        for operation_id in ("verify_email", "confirm_password_reset", "change_email")
    ),
]
# The pages' form posts answer in HTML, not problems, by design (a person reads them).
HTML_FORM_POSTS = ("submit_verify_email_page", "submit_reset_password_page")
POSITIVE = (
    schemathesis.openapi.from_dict(
        SPEC,
        config=SchemathesisConfig.from_dict(
            {
                "generation": {**GENERATION, "mode": "positive", "codec": "ascii"},
                "phases": {"coverage": {"enabled": False}},
                "operations": OPERATIONS,
            }
        ),
    )
    .exclude(operation_id=HTML_FORM_POSTS[0])
    .exclude(operation_id=HTML_FORM_POSTS[1])
)
# Negative cases need something to break: parameters or a body. Any string is a well-formed
# error code (unknown ones are 404), so that path parameter cannot be broken either.
NEGATIVE = (
    schemathesis.openapi.from_dict(
        SPEC,
        config=SchemathesisConfig.from_dict(
            {"generation": {**GENERATION, "mode": "negative"}, "operations": OPERATIONS}
        ),
    )
    .exclude(path="/errors/{code}")
    .exclude(operation_id=HTML_FORM_POSTS[0])
    .exclude(operation_id=HTML_FORM_POSTS[1])
    .exclude(lambda ctx: not {"parameters", "requestBody"} & set(ctx.operation.definition.raw))
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    every_error_is_a_problem,
    positive_data_acceptance,
    negative_data_rejection,
]


PAGED_LISTINGS = frozenset(
    {"GET /api/v1/users", "GET /api/v1/users/me/api-keys", "GET /api/v1/audit-events"}
)


def within_what_the_document_can_say(case: Any) -> None:
    """Make valid what only stored state or data decides, in a positive case (module docstring)."""
    if case.operation.label == "POST /api/v1/auth/register":
        case.body["password"] = PASSWORD
    elif case.operation.label == "POST /api/v1/users/me/api-keys":
        if isinstance(case.body.get("expires_at"), str):
            # A leap year, so that a drawn 29 February stays a date.
            case.body["expires_at"] = "2996" + case.body["expires_at"][4:]
    elif case.operation.label in PAGED_LISTINGS and case.query:
        case.query.pop("cursor", None)


@settings(deadline=None, suppress_health_check=list(HealthCheck))
def send_with_every_credential(case: Any, fuzz_server: dict[str, Any]) -> None:
    if case.meta.generation.mode is GenerationMode.POSITIVE:
        within_what_the_document_can_say(case)
    credentials = fuzz_server["credentials"]
    if not case.operation.definition.raw.get("security"):
        # Open to anyone: a token must change nothing, and one kind of token shows that.
        credentials = {name: credentials[name] for name in ("anonymous", "user")}
    for headers in credentials.values():
        response = case.call(base_url=fuzz_server["base_url"], headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS)


test_what_the_document_allows_is_accepted = POSITIVE.parametrize()(send_with_every_credential)
test_what_the_document_forbids_is_refused = NEGATIVE.parametrize()(send_with_every_credential)

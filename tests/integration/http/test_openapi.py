"""The OpenAPI document is complete, valid, committed, and tells the truth about errors.

Every check walks every operation the app serves, so a new route is covered without
touching this file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from entrypoints.http import error_handlers
from entrypoints.http.error_registry import ERRORS
from tests.integration.http.conftest import PASSWORD, Api, assert_problem

ROOT = Path(__file__).resolve().parents[3]
COMMITTED_SPEC = ROOT / "docs" / "openapi.json"
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
FORM = "application/x-www-form-urlencoded"
# The token endpoint's forms answer bad input with RFC 6749's 400 `invalid_request`, not 422.
FORM_INPUT_ERROR = "400"
CLIENT_BASIC = "ClientBasic"


@pytest.fixture
async def spec(api: Api) -> dict[str, Any]:
    response = await api.client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def examples_of(spec: dict[str, Any], media: dict[str, Any]) -> list[Any]:
    """Examples a tool shows for a media type: its own, else its schema's."""
    if "examples" in media:
        return [example["value"] for example in media["examples"].values()]
    if "example" in media:
        return [media["example"]]
    schema = resolve(spec, media.get("schema", {}))
    return list(schema.get("examples", [])) + ([schema["example"]] if "example" in schema else [])


def assert_valid_example(spec: dict[str, Any], media: dict[str, Any], where: str) -> None:
    """At least one example, and each one validates against the documented schema."""
    found = examples_of(spec, media)
    assert found, f"{where}: no example"
    if "schema" not in media:
        return
    validator = Draft202012Validator({**media["schema"], "components": spec["components"]})
    for example in found:
        errors = [e.message for e in validator.iter_errors(example)]
        assert not errors, f"{where}: example {example!r} does not match its schema: {errors}"


async def test_every_operation_has_names_tags_and_descriptions(spec: dict[str, Any]) -> None:
    declared_tags = {tag["name"]: tag.get("description") for tag in spec["tags"]}
    assert all(declared_tags.values()), "every tag needs a description"
    ids = [operation["operationId"] for _, _, operation in operations(spec)]
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    for path, method, operation in operations(spec):
        where = f"{method.upper()} {path}"
        assert SNAKE_CASE.match(operation["operationId"]), where
        assert operation.get("summary"), f"{where}: no summary"
        assert operation.get("description"), f"{where}: no description"
        assert operation.get("tags"), f"{where}: no tag"
        assert set(operation["tags"]) <= set(declared_tags), f"{where}: undeclared tag"


async def test_every_request_and_response_body_has_a_valid_example(spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        where = f"{method.upper()} {path}"
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
            assert_valid_example(spec, media, f"{where} request {media_type}")
        for status, response in operation["responses"].items():
            assert response.get("description"), f"{where} {status}: no description"
            for media_type, media in response.get("content", {}).items():
                assert_valid_example(spec, media, f"{where} {status} {media_type}")


async def test_every_error_response_is_a_problem_with_an_example_per_code(
    spec: dict[str, Any],
) -> None:
    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            where = f"{method.upper()} {path} {status}"
            (media_type, media), *others = response["content"].items()
            assert not others, f"{where}: one media type per error response"
            assert media["schema"]["$ref"].endswith(("/Problem", "/OAuthProblem")), where
            oauth = media["schema"]["$ref"].endswith("/OAuthProblem")
            assert media_type == ("application/json" if oauth else "application/problem+json")
            for code, example in media["examples"].items():
                spec_of_code = ERRORS[code]  # a documented code must be in the registry
                assert spec_of_code.status == int(status), f"{where}: {code}"
                assert example["value"]["code"] == code
                assert example["value"]["title"] == spec_of_code.title
                assert example["value"]["type"].endswith(f"/errors/{code}")


async def test_errors_documented_match_what_each_operation_can_answer(
    spec: dict[str, Any],
) -> None:
    def codes(operation: dict[str, Any], status: str) -> set[str]:
        response = operation["responses"].get(status)
        if response is None:
            return set()
        return {code for media in response["content"].values() for code in media["examples"]}

    for path, method, operation in operations(spec):
        where = f"{method.upper()} {path}"
        requirements = operation.get("security", [])
        by_client = any(CLIENT_BASIC in requirement for requirement in requirements)
        secured = bool(requirements) and not by_client
        # 401 exactly where credentials are needed, with both ways to fail; client
        # authentication (token and introspection endpoints) fails as `invalid_client`.
        assert (secured or by_client) == ("401" in operation["responses"]), where
        if by_client:
            assert codes(operation, "401") == {"invalid_client"}, where
        if secured:
            assert {"not_authenticated", "invalid_token"} <= codes(operation, "401"), where
            assert "account_disabled" in codes(operation, "403"), where
        if path.startswith("/api/v1/"):
            assert "rate_limited" in codes(operation, "429"), where
            assert "service_unavailable" in codes(operation, "503"), where
        takes_input = "requestBody" in operation or operation.get("parameters")
        if takes_input and FORM not in operation.get("requestBody", {}).get("content", {}):
            assert "validation_failed" in codes(operation, "422"), where
        if FORM in operation.get("requestBody", {}).get("content", {}):
            assert "invalid_request" in codes(operation, FORM_INPUT_ERROR), where
        if "requestBody" in operation:
            assert "payload_too_large" in codes(operation, "413"), where
    token = spec["paths"]["/api/v1/auth/token"]["post"]
    assert {
        "invalid_request",
        "invalid_grant",
        "unsupported_grant_type",
        "mfa_required",
        "invalid_scope",
    } == codes(token, "400")


async def test_security_declares_both_schemes_and_each_operation_its_own(
    spec: dict[str, Any],
) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
    assert (schemes["ApiKey"]["in"], schemes["ApiKey"]["name"]) == ("header", "X-API-Key")
    client_flow = schemes["OAuth2ClientCredentials"]["flows"]["clientCredentials"]
    assert client_flow["tokenUrl"] == "/api/v1/auth/token"
    assert set(client_flow["scopes"]) == {"users:read", "users:write"}
    assert (schemes[CLIENT_BASIC]["type"], schemes[CLIENT_BASIC]["scheme"]) == ("http", "basic")
    # No requirement, or an empty one among the alternatives: callable without credentials.
    anonymous = {
        operation["operationId"]
        for _, _, operation in operations(spec)
        if not operation.get("security") or {} in operation["security"]
    }
    assert {"register_user", "issue_token", "revoke_token", "health_live"} <= anonymous
    by_operation = {o["operationId"]: o.get("security", []) for _, _, o in operations(spec)}
    assert {CLIENT_BASIC: []} in by_operation["issue_token"]
    assert {CLIENT_BASIC: []} in by_operation["introspect_token"]
    assert {"OAuth2ClientCredentials": ["users:read"]} in by_operation["list_users"]
    assert {"OAuth2ClientCredentials": ["users:write"]} in by_operation["update_user"]
    for _, _, operation in operations(spec):
        for requirement in operation.get("security", []):
            assert set(requirement) <= set(schemes)


async def test_operations_that_do_not_offer_the_api_key_refuse_it(
    api: Api, spec: dict[str, Any]
) -> None:
    """Bearer-only operations (credential management) answer an API key with 403."""
    _, headers = await api.user(f"{uuid4().hex}@example.com")
    key = (await api.api_key(headers))["key"]
    bearer_only = [
        (path, method, operation)
        for path, method, operation in operations(spec)
        if any("OAuth2PasswordBearer" in r for r in operation.get("security", []))
        and all("ApiKey" not in r for r in operation["security"])
    ]
    assert {o["operationId"] for _, _, o in bearer_only} >= {"create_api_key", "change_password"}
    for path, method, operation in bearer_only:
        url = re.sub(r"\{[^}]+\}", str(uuid4()), path)
        body = None
        if "requestBody" in operation:
            body = examples_of(spec, operation["requestBody"]["content"]["application/json"])[0]
        response = await api.client.request(method, url, json=body, headers={"X-API-Key": key})
        assert_problem(response, 403, "forbidden")


async def test_every_code_the_app_answers_with_has_a_registry_entry_and_a_page(api: Api) -> None:
    source = "\n".join(p.read_text("utf-8") for p in (ROOT / "src").rglob("*.py"))
    raised = set(re.findall(r"ProblemError\(\s*\"([a-z_]+)\"", source))
    mapped = set(error_handlers.CODES_BY_STATUS.values())
    answered = raised | mapped | {"internal_error", "validation_failed"}
    assert raised, "the scan found no ProblemError at all"
    assert answered <= set(ERRORS), answered - set(ERRORS)
    for code in answered:
        page = await api.client.get(f"/errors/{code}")
        assert page.status_code == 200, code
        assert ERRORS[code].title in page.text


async def test_the_spec_validates(spec: dict[str, Any]) -> None:
    validate(spec)


async def test_the_committed_spec_is_the_served_one(spec: dict[str, Any]) -> None:
    committed = json.loads(COMMITTED_SPEC.read_text("utf-8")) if COMMITTED_SPEC.exists() else None
    assert committed == spec, (
        "docs/openapi.json differs from the API the app serves: run `make openapi-update` "
        "and review the diff"
    )


async def test_docs_pages_load_their_assets_from_this_service(api: Api) -> None:
    for page in ("/docs", "/redoc"):
        html = (await api.client.get(page)).text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets, page
        for asset in assets:
            assert asset.startswith("/docs-assets/"), f"{page} loads {asset}"
            assert (await api.client.get(asset)).status_code == 200, asset


def request_property(spec: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    """The schema of body property `name` in the request of `method path`."""
    content = spec["paths"][path][method]["requestBody"]["content"]
    (media,) = content.values()
    return dict(resolve(spec, media["schema"])["properties"][name])


def a_password(length: int) -> str:
    """A password the policy takes for its content (varied, not common), of `length` chars."""
    return ("correct-horse-battery-staple-42-" * 8)[:length]


def an_email(length: int) -> str:
    """A well-formed address of exactly `length` characters (at least 70)."""
    local = "x" * 64
    labels, left = [], length - len(local) - len("@") - len(".com")
    while left > 0:
        label = min(63, left - 1) if left > 63 else left
        labels.append("d" * label)
        left -= label + 1
    return f"{local}@{'.'.join(labels)}.com"


async def test_the_documented_string_limits_are_the_ones_the_server_enforces(
    api: Api, spec: dict[str, Any]
) -> None:
    _, headers = await api.user("ada@example.com")
    full_name = request_property(spec, "/api/v1/users/me", "patch", "full_name")["maxLength"]
    key_name = request_property(spec, "/api/v1/users/me/api-keys", "post", "name")["maxLength"]
    password = request_property(spec, "/api/v1/auth/register", "post", "password")
    email = request_property(spec, "/api/v1/auth/register", "post", "email")["maxLength"]
    assert len(an_email(email)) == email

    async def profile(name: str) -> int:
        response = await api.client.patch(
            "/api/v1/users/me", json={"full_name": name}, headers=headers
        )
        return response.status_code

    async def key(name: str) -> int:
        response = await api.client.post(
            "/api/v1/users/me/api-keys", json={"name": name}, headers=headers
        )
        return response.status_code

    async def register(address: str, secret: str = PASSWORD) -> int:
        return (await api.register(address, secret)).status_code

    assert (await profile("a" * full_name), await profile("a" * (full_name + 1))) == (200, 422)
    assert (await key("k" * key_name), await key("k" * (key_name + 1))) == (201, 422)
    assert (await register(an_email(email)), await register(an_email(email + 1))) == (201, 422)
    shortest, longest = password["minLength"], password["maxLength"]
    assert await register("short@example.com", a_password(shortest)) == 201
    assert await register("shorter@example.com", a_password(shortest - 1)) == 422
    assert await register("long@example.com", a_password(longest)) == 201
    assert await register("longer@example.com", a_password(longest + 1)) == 422


async def test_admin_patch_fields_are_optional_but_not_nullable_as_the_server_says(
    api: Api, spec: dict[str, Any]
) -> None:
    user_id, _ = await api.user("ada@example.com")
    _, admin = await api.admin()

    for name in ("full_name", "role", "is_active"):
        schema = request_property(spec, "/api/v1/users/{user_id}", "patch", name)
        assert "null" not in json.dumps(schema), (name, schema)
        response = await api.client.patch(
            f"/api/v1/users/{user_id}", json={name: None}, headers=admin
        )
        body = assert_problem(response, 422, "validation_failed")
        assert [e["pointer"] for e in body["errors"]] == [f"#/{name}"]
    for name, value in (("full_name", "x" * 201), ("role", "root"), ("is_active", "maybe")):
        response = await api.client.patch(
            f"/api/v1/users/{user_id}", json={name: value}, headers=admin
        )
        body = assert_problem(response, 422, "validation_failed")
        assert [e["pointer"] for e in body["errors"]] == [f"#/{name}"]


async def test_any_token_type_hint_is_documented_and_accepted(
    api: Api, spec: dict[str, Any]
) -> None:
    """RFC 7009 §2.1: a hint the server does not know is no error; it searches every type."""
    hint = request_property(spec, "/api/v1/auth/revoke", "post", "token_type_hint")

    response = await api.client.post(
        "/api/v1/auth/revoke", data={"token": "whatever", "token_type_hint": "device_code"}
    )

    assert hint == {"type": "string", "description": hint["description"]}
    assert response.status_code == 200


async def test_the_documented_patterns_say_what_the_server_accepts(
    api: Api, spec: dict[str, Any]
) -> None:
    _, headers = await api.user("ada@example.com")
    cases: dict[tuple[str, str, str], list[str]] = {
        ("/api/v1/auth/register", "post", "email"): [
            "grace@example.com",
            " alan@example.com\t",
            "edsger@localhost",
            "barbara@example.123",
            "don..ald@example.com",
            "x" * 65 + "@example.com",
            "john@exa_mple.com",
        ],
        ("/api/v1/users/me", "patch", "full_name"): [
            "Ada King",
            "Ada\tKing\n",
            "Ada\x00King",
            "Ada\x7f",
            "Ada\xad",
            "   ",
        ],
        ("/api/v1/users/me/api-keys", "post", "name"): [
            "deploy bot",
            "\tdeploy bot\n",
            "deploy\tbot",
            "   ",
            "",
            "bot\x85",
        ],
    }

    async def accepted(path: str, method: str, name: str, value: str) -> bool:
        body: dict[str, Any] = {name: value}
        if name == "email":
            body["password"] = PASSWORD
        response = await api.client.request(method, path, json=body, headers=headers)
        assert response.status_code in (200, 201, 422), response.text
        return response.status_code != 422

    for (path, method, name), values in cases.items():
        schema = request_property(spec, path, method, name)
        validator = Draft202012Validator(schema)
        for value in values:
            documented = validator.is_valid(value)
            assert documented == await accepted(path, method, name, value), (name, value)


async def test_an_empty_token_parameter_counts_as_absent_as_documented(
    api: Api, spec: dict[str, Any]
) -> None:
    """RFC 6749 §3.2: a parameter sent without a value is treated as omitted."""
    await api.user("ada@example.com")
    refresh_token = request_property(spec, "/api/v1/auth/token", "post", "refresh_token")

    response = await api.client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "password",
            "username": "ada@example.com",
            "password": PASSWORD,
            "refresh_token": "",
        },
    )

    assert response.status_code == 200, response.text
    assert Draft202012Validator(refresh_token).is_valid("")

"""Bodies built to make the answer expensive get a small, bounded answer."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.http.conftest import PASSWORD, Api, assert_problem

REGISTER = "/api/v1/auth/register"
JSON = {"Content-Type": "application/json"}
# The documented limits: a 422 lists at most 20 fields; a JSON body holds at most 100 values.
MAX_LISTED_ERRORS = 20
MAX_JSON_VALUES = 100


def registration(**extra: Any) -> dict[str, Any]:
    return {"email": "ada@example.com", "password": PASSWORD, **extra}


async def test_a_422_lists_at_most_20_fields_and_counts_the_rest(api: Api) -> None:
    unknown = {f"field_{i}": i for i in range(50)}

    response = await api.client.post(REGISTER, json=registration(**unknown))

    body = assert_problem(response, 422, "validation_failed")
    assert [e["pointer"] for e in body["errors"]] == [
        f"#/field_{i}" for i in range(MAX_LISTED_ERRORS)
    ]
    assert body["errors_omitted"] == 30


async def test_a_422_with_few_errors_omits_nothing(api: Api) -> None:
    response = await api.client.post(REGISTER, json=registration(nickname="ada"))

    body = assert_problem(response, 422, "validation_failed")
    assert len(body["errors"]) == 1
    assert "errors_omitted" not in body


async def test_seventy_thousand_unknown_fields_are_refused_in_one_small_problem(
    api: Api,
) -> None:
    hostile = json.dumps(registration(**{f"f{i}": 1 for i in range(70_000)}))

    response = await api.client.post(REGISTER, content=hostile, headers=JSON)

    body = assert_problem(response, 422, "validation_failed")
    assert len(hostile) > 800_000
    assert len(response.content) < 1_000
    assert body["errors"] == [
        {
            "pointer": "#",
            "detail": f"The body holds more than {MAX_JSON_VALUES} values (object members "
            "and array items, counted at every depth).",
            "code": "too_many_values",
        }
    ]
    assert "errors_omitted" not in body


async def test_nested_values_count_too(api: Api) -> None:
    deep: Any = "x"
    for _ in range(MAX_JSON_VALUES + 1):
        deep = {"a": deep}
    wide_array = [{"a": 1} for _ in range(MAX_JSON_VALUES)]

    nested = await api.client.post(REGISTER, json=registration(full_name=deep))
    array = await api.client.post(REGISTER, json=registration(full_name=wide_array))
    top_level_array = await api.client.post(REGISTER, json=list(range(MAX_JSON_VALUES + 1)))

    for response in (nested, array, top_level_array):
        body = assert_problem(response, 422, "validation_failed")
        assert [e["code"] for e in body["errors"]] == ["too_many_values"]


async def test_a_body_at_the_limit_is_validated_as_usual(api: Api) -> None:
    filler = {f"f{i}": 1 for i in range(MAX_JSON_VALUES - 2)}

    response = await api.client.post(REGISTER, json=registration(**filler))

    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["code"] == "extra_forbidden"
    assert body["errors_omitted"] == MAX_JSON_VALUES - 2 - MAX_LISTED_ERRORS


async def test_the_refusal_comes_after_authentication_and_rate_limits(api: Api) -> None:
    _, headers = await api.user("ada@example.com")
    hostile = json.dumps({f"f{i}": 1 for i in range(10_000)})

    anonymous = await api.client.patch("/api/v1/users/me", content=hostile, headers=JSON)
    signed_in = await api.client.patch(
        "/api/v1/users/me", content=hostile, headers={**JSON, **headers}
    )

    assert_problem(anonymous, 401, "not_authenticated")
    body = assert_problem(signed_in, 422, "validation_failed")
    assert [e["code"] for e in body["errors"]] == ["too_many_values"]
    assert signed_in.headers["ratelimit"].startswith('"user";')


async def test_a_user_who_may_not_call_an_operation_is_refused_before_the_checks(
    api: Api,
) -> None:
    _, headers = await api.user("ada@example.com")
    hostile = json.dumps({f"f{i}": 1 for i in range(10_000)})

    listing = await api.client.get("/api/v1/users?role=user&role=admin", headers=headers)
    update = await api.client.patch(
        "/api/v1/users/00000000-0000-7000-8000-000000000000",
        content=hostile,
        headers={**JSON, **headers},
    )

    assert_problem(listing, 403, "forbidden")
    assert_problem(update, 403, "forbidden")

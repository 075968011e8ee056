"""Bodies built to make the answer expensive get a small, bounded answer."""

from __future__ import annotations

from typing import Any

from tests.integration.http.conftest import PASSWORD, Api, assert_problem

REGISTER = "/api/v1/auth/register"
# The documented limit: a 422 lists at most 20 fields.
MAX_LISTED_ERRORS = 20


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

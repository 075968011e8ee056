"""One parser reads every request's media type: case, parameters and spacing do not matter."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from entrypoints.http.media_types import FORM, is_json, media_type_of


def _request(content_type: str | None) -> Request:
    headers = [] if content_type is None else [(b"content-type", content_type.encode("latin-1"))]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers})


@pytest.mark.parametrize(
    ("content_type", "media"),
    [
        ("application/json", "application/json"),
        ("Application/JSON; charset=utf-8", "application/json"),
        ("application/x-www-form-urlencoded ;charset=UTF-8", FORM),
        ("", ""),
        (None, ""),
    ],
)
def test_the_media_type_is_lowercased_without_parameters(
    content_type: str | None, media: str
) -> None:
    assert media_type_of(_request(content_type)) == media


def test_json_is_application_json_or_a_json_structured_syntax() -> None:
    assert is_json("application/json")
    assert is_json("application/merge-patch+json")
    assert not is_json("text/plain")
    assert not is_json("")

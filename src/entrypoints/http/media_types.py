"""The one parser of request media types, for every `Content-Type` check."""

from __future__ import annotations

from python_multipart.multipart import parse_options_header
from starlette.requests import Request

FORM = "application/x-www-form-urlencoded"


def media_type_of(request: Request) -> str:
    """The body's media type, lowercased and without parameters; empty when none is declared."""
    media, _ = parse_options_header(request.headers.get("content-type"))
    return media.decode("latin-1")


def is_json(media: str) -> bool:
    """Whether `media` is JSON: `application/json` or a `+json` structured syntax (RFC 6839)."""
    return media == "application/json" or media.endswith("+json")

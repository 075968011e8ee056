"""Public documents (JWKS, discovery metadata) as the bytes served and their entity tag."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from application.ports import PublishedDocument


def published(document: Mapping[str, Any]) -> PublishedDocument:
    """`document` as compact JSON bytes with a strong entity tag of their SHA-256."""
    body = json.dumps(document, separators=(",", ":")).encode()
    return PublishedDocument(body=body, etag=f'"{hashlib.sha256(body).hexdigest()[:32]}"')

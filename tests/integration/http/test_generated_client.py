"""A Python client generated from the served spec drives the real app end to end."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx

from tests.integration.http.conftest import BASE_URL, PASSWORD, Api

PACKAGE = "accounts_client"


def generate_client(spec: dict[str, Any], where: Path) -> Any:
    """Run openapi-python-client on `spec` and import the package it writes."""
    spec_file = where / "openapi.json"
    spec_file.write_text(json.dumps(spec), "utf-8")
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(  # noqa: S603 - our own venv's generator on our own spec
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(spec_file),
            "--meta",
            "none",
            "--output-path",
            str(where / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        # The generator formats its output with ruff, found on PATH.
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Warning" not in output, f"the generator choked on part of the spec:\n{output}"
    sys.path.insert(0, str(where))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))


async def test_a_generated_client_registers_logs_in_and_uses_an_api_key(
    api: Api, tmp_path: Path
) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    generate_client(spec, tmp_path)
    from accounts_client import AuthenticatedClient, Client  # noqa: PLC0415
    from accounts_client.api.api_keys import create_api_key  # noqa: PLC0415
    from accounts_client.api.auth import issue_token, register_user  # noqa: PLC0415
    from accounts_client.api.users import get_current_user  # noqa: PLC0415
    from accounts_client.models import (  # noqa: PLC0415
        CreateApiKeyRequest,
        CreatedApiKeyResponse,
        IssueTokenBody,
        IssueTokenBodyGrantType,
        Problem,
        RegisterRequest,
        TokenResponse,
        UserResponse,
    )

    transport = httpx.ASGITransport(app=api.app)
    http = {"transport": transport}
    email = f"gen-{uuid4().hex[:8]}@example.com"
    anonymous = Client(base_url=BASE_URL, httpx_args=http)

    registered = await register_user.asyncio_detailed(
        client=anonymous,
        body=RegisterRequest(email=email, password=PASSWORD, full_name="Generated Client"),
    )
    assert registered.status_code == 201
    assert isinstance(registered.parsed, UserResponse)

    tokens = await issue_token.asyncio(
        client=anonymous,
        body=IssueTokenBody(
            grant_type=IssueTokenBodyGrantType.PASSWORD, username=email, password=PASSWORD
        ),
    )
    assert isinstance(tokens, TokenResponse)

    as_bearer = AuthenticatedClient(base_url=BASE_URL, token=tokens.access_token, httpx_args=http)
    me = await get_current_user.asyncio(client=as_bearer)
    assert isinstance(me, UserResponse)
    assert (me.email, me.id) == (email, registered.parsed.id)

    key = await create_api_key.asyncio(
        client=as_bearer, body=CreateApiKeyRequest(name="generated client")
    )
    assert isinstance(key, CreatedApiKeyResponse)

    as_key = AuthenticatedClient(
        base_url=BASE_URL, token=key.key, prefix="", auth_header_name="X-API-Key", httpx_args=http
    )
    me_by_key = await get_current_user.asyncio(client=as_key)
    assert isinstance(me_by_key, UserResponse)
    assert me_by_key.id == me.id

    # Errors come back as the documented problem model.
    refused = await get_current_user.asyncio(client=anonymous)
    assert isinstance(refused, Problem)
    assert refused.code == "not_authenticated"

"""Client authentication at the token and introspection endpoints (RFC 6749 §2.3.1).

`client_secret_basic` (HTTP Basic over the form-urlencoded id and secret) or
`client_secret_post` (`client_id` and `client_secret` in the form), never both in one request.
A Basic value that is not base64 of `id:secret` is `invalid_client` (401, with the Basic
challenge): the client tried to authenticate and failed, which is what that error means.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote_plus

from starlette.datastructures import FormData
from starlette.requests import Request

from application.use_cases.client_credentials import ClientCredentials
from entrypoints.http.problems import ProblemError

BASIC_CHALLENGE = 'Basic realm="accounts"'


@dataclass(frozen=True, slots=True)
class PresentedClient:
    """The credentials a request presented, and whether they came by HTTP Basic."""

    credentials: ClientCredentials
    basic: bool

    def refused(self, detail: str = "Client authentication failed.") -> ProblemError:
        """The `invalid_client` answer, with the Basic challenge when Basic was used."""
        return invalid_client(detail, basic=self.basic)


def invalid_client(detail: str, *, basic: bool) -> ProblemError:
    headers = {"WWW-Authenticate": BASIC_CHALLENGE} if basic else None
    return ProblemError("invalid_client", detail, headers=headers)


def presented_client(request: Request, form: FormData) -> PresentedClient:
    """The client credentials of the request; `invalid_request` when both methods are used,
    `invalid_client` when there are none or the Basic value is malformed."""
    authorization = request.headers.get("authorization")
    scheme, _, value = (authorization or "").partition(" ")
    basic = scheme.lower() == "basic"
    form_ids = form.getlist("client_id")
    form_secrets = form.getlist("client_secret")
    if basic:
        if form_secrets or form_ids:
            raise ProblemError(
                "invalid_request",
                "Authenticate the client one way: HTTP Basic or client_id and client_secret "
                "in the form, not both.",
            )
        return PresentedClient(_basic_credentials(value.strip()), basic=True)
    if len(form_ids) > 1 or len(form_secrets) > 1:
        raise ProblemError("invalid_request", "client_id and client_secret are sent once each.")
    client_id = form_ids[0] if form_ids else ""
    secret = form_secrets[0] if form_secrets else ""
    if not isinstance(client_id, str) or not isinstance(secret, str) or not client_id:
        # No credentials at all: Basic is how a client would authenticate, so say so.
        raise invalid_client("The client must authenticate.", basic=not form_secrets)
    return PresentedClient(ClientCredentials(client_id=client_id, secret=secret), basic=False)


def _basic_credentials(value: str) -> ClientCredentials:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise invalid_client(
            "The Basic credentials are not base64 of client_id:client_secret.", basic=True
        ) from None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id:
        raise invalid_client(
            "The Basic credentials are not base64 of client_id:client_secret.", basic=True
        )
    # RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined.
    return ClientCredentials(client_id=unquote_plus(client_id), secret=unquote_plus(secret))

"""A mail message's template values are one-line strings that never show in a repr."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.mail import MailKind, MailMessage, MailMessageId
from domain.users import EmailAddress
from tests.fakes import DEFAULT_NOW


def message(values: dict[str, str]) -> MailMessage:
    return MailMessage(
        id=MailMessageId(UUID(int=1)),
        kind=MailKind.PASSWORD_RESET,
        to=EmailAddress("a@example.com"),
        values=values,
        created_at=DEFAULT_NOW,
    )


@pytest.mark.parametrize(
    "values",
    [
        {"full_name": "Ada\r\nBcc: x@example.com"},
        {"full_name": "Ada\nLovelace"},
        {"not a name": "x"},
    ],
)
def test_values_are_one_line_strings_under_identifier_names(values: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="one-line"):
        message(values)


def test_the_values_never_show_in_a_repr() -> None:
    sent = message({"link": "https://example.com/reset-password?token=secret-token"})
    assert "secret-token" not in repr(sent)

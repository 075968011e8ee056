"""The domain's patterns, which the OpenAPI document declares, say what its value objects take.

The patterns must read alike in ECMA-262 and Python, so they name the control characters but
not the Unicode categories beyond (format, private-use, unassigned), which the descriptions
state. Hence: exact agreement on every character below U+0100 and on all whitespace, and no
character that the document forbids while the domain takes it.
"""

from __future__ import annotations

import re
import sys

import pytest

from domain.credentials import ApiKeyName
from domain.credentials.api_keys import API_KEY_NAME_PATTERN
from domain.errors import InvalidValue
from domain.users import EmailAddress, FullName
from domain.users.values import EMAIL_PATTERN, FULL_NAME_PATTERN, MAX_EMAIL_LENGTH, WHITESPACE
from tests.unit.test_values import INVALID_ADDRESSES, PLAUSIBLE_ADDRESSES

# The patterns name characters of the Basic Multilingual Plane only, like every whitespace.
BMP = [chr(code) for code in range(0x10000)]
LATIN_1 = BMP[:0x100]
SPACES = [chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace()]


def accepts(value_object: type[object], text: str) -> bool:
    try:
        value_object(text)
    except InvalidValue:
        return False
    return True


def declares(pattern: str, text: str) -> bool:
    """What a JSON Schema validator says: ECMA `^…$` without flags is a full match."""
    return re.fullmatch(pattern, text) is not None


def test_the_whitespace_class_is_what_python_strips() -> None:
    assert [char for char in BMP if re.fullmatch(f"[{WHITESPACE}]", char)] == SPACES


@pytest.mark.parametrize(
    "text",
    [
        *PLAUSIBLE_ADDRESSES,
        *(param.values[0] for param in INVALID_ADDRESSES),
        " ada@example.com\n",
        "\u3000ada@example.com",
        "ada@example.com 1",
        "ada@example.123 ",
        "Ada@Example.COM",
        "a@b.c0",
    ],
)
def test_the_email_pattern_and_max_length_are_the_domain_rule(text: str) -> None:
    documented = len(text) <= MAX_EMAIL_LENGTH and declares(EMAIL_PATTERN, text)

    assert documented == accepts(EmailAddress, text)


@pytest.mark.parametrize(
    ("pattern", "value_object"),
    [(FULL_NAME_PATTERN, FullName), (API_KEY_NAME_PATTERN, ApiKeyName)],
    ids=["full_name", "api_key_name"],
)
def test_a_name_pattern_is_the_domain_rule_wherever_a_pattern_can_say_it(
    pattern: str, value_object: type[object]
) -> None:
    for char in [*LATIN_1, *SPACES]:
        for text in (char, f"a{char}b", f"{char}a", f"a{char}", f" {char} "):
            assert declares(pattern, text) == accepts(value_object, text), (pattern, text)
    forbidden = [char for char in BMP if not declares(pattern, f"a{char}b")]
    assert forbidden
    for char in forbidden:
        assert not accepts(value_object, f"a{char}b"), hex(ord(char))

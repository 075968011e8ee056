from __future__ import annotations

import pytest

from domain.errors import InvalidEmail, InvalidFullName
from domain.users import EmailAddress, FullName, HashedPassword

PLAUSIBLE_ADDRESSES = [
    "first.last+tag@mail.example.co.uk",
    "o'brien@example.ie",
    "user_name-1@xn--bcher-kva.example",
    "a@b-c.io",
    "x" * 64 + "@example.com",
    # Exactly 254 characters: 64 + 1 + 189.
    "x" * 64 + "@" + "a" * 63 + "." + "b" * 63 + "." + "c" * 57 + ".com",
]

INVALID_ADDRESSES = [
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
    pytest.param("ada.example.com", id="no-at"),
    pytest.param("@example.com", id="no-local-part"),
    pytest.param("ada@", id="no-domain"),
    pytest.param("a@b@example.com", id="two-ats"),
    pytest.param(".ada@example.com", id="leading-dot"),
    pytest.param("ada.@example.com", id="trailing-dot"),
    pytest.param("a..da@example.com", id="double-dot"),
    pytest.param("a da@example.com", id="space-in-local-part"),
    pytest.param("josé@example.com", id="non-ascii-local-part"),
    pytest.param("x" * 65 + "@example.com", id="local-part-too-long"),
    pytest.param(
        "x" * 64 + "@" + "a" * 63 + "." + "b" * 63 + "." + "c" * 58 + ".com",
        id="address-too-long",
    ),
    pytest.param("ada@localhost", id="single-label-domain"),
    pytest.param("ada@example..com", id="empty-label"),
    pytest.param("ada@-example.com", id="label-starts-with-hyphen"),
    pytest.param("ada@example-.com", id="label-ends-with-hyphen"),
    pytest.param("ada@ex_ample.com", id="underscore-in-label"),
    pytest.param("ada@" + "x" * 64 + ".com", id="label-too-long"),
    pytest.param("ada@exa mple.com", id="space-in-domain"),
    pytest.param("ada@example.123", id="numeric-tld"),
    pytest.param("ada@127.0.0.1", id="ip-address"),
    pytest.param("ada\n@example.com", id="newline-in-local-part"),
    pytest.param("ada@example\n.com", id="newline-in-domain"),
]


class TestEmailAddress:
    def test_trims_surrounding_whitespace(self) -> None:
        assert EmailAddress("  ada@example.com \n").value == "ada@example.com"

    def test_keeps_local_part_as_written_but_lowercases_the_domain(self) -> None:
        email = EmailAddress("Ada.Lovelace@Example.COM")

        assert email.value == "Ada.Lovelace@example.com"
        assert str(email) == "Ada.Lovelace@example.com"
        assert email.normalized == "ada.lovelace@example.com"

    def test_equality_and_hash_ignore_case(self) -> None:
        a, b = EmailAddress("Ada@Example.com"), EmailAddress("ADA@example.COM")

        assert a == b
        assert hash(a) == hash(b)
        assert len({a, b}) == 1

    def test_different_addresses_differ(self) -> None:
        assert EmailAddress("ada@example.com") != EmailAddress("ada@example.org")

    def test_is_never_equal_to_a_plain_string(self) -> None:
        assert EmailAddress("ada@example.com") != "ada@example.com"

    @pytest.mark.parametrize("text", PLAUSIBLE_ADDRESSES)
    def test_accepts_plausible_addresses(self, text: str) -> None:
        assert EmailAddress(text).value == text

    @pytest.mark.parametrize("text", INVALID_ADDRESSES)
    def test_rejects_invalid_forms(self, text: str) -> None:
        with pytest.raises(InvalidEmail):
            EmailAddress(text)

    def test_rejects_non_text(self) -> None:
        with pytest.raises(InvalidEmail):
            EmailAddress(None)  # type: ignore[arg-type]


class TestFullName:
    def test_folds_runs_of_whitespace_and_trims(self) -> None:
        assert FullName("  Ada \t  King\n Lovelace ").value == "Ada King Lovelace"

    def test_may_be_empty(self) -> None:
        assert FullName("   ").value == ""

    def test_allows_letters_from_any_script(self) -> None:
        assert str(FullName("Zoë Đorđević 李小龍")) == "Zoë Đorđević 李小龍"

    @pytest.mark.parametrize(
        "name",
        [
            pytest.param("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", id="persian-zwnj"),
            pytest.param("\u0915\u094d\u200d\u0937", id="devanagari-zwj"),
        ],
    )
    def test_allows_the_joiners_some_scripts_need(self, name: str) -> None:
        assert FullName(name).value == name

    def test_length_limit_applies_after_folding(self) -> None:
        assert FullName("  " + "a" * 200 + "  ").value == "a" * 200

    def test_rejects_more_than_200_characters(self) -> None:
        with pytest.raises(InvalidFullName):
            FullName("a" * 201)

    @pytest.mark.parametrize(
        "text",
        [
            pytest.param("Ada\x00Lovelace", id="nul"),
            pytest.param("Ada\x07Lovelace", id="bell"),
            pytest.param("Ada\u200bLovelace", id="zero-width-space"),
            pytest.param("Ada\u202eLovelace", id="right-to-left-override"),
            pytest.param("Ada\ue000", id="private-use"),
            pytest.param("Ada\ud800", id="lone-surrogate"),
        ],
    )
    def test_rejects_control_and_invisible_characters(self, text: str) -> None:
        with pytest.raises(InvalidFullName):
            FullName(text)

    def test_rejects_non_text(self) -> None:
        with pytest.raises(InvalidFullName):
            FullName(42)  # type: ignore[arg-type]

    def test_equal_by_value(self) -> None:
        assert FullName("Ada  Lovelace") == FullName("Ada Lovelace")


class TestHashedPassword:
    def test_repr_and_str_never_show_the_hash(self) -> None:
        hashed = HashedPassword("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA")

        assert repr(hashed) == "HashedPassword(<redacted>)"
        assert "argon2" not in str(hashed)
        assert "aGFzaA" not in f"{[hashed]}"

    @pytest.mark.parametrize("text", ["", "plain-text-password", "argon2id$v=19"])
    def test_must_be_a_phc_string(self, text: str) -> None:
        with pytest.raises(ValueError, match="PHC"):
            HashedPassword(text)

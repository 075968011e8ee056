"""The TOTP and sealing adapters, and where their key comes from."""

from __future__ import annotations

import pytest

from adapters.identity.secret_box import AesGcmSecretBox
from adapters.identity.totp import CryptographyOneTimePasswords
from application.errors import SecondFactorUnavailable
from entrypoints.settings import Settings

# RFC 6238 appendix B: the SHA-1 seed "12345678901234567890", in base32.
RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
KEY = "a-key-encryption-key-of-enough-length-0123456789"
PRODUCTION = {
    "env": "production",
    "public_url": "https://accounts.example",
    "jwt_algorithm": "HS256",
    "jwt_secret": KEY,
    "mail_url": "smtp://mail.example.com:587",
}


@pytest.mark.parametrize(
    ("unix_time", "eight_digits"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
    ],
)
def test_codes_match_the_rfc_6238_test_vectors(unix_time: int, eight_digits: str) -> None:
    # Six digits are the last six of the RFC's eight (the modulus is a power of ten).
    assert CryptographyOneTimePasswords().code_at(RFC_SECRET, unix_time // 30) == eight_digits[2:]


def test_the_provisioning_uri_names_the_account_issuer_and_parameters() -> None:
    uri = CryptographyOneTimePasswords().provisioning_uri(RFC_SECRET, "ada@example.com", "acme")

    assert uri.startswith("otpauth://totp/acme:ada%40example.com?")
    for part in (f"secret={RFC_SECRET}", "issuer=acme", "digits=6", "period=30", "algorithm=SHA1"):
        assert part in uri


def test_sealing_round_trips_and_never_repeats() -> None:
    box = AesGcmSecretBox(lambda: KEY)
    first, second = box.seal(b"JBSWY3DPEHPK3PXP"), box.seal(b"JBSWY3DPEHPK3PXP")

    assert first != second
    assert b"JBSWY3DPEHPK3PXP" not in first
    assert box.open(first) == box.open(second) == b"JBSWY3DPEHPK3PXP"


def test_another_key_or_a_tampered_value_cannot_be_opened() -> None:
    sealed = AesGcmSecretBox(lambda: KEY).seal(b"secret")
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])

    with pytest.raises(SecondFactorUnavailable):
        AesGcmSecretBox(lambda: KEY + "x").open(sealed)
    with pytest.raises(SecondFactorUnavailable):
        AesGcmSecretBox(lambda: KEY).open(tampered)
    with pytest.raises(SecondFactorUnavailable):
        AesGcmSecretBox(lambda: KEY).open(b"\x02" + sealed[1:])


def test_without_a_key_nothing_is_sealed() -> None:
    box = AesGcmSecretBox(lambda: None)
    with pytest.raises(SecondFactorUnavailable):
        box.seal(b"secret")


def test_production_has_no_fallback_key_for_second_factors() -> None:
    assert Settings(**PRODUCTION).second_factor_key() is None
    assert Settings(**PRODUCTION, key_encryption_key=KEY).second_factor_key() == KEY

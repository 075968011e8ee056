"""The text a mailed link's values hold."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.mail_links import duration_text, link_to


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (86_400, "24 hours"),
        (1_800, "30 minutes"),
        (3_600, "1 hour"),
        (172_800, "2 days"),
        (5_400, "90 minutes"),
        (60, "1 minute"),
        (90, "90 seconds"),
    ],
)
def test_lifetimes_read_in_their_largest_whole_unit(seconds: int, text: str) -> None:
    assert duration_text(timedelta(seconds=seconds)) == text


def test_the_token_is_url_encoded_into_the_template() -> None:
    assert link_to("https://x.example/r?t={token}&a=1", "a+b/c=") == (
        "https://x.example/r?t=a%2Bb%2Fc%3D&a=1"
    )

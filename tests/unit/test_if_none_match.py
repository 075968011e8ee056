"""`If-None-Match` as RFC 9110 §13.1.2 defines it: a list, `*`, and weak comparison."""

from __future__ import annotations

import pytest

from entrypoints.http.etag import none_match_fails

TAG = '"3ac06b229ecb0c0aafdf82a755546315"'


@pytest.mark.parametrize(
    "lines",
    [
        [TAG],
        [f"W/{TAG}"],
        ["*"],
        [' "other" ', f"{TAG}"],
        ['"other", ' + TAG],
        ['"a,b"', f" W/{TAG} ,"],
    ],
)
def test_the_current_tag_anywhere_in_the_list_matches(lines: list[str]) -> None:
    assert none_match_fails(lines, TAG)


@pytest.mark.parametrize(
    "lines",
    [[], ['"other"'], [TAG.upper()], [TAG.strip('"')], [f'"a{TAG}"'], ["**"], ['"*"']],
)
def test_anything_else_does_not(lines: list[str]) -> None:
    assert not none_match_fails(lines, TAG)

"""`If-Match` as RFC 9110 defines it: a list of entity tags over any number of field lines."""

from __future__ import annotations

import pytest

from entrypoints.http.etag import parse_if_match


def test_absent_or_star_is_unconditional() -> None:
    assert parse_if_match([]) is None
    assert parse_if_match(["*"]) is None
    assert parse_if_match([" * "]) is None


def test_every_field_line_is_part_of_one_list() -> None:
    assert parse_if_match(['"v1"', '"v2", "v3"']) == {1, 2, 3}
    assert parse_if_match(['"v1",,  "v4" ,']) == {1, 4}


@pytest.mark.parametrize(
    "value",
    [
        'W/"v1"',  # weak tags never pass a strong comparison
        '"v01"',  # not the tag we issued for version 1, character for character
        '"V1"',
        "v1",
        '"v1',
        '"a,"v1""',
        '"v1" "v2"',
        '"x,y"',
        '"v99999999999999999999"',
    ],
)
def test_anything_but_a_tag_we_issued_matches_nothing(value: str) -> None:
    assert parse_if_match([value]) == frozenset()


def test_a_star_among_tags_is_no_wildcard() -> None:
    assert parse_if_match(['"v2"', "*"]) == {2}
    assert parse_if_match(["*, *"]) == frozenset()

"""The pure checks of `request_checks`: values in a JSON body, repeated query parameters."""

from __future__ import annotations

from typing import Any

import pytest

from entrypoints.http.request_checks import holds_more_values_than, repeated_parameters


@pytest.mark.parametrize("scalar", [None, True, 3, 2.5, "a long string " * 100])
def test_a_scalar_holds_no_values(scalar: object) -> None:
    assert not holds_more_values_than(scalar, 0)


def test_object_members_and_array_items_count() -> None:
    three = {"a": 1, "b": [2]}

    assert not holds_more_values_than(three, 3)
    assert holds_more_values_than(three, 2)
    assert not holds_more_values_than([1, 2, 3], 3)
    assert holds_more_values_than([1, 2, 3, 4], 3)


def test_values_count_at_every_depth() -> None:
    deep: Any = 0
    for _ in range(50):
        deep = {"a": [deep]}
    wide = [{"x": 1, "y": 2} for _ in range(10)]

    assert holds_more_values_than(deep, 99)
    assert not holds_more_values_than(deep, 100)
    assert holds_more_values_than(wide, 29)
    assert not holds_more_values_than(wide, 30)


def test_empty_containers_hold_nothing() -> None:
    assert not holds_more_values_than({"a": {}, "b": []}, 2)


def test_repeated_single_valued_parameters_are_counted_in_query_order() -> None:
    query = [("limit", "1"), ("role", "user"), ("tag", "a"), ("role", "admin"), ("limit", "9")]
    query += [("tag", "b"), ("role", "user")]

    assert repeated_parameters(query, {"role", "limit", "cursor"}) == {"limit": 2, "role": 3}
    assert repeated_parameters(query, {"cursor"}) == {}
    assert repeated_parameters([("role", "user")], {"role"}) == {}

"""Enhanced subscription filters: each operator against a mutation result.

Source: https://docs.aws.amazon.com/appsync/latest/devguide/aws-appsync-real-time-enhanced-filtering.html
names the operators, and each ``filterGroup`` entry holds when all its ``filters`` do.
The cases of ``contains`` on strings and on lists, of ``between`` at its ends and of
``containsAny`` are windtunnel's reading, not checked against AppSync (see the NOTE in
``subscriptions.py``).
"""

from __future__ import annotations

from typing import Any

import pytest

from windtunnel.services.appsync.subscriptions import check_filter, filter_matches

RESULT = {"severity": 7, "group": "ops-east", "tags": ["red", "blue"], "owner": {"id": "u-1"},
          "status": None}


def one(field: str, operator: str, value: Any) -> dict[str, Any]:
    return {"filterGroup": [{"filters": [
        {"fieldName": field, "operator": operator, "value": value}]}]}


@pytest.mark.parametrize(("field", "operator", "value", "expected"), [
    ("severity", "eq", 7, True),
    ("severity", "eq", 8, False),
    ("severity", "ne", 8, True),
    ("severity", "le", 7, True),
    ("severity", "lt", 7, False),
    ("severity", "ge", 7, True),
    ("severity", "gt", 6, True),
    ("group", "gt", "ops", True),
    ("severity", "gt", "6", False),
    ("group", "contains", "east", True),
    ("group", "notContains", "west", True),
    ("tags", "contains", "red", True),
    ("tags", "contains", "green", False),
    ("tags", "notContains", "green", True),
    ("group", "beginsWith", "ops-", True),
    ("group", "beginsWith", "east", False),
    ("group", "in", ["ops-east", "db"], True),
    ("group", "notIn", ["ops-east", "db"], False),
    ("severity", "between", [5, 7], True),
    ("severity", "between", [8, 9], False),
    ("tags", "containsAny", ["green", "blue"], True),
    ("tags", "containsAny", ["green"], False),
    ("owner.id", "eq", "u-1", True),
    ("status", "eq", None, True),
    ("missing", "eq", "x", False),
])
def test_operator(field: str, operator: str, value: Any, expected: bool) -> None:
    """Each operator compares the result's field with the filter's value."""
    assert filter_matches(one(field, operator, value), RESULT) is expected


def test_filters_of_a_group_all_hold() -> None:
    """The filters of one group are AND-ed."""
    group = {"filterGroup": [{"filters": [
        {"fieldName": "severity", "operator": "ge", "value": 5},
        {"fieldName": "group", "operator": "eq", "value": "db"}]}]}

    assert not filter_matches(group, RESULT)


def test_one_group_suffices() -> None:
    """The groups of filterGroup are OR-ed."""
    groups = {"filterGroup": [
        {"filters": [{"fieldName": "group", "operator": "eq", "value": "db"}]},
        {"filters": [{"fieldName": "severity", "operator": "eq", "value": 7}]}]}

    assert filter_matches(groups, RESULT)


@pytest.mark.parametrize(("subscription_filter", "problem"), [
    ({"filters": []}, "filterGroup"),
    ({"filterGroup": [{"filters": [{"operator": "eq", "value": 1}]}]}, "fieldName"),
    ({"filterGroup": [{"filters": [{"fieldName": "a", "operator": "like", "value": 1}]}]},
     "'like'"),
])
def test_invalid_filters_are_named(subscription_filter: dict[str, Any], problem: str) -> None:
    """A filter a resolver sets is checked, and the message names what is wrong."""
    message = check_filter(subscription_filter)

    assert message is not None
    assert problem in message

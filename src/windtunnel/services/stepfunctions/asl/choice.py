"""Choice rules of JSONPath states: comparison operators, type tests and And/Or/Not.

A comparison whose value has another type than the operator expects is false, not an
error; a Variable path that selects nothing is a States.Runtime error except in
``IsPresent``.
https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from windtunnel.services.stepfunctions.asl.errors import StatesError
from windtunnel.services.stepfunctions.asl.payload import Scope, read_path

__all__ = ["COMPARISON_OPERATORS", "rule_matches"]

_MISSING = object()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_timestamp(value: Any) -> datetime.datetime | None:
    """An RFC 3339 timestamp with a zone (``Z`` or an offset), else None."""
    if not isinstance(value, str) or not _TIMESTAMP.match(value):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


# Date, "T", time with optional fraction, then "Z" or an offset, as RFC 3339 requires.
_TIMESTAMP = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _string_matches(value: Any, pattern: str) -> bool:
    """``*`` matches any characters; ``\\*`` and ``\\\\`` are a literal star and backslash."""
    if not isinstance(value, str):
        return False
    regex = []
    index = 0
    while index < len(pattern):
        character = pattern[index]
        if character == "\\" and index + 1 < len(pattern):
            regex.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        regex.append(".*" if character == "*" else re.escape(character))
        index += 1
    return re.fullmatch("".join(regex), value, flags=re.DOTALL) is not None


def _compare(kind: str, relation: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(value: Any, expected: Any) -> bool:
        if kind == "String":
            if not isinstance(value, str) or not isinstance(expected, str):
                return False
            return relation(value, expected)
        if kind == "Numeric":
            if not _is_number(value) or not _is_number(expected):
                return False
            return relation(value, expected)
        if kind == "Boolean":
            return isinstance(value, bool) and isinstance(expected, bool) and \
                relation(value, expected)
        left, right = parse_timestamp(value), parse_timestamp(expected)
        if left is None or right is None:
            return False
        return relation(left, right)

    return compare


_RELATIONS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda left, right: left == right,
    "LessThan": lambda left, right: left < right,
    "GreaterThan": lambda left, right: left > right,
    "LessThanEquals": lambda left, right: left <= right,
    "GreaterThanEquals": lambda left, right: left >= right,
}

COMPARISON_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {}
for _kind in ("String", "Numeric", "Timestamp"):
    for _relation_name, _relation in _RELATIONS.items():
        COMPARISON_OPERATORS[_kind + _relation_name] = _compare(_kind, _relation)
COMPARISON_OPERATORS["BooleanEquals"] = _compare("Boolean", _RELATIONS["Equals"])
COMPARISON_OPERATORS["StringMatches"] = _string_matches

_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda value: value is None,
    "IsNumeric": lambda value: _is_number(value) and not (
        isinstance(value, float) and (math.isnan(value) or math.isinf(value))),
    "IsString": lambda value: isinstance(value, str),
    "IsBoolean": lambda value: isinstance(value, bool),
    "IsTimestamp": lambda value: parse_timestamp(value) is not None,
}


def rule_matches(rule: Mapping[str, Any], data: Any, scope: Scope) -> bool:
    """Whether a JSONPath Choice rule (or a rule nested in And/Or/Not) holds for ``data``."""
    if "And" in rule:
        return all(rule_matches(inner, data, scope) for inner in rule["And"])
    if "Or" in rule:
        return any(rule_matches(inner, data, scope) for inner in rule["Or"])
    if "Not" in rule:
        return not rule_matches(rule["Not"], data, scope)

    variable = rule["Variable"]
    if "IsPresent" in rule:
        try:
            read_path(variable, data, scope)
        except StatesError:
            present = False
        else:
            present = True
        return present is bool(rule["IsPresent"])

    value = read_path(variable, data, scope)
    for operator, test in _TYPE_TESTS.items():
        if operator in rule:
            return test(value) is bool(rule[operator])
    for operator, compare in COMPARISON_OPERATORS.items():
        if operator in rule:
            return compare(value, rule[operator])
        path_operator = operator + "Path"
        if path_operator in rule and operator != "StringMatches":
            expected = read_path(rule[path_operator], data, scope)
            return compare(value, expected)
    raise StatesError("States.Runtime",
                      f"the Choice rule on {variable} has no comparison operator")

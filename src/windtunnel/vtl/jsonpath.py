"""JSONPath for ``$input.path`` and ``$input.json``, with Jayway JsonPath's result rules.

API Gateway evaluates these paths with Jayway JsonPath
(https://github.com/json-path/JsonPath, linked from
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html).
A definite path (names and single indexes only) yields one value; a path with a
wildcard, deep scan, slice, union or filter yields a list of every match.

Supported: ``$``, ``.name``, ``['name']``, ``[n]`` (negative counts from the end),
``[*]`` and ``.*``, ``..name``, ``[a,b]``, ``[start:end]``, and filters
``[?(@.field)]`` and ``[?(@.field op literal)]`` with ``== != < <= > >=``.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

__all__ = ["JsonPathError", "evaluate_jsonpath"]

logger = logging.getLogger(__name__)


class JsonPathError(ValueError):
    """A JSONPath expression that cannot be parsed."""


@dataclass(frozen=True)
class _Step:
    kind: str  # "name", "index", "wildcard", "deep", "slice", "filter"
    names: tuple[str, ...] = ()
    indexes: tuple[int, ...] = ()
    start: int | None = None
    end: int | None = None
    filter_path: tuple[str, ...] = ()
    filter_operator: str | None = None
    filter_value: object = None


_NAME = re.compile(r"[^.\[\]()\s]+")
_FILTER = re.compile(
    r"\[\?\(\s*@((?:\.[A-Za-z0-9_$-]+)*)\s*(?:(==|!=|<=|>=|<|>)\s*('(?:[^']*)'|\"(?:[^\"]*)\"|"
    r"-?\d+(?:\.\d+)?|true|false|null))?\s*\)\]")


def _parse(path: str) -> list[_Step]:
    text = path.strip()
    if not text.startswith("$"):
        raise JsonPathError(f"Invalid JSONPath {path!r}: it must start with $")
    steps: list[_Step] = []
    position = 1
    while position < len(text):
        if text.startswith("..", position):
            name = _NAME.match(text, position + 2)
            if name is None:
                raise JsonPathError(f"Invalid JSONPath {path!r} at position {position}")
            steps.append(_Step("deep", names=(name.group(),)))
            position = name.end()
        elif text.startswith(".*", position):
            steps.append(_Step("wildcard"))
            position += 2
        elif text[position] == ".":
            name = _NAME.match(text, position + 1)
            if name is None:
                raise JsonPathError(f"Invalid JSONPath {path!r} at position {position}")
            steps.append(_Step("name", names=(name.group(),)))
            position = name.end()
        elif text.startswith("[?", position):
            match = _FILTER.match(text, position)
            if match is None:
                raise JsonPathError(f"Invalid JSONPath filter in {path!r} at position {position}")
            fields = tuple(part for part in match.group(1).split(".") if part)
            value = json.loads(match.group(3).replace("'", '"')) if match.group(3) else None
            steps.append(_Step("filter", filter_path=fields, filter_operator=match.group(2),
                               filter_value=value))
            position = match.end()
        elif text[position] == "[":
            close = text.find("]", position)
            if close < 0:
                raise JsonPathError(f"Invalid JSONPath {path!r}: no closing ]")
            steps.append(_bracket(text[position + 1:close].strip(), path))
            position = close + 1
        else:
            raise JsonPathError(f"Invalid JSONPath {path!r} at position {position}")
    return steps


def _bracket(inside: str, path: str) -> _Step:
    if inside == "*":
        return _Step("wildcard")
    if inside[:1] in ("'", '"'):
        names = tuple(part.strip()[1:-1] for part in inside.split(","))
        return _Step("name", names=names)
    if ":" in inside:
        start, _, end = inside.partition(":")
        return _Step("slice", start=int(start) if start.strip() else None,
                     end=int(end) if end.strip() else None)
    try:
        return _Step("index", indexes=tuple(int(part) for part in inside.split(",")))
    except ValueError as error:
        raise JsonPathError(f"Invalid JSONPath {path!r}: bad index [{inside}]") from error


def _children(value: object) -> list[object]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return list(value)
    return []


def _deep(value: object, name: str) -> list[object]:
    found: list[object] = []
    if isinstance(value, dict):
        if name in value:
            found.append(value[name])
        for child in value.values():
            found.extend(_deep(child, name))
    elif isinstance(value, list):
        for child in value:
            found.extend(_deep(child, name))
    return found


def _matches_filter(item: object, step: _Step) -> bool:
    value = item
    for field in step.filter_path:
        if not isinstance(value, dict) or field not in value:
            return False
        value = value[field]
    operator = step.filter_operator
    if operator is None:
        return True
    expected = step.filter_value
    if operator in ("==", "!="):
        return (value == expected) == (operator == "==")
    both_numbers = all(isinstance(side, (int, float)) and not isinstance(side, bool)
                       for side in (value, expected))
    if not both_numbers and not (isinstance(value, str) and isinstance(expected, str)):
        return False
    assert isinstance(value, (int, float, str))
    assert isinstance(expected, (int, float, str))
    return {"<": value < expected, "<=": value <= expected,  # type: ignore[operator]
            ">": value > expected, ">=": value >= expected}[operator]  # type: ignore[operator]


def _apply(step: _Step, value: object) -> list[object]:
    if step.kind == "name":
        return [value[name] for name in step.names if isinstance(value, dict) and name in value]
    if step.kind == "index":
        if not isinstance(value, list):
            return []
        return [value[index] for index in step.indexes if -len(value) <= index < len(value)]
    if step.kind == "wildcard":
        return _children(value)
    if step.kind == "deep":
        return _deep(value, step.names[0])
    if step.kind == "slice":
        return value[step.start:step.end] if isinstance(value, list) else []
    return [item for item in _children(value) if _matches_filter(item, step)]


def evaluate_jsonpath(document: object, path: str) -> tuple[object, bool]:
    """Evaluate ``path``; return ``(result, found)``.

    A definite path returns its one value, or ``(None, False)`` when it does not exist;
    an indefinite path returns a list of all matches, possibly empty.
    """
    steps = _parse(path)
    definite = all(
        (step.kind == "name" and len(step.names) == 1)
        or (step.kind == "index" and len(step.indexes) == 1)
        for step in steps)
    current = [document]
    for step in steps:
        current = [result for value in current for result in _apply(step, value)]
    if definite:
        return (current[0], True) if current else (None, False)
    return current, True

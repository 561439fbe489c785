"""JSONPath as the Amazon States Language uses it: reading paths and writing ResultPath.

Step Functions evaluates paths with Jayway JsonPath: a definite path (names and indexes
only) selects one value and fails when it is missing; an indefinite path (wildcards,
filters, slices, deep scans, unions) selects a list of every match, possibly empty.
Paths start at ``$`` (the state's input), ``$$`` (the context object) or ``$name``
(a variable).
https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html
https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONTEXT",
    "INPUT",
    "JsonPath",
    "PathNotFound",
    "ResultPathMatchFailure",
    "parse_path",
    "write_result_path",
]

INPUT = "$"
CONTEXT = "$$"

# One step of a definite path: a name after a dot or in brackets, or an index.
_DOT_NAME = re.compile(r"\.([^.\[\]\s'\"*@()?,:]+)")
_BRACKET_NAME = re.compile(r"\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*\"((?:[^\"\\]|\\.)*)\"\s*\]")
_BRACKET_INDEX = re.compile(r"\[\s*(-?\d+)\s*\]")
_VARIABLE_ROOT = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)")


class PathNotFound(Exception):
    """A definite path selected nothing in the data it read.

    Jayway, and so Step Functions, words the two cases differently: a missing last step
    gives "No results for path: $['a']['b']", a missing step before it gives "Missing
    property in path $['a']" (the path up to that step).
    """

    def __init__(self, path: JsonPath, missing_step: int | None = None) -> None:
        steps = path.steps or ()
        if missing_step is not None and missing_step < len(steps) - 1:
            message = f"Missing property in path {_bracket_path(steps[:missing_step + 1])}"
        else:
            message = f"No results for path: {path.normalized}"
        super().__init__(message)
        self.path = path


def _bracket_path(steps: tuple[str | int, ...]) -> str:
    """Steps in Jayway's bracket notation: ``$['a'][0]``."""
    return "$" + "".join(f"[{step}]" if isinstance(step, int) else f"['{step}']"
                         for step in steps)


class ResultPathMatchFailure(Exception):
    """ResultPath could not be written into the state's input."""


@dataclass(frozen=True)
class JsonPath:
    """A parsed path: its root (``$``, ``$$`` or a variable name) and its steps."""

    text: str
    root: str
    """``$`` for the input, ``$$`` for the context object, or a variable's name."""
    steps: tuple[str | int, ...] | None
    """Names and indexes of a definite path; None for an indefinite one."""
    _compiled: Any = None

    @property
    def definite(self) -> bool:
        """Whether the path selects at most one value."""
        return self.steps is not None

    @property
    def normalized(self) -> str:
        """The path in Jayway's bracket notation, as Step Functions prints it."""
        if self.steps is None:
            return self.text
        return _bracket_path(self.steps)

    def read(self, data: Any) -> Any:
        """Return the value this path selects in ``data`` (which is the root's value).

        A definite path raises :class:`PathNotFound` when nothing is there; an
        indefinite one returns the list of matches.
        """
        if self.steps is None:
            return [match.value for match in self._compiled.find(data)]
        value = data
        for number, step in enumerate(self.steps):
            if isinstance(step, int):
                if not isinstance(value, list):
                    raise PathNotFound(self)
                index = step if step >= 0 else len(value) + step
                if not 0 <= index < len(value):
                    raise PathNotFound(self)
                value = value[index]
            else:
                if not isinstance(value, Mapping) or step not in value:
                    raise PathNotFound(self, number)
                value = value[step]
        return value


@functools.lru_cache(maxsize=4096)
def parse_path(text: str) -> JsonPath:
    """Parse a path that starts with ``$``, ``$$`` or ``$variable``; ValueError if invalid."""
    if not text.startswith("$"):
        raise ValueError(f"the path {text!r} must start with '$'")
    if text.startswith("$$"):
        root, rest = CONTEXT, text[2:]
    else:
        variable = _VARIABLE_ROOT.match(text)
        if variable is not None:
            root, rest = variable.group(1), text[variable.end():]
        else:
            root, rest = INPUT, text[1:]

    steps = _definite_steps(rest)
    if steps is not None:
        return JsonPath(text, root, steps)
    return JsonPath(text, root, None, _compile_indefinite("$" + rest, text))


def _definite_steps(rest: str) -> tuple[str | int, ...] | None:
    """The steps of a path made only of names and indexes, or None for anything else."""
    steps: list[str | int] = []
    position = 0
    while position < len(rest):
        if rest.startswith("..", position):
            return None
        for pattern in (_DOT_NAME, _BRACKET_NAME, _BRACKET_INDEX):
            match = pattern.match(rest, position)
            if match is None:
                continue
            if pattern is _BRACKET_INDEX:
                steps.append(int(match.group(1)))
            elif pattern is _BRACKET_NAME:
                name = match.group(1) if match.group(1) is not None else match.group(2)
                steps.append(re.sub(r"\\(.)", r"\1", name))
            else:
                steps.append(match.group(1))
            position = match.end()
            break
        else:
            return None
    return tuple(steps)


def _compile_indefinite(expression: str, text: str) -> Any:
    from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
    from jsonpath_ng.ext.parser import parse

    try:
        return parse(expression)
    except (JsonPathLexerError, JsonPathParserError, Exception) as error:
        raise ValueError(f"the path {text!r} is not valid JSONPath: {error}") from None


def write_result_path(state_input: Any, result_path: str | None, result: Any) -> Any:
    """Combine a state's input and result as ResultPath says.

    ``$`` keeps only the result, ``None`` (``"ResultPath": null``) keeps only the input,
    and a reference path puts the result at that place in a copy of the input, creating
    the objects on the way.
    https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html
    """
    if result_path is None:
        return state_input
    path = parse_path(result_path)
    if path.steps is None or path.root != INPUT:
        raise ResultPathMatchFailure(f"Invalid ResultPath {result_path!r}: it must be a "
                                     f"reference path into the state's input")
    if not path.steps:
        return result

    # Only the containers along the path are copied: the engine never changes a value in
    # place, so the rest of the input can be shared with the output.
    if not isinstance(state_input, dict):
        raise ResultPathMatchFailure(_cannot_apply(result_path, state_input))
    output: dict[str, Any] = dict(state_input)
    node: Any = output
    for step in path.steps[:-1]:
        if isinstance(step, int):
            if not isinstance(node, list) or not -len(node) <= step < len(node):
                raise ResultPathMatchFailure(_cannot_apply(result_path, state_input))
            child = node[step]
        elif isinstance(node, dict):
            child = node.get(step)
        else:
            raise ResultPathMatchFailure(_cannot_apply(result_path, state_input))
        if child is None and not isinstance(step, int):
            child = {}
        elif isinstance(child, dict):
            child = dict(child)
        elif isinstance(child, list):
            child = list(child)
        else:
            raise ResultPathMatchFailure(_cannot_apply(result_path, state_input))
        node[step] = child
        node = child

    last = path.steps[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or not -len(node) <= last < len(node):
            raise ResultPathMatchFailure(_cannot_apply(result_path, state_input))
    elif not isinstance(node, dict):
        raise ResultPathMatchFailure(_cannot_apply(result_path, state_input))
    node[last] = result
    return output


def _cannot_apply(result_path: str, state_input: Any) -> str:
    from windtunnel.services.stepfunctions.asl.json_text import to_json

    return f"Unable to apply ResultPath \"{result_path}\" to input \"{to_json(state_input)}\""

"""Payload templates and path reads of JSONPath states, with AWS's runtime errors.

In ``Parameters``, ``ResultSelector``, ``ItemSelector``, ``Assign`` and the like, a key
ending in ``.$`` takes its value from a path (``$``, ``$$``, ``$variable``) or an
intrinsic function; other keys are literal.
https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from windtunnel.services.stepfunctions.asl.errors import RUNTIME, StatesError
from windtunnel.services.stepfunctions.asl.json_text import to_json
from windtunnel.services.stepfunctions.asl.paths import (
    CONTEXT,
    INPUT,
    PathNotFound,
    parse_path,
)

__all__ = ["Scope", "Variables", "read_path", "render_template"]


class Variables:
    """The workflow variables a state reads: its own scope, then the enclosing ones.

    Parallel branches and Map iterations read the variables of the scopes around them;
    what they assign stays in their own scope.
    https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html
    """

    def __init__(self, parent: Variables | None = None,
                 values: Mapping[str, Any] | None = None) -> None:
        self.parent = parent
        self.values: dict[str, Any] = dict(values or {})

    def child(self) -> Variables:
        """Return a new inner scope."""
        return Variables(self)

    def lookup(self, name: str) -> tuple[bool, Any]:
        """(True, value) if ``name`` is visible, else (False, None)."""
        scope: Variables | None = self
        while scope is not None:
            if name in scope.values:
                return True, scope.values[name]
            scope = scope.parent
        return False, None

    def visible(self) -> dict[str, Any]:
        """Return every visible variable, inner scopes hiding outer ones."""
        chain = []
        scope: Variables | None = self
        while scope is not None:
            chain.append(scope.values)
            scope = scope.parent
        merged: dict[str, Any] = {}
        for values in reversed(chain):
            merged.update(values)
        return merged

    def assign(self, values: Mapping[str, Any]) -> None:
        """Set variables in this scope."""
        self.values.update(values)


@dataclass
class Scope:
    """The values the expressions of one state read besides its input."""

    state_name: str
    entered_event_id: int
    context: dict[str, Any]
    variables: Variables
    random_source: random.Random = field(default_factory=random.Random)
    now: datetime.datetime | None = None
    """The clock's time, which JSONata's $now() and $millis() read."""


def read_path(path_text: str, data: Any, scope: Scope, *, field_name: str | None = None) -> Any:
    """Read ``path_text`` with ``$`` bound to ``data``; StatesError(States.Runtime) if missing.

    ``field_name`` names the template field (``"x.$"``) for the message AWS gives when a
    path in a payload template selects nothing.
    """
    try:
        path = parse_path(path_text)
    except ValueError as error:
        raise StatesError(RUNTIME, _runtime_cause(scope, str(error))) from None

    if path.root == INPUT:
        root = data
    elif path.root == CONTEXT:
        root = scope.context
    else:
        found, root = scope.variables.lookup(path.root)
        if not found:
            raise StatesError(RUNTIME, _runtime_cause(
                scope, f"The JSONPath '{path_text}' could not be found as the variable "
                       f"'{path.root}' is not defined"))
    try:
        return path.read(root)
    except PathNotFound as missing:
        if field_name is not None:
            detail = (f"The JSONPath '{path_text}' specified for the field '{field_name}' "
                      f"could not be found in the input '{to_json(root)}'")
        else:
            detail = f"Invalid path '{path_text}' : {missing}"
        raise StatesError(RUNTIME, _runtime_cause(scope, detail)) from None


def render_template(template: Any, data: Any, scope: Scope) -> Any:
    """Build the value of a payload template against ``data``."""
    if isinstance(template, dict):
        rendered: dict[str, Any] = {}
        for key, value in template.items():
            if key.endswith(".$") and isinstance(value, str):
                rendered[key[:-2]] = _dynamic_value(key, value, data, scope)
            else:
                rendered[key] = render_template(value, data, scope)
        return rendered
    if isinstance(template, list):
        return [render_template(item, data, scope) for item in template]
    return template


def _dynamic_value(key: str, expression: str, data: Any, scope: Scope) -> Any:
    if expression.startswith("States."):
        from windtunnel.services.stepfunctions.asl.intrinsics import evaluate_intrinsic

        try:
            return evaluate_intrinsic(
                expression,
                lambda path: read_path(path, data, scope, field_name=key),
                random_source=scope.random_source)
        except StatesError as error:
            if error.cause.startswith("An error occurred while executing the state"):
                raise
            raise StatesError(error.error, _runtime_cause(scope, error.cause)) from None
    return read_path(expression, data, scope, field_name=key)


def _runtime_cause(scope: Scope, detail: str) -> str:
    return (f"An error occurred while executing the state '{scope.state_name}' "
            f"(entered at the event id #{scope.entered_event_id}). {detail}")


def runtime_error(scope: Scope, detail: str) -> StatesError:
    """Build a States.Runtime error with AWS's cause prefix naming the state."""
    return StatesError(RUNTIME, _runtime_cause(scope, detail))

"""What a rule's target receives: the event, ``Input``, ``InputPath`` or ``InputTransformer``.

EventBridge sends the whole event unless the target sets one of three inputs. ``Input``
is constant JSON text, and ``InputPath`` selects part of the event. An
``InputTransformer`` names values from the event in ``InputPathsMap`` and places them in
its ``InputTemplate``:
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html

Template rules followed here, from that page and its "Common issues" section:

- A template that is a JSON object or array is JSON. A variable whose value is a string
  gets quotes when it is where a JSON value goes, and none inside a quoted string.
- A variable whose value is an object or array is inserted as JSON where a value goes.
  In a quoted string its inner quotes are removed, so the string stays valid. (NOTE: this
  rule is from the current page's text and was not checked against AWS.)
- Any other template is text, and values are inserted as they are.
- A variable whose path does not exist in the event is left out of the output.
- Values are not escaped.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "PREDEFINED_VARIABLES",
    "InputContext",
    "JsonPathError",
    "aws_event",
    "evaluate_path",
    "format_event_time",
    "parse_path",
    "render_template",
    "target_input",
]

logger = logging.getLogger(__name__)

PREDEFINED_VARIABLES = (
    "aws.events.rule-arn",
    "aws.events.rule-name",
    "aws.events.event.ingestion-time",
    "aws.events.event",
    "aws.events.event.json",
)
"""Variables that every template may use without an ``InputPathsMap`` entry."""

# The fields of an event as EventBridge delivers it, in its order:
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html
_EVENT_FIELDS = ("version", "id", "detail-type", "source", "account", "time", "region",
                 "resources", "detail")

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
# A path segment in dot notation: letters, digits, dashes, underscores and forward slashes
# (the characters the transformer page lists), or a wildcard.
_KEY = re.compile(r"\.([A-Za-z0-9_\-/]+|\*)")
_INDEX = re.compile(r"\[(\d+|\*)\]")
_QUOTED_KEY = re.compile(r"\[['\"]([^'\"\]]+)['\"]\]")
_WILDCARD = object()


class JsonPathError(ValueError):
    """A path that is not in the JSONPath subset EventBridge supports."""


@dataclass(frozen=True)
class InputContext:
    """The rule and the time that the predefined template variables stand for."""

    rule_arn: str
    ingestion_time: str
    """When EventBridge received the event, as an ISO 8601 timestamp."""

    @property
    def rule_name(self) -> str:
        """The rule's name, the last part of its ARN."""
        return self.rule_arn.rsplit("/", 1)[-1]


def format_event_time(value: Any) -> str:
    """Format an event time (epoch seconds or a datetime) as EventBridge does."""
    if isinstance(value, datetime.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    elif isinstance(value, int | float):
        moment = datetime.datetime.fromtimestamp(value, datetime.UTC)
    else:
        try:
            moment = datetime.datetime.fromtimestamp(float(value), datetime.UTC)
        except (TypeError, ValueError):
            # Already formatted, or text the caller chose: keep it.
            return str(value)
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def aws_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``event`` in the shape EventBridge delivers it, without fields of moto's own.

    moto adds ``ingestion-time`` and keeps ``time`` as epoch seconds; targets receive the
    nine documented fields with ``time`` in ISO 8601.
    """
    shaped = {name: event[name] for name in _EVENT_FIELDS if name in event}
    if "time" in shaped:
        shaped["time"] = format_event_time(shaped["time"])
    return shaped


# --- JSONPath -------------------------------------------------------------------------


def parse_path(path: str) -> tuple[Any, ...]:
    """Split a JSONPath into keys, indexes and wildcards; raise JsonPathError if invalid.

    Supported: ``$``, dot notation (``$.detail.state``), quoted keys in brackets, array
    indexes (``$.resources[0]``) and wildcards (``$.detail.*``, ``[*]``).
    """
    if not path.startswith("$"):
        raise JsonPathError(f"the path {path!r} does not start with '$'")
    segments: list[Any] = []
    position = 1
    while position < len(path):
        for pattern in (_KEY, _INDEX, _QUOTED_KEY):
            match = pattern.match(path, position)
            if match is not None:
                break
        else:
            raise JsonPathError(f"the path {path!r} is not valid at position {position}")
        token = match.group(1)
        if token == "*":
            segments.append(_WILDCARD)
        elif pattern is _INDEX:
            segments.append(int(token))
        else:
            segments.append(token)
        position = match.end()
    return tuple(segments)


def evaluate_path(document: Any, path: str) -> tuple[bool, Any]:
    """Return (found, value) for ``path`` in ``document``.

    A path with a wildcard returns the list of every value it reaches.
    """
    segments = parse_path(path)
    values = [document]
    for segment in segments:
        values = [child for value in values for child in _children(value, segment)]
    if any(segment is _WILDCARD for segment in segments):
        return True, values
    if not values:
        return False, None
    return True, values[0]


def _children(value: Any, segment: Any) -> list[Any]:
    if segment is _WILDCARD:
        if isinstance(value, dict):
            return list(value.values())
        if isinstance(value, list):
            return list(value)
        return []
    if isinstance(segment, int):
        if isinstance(value, list) and segment < len(value):
            return [value[segment]]
        return []
    if isinstance(value, dict) and segment in value:
        return [value[segment]]
    return []


# --- the input of one target --------------------------------------------------------------


def target_input(target: Mapping[str, Any], event: Mapping[str, Any],
                 context: InputContext) -> str:
    """Return the text that ``target`` receives for ``event``."""
    shaped = aws_event(event)
    if "Input" in target:
        return str(target["Input"])
    if "InputPath" in target:
        found, value = evaluate_path(shaped, str(target["InputPath"]))
        # NOTE: what EventBridge sends when InputPath selects nothing is not documented;
        # here the target receives JSON null.
        return _compact(value if found else None)
    transformer = target.get("InputTransformer")
    if transformer:
        return render_template(str(transformer.get("InputTemplate", "")),
                               transformer.get("InputPathsMap") or {}, shaped, context)
    return _compact(shaped)


def render_template(template: str, paths: Mapping[str, str], event: Mapping[str, Any],
                    context: InputContext) -> str:
    """Fill ``template``'s placeholders with values from ``event`` and the predefined ones."""
    values = _variable_values(paths, event, context)
    is_json = template.lstrip().startswith(("{", "["))
    output: list[str] = []
    in_string = False
    position = 0
    while position < len(template):
        character = template[position]
        if in_string and character == "\\":
            output.append(template[position:position + 2])
            position += 2
            continue
        if character == '"':
            in_string = not in_string
        elif character == "<":
            match = _PLACEHOLDER.match(template, position)
            if match is not None and match.group(1) in values:
                output.append(_format_value(values[match.group(1)], in_string=in_string,
                                            is_json=is_json))
                position = match.end()
                continue
            if match is not None and match.group(1) in paths:
                # The path does not exist in the event: the variable is left out.
                position = match.end()
                continue
        output.append(character)
        position += 1
    rendered = "".join(output)
    if is_json:
        try:
            # EventBridge passes JSON to the target minified.
            return _compact(json.loads(rendered))
        except ValueError:
            logger.debug("input template rendered text that is not JSON: %s", rendered)
    return rendered


def _variable_values(paths: Mapping[str, str], event: Mapping[str, Any],
                     context: InputContext) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, path in paths.items():
        try:
            found, value = evaluate_path(event, path)
        except JsonPathError:
            # PutTargets rejects invalid paths; a target stored around it selects nothing.
            continue
        if found:
            values[name] = value
    without_detail = {name: value for name, value in event.items() if name != "detail"}
    values.update({
        "aws.events.rule-arn": context.rule_arn,
        "aws.events.rule-name": context.rule_name,
        "aws.events.event.ingestion-time": context.ingestion_time,
        "aws.events.event": without_detail,
        "aws.events.event.json": dict(event),
    })
    return values


def _format_value(value: Any, *, in_string: bool, is_json: bool) -> str:
    if isinstance(value, str):
        if in_string or not is_json:
            return value
        # No escaping: EventBridge does not escape values extracted from the event.
        return f'"{value}"'
    text = _compact(value)
    if in_string and isinstance(value, dict | list):
        return text.replace('"', "")
    return text


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

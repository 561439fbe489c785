"""PutTargets checks of input settings and retry policies, with EventBridge's errors.

The ranges and sizes come from the EventBridge API model (botocore's ``events``
service): ``InputPathsMap`` has at most 100 keys matching ``[A-Za-z0-9\\_\\-]+``,
``MaximumRetryAttempts`` is 0-185 and ``MaximumEventAgeInSeconds`` 60-86400. A target
takes at most one of ``Input``, ``InputPath`` and ``InputTransformer``:
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Target.html
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from windtunnel.services.events.targets.input import (
    PREDEFINED_VARIABLES,
    JsonPathError,
    parse_path,
)

__all__ = ["validate_targets"]

_PATH_KEY = re.compile(r"[A-Za-z0-9_\-]+")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_INPUT_SETTINGS = ("Input", "InputPath", "InputTransformer")


def validate_targets(targets: Sequence[Mapping[str, Any]]) -> str | None:
    """Return the ValidationException message for PutTargets' ``targets``, or None.

    Constraint violations are reported together, in AWS's "N validation errors detected"
    form; the first target with invalid input settings is reported on its own.
    """
    constraints: list[str] = []
    for index, target in enumerate(targets, start=1):
        constraints.extend(_constraint_errors(index, target))
    if constraints:
        count = len(constraints)
        noun = "error" if count == 1 else "errors"
        return f"{count} validation {noun} detected: " + "; ".join(constraints)
    for target in targets:
        message = _input_error(target)
        if message is not None:
            return message
    return None


def _constraint_errors(index: int, target: Mapping[str, Any]) -> list[str]:
    member = f"targets.{index}.member"
    errors: list[str] = []
    policy = target.get("RetryPolicy") or {}
    attempts = policy.get("MaximumRetryAttempts")
    if isinstance(attempts, int) and not 0 <= attempts <= 185:
        bound = ("greater than or equal to 0" if attempts < 0
                 else "less than or equal to 185")
        errors.append(f"Value '{attempts}' at '{member}.retryPolicy.maximumRetryAttempts' "
                      f"failed to satisfy constraint: Member must have value {bound}")
    age = policy.get("MaximumEventAgeInSeconds")
    if isinstance(age, int) and not 60 <= age <= 86400:
        bound = "greater than or equal to 60" if age < 60 else "less than or equal to 86400"
        errors.append(f"Value '{age}' at '{member}.retryPolicy.maximumEventAgeInSeconds' "
                      f"failed to satisfy constraint: Member must have value {bound}")
    transformer = target.get("InputTransformer") or {}
    paths = transformer.get("InputPathsMap") or {}
    location = f"{member}.inputTransformer.inputPathsMap"
    if len(paths) > 100:
        errors.append(f"Value at '{location}' failed to satisfy constraint: Member must "
                      f"have length less than or equal to 100")
    if any(not _PATH_KEY.fullmatch(str(key)) for key in paths):
        errors.append(f"Value at '{location}' failed to satisfy constraint: Map keys must "
                      f"satisfy constraint: [Member must satisfy regular expression "
                      f"pattern: [A-Za-z0-9\\_\\-]+]")
    return errors


# NOTE: the messages below follow EventBridge's wording where it is documented (the
# reserved "AWS" prefix, JSON templates); they are not recorded from AWS responses.
def _input_error(target: Mapping[str, Any]) -> str | None:
    target_id = target.get("Id", "")
    given = [name for name in _INPUT_SETTINGS if target.get(name) is not None]
    if len(given) > 1:
        return (f"Target {target_id} can have only one of Input, InputPath and "
                f"InputTransformer, not {' and '.join(given)}.")
    if "Input" in given:
        try:
            json.loads(str(target["Input"]))
        except ValueError:
            return f"Input for target {target_id} is not valid JSON text."
    if "InputPath" in given:
        try:
            parse_path(str(target["InputPath"]))
        except JsonPathError as error:
            return f"InputPath for target {target_id} is not valid: {error}."
    if "InputTransformer" in given:
        return _transformer_error(str(target_id), target["InputTransformer"])
    return None


def _transformer_error(target_id: str, transformer: Mapping[str, Any]) -> str | None:
    paths: Mapping[str, Any] = transformer.get("InputPathsMap") or {}
    for key, path in paths.items():
        if str(key).startswith("AWS") or key in PREDEFINED_VARIABLES:
            return (f"InputTransformer for target {target_id} uses the reserved variable "
                    f"name {key}: InputPathsMap keys cannot start with 'AWS'.")
        try:
            parse_path(str(path))
        except JsonPathError as error:
            return (f"InputPathsMap for target {target_id} has an invalid path for "
                    f"{key}: {error}.")
    template = str(transformer.get("InputTemplate", ""))
    if not template.lstrip().startswith(("{", "[")):
        # A template that is not JSON is delivered as text.
        return None
    reason = _json_template_error(template, set(paths) | set(PREDEFINED_VARIABLES))
    if reason is not None:
        return f"Invalid InputTemplate for target {target_id} : {reason}"
    return None


def _json_template_error(template: str, variables: set[str]) -> str | None:
    """Check a JSON template with every placeholder outside a string taken as null."""
    text: list[str] = []
    in_string = False
    position = 0
    while position < len(template):
        character = template[position]
        if in_string and character == "\\":
            text.append(template[position:position + 2])
            position += 2
            continue
        if character == '"':
            in_string = not in_string
        elif character == "<" and not in_string:
            match = _PLACEHOLDER.match(template, position)
            if match is not None and match.group(1) in variables:
                text.append("null")
                position = match.end()
                continue
        text.append(character)
        position += 1
    try:
        json.loads("".join(text))
    except ValueError as error:
        # A placeholder used as an object key also ends up here ("null" is not a key).
        return f"the template is not valid JSON with its placeholders as values ({error})"
    return None

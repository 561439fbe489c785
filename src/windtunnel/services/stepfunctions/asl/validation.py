"""Validate a state machine definition as CreateStateMachine and ValidateStateMachineDefinition do.

:func:`validate_definition` returns the diagnostics that ValidateStateMachineDefinition
reports; :func:`invalid_definition_message` renders them as the message of the
InvalidDefinition error that CreateStateMachine and UpdateStateMachine raise.
https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinition.html
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html

Limitations:
- Where AWS's wording of a diagnostic has not been recorded, the message is this
  module's own; each such place carries a NOTE.
- JSONata expressions and intrinsic function calls are parsed only when this package's
  JSONata and intrinsics modules are present. A JSONata expression that reads a bare
  top-level field (AWS's UNSUPPORTED_JSONATA_EXPRESSION) is not detected.
- Task resources are checked for their ARN shape, the Express limits and DynamoDB's
  optimized actions; the actions of other service integrations are not checked.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import Any

from windtunnel.services.stepfunctions.asl.validation_graph import check_transitions
from windtunnel.services.stepfunctions.asl.validation_report import (
    ERROR,
    INVALID_JSON_DESCRIPTION,
    Diagnostic,
    Report,
)
from windtunnel.services.stepfunctions.asl.validation_states import Validation, check_machine

__all__ = [
    "MAX_DEFINITION_LENGTH",
    "Diagnostic",
    "invalid_definition_message",
    "validate_definition",
]

logger = logging.getLogger(__name__)

# The maximum length of the definition parameter of CreateStateMachine, UpdateStateMachine
# and ValidateStateMachineDefinition (API reference).
MAX_DEFINITION_LENGTH = 1_048_576

# Jackson, the parser behind Step Functions, quotes at most this many characters of the
# source in its error locations.
_JACKSON_SOURCE_LIMIT = 500
_TOKEN = re.compile(r"[A-Za-z0-9_$]+")


def validate_definition(text: str, *, state_machine_type: str = "STANDARD") -> list[Diagnostic]:
    """Return the diagnostics of a definition, in the order AWS lists them.

    An empty list means the definition is valid. ``state_machine_type`` is ``STANDARD``
    or ``EXPRESS``; Express state machines reject some service integration patterns.
    """
    report = Report()
    if len(text) > MAX_DEFINITION_LENGTH:
        # The API rejects a longer definition with a ValidationException before validating
        # it, so the provider should check this first. NOTE: wording not recorded from AWS.
        report.schema(f"Definition must be at most {MAX_DEFINITION_LENGTH} characters long",
                      None)
        return report.diagnostics

    machine = _parse(report, text)
    if machine is None:
        return report.diagnostics

    validation = Validation(report, state_machine_type)
    check_machine(validation, machine)
    if not report.has_errors:
        check_transitions(report, validation.scopes)

    logger.debug("definition validated with %d diagnostics", len(report.diagnostics))
    return report.diagnostics


def invalid_definition_message(diagnostics: Sequence[Diagnostic]) -> str:
    """Render the ERROR diagnostics as the message of CreateStateMachine's InvalidDefinition.

    Recorded from AWS: "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These
    fields are required: [States] at /'", several diagnostics separated by ", " and a
    missing location written "null".
    """
    parts = [f"{diagnostic.code}: {diagnostic.message} at {diagnostic.location or 'null'}"
             for diagnostic in diagnostics if diagnostic.severity == ERROR]
    return f"Invalid State Machine Definition: '{', '.join(parts)}'"


def _parse(report: Report, text: str) -> dict[str, Any] | None:
    """Parse the definition; report why it is not a JSON object and return None if not."""
    if not text.strip():
        # Recorded from AWS for the definition " " (LocalStack snapshot
        # test_sfn_api_validation), without a location.
        report.schema("Definition must be a valid JSON object", None)
        return None

    try:
        machine = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        message, location = _jackson_error(text, error)
        report.error(INVALID_JSON_DESCRIPTION, message, location)
        return None
    except _NonStandardToken as error:
        # NOTE: wording not recorded from AWS.
        report.error(INVALID_JSON_DESCRIPTION, f"Non-standard token '{error}'", None)
        return None

    if not isinstance(machine, dict):
        report.schema("Definition must be a valid JSON object", None)
        return None
    return machine


class _NonStandardToken(ValueError):
    """NaN or Infinity, which Python's parser accepts and JSON does not."""


def _reject_constant(name: str) -> Any:
    raise _NonStandardToken(name)


def _jackson_error(text: str, error: json.JSONDecodeError) -> tuple[str, str]:
    """Word a syntax error as Jackson does: the message and its ``[Source: ...]`` location.

    Recorded from AWS for "not a definition": the message "Unrecognized token 'not': was
    expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
    followed by "\\n at " and the location, with the column after the token.
    """
    position = error.pos
    character = text[position] if position < len(text) else ""
    column = error.colno

    if error.msg == "Expecting value" and (token := _TOKEN.match(text, position)):
        message = (f"Unrecognized token '{token.group()}': was expecting (JSON String, "
                   "Number, Array, Object or token 'null', 'true' or 'false')")
        column += len(token.group())
    elif error.msg.startswith("Expecting property name") and character:
        # Recorded from AWS for StartExecution input, which the same parser reads.
        message = (f"Unexpected character ('{character}' (code {ord(character)})): was "
                   "expecting double-quote to start field name")
        column += 1
    elif not character:
        # NOTE: wording not recorded from AWS.
        message = "Unexpected end-of-input"
    elif error.msg == "Expecting value":
        # NOTE: Jackson's wording, not recorded from AWS.
        message = (f"Unexpected character ('{character}' (code {ord(character)})): expected "
                   "a valid value (JSON String, Number, Array, Object or token 'null', "
                   "'true' or 'false')")
        column += 1
    else:
        # NOTE: wording not recorded from AWS.
        message = (f"Unexpected character ('{character}' (code {ord(character)})): "
                   f"{error.msg.lower()}")
        column += 1

    location = f"[Source: (String){_jackson_source(text)}; line: {error.lineno}, column: {column}]"
    return f"{message}\n at {location}", location


def _jackson_source(text: str) -> str:
    if len(text) <= _JACKSON_SOURCE_LIMIT:
        return f'"{text}"'
    # NOTE: the truncation format follows Jackson 2.x and is not recorded from AWS.
    omitted = len(text) - _JACKSON_SOURCE_LIMIT
    return f'"{text[:_JACKSON_SOURCE_LIMIT]}"[truncated {omitted} chars]'

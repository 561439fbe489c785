"""Checks of single field values in a definition: numbers, paths, templates, expressions.

Sources:
- paths: https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html
- payload templates: https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html
- JSONata: https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html
"""

from __future__ import annotations

import datetime
import importlib
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from windtunnel.services.stepfunctions.asl.paths import INPUT, parse_path
from windtunnel.services.stepfunctions.asl.validation_report import (
    INVALID_JSONATA_EXPRESSION,
    NO_DOLLAR,
    Report,
    child,
    item,
)

__all__ = [
    "JSONATA",
    "JSONPATH",
    "MAX_SECONDS",
    "check_boolean",
    "check_enum",
    "check_integer",
    "check_jsonata_template",
    "check_number",
    "check_path",
    "check_payload_template",
    "check_string",
    "check_timestamp",
    "is_expression",
]

logger = logging.getLogger(__name__)

JSONPATH = "JSONPath"
JSONATA = "JSONata"

# The largest value of TimeoutSeconds, HeartbeatSeconds, Seconds, IntervalSeconds and
# MaxAttempts that the ASL JSON schema of AWS's own language service accepts.
MAX_SECONDS = 99_999_999

# An RFC 3339 date-time with a mandatory offset, as Wait's Timestamp requires:
# https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
)

_CODE = re.compile(r"[A-Z]+(?:_[A-Z]+)+")
_INTRINSICS_MODULE = "windtunnel.services.stepfunctions.asl.intrinsics"
_JSONATA_MODULE = "windtunnel.services.stepfunctions.asl.jsonata_mode"


def is_expression(value: object) -> bool:
    """Whether ``value`` is a JSONata expression string, written ``{% ... %}``."""
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


def check_string(report: Report, value: Any, location: str) -> bool:
    """Report a value that is not a string; return whether it is one."""
    if isinstance(value, str):
        return True
    # NOTE: wording not recorded from AWS.
    report.schema("Value must be a string", location)
    return False


def check_boolean(report: Report, value: Any, location: str) -> bool:
    """Report a value that is not true or false; return whether it is a boolean."""
    if isinstance(value, bool):
        return True
    # NOTE: wording not recorded from AWS.
    report.schema("Value must be a boolean", location)
    return False


def check_enum(report: Report, name: str, value: Any, allowed: Sequence[str],
               location: str) -> bool:
    """Report a value outside ``allowed``; return whether it is one of them."""
    if isinstance(value, str) and value in allowed:
        return True
    # The wording AWS uses for the Type field, recorded in LocalStack's AWS snapshots.
    report.schema(f"The field '{name}' should have one of these values: "
                  f"[{', '.join(allowed)}]", location)
    return False


def check_integer(report: Report, value: Any, location: str, *, minimum: int,
                  maximum: int = MAX_SECONDS) -> bool:
    """Report a value that is not an integer in ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        # NOTE: wording not recorded from AWS.
        report.schema("Value must be an integer", location)
        return False
    return _check_range(report, value, location, minimum, maximum)


def check_number(report: Report, value: Any, location: str, *, minimum: float,
                 maximum: float | None = None) -> bool:
    """Report a value that is not a number in ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        # NOTE: wording not recorded from AWS.
        report.schema("Value must be a number", location)
        return False
    return _check_range(report, value, location, minimum, maximum)


def _check_range(report: Report, value: float, location: str, minimum: float,
                 maximum: float | None) -> bool:
    # NOTE: wording not recorded from AWS.
    if value < minimum:
        report.schema(f"Value must be greater than or equal to {minimum}", location)
        return False
    if maximum is not None and value > maximum:
        report.schema(f"Value must be less than or equal to {maximum}", location)
        return False
    return True


def check_timestamp(report: Report, value: Any, location: str) -> bool:
    """Report a value that is not an RFC 3339 timestamp with an offset."""
    match = _RFC3339.match(value) if isinstance(value, str) else None
    if match is not None:
        year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
        try:
            datetime.datetime(year, month, day, hour, minute, second)
        except ValueError:
            match = None
    if match is None:
        # Recorded from AWS (LocalStack snapshot test_base_scenarios, test_wait_timestamp_invalid).
        report.schema("String does not match RFC3339 timestamp", location)
        return False
    return True


def check_path(report: Report, value: Any, location: str, *, reference: bool = False,
               allow_null: bool = False, allow_intrinsic: bool = False) -> bool:
    """Report a value that is not a valid path.

    A reference path (ResultPath) selects one node of the input: it starts at ``$`` and
    has only names and indexes.
    """
    if value is None and allow_null:
        return True
    if isinstance(value, str) and allow_intrinsic and value.startswith("States."):
        if _intrinsic_is_valid(value):
            return True
    elif isinstance(value, str) and _path_is_valid(value, reference=reference):
        return True

    # Recorded from AWS for OutputPath "Test" (in a CloudFormation error quoted by
    # cfn-lint's maintainers). NOTE: the wording for ResultPath and ErrorPath is assumed.
    report.schema("Value must be a valid JSONPath.", location)
    return False


def _path_is_valid(text: str, *, reference: bool) -> bool:
    # Jayway JsonPath reads ".[" as "[": AWS creates a machine with OutputPath
    # "$.[?(@.year < 1999)].name" (LocalStack's AWS-validated test_state_pass_regex_json_path).
    try:
        path = parse_path(text.replace(".[", "["))
    except ValueError:
        return False
    if reference:
        return path.root == INPUT and path.definite
    return True


def _intrinsic_is_valid(text: str) -> bool:
    """Whether an intrinsic function call parses; True when no intrinsic parser is present."""
    try:
        module = importlib.import_module(_INTRINSICS_MODULE)
    except ImportError:
        logger.debug("no intrinsic parser; %r is not checked", text)
        return True
    syntax_error = getattr(module, "IntrinsicSyntaxError", ValueError)
    try:
        module.parse_intrinsic(text)
    except syntax_error:
        return False
    return True


def check_payload_template(report: Report, value: Any, location: str) -> None:
    """Check a JSONPath payload template (Parameters, ResultSelector, ItemSelector...).

    A key that ends in ``.$`` takes a path or an intrinsic function call. AWS reports a
    bad one at the object that holds the key, naming the key (recorded from AWS:
    LocalStack snapshot test_base_scenarios, test_illegal_escapes).
    """
    if isinstance(value, list):
        for index, element in enumerate(value):
            check_payload_template(report, element, item(location, index))
        return
    if not isinstance(value, Mapping):
        return

    for key, field_value in value.items():
        if key.endswith(".$"):
            if not _dynamic_value_is_valid(field_value):
                report.schema(f"The value for the field '{key}' must be a valid JSONPath "
                              "or a valid intrinsic function call", location)
            continue
        if isinstance(field_value, str) and _looks_dynamic(field_value):
            # NOTE: wording not recorded from AWS; the code and its meaning are documented.
            report.warning(NO_DOLLAR, f"The value of the field '{key}' looks like a path or "
                           "an intrinsic function call, but the field name does not end "
                           "with '.$'", child(location, key))
        check_payload_template(report, field_value, child(location, key))


def _dynamic_value_is_valid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if value.startswith("States."):
        return _intrinsic_is_valid(value)
    return _path_is_valid(value, reference=False)


def _looks_dynamic(text: str) -> bool:
    return text.startswith(("$.", "$$.", "States.")) or text in ("$", "$$")


def check_jsonata_template(report: Report, value: Any, location: str) -> None:
    """Check the syntax of every ``{% %}`` expression inside a JSONata field's value."""
    if isinstance(value, list):
        for index, element in enumerate(value):
            check_jsonata_template(report, element, item(location, index))
    elif isinstance(value, Mapping):
        for key, field_value in value.items():
            check_jsonata_template(report, field_value, child(location, key))
    elif is_expression(value):
        problem = _jsonata_problem(value)
        if problem is not None:
            code, _, message = problem.partition(": ")
            if not _CODE.fullmatch(code) or not message:
                code, message = INVALID_JSONATA_EXPRESSION, problem
            report.error(code, message, location)


def _jsonata_problem(text: str) -> str | None:
    """Why AWS rejects an expression, as ``CODE: message``, or None.

    The check needs the JSONata module of this package; without it nothing is reported.
    """
    try:
        module = importlib.import_module(_JSONATA_MODULE)
    except ImportError:
        logger.debug("no JSONata parser; %r is not checked", text)
        return None
    check_expression = getattr(module, "check_expression", None)
    if check_expression is None:
        return None
    message: str | None = check_expression(text)
    return message

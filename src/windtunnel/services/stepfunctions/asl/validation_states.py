"""Definition checks of states: fields per state type, query languages, nested scopes.

Sources (the state pages list each type's fields):
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html
https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html
https://docs.aws.amazon.com/step-functions/latest/dg/state-map.html
https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from windtunnel.services.stepfunctions.asl.validation_report import (
    DUPLICATE_LABEL_NAME,
    DUPLICATE_STATE_NAME,
    INVALID_LABEL_NAME,
    INVALID_STATE_NAME,
    PASS_RESULT_IS_STATIC,
    Report,
    child,
    item,
)
from windtunnel.services.stepfunctions.asl.validation_rules import (
    check_catchers,
    check_choices,
    check_retriers,
    report_missing,
    report_unsupported,
    report_wrong_language,
)
from windtunnel.services.stepfunctions.asl.validation_tasks import (
    check_task_fields,
    check_wait_fields,
)
from windtunnel.services.stepfunctions.asl.validation_values import (
    JSONATA,
    JSONPATH,
    check_enum,
    check_integer,
    check_jsonata_template,
    check_number,
    check_path,
    check_payload_template,
    check_string,
    is_expression,
)

__all__ = ["Scope", "Validation", "check_machine"]

STATE_TYPES = ("Task", "Wait", "Pass", "Succeed", "Fail", "Choice", "Parallel", "Map")
MACHINE_FIELDS = frozenset({"Comment", "StartAt", "States", "Version", "TimeoutSeconds",
                            "QueryLanguage"})
QUERY_LANGUAGES = (JSONPATH, JSONATA)

# Fields that only one query language takes. The JSONata list is from the
# transforming-data page; a JSONata state takes none of the Path fields.
JSONPATH_ONLY = frozenset({
    "InputPath", "OutputPath", "Parameters", "ResultPath", "ResultSelector", "Result",
    "ItemsPath", "SecondsPath", "TimestampPath", "TimeoutSecondsPath", "HeartbeatSecondsPath",
    "ErrorPath", "CausePath", "MaxConcurrencyPath", "ToleratedFailurePercentagePath",
    "ToleratedFailureCountPath",
})
JSONATA_ONLY = frozenset({"Output", "Arguments", "Items"})

_COMMON = frozenset({"Type", "Comment", "QueryLanguage"})
_FLOW = frozenset({"Next", "End", "Assign"})
_INPUT_OUTPUT = frozenset({"InputPath", "OutputPath", "Output"})
_RESULT = frozenset({"Parameters", "ResultPath", "ResultSelector", "Arguments"})
_ERRORS = frozenset({"Retry", "Catch"})

# The fields each state type takes, in either query language. Retry and Catch are on
# Task, Parallel and Map only, and TimeoutSeconds on Task only: AWS rejects them elsewhere
# with "Field '<name>' is not supported" (a response recorded from AWS).
STATE_FIELDS: dict[str, frozenset[str]] = {
    "Pass": _COMMON | _FLOW | _INPUT_OUTPUT | {"Parameters", "ResultPath", "Result"},
    "Task": _COMMON | _FLOW | _INPUT_OUTPUT | _RESULT | _ERRORS | {
        "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds",
        "HeartbeatSecondsPath", "Credentials"},
    "Choice": _COMMON | _INPUT_OUTPUT | {"Choices", "Default", "Assign"},
    "Wait": _COMMON | _FLOW | _INPUT_OUTPUT | {"Seconds", "SecondsPath", "Timestamp",
                                               "TimestampPath"},
    "Succeed": _COMMON | _INPUT_OUTPUT,
    "Fail": _COMMON | {"Error", "ErrorPath", "Cause", "CausePath"},
    "Parallel": _COMMON | _FLOW | _INPUT_OUTPUT | _RESULT | _ERRORS | {"Branches"},
    "Map": _COMMON | _FLOW | _INPUT_OUTPUT | _ERRORS | {
        "ItemProcessor", "Iterator", "ItemReader", "ItemBatcher", "ResultWriter",
        "ItemSelector", "Parameters", "ItemsPath", "Items", "MaxConcurrency",
        "MaxConcurrencyPath", "ToleratedFailurePercentage", "ToleratedFailurePercentagePath",
        "ToleratedFailureCount", "ToleratedFailureCountPath", "Label", "ResultPath",
        "ResultSelector"},
}
TERMINAL_TYPES = ("Succeed", "Fail")

_SCOPE_FIELDS = frozenset({"StartAt", "States", "Comment"})
_PROCESSOR_FIELDS = _SCOPE_FIELDS | {"ProcessorConfig"}
_MAX_STATE_NAME = 80
# Map Label: at most 40 characters, none of these, no control characters:
# https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html
_MAX_LABEL = 40
_LABEL_FORBIDDEN = set(" \t\n\r<>{}[]?*\"#%\\^|~`$&,;:/")


@dataclass(frozen=True)
class Scope:
    """A StartAt and its States: the machine, a Parallel branch or a Map's processor."""

    location: str
    start_at: Any
    states: Mapping[str, Any]


@dataclass
class Validation:
    """What the checks of one definition share."""

    report: Report
    machine_type: str
    machine_language: str = JSONPATH
    scopes: list[Scope] = field(default_factory=list)
    state_names: dict[str, str] = field(default_factory=dict)
    labels: set[str] = field(default_factory=set)


def check_machine(validation: Validation, machine: Mapping[str, Any]) -> None:
    """Check the top level of a definition and every state under it."""
    report = validation.report
    for name in machine:
        if name not in MACHINE_FIELDS:
            report_unsupported(report, name, "/")

    if "QueryLanguage" in machine:
        language = machine["QueryLanguage"]
        check_enum(report, "QueryLanguage", language, QUERY_LANGUAGES, "/QueryLanguage")
        validation.machine_language = JSONPATH if language == JSONPATH else JSONATA
    if "TimeoutSeconds" in machine:
        # NOTE: the minimum of 1 is assumed; the docs give no lower bound.
        check_integer(report, machine["TimeoutSeconds"], "/TimeoutSeconds", minimum=1)
    if "Version" in machine:
        check_string(report, machine["Version"], "/Version")

    _check_scope(validation, machine, "/")


def _check_scope(validation: Validation, scope: Mapping[str, Any], location: str) -> None:
    report = validation.report
    missing = [name for name in ("States", "StartAt") if name not in scope]
    if missing:
        report_missing(report, missing, location)
    if "StartAt" in scope:
        check_string(report, scope["StartAt"], child(location, "StartAt"))
    states = scope.get("States")
    if states is None:
        return

    states_location = child(location, "States")
    if not isinstance(states, Mapping):
        # NOTE: wording not recorded from AWS.
        report.schema("Value must be an object", states_location)
        return
    if not states:
        report.schema("Value cannot be empty", states_location)
        return

    validation.scopes.append(Scope(location, scope.get("StartAt"), states))
    for name, state in states.items():
        _check_state_name(validation, name, child(states_location, name))
        _check_state(validation, name, state, child(states_location, name))


def _check_state_name(validation: Validation, name: str, location: str) -> None:
    if name in validation.state_names:
        _report_duplicate_name(validation.report, name, location)
    else:
        validation.state_names[name] = location
    if not 1 <= len(name) <= _MAX_STATE_NAME:
        # The limit of 80 characters is documented on the States page.
        # NOTE: wording not recorded from AWS.
        validation.report.error(INVALID_STATE_NAME, f"State name '{name}' must be 1 to "
                                f"{_MAX_STATE_NAME} characters long", location)


def _report_duplicate_name(report: Report, name: str, location: str) -> None:
    # State names are unique within the whole state machine, nested branches included.
    # NOTE: wording not recorded from AWS.
    report.error(DUPLICATE_STATE_NAME, f"Duplicate State name: {name}", location)


def _state_language(validation: Validation, state: Mapping[str, Any], location: str) -> str:
    """The query language of a state; reports a JSONPath state under a JSONata machine."""
    if "QueryLanguage" not in state:
        return validation.machine_language
    declared = state["QueryLanguage"]
    check_enum(validation.report, "QueryLanguage", declared, QUERY_LANGUAGES,
               child(location, "QueryLanguage"))
    if declared == JSONPATH and validation.machine_language == JSONATA:
        # Recorded from AWS (LocalStack snapshot test_sfn_api_validation).
        validation.report.schema("'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' "
                                 "for whole state machine", location)
        return JSONATA
    # Any value but exactly "JSONPath" makes the state a JSONata state.
    return JSONPATH if declared == JSONPATH else JSONATA


def _check_state(validation: Validation, name: str, state: Any, location: str) -> None:
    report = validation.report
    if not isinstance(state, Mapping):
        # NOTE: wording not recorded from AWS.
        report.schema("Value must be an object", location)
        return
    if "Type" not in state:
        report_missing(report, ["Type"], location)
        return
    state_type = state["Type"]
    if not check_enum(report, "Type", state_type, STATE_TYPES, child(location, "Type")):
        return

    language = _state_language(validation, state, location)
    allowed = STATE_FIELDS[state_type]
    for field_name in state:
        if field_name not in allowed:
            report_unsupported(report, field_name, location)
        elif field_name in (JSONPATH_ONLY if language == JSONATA else JSONATA_ONLY):
            report_wrong_language(report, language, field_name, location)

    _check_transition(report, state_type, state, location)
    _check_data_fields(report, state, language, location)
    if "Retry" in state and "Retry" in allowed:
        check_retriers(report, state["Retry"], child(location, "Retry"))
    if "Catch" in state and "Catch" in allowed:
        check_catchers(report, state["Catch"], language, child(location, "Catch"))

    if state_type == "Task":
        check_task_fields(report, state, language, location, validation.machine_type)
    elif state_type == "Wait":
        check_wait_fields(report, state, language, location)
    elif state_type == "Fail":
        _check_fail(report, state, language, location)
    elif state_type == "Choice":
        _check_choice(report, state, language, location)
    elif state_type == "Parallel":
        _check_parallel(validation, state, location)
    elif state_type == "Map":
        _check_map(validation, state, language, location)


def _check_transition(report: Report, state_type: str, state: Mapping[str, Any],
                      location: str) -> None:
    """Check Next and End: exactly one of them, except on Choice, Succeed and Fail."""
    if state_type == "Choice" or state_type in TERMINAL_TYPES:
        return
    if "End" in state and state["End"] is not True:
        # NOTE: wording not recorded from AWS.
        report.schema("The field 'End' must be true when present", child(location, "End"))
    if "Next" in state:
        check_string(report, state["Next"], child(location, "Next"))
    ends = state.get("End") is True
    if ends and "Next" in state:
        # NOTE: wording not recorded from AWS.
        report.schema("Only one of the fields 'Next' and 'End' may be set", location)
    elif not ends and "Next" not in state:
        # NOTE: wording not recorded from AWS.
        report.schema("One of the fields 'Next' or 'End' is required", location)


def _check_data_fields(report: Report, state: Mapping[str, Any], language: str,
                       location: str) -> None:
    """Check the input and output processing fields shared by several state types."""
    if language == JSONATA:
        for name in ("Output", "Arguments", "Assign", "Items", "ItemSelector"):
            if name in state:
                check_jsonata_template(report, state[name], child(location, name))
        return

    for name in ("InputPath", "OutputPath"):
        if name in state:
            check_path(report, state[name], child(location, name), allow_null=True)
    if "ResultPath" in state:
        check_path(report, state["ResultPath"], child(location, "ResultPath"),
                   reference=True, allow_null=True)
    for name in ("Parameters", "ResultSelector", "ItemSelector", "Assign"):
        if name in state:
            check_payload_template(report, state[name], child(location, name))
    if "Result" in state and isinstance(state["Result"], Mapping):
        _warn_static_result(report, state["Result"], child(location, "Result"))


def _warn_static_result(report: Report, result: Mapping[str, Any], location: str) -> None:
    for key, value in result.items():
        if key.endswith(".$"):
            # A Pass state's Result is used as is, so a ".$" key is never evaluated.
            # NOTE: wording not recorded from AWS; the code and its meaning are documented.
            report.warning(PASS_RESULT_IS_STATIC, f"The field '{key}' of Result is not "
                           "evaluated: a Pass state's Result is static; use Parameters",
                           location)
        elif isinstance(value, Mapping):
            _warn_static_result(report, value, child(location, key))


def _check_fail(report: Report, state: Mapping[str, Any], language: str,
                location: str) -> None:
    for name in ("Error", "Cause"):
        path_name = f"{name}Path"
        if name in state and path_name in state:
            # NOTE: wording not recorded from AWS.
            report.schema(f"Only one of the fields '{name}' and '{path_name}' may be set",
                          location)
        if name in state:
            if language == JSONATA and is_expression(state[name]):
                check_jsonata_template(report, state[name], child(location, name))
            else:
                check_string(report, state[name], child(location, name))
        if path_name in state and language == JSONPATH:
            check_path(report, state[path_name], child(location, path_name),
                       allow_intrinsic=True)


def _check_choice(report: Report, state: Mapping[str, Any], language: str,
                  location: str) -> None:
    if "Choices" not in state:
        report_missing(report, ["Choices"], location)
    else:
        check_choices(report, state["Choices"], language, child(location, "Choices"))
    if "Default" in state:
        check_string(report, state["Default"], child(location, "Default"))


def _check_parallel(validation: Validation, state: Mapping[str, Any], location: str) -> None:
    report = validation.report
    if "Branches" not in state:
        report_missing(report, ["Branches"], location)
        return
    branches = state["Branches"]
    branches_location = child(location, "Branches")
    if not isinstance(branches, list):
        # NOTE: wording not recorded from AWS.
        report.schema("Value must be an array", branches_location)
        return
    if not branches:
        # Recorded from AWS (LocalStack snapshot test_state_mock_validation).
        report.schema("Value cannot be empty", branches_location)
        return
    for index, branch in enumerate(branches):
        _check_nested_scope(validation, branch, item(branches_location, index), _SCOPE_FIELDS)


def _check_nested_scope(validation: Validation, scope: Any, location: str,
                        allowed: frozenset[str]) -> None:
    """Check a Parallel branch or a Map's ItemProcessor, which has its own StartAt."""
    report = validation.report
    if not isinstance(scope, Mapping):
        # NOTE: wording not recorded from AWS.
        report.schema("Value must be an object", location)
        return
    for name in scope:
        # A nested scope cannot set QueryLanguage: its states take the machine's language
        # (a response recorded from AWS for ItemProcessor and Iterator).
        if name not in allowed:
            report_unsupported(report, name, location)
    _check_scope(validation, scope, location)


def _check_map(validation: Validation, state: Mapping[str, Any], language: str,
               location: str) -> None:
    report = validation.report
    processors = [name for name in ("ItemProcessor", "Iterator") if name in state]
    if not processors:
        # NOTE: wording not recorded from AWS.
        report_missing(report, ["ItemProcessor"], location)
    elif len(processors) > 1:
        # NOTE: wording not recorded from AWS.
        report.schema("Only one of the fields 'ItemProcessor' and 'Iterator' may be set",
                      location)

    mode = "INLINE"
    for name in processors:
        processor = state[name]
        processor_location = child(location, name)
        # Iterator, the older name of ItemProcessor, takes ProcessorConfig too: LocalStack's
        # AWS-validated Map scenarios create such definitions.
        _check_nested_scope(validation, processor, processor_location, _PROCESSOR_FIELDS)
        if isinstance(processor, Mapping) and "ProcessorConfig" in processor:
            mode = _check_processor_config(report, processor["ProcessorConfig"],
                                           child(processor_location, "ProcessorConfig"))

    for name in ("ItemReader", "ItemBatcher", "ResultWriter"):
        if name in state and mode != "DISTRIBUTED":
            # Only a Distributed Map reads items from S3, batches them and writes results.
            # NOTE: wording not recorded from AWS.
            report.schema(f"The field '{name}' requires ProcessorConfig Mode DISTRIBUTED",
                          child(location, name))
    reader = state.get("ItemReader")
    if isinstance(reader, Mapping) and "Resource" not in reader:
        report_missing(report, ["Resource"], child(location, "ItemReader"))

    _check_map_numbers(report, state, language, location)
    if language == JSONPATH and "ItemsPath" in state:
        check_path(report, state["ItemsPath"], child(location, "ItemsPath"))
    if language == JSONATA and "Items" in state:
        items = state["Items"]
        if not isinstance(items, list) and not is_expression(items):
            # NOTE: wording not recorded from AWS.
            report.schema("Value must be an array or a JSONata expression",
                          child(location, "Items"))
    if "Label" in state:
        _check_label(validation, state["Label"], child(location, "Label"))


def _check_processor_config(report: Report, config: Any, location: str) -> str:
    """Check ProcessorConfig; return the processing mode."""
    if not isinstance(config, Mapping):
        # NOTE: wording not recorded from AWS.
        report.schema("Value must be an object", location)
        return "INLINE"
    for name in config:
        if name not in ("Mode", "ExecutionType"):
            report_unsupported(report, name, location)
    mode = config.get("Mode", "INLINE")
    if "Mode" in config:
        check_enum(report, "Mode", mode, ("INLINE", "DISTRIBUTED"), child(location, "Mode"))
    if "ExecutionType" in config:
        check_enum(report, "ExecutionType", config["ExecutionType"], ("STANDARD", "EXPRESS"),
                   child(location, "ExecutionType"))
    elif mode == "DISTRIBUTED":
        # The Map page: ExecutionType is required when Mode is DISTRIBUTED.
        report_missing(report, ["ExecutionType"], location)
    return mode if isinstance(mode, str) else "INLINE"


def _check_map_numbers(report: Report, state: Mapping[str, Any], language: str,
                       location: str) -> None:
    limits: dict[str, tuple[float, float | None]] = {
        "MaxConcurrency": (0, None),
        "ToleratedFailurePercentage": (0, 100),
        "ToleratedFailureCount": (0, None),
    }
    for name, (minimum, maximum) in limits.items():
        path_name = f"{name}Path"
        if name in state and path_name in state:
            # NOTE: wording not recorded from AWS.
            report.schema(f"Only one of the fields '{name}' and '{path_name}' may be set",
                          location)
        if path_name in state and language == JSONPATH:
            check_path(report, state[path_name], child(location, path_name))
        if name not in state:
            continue
        value = state[name]
        value_location = child(location, name)
        if language == JSONATA and is_expression(value):
            check_jsonata_template(report, value, value_location)
        elif name == "ToleratedFailurePercentage":
            check_number(report, value, value_location, minimum=minimum, maximum=maximum)
        else:
            check_integer(report, value, value_location, minimum=int(minimum))


def _check_label(validation: Validation, label: Any, location: str) -> None:
    report = validation.report
    if not check_string(report, label, location):
        return
    invalid = [character for character in label
               if character in _LABEL_FORBIDDEN or ord(character) < 0x20
               or 0x7F <= ord(character) <= 0x9F]
    if invalid or not 1 <= len(label) <= _MAX_LABEL:
        # NOTE: wording not recorded from AWS.
        report.error(INVALID_LABEL_NAME, f"Label '{label}' must be 1 to {_MAX_LABEL} "
                     "characters long without whitespace, brackets, wildcards, special or "
                     "control characters", location)
    if label in validation.labels:
        # NOTE: wording not recorded from AWS.
        report.error(DUPLICATE_LABEL_NAME, f"Duplicate Label name: {label}", location)
    validation.labels.add(label)

"""Definition checks of Choice rules, retriers and catchers.

Sources:
- Choice: https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
- Retry and Catch: https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from windtunnel.services.stepfunctions.asl.errors import ALL
from windtunnel.services.stepfunctions.asl.validation_report import Report, child, item
from windtunnel.services.stepfunctions.asl.validation_values import (
    JSONATA,
    JSONPATH,
    check_boolean,
    check_enum,
    check_integer,
    check_jsonata_template,
    check_number,
    check_path,
    check_string,
    check_timestamp,
    is_expression,
)

__all__ = [
    "check_catchers",
    "check_choices",
    "check_retriers",
    "report_missing",
    "report_unsupported",
    "report_wrong_language",
]

# Comparison operators of JSONPath Choice rules, by the type of value they compare.
_STRING_OPERATORS = ("StringEquals", "StringLessThan", "StringGreaterThan",
                     "StringLessThanEquals", "StringGreaterThanEquals")
_NUMERIC_OPERATORS = ("NumericEquals", "NumericLessThan", "NumericGreaterThan",
                      "NumericLessThanEquals", "NumericGreaterThanEquals")
_TIMESTAMP_OPERATORS = ("TimestampEquals", "TimestampLessThan", "TimestampGreaterThan",
                        "TimestampLessThanEquals", "TimestampGreaterThanEquals")
_TYPE_TESTS = ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp")
_PATH_OPERATORS = tuple(
    f"{operator}Path"
    for operator in (*_STRING_OPERATORS, *_NUMERIC_OPERATORS, *_TIMESTAMP_OPERATORS,
                     "BooleanEquals")
)
COMPARISON_OPERATORS = frozenset((*_STRING_OPERATORS, *_NUMERIC_OPERATORS,
                                  *_TIMESTAMP_OPERATORS, *_TYPE_TESTS, *_PATH_OPERATORS,
                                  "StringMatches", "BooleanEquals"))
_BOOLEAN_OPERATORS = ("And", "Or", "Not")

_JSONATA_RULE_FIELDS = frozenset({"Condition", "Next", "Comment", "Assign", "Output"})

_RETRIER_FIELDS = frozenset({"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate",
                             "MaxDelaySeconds", "JitterStrategy", "Comment"})
_CATCHER_FIELDS = {
    JSONPATH: frozenset({"ErrorEquals", "Next", "ResultPath", "Comment", "Assign"}),
    JSONATA: frozenset({"ErrorEquals", "Next", "Output", "Comment", "Assign"}),
}
# MaxDelaySeconds is "less than 31622401", one year and a day:
# https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
_MAX_DELAY_SECONDS = 31_622_400


def report_missing(report: Report, fields: list[str], location: str) -> None:
    """Report required fields that are absent, in AWS's wording."""
    # Recorded from AWS: "These fields are required: [States, StartAt]" at "/"
    # (LocalStack snapshot test_sfn_api_validation).
    report.schema(f"These fields are required: [{', '.join(fields)}]", location)


def report_unsupported(report: Report, name: str, location: str) -> None:
    """Report a field that this object does not take, at the object's location."""
    # Recorded from AWS for TimeoutSeconds on Map and Parallel states, located at the state.
    report.schema(f"Field '{name}' is not supported", location)


def report_wrong_language(report: Report, language: str, name: str, location: str) -> None:
    """Report a field that only the other query language takes."""
    other = JSONATA if language == JSONPATH else JSONPATH
    # Recorded from AWS for Output under JSONPath. NOTE: the JSONata-side wording
    # (a JSONPath field under JSONata) is assumed to mirror it.
    report.schema(f"The QueryLanguage is set to '{language}', but field '{name}' is only "
                  f"supported for the '{other}' QueryLanguage", location)


def _require_object(report: Report, value: Any, location: str) -> bool:
    if isinstance(value, Mapping):
        return True
    # NOTE: wording not recorded from AWS.
    report.schema("Value must be an object", location)
    return False


def _require_array(report: Report, value: Any, location: str) -> bool:
    if not isinstance(value, list):
        # NOTE: wording not recorded from AWS.
        report.schema("Value must be an array", location)
        return False
    if not value:
        # Recorded from AWS for an empty Branches array (LocalStack snapshot
        # test_state_mock_validation, test_parallel_state_empty_branches).
        report.schema("Value cannot be empty", location)
        return False
    return True


def check_choices(report: Report, choices: Any, language: str, location: str) -> None:
    """Check the Choices array of a Choice state."""
    if not _require_array(report, choices, location):
        return
    for index, rule in enumerate(choices):
        rule_location = item(location, index)
        if not _require_object(report, rule, rule_location):
            continue
        if language == JSONATA:
            _check_jsonata_rule(report, rule, rule_location)
        else:
            _check_jsonpath_rule(report, rule, rule_location, top_level=True)


def _check_jsonata_rule(report: Report, rule: Mapping[str, Any], location: str) -> None:
    for name in rule:
        if name in COMPARISON_OPERATORS or name in _BOOLEAN_OPERATORS or name == "Variable":
            report_wrong_language(report, JSONATA, name, location)
        elif name not in _JSONATA_RULE_FIELDS:
            report_unsupported(report, name, location)

    missing = [name for name in ("Condition", "Next") if name not in rule]
    if missing:
        report_missing(report, missing, location)

    condition = rule.get("Condition")
    if "Condition" in rule and not isinstance(condition, bool):
        if is_expression(condition):
            check_jsonata_template(report, condition, child(location, "Condition"))
        else:
            # NOTE: wording not recorded from AWS.
            report.schema("Value must be a JSONata expression written {% ... %} or a boolean",
                          child(location, "Condition"))
    if "Next" in rule:
        check_string(report, rule["Next"], child(location, "Next"))
    for name in ("Assign", "Output"):
        if name in rule:
            check_jsonata_template(report, rule[name], child(location, name))


def _check_jsonpath_rule(report: Report, rule: Mapping[str, Any], location: str, *,
                         top_level: bool) -> None:
    allowed = {"Variable", "Comment", *COMPARISON_OPERATORS, *_BOOLEAN_OPERATORS}
    if top_level:
        allowed |= {"Next", "Assign"}
    for name in rule:
        if name in ("Condition", "Output"):
            report_wrong_language(report, JSONPATH, name, location)
        elif name not in allowed:
            report_unsupported(report, name, location)

    operators = [name for name in rule if name in COMPARISON_OPERATORS]
    combinators = [name for name in rule if name in _BOOLEAN_OPERATORS]
    if len(operators) + len(combinators) != 1:
        # NOTE: wording not recorded from AWS.
        report.schema("A Choice rule must have exactly one comparison operator or one of "
                      f"And, Or, Not; found {len(operators) + len(combinators)}", location)

    required = []
    if operators and "Variable" not in rule:
        required.append("Variable")
    if top_level and "Next" not in rule:
        # Recorded from AWS: "These fields are required: [Next]" for a Choices element
        # without Next (in a CloudFormation error quoted by cfn-lint's maintainers).
        required.append("Next")
    if required:
        report_missing(report, required, location)
    if combinators and not operators and "Variable" in rule:
        report_unsupported(report, "Variable", location)

    if "Variable" in rule:
        check_path(report, rule["Variable"], child(location, "Variable"))
    if "Next" in rule and top_level:
        check_string(report, rule["Next"], child(location, "Next"))
    for name in operators:
        _check_operand(report, name, rule[name], child(location, name))
    for name in combinators:
        _check_combinator(report, name, rule[name], child(location, name))


def _check_operand(report: Report, operator: str, value: Any, location: str) -> None:
    if operator in _PATH_OPERATORS:
        check_path(report, value, location)
    elif operator in _STRING_OPERATORS or operator == "StringMatches":
        check_string(report, value, location)
    elif operator in _NUMERIC_OPERATORS:
        check_number(report, value, location, minimum=float("-inf"))
    elif operator in _TIMESTAMP_OPERATORS:
        check_timestamp(report, value, location)
    else:
        check_boolean(report, value, location)


def _check_combinator(report: Report, operator: str, value: Any, location: str) -> None:
    if operator == "Not":
        if _require_object(report, value, location):
            _check_jsonpath_rule(report, value, location, top_level=False)
        return
    if not _require_array(report, value, location):
        return
    for index, rule in enumerate(value):
        rule_location = item(location, index)
        if _require_object(report, rule, rule_location):
            _check_jsonpath_rule(report, rule, rule_location, top_level=False)


def _check_error_equals(report: Report, rule: Mapping[str, Any], location: str) -> bool:
    """Check ErrorEquals; return whether it lists States.ALL."""
    names = rule.get("ErrorEquals")
    names_location = child(location, "ErrorEquals")
    if not _require_array(report, names, names_location) or not isinstance(names, list):
        return False
    for index, name in enumerate(names):
        check_string(report, name, item(names_location, index))
    if ALL in names and len(names) > 1:
        # The documented rule: "States.ALL must appear alone in an ErrorEquals array".
        # NOTE: wording not recorded from AWS.
        report.schema(f"'{ALL}' must appear alone in ErrorEquals", names_location)
    return ALL in names


def _check_all_is_last(report: Report, kind: str, has_all: list[bool], location: str) -> None:
    for index, matches_all in enumerate(has_all[:-1]):
        if matches_all:
            # The documented rule: a retrier or catcher with States.ALL must be the last one.
            # NOTE: wording not recorded from AWS.
            report.schema(f"The {kind} that matches '{ALL}' must be the last one",
                          item(location, index))


def check_retriers(report: Report, retriers: Any, location: str) -> None:
    """Check a Retry array."""
    if not _require_array(report, retriers, location):
        return
    has_all = []
    for index, retrier in enumerate(retriers):
        retrier_location = item(location, index)
        if not _require_object(report, retrier, retrier_location):
            has_all.append(False)
            continue
        for name in retrier:
            if name not in _RETRIER_FIELDS:
                report_unsupported(report, name, retrier_location)
        if "ErrorEquals" not in retrier:
            report_missing(report, ["ErrorEquals"], retrier_location)
            has_all.append(False)
        else:
            has_all.append(_check_error_equals(report, retrier, retrier_location))
        _check_retrier_values(report, retrier, retrier_location)
    _check_all_is_last(report, "retrier", has_all, location)


def _check_retrier_values(report: Report, retrier: Mapping[str, Any], location: str) -> None:
    if "IntervalSeconds" in retrier:
        check_integer(report, retrier["IntervalSeconds"], child(location, "IntervalSeconds"),
                      minimum=1)
    if "MaxAttempts" in retrier:
        check_integer(report, retrier["MaxAttempts"], child(location, "MaxAttempts"),
                      minimum=0)
    if "BackoffRate" in retrier:
        check_number(report, retrier["BackoffRate"], child(location, "BackoffRate"),
                     minimum=1.0)
    if "MaxDelaySeconds" in retrier:
        check_integer(report, retrier["MaxDelaySeconds"], child(location, "MaxDelaySeconds"),
                      minimum=1, maximum=_MAX_DELAY_SECONDS)
    if "JitterStrategy" in retrier:
        check_enum(report, "JitterStrategy", retrier["JitterStrategy"], ("FULL", "NONE"),
                   child(location, "JitterStrategy"))


def check_catchers(report: Report, catchers: Any, language: str, location: str) -> None:
    """Check a Catch array."""
    if not _require_array(report, catchers, location):
        return
    allowed = _CATCHER_FIELDS[language]
    has_all = []
    for index, catcher in enumerate(catchers):
        catcher_location = item(location, index)
        if not _require_object(report, catcher, catcher_location):
            has_all.append(False)
            continue
        for name in catcher:
            if name in allowed:
                continue
            if name in _CATCHER_FIELDS[JSONPATH] | _CATCHER_FIELDS[JSONATA]:
                report_wrong_language(report, language, name, catcher_location)
            else:
                report_unsupported(report, name, catcher_location)
        missing = [name for name in ("ErrorEquals", "Next") if name not in catcher]
        if missing:
            report_missing(report, missing, catcher_location)
        has_all.append("ErrorEquals" in catcher
                       and _check_error_equals(report, catcher, catcher_location))
        _check_catcher_values(report, catcher, language, catcher_location)
    _check_all_is_last(report, "catcher", has_all, location)


def _check_catcher_values(report: Report, catcher: Mapping[str, Any], language: str,
                          location: str) -> None:
    if "Next" in catcher:
        check_string(report, catcher["Next"], child(location, "Next"))
    if language == JSONPATH and "ResultPath" in catcher:
        check_path(report, catcher["ResultPath"], child(location, "ResultPath"),
                   reference=True, allow_null=True)
    if language == JSONATA:
        for name in ("Output", "Assign"):
            if name in catcher:
                check_jsonata_template(report, catcher[name], child(location, name))

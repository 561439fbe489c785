"""Definition checks of Task and Wait states: resources, timeouts and waiting times.

Sources:
- Task: https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html
- Wait: https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html
- Express limits: https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from windtunnel.services.stepfunctions.asl.validation_report import Report, child
from windtunnel.services.stepfunctions.asl.validation_rules import (
    report_missing,
    report_unsupported,
)
from windtunnel.services.stepfunctions.asl.validation_values import (
    JSONATA,
    JSONPATH,
    check_integer,
    check_jsonata_template,
    check_path,
    check_string,
    check_timestamp,
    is_expression,
)

__all__ = ["check_task_fields", "check_wait_fields"]

EXPRESS = "EXPRESS"

# The request-response actions of the optimized DynamoDB integration:
# https://docs.aws.amazon.com/step-functions/latest/dg/connect-ddb.html
_DYNAMODB_ACTIONS = frozenset({"getItem", "putItem", "updateItem", "deleteItem"})
_WAIT_FIELDS = ("Seconds", "SecondsPath", "Timestamp", "TimestampPath")


def check_task_fields(report: Report, state: Mapping[str, Any], language: str,
                      location: str, machine_type: str) -> None:
    """Check the fields that only Task states have."""
    if "Resource" not in state:
        report_missing(report, ["Resource"], location)
    elif check_string(report, state["Resource"], child(location, "Resource")):
        _check_resource(report, state["Resource"], child(location, "Resource"), machine_type)

    timeout = _check_seconds_pair(report, state, "TimeoutSeconds", language, location)
    heartbeat = _check_seconds_pair(report, state, "HeartbeatSeconds", language, location)
    if timeout is not None and heartbeat is not None and heartbeat >= timeout:
        # The Task page: HeartbeatSeconds must be smaller than TimeoutSeconds.
        # NOTE: wording not recorded from AWS.
        report.schema("HeartbeatSeconds must be smaller than TimeoutSeconds",
                      child(location, "HeartbeatSeconds"))

    if "Credentials" in state:
        _check_credentials(report, state["Credentials"], language,
                           child(location, "Credentials"))


def _check_resource(report: Report, resource: str, location: str, machine_type: str) -> None:
    if not resource.startswith("arn:") or _is_unknown_dynamodb_action(resource):
        # Recorded from AWS for arn:aws:states:::dynamodb:query (LocalStack snapshot
        # test_dynamodb_task_service). NOTE: other services' optimized actions are not
        # checked, so an unknown action of another service passes here.
        report.schema(f"The resource provided {resource} is not recognized. The value is not "
                      "a valid resource ARN, or the resource is not available in this region.",
                      location)
        return
    if machine_type != EXPRESS:
        return

    # Recorded from AWS (LocalStack snapshots test_sfn_api_validation and
    # test_sfn_api_express). The '.waitForTaskToken' message ends with a space.
    if _is_activity(resource):
        report.schema("Express state machine does not support Activity ARN", location)
    elif resource.endswith(".waitForTaskToken"):
        report.schema("Express state machine does not support '.waitForTaskToken' service "
                      "integration ", location)
    elif resource.endswith((".sync", ".sync:2")):
        report.schema("Express state machine does not support '.sync' service integration",
                      location)


def _is_activity(resource: str) -> bool:
    parts = resource.split(":")
    return len(parts) >= 7 and parts[2] == "states" and parts[5] == "activity"


def _is_unknown_dynamodb_action(resource: str) -> bool:
    parts = resource.split(":")
    if len(parts) < 7 or parts[2] != "states" or parts[5] != "dynamodb":
        return False
    return parts[6] not in _DYNAMODB_ACTIONS


def _check_seconds_pair(report: Report, state: Mapping[str, Any], name: str, language: str,
                        location: str) -> int | None:
    """Check ``name`` and ``namePath``; return the static number of seconds, if any."""
    path_name = f"{name}Path"
    if name in state and path_name in state:
        # NOTE: wording not recorded from AWS.
        report.schema(f"Only one of the fields '{name}' and '{path_name}' may be set",
                      location)
    if path_name in state and language == JSONPATH:
        check_path(report, state[path_name], child(location, path_name))
    if name not in state:
        return None

    value = state[name]
    if language == JSONATA and is_expression(value):
        check_jsonata_template(report, value, child(location, name))
        return None
    # The Task page: both are positive integers.
    if check_integer(report, value, child(location, name), minimum=1):
        number: int = value
        return number
    return None


def _check_credentials(report: Report, credentials: Any, language: str,
                       location: str) -> None:
    if not isinstance(credentials, Mapping):
        # NOTE: wording not recorded from AWS.
        report.schema("Value must be an object", location)
        return
    role_fields = ("RoleArn", "RoleArn.$") if language == JSONPATH else ("RoleArn",)
    if not any(name in credentials for name in role_fields):
        # Recorded from AWS (LocalStack snapshot test_credentials_base), which names only
        # the missing field even when an unknown field is also present.
        report.schema("The field 'RoleArn' is required but was missing", location)
        return
    for name in credentials:
        if name not in role_fields:
            report_unsupported(report, name, location)
    if "RoleArn.$" in credentials:
        check_path(report, credentials["RoleArn.$"], child(location, "RoleArn.$"),
                   allow_intrinsic=True)


def check_wait_fields(report: Report, state: Mapping[str, Any], language: str,
                      location: str) -> None:
    """Check that a Wait state has exactly one valid waiting time."""
    present = [name for name in _WAIT_FIELDS if name in state]
    if len(present) != 1:
        # The Wait page: exactly one of Seconds, SecondsPath, Timestamp, TimestampPath.
        # NOTE: wording not recorded from AWS.
        report.schema("Exactly one of the fields Seconds, SecondsPath, Timestamp or "
                      f"TimestampPath is required; found {len(present)}", location)

    for name in present:
        value = state[name]
        value_location = child(location, name)
        if name.endswith("Path"):
            if language == JSONPATH:
                check_path(report, value, value_location)
        elif language == JSONATA and is_expression(value):
            check_jsonata_template(report, value, value_location)
        elif name == "Seconds":
            check_integer(report, value, value_location, minimum=0)
        else:
            # A "{% %}" string in a JSONPath state is not an expression and fails this
            # check too, as recorded from AWS (LocalStack snapshot test_base_scenarios).
            check_timestamp(report, value, value_location)

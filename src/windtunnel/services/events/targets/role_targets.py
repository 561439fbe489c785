"""Targets that EventBridge calls as the target's IAM role: Step Functions and Kinesis.

EventBridge does not reach these targets through a resource-based policy. It assumes the
role in the target's ``RoleArn``, whose trust policy must allow ``events.amazonaws.com``,
and calls the target's API as that role. The role's identity-based policies must allow
``states:StartExecution`` on the state machine or ``kinesis:PutRecord`` on the stream:
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html

A state machine, Standard or Express, is started with StartExecution and the target's
input. A Kinesis record's partition key is the value at ``KinesisParameters.
PartitionKeyPath`` in the event, or the event ID when the target sets no path:
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_KinesisParameters.html
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from windtunnel.iam.enforcement import find_role, iam_backend
from windtunnel.iam.errors import MalformedPolicyError
from windtunnel.iam.evaluation import evaluate
from windtunnel.iam.request import AuthorizationRequest, PrincipalType
from windtunnel.services.events.targets.attempt import (
    Attempt,
    DeliveryFailure,
    DeliveryServices,
)
from windtunnel.services.events.targets.input import JsonPathError, evaluate_path

__all__ = ["send_to_state_machine", "send_to_stream"]

logger = logging.getLogger(__name__)

_EVENTS_PRINCIPAL = "events.amazonaws.com"
_SESSION_NAME_CHARACTERS = re.compile(r"[^\w+=,.@-]")

# Error codes of the target APIs, by the DLQ error code EventBridge reports for them.
_NO_PERMISSIONS = frozenset({"AccessDeniedException", "AccessDenied"})
_NO_RESOURCE = frozenset({"StateMachineDoesNotExist", "StateMachineDeleting",
                          "ResourceNotFoundException"})
_THROTTLING = frozenset({"ThrottlingException", "ExecutionLimitExceeded",
                         "ProvisionedThroughputExceededException", "LimitExceededException"})


def send_to_state_machine(attempt: Attempt, services: DeliveryServices) -> None:
    """Start an execution of the target state machine with the target's input."""
    client = _role_client(attempt, services, "stepfunctions")
    try:
        client.start_execution(stateMachineArn=attempt.target_arn, input=attempt.payload)
    except ClientError as error:
        raise _target_failure(error) from None
    except BotoCoreError as error:
        raise DeliveryFailure("SDK_CLIENT_ERROR", str(error), retriable=True) from None


def send_to_stream(attempt: Attempt, services: DeliveryServices) -> None:
    """Put the target's input into the target stream as one record."""
    partition_key = _partition_key(attempt)
    stream_name = attempt.target_arn.split(":", 5)[5].split("/", 1)[-1]
    client = _role_client(attempt, services, "kinesis")
    try:
        client.put_record(StreamName=stream_name, Data=attempt.payload.encode(),
                          PartitionKey=partition_key)
    except ClientError as error:
        raise _target_failure(error) from None
    except BotoCoreError as error:
        raise DeliveryFailure("SDK_CLIENT_ERROR", str(error), retriable=True) from None


def _partition_key(attempt: Attempt) -> str:
    path = (attempt.target.get("KinesisParameters") or {}).get("PartitionKeyPath")
    if not path:
        return str(attempt.event.get("id", ""))
    try:
        found, value = evaluate_path(attempt.event, str(path))
    except JsonPathError as error:
        raise DeliveryFailure("INVALID_PARAMETER", f"PartitionKeyPath {path} is not valid: "
                              f"{error}", retriable=False) from None
    # NOTE: what EventBridge does when the path selects nothing is not documented; here
    # the delivery fails, as Kinesis rejects an empty partition key.
    if not found or value is None or value == "" or value == []:
        raise DeliveryFailure("INVALID_PARAMETER", f"PartitionKeyPath {path} selects no "
                              f"value in event {attempt.event.get('id')}", retriable=False)
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _role_client(attempt: Attempt, services: DeliveryServices, service: str) -> Any:
    """Return a client of ``service`` signed as the target's role, once EventBridge may
    assume it."""
    role_arn = str(attempt.target.get("RoleArn") or "")
    if not role_arn:
        # NOTE: PutTargets accepts a Step Functions or Kinesis target without RoleArn here.
        raise DeliveryFailure(
            "NO_PERMISSIONS",
            f"target {attempt.target.get('Id')} of rule {attempt.rule_arn} has no RoleArn; "
            f"EventBridge calls {attempt.target_arn} as the target's IAM role",
            retriable=False)
    if services.role_client is None:
        raise DeliveryFailure(
            "FAILED_TO_ASSUME_ROLE",
            f"role {role_arn} cannot be used here: calling a target as a role needs the "
            f"embedded cloud of a windtunnel Environment or Stack",
            retriable=False)
    _check_trust(attempt, role_arn)
    return services.role_client(service, role_arn, _session_name(attempt))


def _check_trust(attempt: Attempt, role_arn: str) -> None:
    """Raise unless the role exists and its trust policy lets EventBridge assume it.

    The request carries the rule as ``aws:SourceArn`` and its account as
    ``aws:SourceAccount``, which trust policies use against the confused deputy problem.
    NOTE: the trust policy is evaluated in every IAM mode, also ``warn`` and ``off``.
    """
    components = role_arn.split(":")
    role = find_role(iam_backend(components[4]), role_arn) if len(components) == 6 else None
    if role is None:
        raise DeliveryFailure("FAILED_TO_ASSUME_ROLE", f"role {role_arn} does not exist",
                              retriable=False)
    request = AuthorizationRequest(
        principal=_EVENTS_PRINCIPAL, action="sts:AssumeRole", resource=role_arn,
        context={"aws:SourceArn": attempt.rule_arn, "aws:SourceAccount": attempt.account},
        principal_type=PrincipalType.SERVICE)
    try:
        trust = json.loads(role.assume_role_policy_document)
        allowed = evaluate(request, [], resource_policy=trust).allowed
    except (ValueError, MalformedPolicyError) as error:
        logger.info("the trust policy of %s is not valid, so it allows nothing: %s",
                    role_arn, error)
        allowed = False
    if not allowed:
        raise DeliveryFailure(
            "FAILED_TO_ASSUME_ROLE",
            f"the trust policy of role {role_arn} does not allow {_EVENTS_PRINCIPAL} to "
            f"perform sts:AssumeRole for {attempt.rule_arn}",
            retriable=False)


def _session_name(attempt: Attempt) -> str:
    # NOTE: the session name EventBridge gives the role is not documented. Here it is the
    # rule's name, limited to the characters and length that STS allows.
    name = _SESSION_NAME_CHARACTERS.sub("-", f"events-{attempt.rule_name}")
    return name[:64]


def _target_failure(error: ClientError) -> DeliveryFailure:
    details = error.response.get("Error", {})
    code = str(details.get("Code", ""))
    message = f"{code}: {details.get('Message', '')}"
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
    if code in _NO_PERMISSIONS:
        return DeliveryFailure("NO_PERMISSIONS", message, retriable=False)
    if code in _NO_RESOURCE:
        return DeliveryFailure("NO_RESOURCE", message, retriable=False)
    if code in _THROTTLING:
        return DeliveryFailure("THROTTLING", message, retriable=True)
    if code == "InvalidExecutionInput":
        return DeliveryFailure("INVALID_JSON", message, retriable=False)
    if status >= 500:
        return DeliveryFailure("ERROR_FROM_TARGET", message, retriable=True)
    return DeliveryFailure("INVALID_PARAMETER", message, retriable=False)

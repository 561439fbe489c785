"""Delivery of a matched event to a rule's targets, with retries and dead-letter queues.

EventBridge hands the event to each target after PutEvents returns. A delivery that fails
with a retriable error (the target throttles) is retried with exponential backoff until
the target's ``RetryPolicy`` runs out: ``MaximumRetryAttempts`` (default 185) or
``MaximumEventAgeInSeconds`` (default 86,400). Errors that a retry cannot fix, a missing
target or a resource-based policy that does not allow EventBridge, are not retried. Either
way the event then goes to the target's dead-letter queue, when it has one:
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html

Lambda functions, SQS queues, SNS topics, event buses and log groups are delivered to
here; Step Functions state machines and Kinesis streams in
:mod:`~windtunnel.services.events.targets.role_targets`; API destinations in
:mod:`~windtunnel.services.events.targets.api_destinations`. Any other kind of target
fails the delivery with an error that names it, so the event shows in FailedInvocations
and the dead-letter queue.

Retries are scheduled on the stack's virtual clock, so ``stack.clock.advance`` runs them.
The delivery metrics go to CloudWatch in the ``AWS/Events`` namespace:
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html
"""

from __future__ import annotations

import datetime
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from windtunnel.clock import ScheduledCall
from windtunnel.cloud.protocols import AwsError
from windtunnel.services.events.targets import api_destinations
from windtunnel.services.events.targets.api_destinations import send_to_api_destination
from windtunnel.services.events.targets.attempt import (
    Attempt,
    DeliveryFailure,
    DeliveryServices,
)
from windtunnel.services.events.targets.input import (
    InputContext,
    aws_event,
    format_event_time,
    target_input,
)
from windtunnel.services.events.targets.role_targets import (
    send_to_state_machine,
    send_to_stream,
)

__all__ = [
    "DEFAULT_MAXIMUM_EVENT_AGE",
    "DEFAULT_MAXIMUM_RETRY_ATTEMPTS",
    "DeliveryFailure",
    "DeliveryServices",
    "cancel_pending_retries",
    "deliver_to_targets",
    "retry_delay",
]

logger = logging.getLogger(__name__)

DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 185
DEFAULT_MAXIMUM_EVENT_AGE = 86_400
"""Seconds. Both defaults are the retry policy page's "24 hours and up to 185 times"."""

_EVENTS_PRINCIPAL = "events.amazonaws.com"
_METRICS_NAMESPACE = "AWS/Events"
# NOTE: EventBridge documents exponential backoff with jitter but not its constants. Here a
# retry waits 1, 2, 4 ... seconds, at most 5 minutes, with no jitter, so runs repeat.
_FIRST_RETRY_DELAY = 1.0
_MAXIMUM_RETRY_DELAY = 300.0

# Retries scheduled and not yet run, so that a reset can drop them.
# ScheduledCall is not hashable, so they are kept by id(); the dictionary keeps them alive.
_pending_retries: dict[int, ScheduledCall] = {}


def cancel_pending_retries() -> int:
    """Drop every scheduled retry, as when the stack is reset; return how many there were.

    The invocations counted against API destinations' rate limits and the OAuth access
    tokens of connections are dropped too.
    """
    count = 0
    for call in list(_pending_retries.values()):
        call.cancel()
        count += 1
    _pending_retries.clear()
    api_destinations.reset()
    return count


def retry_delay(retry: int) -> float:
    """Return the seconds to wait before retry number ``retry`` (1 for the first)."""
    return float(min(_FIRST_RETRY_DELAY * 2 ** (retry - 1), _MAXIMUM_RETRY_DELAY))


def deliver_to_targets(rule: Any, targets: list[dict[str, Any]], event: Mapping[str, Any],
                       services: DeliveryServices) -> None:
    """Deliver ``event``, which matched moto's ``rule``, to each of ``targets``."""
    ingestion = event.get("ingestion-time", time.time())
    context = InputContext(str(rule.arn), format_event_time(ingestion))
    shaped = aws_event(event)
    now = services.clock.now() if services.clock is not None else \
        datetime.datetime.now(datetime.UTC)
    _put_metrics(rule, ("MatchedEvents", "TriggeredRules"))
    for target in targets:
        attempt = Attempt(
            rule_arn=str(rule.arn),
            account=str(rule.account_id),
            region=str(rule.region_name),
            target=dict(target),
            event=shaped,
            payload=target_input(target, event, context),
            first_attempt=now,
            services=services,
        )
        _attempt_delivery(attempt)


def _attempt_delivery(attempt: Attempt) -> None:
    services = attempt.services
    assert services is not None
    try:
        with services.delivering_from(attempt.rule_arn):
            _send(attempt, services)
    except DeliveryFailure as failure:
        _handle_failure(attempt, failure)
        return
    _put_metrics_for(attempt, ("Invocations",))


def _handle_failure(attempt: Attempt, failure: DeliveryFailure) -> None:
    services = attempt.services
    assert services is not None
    policy = attempt.target.get("RetryPolicy") or {}
    maximum_retries = int(policy.get("MaximumRetryAttempts", DEFAULT_MAXIMUM_RETRY_ATTEMPTS))
    maximum_age = int(policy.get("MaximumEventAgeInSeconds", DEFAULT_MAXIMUM_EVENT_AGE))
    logger.info("rule %s: delivery to %s failed (%s: %s), attempt %d", attempt.rule_name,
                attempt.target_arn, failure.error_code, failure.message, attempt.retries + 1)

    exhausted: str | None = None
    if failure.retriable and services.clock is not None:
        delay = retry_delay(attempt.retries + 1)
        if failure.retry_after is not None:
            # An API destination's Retry-After header wins when it requests a longer wait.
            delay = max(delay, failure.retry_after)
        age = services.clock.now() + datetime.timedelta(seconds=delay) - \
            attempt.first_attempt
        if attempt.retries >= maximum_retries:
            exhausted = "MaximumRetryAttempts"
        elif age.total_seconds() > maximum_age:
            exhausted = "MaximumEventAgeInSeconds"
        else:
            attempt.retries += 1
            key: list[int] = []

            def retry() -> None:
                _pending_retries.pop(key[0], None)
                _attempt_delivery(attempt)

            call = services.clock.schedule(
                delay, retry,
                description=f"retry delivery of rule {attempt.rule_name} to "
                            f"{attempt.target_arn}")
            key.append(id(call))
            _pending_retries[id(call)] = call
            return
    elif failure.retriable:
        # NOTE: without a virtual clock (a bare Cloud) nothing can run a retry later, so
        # the first failure is final.
        exhausted = "MaximumRetryAttempts"

    _put_metrics_for(attempt, ("Invocations", "FailedInvocations"))
    _send_to_dead_letter_queue(attempt, failure, exhausted)


def _send_to_dead_letter_queue(attempt: Attempt, failure: DeliveryFailure,
                               exhausted: str | None) -> None:
    services = attempt.services
    assert services is not None
    queue_arn = (attempt.target.get("DeadLetterConfig") or {}).get("Arn")
    if not queue_arn:
        logger.warning("rule %s: event %s dropped after failing to reach %s (%s: %s)",
                       attempt.rule_name, attempt.event.get("id"), attempt.target_arn,
                       failure.error_code, failure.message)
        return
    # The attributes the dead-letter queue page lists for each message.
    attributes = {
        "RULE_ARN": attempt.rule_arn,
        "TARGET_ARN": attempt.target_arn,
        "ERROR_CODE": failure.error_code,
        "ERROR_MESSAGE": failure.message,
        "RETRY_ATTEMPTS": str(attempt.retries),
    }
    if exhausted is not None:
        attributes["EXHAUSTED_RETRY_CONDITION"] = exhausted
    message_attributes = {name: {"DataType": "String", "StringValue": value}
                          for name, value in attributes.items()}
    try:
        backend = _sqs_backend(str(queue_arn))
        name = str(queue_arn).split(":")[5]
        if name not in backend.queues:
            raise DeliveryFailure("NO_RESOURCE", f"queue {queue_arn} does not exist",
                                  retriable=False)
        if not services.allowed("sqs:SendMessage", str(queue_arn), attempt.rule_arn,
                                attempt.account):
            raise DeliveryFailure("NO_PERMISSIONS", "the queue policy does not allow "
                                  "events.amazonaws.com sqs:SendMessage", retriable=False)
        backend.send_message(queue_name=name, message_body=json.dumps(attempt.event),
                             message_attributes=message_attributes)
    except DeliveryFailure as error:
        logger.warning("rule %s: event %s not sent to dead-letter queue %s: %s",
                       attempt.rule_name, attempt.event.get("id"), queue_arn, error.message)
        _put_metrics_for(attempt, ("InvocationsFailedToBeSentToDlq",))
        return
    _put_metrics_for(attempt, ("InvocationsSentToDlq",))


# --- one attempt per kind of target ------------------------------------------------------


def _send(attempt: Attempt, services: DeliveryServices) -> None:
    components = attempt.target_arn.split(":", 5)
    service = components[2] if len(components) > 2 else ""
    sender = _SENDERS.get(service)
    if sender is None:
        raise DeliveryFailure(
            "INVALID_PARAMETER",
            f"windtunnel does not emulate delivery to {service or 'unknown'} targets, so "
            f"the event was not sent to {attempt.target_arn}",
            retriable=False)
    sender(attempt, services)


def _check_allowed(attempt: Attempt, services: DeliveryServices, action: str) -> None:
    if not services.allowed(action, attempt.target_arn, attempt.rule_arn, attempt.account):
        raise DeliveryFailure(
            "NO_PERMISSIONS",
            f"the resource-based policy of {attempt.target_arn} does not allow "
            f"{_EVENTS_PRINCIPAL} to perform {action} for {attempt.rule_arn}",
            retriable=False)


def _send_to_function(attempt: Attempt, services: DeliveryServices) -> None:
    if services.invoke_function is None:
        logger.warning("rule %s: event not delivered to function %s because no Lambda "
                       "runtime is attached to the cloud", attempt.rule_name,
                       attempt.target_arn)
        return
    if not _function_exists(attempt.target_arn):
        raise DeliveryFailure("NO_RESOURCE", f"function {attempt.target_arn} does not exist",
                              retriable=False)
    _check_allowed(attempt, services, "lambda:InvokeFunction")
    # The invocation is asynchronous: Lambda queues the event and handles a function error
    # or a throttled run with its own retries, so only a rejected Invoke request fails here.
    try:
        services.invoke_function(attempt.rule_arn, attempt.target_arn,
                                 attempt.payload.encode())
    except AwsError as error:
        raise _lambda_failure(error) from None


def _lambda_failure(error: AwsError) -> DeliveryFailure:
    if error.code == "ResourceNotFoundException":
        return DeliveryFailure("NO_RESOURCE", error.message, retriable=False)
    if error.code == "TooManyRequestsException":
        return DeliveryFailure("THROTTLING", error.message, retriable=True)
    if error.code == "InvalidRequestContentException":
        return DeliveryFailure("INVALID_JSON", error.message, retriable=False)
    return DeliveryFailure("ERROR_FROM_TARGET", error.message,
                           retriable=error.status >= 500)


def _function_exists(function_arn: str) -> bool:
    from moto.awslambda.models import lambda_backends

    components = function_arn.split(":")
    if len(components) < 7:
        return False
    try:
        lambda_backends[components[4]][components[3]].get_function(components[6])
    except Exception:  # moto's Lambda errors share no base class
        return False
    return True


# Each sender checks that the target exists before its resource-based policy, because the
# policy is part of the target.
def _send_to_queue(attempt: Attempt, services: DeliveryServices) -> None:
    backend = _sqs_backend(attempt.target_arn)
    name = attempt.target_arn.split(":")[5]
    if name not in backend.queues:
        raise DeliveryFailure("NO_RESOURCE", f"queue {attempt.target_arn} does not exist",
                              retriable=False)
    _check_allowed(attempt, services, "sqs:SendMessage")
    group_id = (attempt.target.get("SqsParameters") or {}).get("MessageGroupId")
    try:
        backend.send_message(queue_name=name, message_body=attempt.payload,
                             group_id=group_id)
    except Exception as error:  # moto's SQS errors share no base class
        raise DeliveryFailure("INVALID_PARAMETER", str(error), retriable=False) from None


def _send_to_topic(attempt: Attempt, services: DeliveryServices) -> None:
    from moto.sns.models import sns_backends

    components = attempt.target_arn.split(":")
    backend = sns_backends[components[4]][components[3]]
    if attempt.target_arn not in backend.topics:
        raise DeliveryFailure("NO_RESOURCE", f"topic {attempt.target_arn} does not exist",
                              retriable=False)
    _check_allowed(attempt, services, "sns:Publish")
    try:
        # NOTE: FIFO topics need a message group ID, which EventBridge takes from the
        # target's SqsParameters. It is not passed on, so delivery to FIFO topics fails.
        backend.publish(message=attempt.payload, arn=attempt.target_arn)
    except Exception as error:  # moto's SNS errors share no base class
        raise DeliveryFailure("INVALID_PARAMETER", str(error), retriable=False) from None


def _send_to_events_resource(attempt: Attempt, services: DeliveryServices) -> None:
    resource = attempt.target_arn.split(":", 5)[5]
    if resource.startswith("event-bus/"):
        _send_to_bus(attempt, resource.split("/", 1)[1])
        return
    if resource.startswith("api-destination/"):
        send_to_api_destination(attempt, services)
        return
    resource_type = resource.split("/", 1)[0]
    raise DeliveryFailure(
        "INVALID_PARAMETER",
        f"windtunnel does not emulate delivery to EventBridge {resource_type or 'unknown'} "
        f"targets, so the event was not sent to {attempt.target_arn}",
        retriable=False)


def _send_to_bus(attempt: Attempt, bus_name: str) -> None:
    from moto.events.models import events_backends

    components = attempt.target_arn.split(":")
    backend = events_backends[components[4]][components[3]]
    if bus_name not in backend.event_buses:
        raise DeliveryFailure("NO_RESOURCE", f"event bus {attempt.target_arn} does not "
                              f"exist", retriable=False)
    # NOTE: a bus receives the matched event itself; input settings of bus targets are not
    # applied, and a bus in another account is reached without the role EventBridge needs.
    event = attempt.event
    backend.put_events([{
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event.get("detail", {})),
        "Resources": event.get("resources", []),
        "EventBusName": bus_name,
    }])


def _send_to_log_group(attempt: Attempt, services: DeliveryServices) -> None:
    from moto.logs.models import logs_backends

    # NOTE: EventBridge needs a CloudWatch Logs resource policy for log group targets,
    # which is not checked.
    components = attempt.target_arn.split(":")
    backend = logs_backends[components[4]][components[3]]
    group_name = components[6]
    if group_name not in backend.groups:
        raise DeliveryFailure("NO_RESOURCE", f"log group {group_name} does not exist",
                              retriable=False)
    stream_name = str(attempt.event.get("id", "events"))
    if stream_name not in backend.groups[group_name].streams:
        backend.create_log_stream(group_name, stream_name)
    backend.put_log_events(group_name, stream_name, [
        {"timestamp": int(time.time() * 1000), "message": attempt.payload}])


_SENDERS: dict[str, Callable[[Attempt, DeliveryServices], None]] = {
    "lambda": _send_to_function,
    "sqs": _send_to_queue,
    "sns": _send_to_topic,
    "events": _send_to_events_resource,
    "logs": _send_to_log_group,
    "states": send_to_state_machine,
    "kinesis": send_to_stream,
}


def _sqs_backend(queue_arn: str) -> Any:
    from moto.sqs.models import sqs_backends

    components = queue_arn.split(":")
    if len(components) != 6 or components[2] != "sqs":
        raise DeliveryFailure("NO_RESOURCE", f"{queue_arn} is not an SQS queue ARN",
                              retriable=False)
    return sqs_backends[components[4]][components[3]]


# --- metrics -------------------------------------------------------------------------------


def _put_metrics_for(attempt: Attempt, names: tuple[str, ...]) -> None:
    _write_metrics(attempt.account, attempt.region, attempt.rule_name, names)


def _put_metrics(rule: Any, names: tuple[str, ...]) -> None:
    _write_metrics(str(rule.account_id), str(rule.region_name), str(rule.name), names)


def _write_metrics(account: str, region: str, rule_name: str, names: tuple[str, ...]) -> None:
    """Add 1 to each metric of ``names`` for the rule, in CloudWatch's AWS/Events namespace.

    NOTE: the data points carry wall-clock timestamps, not the virtual clock's.
    """
    from moto.cloudwatch.models import cloudwatch_backends

    dimensions = [{"Name": "RuleName", "Value": rule_name}]
    cloudwatch_backends[account][region].put_metric_data(_METRICS_NAMESPACE, [
        {"MetricName": name, "Value": 1.0, "Unit": "Count", "Dimensions": dimensions}
        for name in names])

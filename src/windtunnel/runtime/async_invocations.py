"""Lambda's asynchronous invocation: retries on the virtual clock, destinations and DLQs.

An ``Event`` invocation whose function returns an error or times out runs again, up to
``MaximumRetryAttempts`` times (2 by default), one minute after the first attempt and
two minutes after the second, as long as the event is younger than
``MaximumEventAgeInSeconds`` (6 hours by default):
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
A throttled attempt goes back to the queue with an interval that doubles from 1 second
up to 5 minutes, within the same age limit.

When the event succeeds or is discarded, Lambda sends an invocation record to the
``OnSuccess`` or ``OnFailure`` destination (SQS, SNS, Lambda, EventBridge). A discarded
event without an ``OnFailure`` destination goes to the function's dead-letter queue.
The message there is the event as it was received, with the ``RequestID``,
``ErrorCode`` and ``ErrorMessage`` attributes:
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
Lambda sends records with the function's execution role, so a destination that the role
may not use gets nothing, and a warning is logged.

A function with a reserved concurrency of zero gets no retries: its events go to the
dead-letter queue or ``OnFailure`` destination at once (same page, the note on reserved
concurrency).

Limitations: a configuration put for a version or alias applies to every qualifier of
the function (moto stores one per function), and S3 bucket destinations are not
emulated.
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from windtunnel.cloud.protocols import AwsError
from windtunnel.iam.enforcement import IamMode, Principal, RoleSession
from windtunnel.iam.request import PrincipalType

if TYPE_CHECKING:
    from windtunnel.clock import ScheduledCall, VirtualClock
    from windtunnel.runtime.environment import FunctionConfig
    from windtunnel.runtime.functions import LambdaRuntime
    from windtunnel.runtime.result import InvocationResult

__all__ = ["AsyncInvocations", "AsyncSettings", "keep_dead_letter_configs"]

logger = logging.getLogger(__name__)

DEFAULT_RETRY_ATTEMPTS = 2
DEFAULT_EVENT_AGE = 6 * 60 * 60
# Seconds before the first and the second retry of a function error.
RETRY_DELAYS = (60, 120)
# Interval before the first retry of a throttled event, doubled up to the maximum.
THROTTLE_FIRST_DELAY = 1
THROTTLE_MAX_DELAY = 5 * 60
# A dead-letter message carries the first 1 KB of the error message.
_ERROR_MESSAGE_LIMIT = 1024

# The action the execution role needs for each kind of destination.
_DESTINATION_ACTIONS = {
    "sqs": "sqs:SendMessage",
    "sns": "sns:Publish",
    "lambda": "lambda:InvokeFunction",
    "events": "events:PutEvents",
}


@dataclass(frozen=True)
class AsyncSettings:
    """A function's asynchronous invocation settings, with Lambda's defaults."""

    maximum_retry_attempts: int = DEFAULT_RETRY_ATTEMPTS
    maximum_event_age: int = DEFAULT_EVENT_AGE
    on_success: str | None = None
    on_failure: str | None = None
    dead_letter_target: str | None = None


@dataclass
class _QueuedEvent:
    """One event in a function's asynchronous queue."""

    config: FunctionConfig
    payload: bytes
    request_id: str
    client_context: Any
    invoked_arn: str
    enqueued: datetime.datetime
    attempts: int = 0
    throttle_delay: float = THROTTLE_FIRST_DELAY


class AsyncInvocations:
    """The asynchronous event queue of one Lambda runtime.

    The first attempt runs in the runtime's thread pool. Retries run on the virtual
    clock when they fall due, in the thread that advances the clock.
    """

    def __init__(self, runtime: LambdaRuntime, clock: VirtualClock) -> None:
        self.runtime = runtime
        self.clock = clock
        # Retries not yet run, by the identity of their scheduled call.
        self._scheduled: dict[int, ScheduledCall] = {}
        self._lock = threading.Lock()

    def first_attempt(self, config: FunctionConfig, payload: bytes, request_id: str,
                      client_context: Any, invoked_arn: str) -> InvocationResult | None:
        """Run the first attempt of a new event, then schedule its retry or send its record."""
        event = _QueuedEvent(config, payload, request_id, client_context, invoked_arn,
                             enqueued=self.clock.now())
        return self._attempt(event)

    def _attempt(self, event: _QueuedEvent) -> InvocationResult | None:
        settings = self.settings(event.config)
        try:
            result = self.runtime._run(event.config, event.payload, event.request_id,
                                       event.client_context, event.invoked_arn)
        except AwsError as error:
            if error.status != 429:
                raise
            if event.config.reserved_concurrency == 0:
                # Lambda sends the events of a function with a reserved concurrency of
                # zero to its dead-letter queue or OnFailure destination at once.
                # NOTE: the record condition for this case is not documented, so
                # RetriesExhausted is an assumption.
                self._discard(event, settings, "RetriesExhausted", None)
                return None
            self._retry_throttled(event, settings)
            return None
        event.attempts += 1

        if result.function_error is None:
            self._send_record(event, settings.on_success, "Success", result)
            return result
        if event.attempts > settings.maximum_retry_attempts:
            self._discard(event, settings, "RetriesExhausted", result)
            return result
        delay = RETRY_DELAYS[min(event.attempts, len(RETRY_DELAYS)) - 1]
        if not self._young_enough(event, settings, delay):
            self._discard(event, settings, "EventAgeExceeded", result)
            return result
        logger.info("%s: asynchronous invocation %s failed (%s), retrying in %d seconds",
                    event.config.function_name, event.request_id, result.function_error,
                    delay)
        self._schedule(delay, event, f"retry {event.request_id} of "
                                     f"{event.config.function_name}")
        return result

    def _schedule(self, delay: float, event: _QueuedEvent, description: str) -> None:
        with self._lock:
            call = self.clock.schedule(delay, lambda: self._retry(event, call),
                                       description=description)
            self._scheduled[id(call)] = call

    def cancel_retries(self) -> None:
        """Drop every scheduled retry, so that no event outlives a reset of the cloud."""
        with self._lock:
            for call in self._scheduled.values():
                call.cancel()
            self._scheduled.clear()

    def _retry(self, event: _QueuedEvent, call: ScheduledCall) -> None:
        with self._lock:
            self._scheduled.pop(id(call), None)
        try:
            self._attempt(event)
        except Exception:  # the clock's caller did not start this invocation
            logger.exception("%s: retry of asynchronous invocation %s failed",
                             event.config.function_name, event.request_id)

    def _retry_throttled(self, event: _QueuedEvent, settings: AsyncSettings) -> None:
        delay = event.throttle_delay
        event.throttle_delay = min(delay * 2, THROTTLE_MAX_DELAY)
        if not self._young_enough(event, settings, delay):
            logger.warning("%s: asynchronous invocation %s discarded: throttled until the "
                           "event was older than %d seconds", event.config.function_name,
                           event.request_id, settings.maximum_event_age)
            self._discard(event, settings, "EventAgeExceeded", None)
            return
        self._schedule(delay, event, f"throttled {event.request_id} of "
                                     f"{event.config.function_name}")

    def _young_enough(self, event: _QueuedEvent, settings: AsyncSettings,
                      delay: float) -> bool:
        age = (self.clock.now() - event.enqueued).total_seconds() + delay
        return age <= settings.maximum_event_age

    def _discard(self, event: _QueuedEvent, settings: AsyncSettings, condition: str,
                 result: InvocationResult | None) -> None:
        logger.warning("%s: asynchronous invocation %s discarded after %d attempts (%s)",
                       event.config.function_name, event.request_id, event.attempts,
                       condition)
        if settings.on_failure is not None:
            self._send_record(event, settings.on_failure, condition, result)
        elif settings.dead_letter_target is not None:
            self._send_to_dead_letter_queue(event, settings.dead_letter_target, result)

    # --- settings ------------------------------------------------------------------

    def settings(self, config: FunctionConfig) -> AsyncSettings:
        """Read the function's event invoke configuration and dead-letter queue."""
        from moto.awslambda.models import lambda_backends

        cloud = self.runtime.cloud
        backend = lambda_backends[cloud.account_id][config.region]
        function = backend.get_function(config.function_name)
        stored: dict[str, Any] = {}
        if function.event_invoke_config:
            # moto appends each PutFunctionEventInvokeConfig, so the last one is current.
            stored = function.event_invoke_config[-1].config
        destinations = stored.get("DestinationConfig") or {}
        dead_letter = getattr(function, "windtunnel_dead_letter_config", None) or {}
        return AsyncSettings(
            maximum_retry_attempts=int(stored.get("MaximumRetryAttempts",
                                                  DEFAULT_RETRY_ATTEMPTS)),
            maximum_event_age=int(stored.get("MaximumEventAgeInSeconds", DEFAULT_EVENT_AGE)),
            on_success=(destinations.get("OnSuccess") or {}).get("Destination") or None,
            on_failure=(destinations.get("OnFailure") or {}).get("Destination") or None,
            dead_letter_target=dead_letter.get("TargetArn") or None,
        )

    # --- records and dead letters ----------------------------------------------------

    def _send_record(self, event: _QueuedEvent, destination: str | None, condition: str,
                     result: InvocationResult | None) -> None:
        if destination is None:
            return
        record = invocation_record(event.config, event.request_id, event.payload,
                                   condition, event.attempts, result, self.clock.now())
        body = json.dumps(record)
        service = destination.split(":")[2]
        if not self._role_allows(event.config, service, destination):
            return
        try:
            if service == "sqs":
                self._send_message(destination, body, {})
            elif service == "sns":
                self._publish(destination, body, {})
            elif service == "lambda":
                self.runtime.invoke(destination, body.encode(), invocation_type="Event")
            elif service == "events":
                self._put_event(event.config, destination, condition, body)
            else:
                logger.warning("%s: invocation record not sent to %s (%s destinations are "
                               "not emulated)", event.config.function_name, destination,
                               service)
        except Exception as error:  # a failed delivery reaches no caller in Lambda either
            logger.warning("%s: invocation record not sent to %s: %s",
                           event.config.function_name, destination, error)

    def _send_to_dead_letter_queue(self, event: _QueuedEvent, target: str,
                                   result: InvocationResult | None) -> None:
        service = target.split(":")[2]
        if not self._role_allows(event.config, service, target):
            return
        error = result.error if result is not None else None
        message = str((error or {}).get("errorMessage", ""))
        status = str(result.status_code if result is not None else 429)
        attributes = {
            "RequestID": {"DataType": "String", "StringValue": event.request_id},
            "ErrorCode": {"DataType": "Number", "StringValue": status},
        }
        if message:
            truncated = message.encode()[:_ERROR_MESSAGE_LIMIT].decode("utf-8", "ignore")
            attributes["ErrorMessage"] = {"DataType": "String", "StringValue": truncated}
        body = event.payload.decode()
        try:
            if service == "sqs":
                self._send_message(target, body, attributes)
            elif service == "sns":
                self._publish(target, body, attributes)
            else:
                logger.warning("%s: dead-letter target %s is neither a queue nor a topic",
                               event.config.function_name, target)
        except Exception as failure:  # Lambda reports this only as a DeadLetterErrors metric
            logger.warning("%s: event %s not sent to dead-letter target %s: %s",
                           event.config.function_name, event.request_id, target, failure)

    def _role_allows(self, config: FunctionConfig, service: str, target: str) -> bool:
        """Decide whether the execution role may send to ``target``, and record the decision."""
        from windtunnel.iam.operations.checks import AccessCheck

        authorizer = self.runtime.cloud.authorizer
        action = _DESTINATION_ACTIONS.get(service)
        if action is None or authorizer.mode is IamMode.OFF:
            return True
        # Lambda acts as a session of the execution role named after the function, also
        # for a function that never ran (reserved concurrency zero).
        session = RoleSession(config.role_arn, config.function_name,
                              function_name=config.function_name)
        principal = Principal(session.arn, PrincipalType.ROLE_SESSION,
                              config.role_arn.split(":")[4], role_arn=config.role_arn,
                              function_name=config.function_name)
        now = authorizer.clock()
        context: dict[str, Any] = {
            "aws:SecureTransport": True,
            "aws:CurrentTime": now,
            "aws:EpochTime": int(now.timestamp()),
            "aws:RequestedRegion": target.split(":")[3] or config.region,
        }
        decision, authorization = authorizer.decide(principal, AccessCheck(action, target),
                                                    context)
        authorizer.record(principal, service, None, authorization, decision)
        if decision.allowed or authorizer.mode is IamMode.WARN:
            return True
        logger.warning("%s: nothing sent to %s because the execution role %s is not "
                       "allowed %s on it", config.function_name, target, config.role_arn,
                       action)
        return False

    def _send_message(self, queue_arn: str, body: str,
                      attributes: dict[str, dict[str, str]]) -> None:
        region, account, name = queue_arn.split(":")[3:6]
        client = self.runtime.cloud.client("sqs", region)
        url = client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        client.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)

    def _publish(self, topic_arn: str, body: str,
                 attributes: dict[str, dict[str, str]]) -> None:
        client = self.runtime.cloud.client("sns", topic_arn.split(":")[3])
        client.publish(TopicArn=topic_arn, Message=body, MessageAttributes=attributes)

    def _put_event(self, config: FunctionConfig, bus_arn: str, condition: str,
                   body: str) -> None:
        outcome = "Success" if condition == "Success" else "Failure"
        client = self.runtime.cloud.client("events", bus_arn.split(":")[3])
        # NOTE: the Lambda guide does not list this event's resources, so the bus and
        # the function here are an assumption.
        client.put_events(Entries=[{
            "Source": "lambda",
            "DetailType": f"Lambda Function Invocation Result - {outcome}",
            "Detail": body,
            "EventBusName": bus_arn,
            "Resources": [bus_arn, _qualified(config.function_arn, config.version)],
        }])


def invocation_record(config: FunctionConfig, request_id: str, payload: bytes,
                      condition: str, attempts: int, result: InvocationResult | None,
                      now: datetime.datetime) -> dict[str, Any]:
    """Build the invocation record that Lambda sends to a destination.

    Source: https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
    """
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": now.astimezone(datetime.UTC).isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "requestContext": {
            "requestId": request_id,
            "functionArn": _qualified(config.function_arn, config.version),
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": _json_or_text(payload),
    }
    if result is not None:
        response_context: dict[str, Any] = {
            "statusCode": result.status_code,
            "executedVersion": result.executed_version,
        }
        if result.function_error is not None:
            response_context["functionError"] = result.function_error
        record["responseContext"] = response_context
        record["responsePayload"] = _json_or_text(result.raw_payload)
    return record


def _json_or_text(payload: bytes) -> Any:
    if not payload:
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", "replace")


def _qualified(function_arn: str, version: str) -> str:
    prefix, rest = function_arn.split(":function:", 1)
    return f"{prefix}:function:{rest.split(':', 1)[0]}:{version}"


@functools.cache
def keep_dead_letter_configs() -> None:
    """Keep a function's ``DeadLetterConfig`` and return it, as Lambda does.

    moto 5.2 drops ``DeadLetterConfig`` from CreateFunction and
    UpdateFunctionConfiguration, so GetFunctionConfiguration never shows it:
    https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html
    """
    from moto.awslambda import models

    function_class = models.LambdaFunction
    original_init = function_class.__init__
    if getattr(original_init, "windtunnel_correction", False):
        return
    original_configuration = function_class.get_configuration
    original_update = function_class.update_configuration

    def init(self: Any, account_id: str, spec: dict[str, Any], *args: Any,
             **kwargs: Any) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        self.windtunnel_dead_letter_config = spec.get("DeadLetterConfig")

    def get_configuration(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        configuration: dict[str, Any] = original_configuration(self, *args, **kwargs)
        dead_letter = getattr(self, "windtunnel_dead_letter_config", None)
        if dead_letter and dead_letter.get("TargetArn"):
            configuration["DeadLetterConfig"] = dict(dead_letter)
        return configuration

    def update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "DeadLetterConfig" in config_updates:
            self.windtunnel_dead_letter_config = config_updates["DeadLetterConfig"]
        return dict(original_update(self, config_updates))

    init.windtunnel_correction = True  # type: ignore[attr-defined]
    function_class.__init__ = init  # type: ignore[method-assign]
    function_class.get_configuration = get_configuration  # type: ignore[method-assign]
    function_class.update_configuration = update_configuration  # type: ignore[method-assign]

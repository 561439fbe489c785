"""``stack.events`` on the AWS target: a temporary SQS queue that captures the stack's events.

AWS records nothing that a test could read back, so the capture adds resources while the
stack is open and removes them afterwards:

- an SQS queue named ``windtunnel-capture-<random>``, with a queue policy that lets the
  capture's rules and the stack's topics send to it;
- on each event bus of the stack, a rule of the same name whose pattern matches every
  event, with the queue as its target;
- for each topic of the stack, an SQS subscription of the queue.

EventBridge delivers to SQS only when the queue policy allows the rule, and SNS only when
it allows the topic:
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions
https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html

A new rule can take a few seconds to start matching, so the capture puts one probe event
(source ``windtunnel.capture``) on each bus and waits until every probe has arrived. Probes
are not recorded. Removal runs on ``close()``, on leaving the ``with`` block (after a failure
or KeyboardInterrupt too) and, as a last resort, when the interpreter exits.
"""

from __future__ import annotations

import atexit
import copy
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, NoReturn, overload

from botocore.exceptions import ClientError

from windtunnel.cloud.capture import PublishedEvent, TopicMessage
from windtunnel.services.events.patterns import Pattern, compile_pattern
from windtunnel.stack.aws_errors import (
    AwsTargetError,
    NotSupportedOnAwsError,
    error_code,
    is_denied,
    raise_capture_denied,
)
from windtunnel.stack.events import EventAssertionError, EventPattern, explain_missing_events

if TYPE_CHECKING:
    from windtunnel.stack.aws import AwsStack

__all__ = ["AwsStackEvents", "EventCapture"]

logger = logging.getLogger(__name__)

CAPTURE_PREFIX = "windtunnel-capture-"
PROBE_SOURCE = "windtunnel.capture"
# The target ID of the capture's rules.
_TARGET_ID = "windtunnel-capture"
# Matches every event: each event has a source, and every string starts with "".
_MATCH_ALL = json.dumps({"source": [{"prefix": ""}]})
# The rule's ARN travels with each event, so that the capture can tell the bus. The predefined
# variables are documented at
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
_INPUT_TEMPLATE = '{"ruleArn": "<aws.events.rule-arn>", "event": <aws.events.event.json>}'
# A ReceiveMessage call waits this long (long polling) before it reports an empty queue,
# because a short poll samples only some SQS servers and may miss messages:
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-short-and-long-polling.html
_EMPTY_WAIT_SECONDS = 1
# How often a probe is put again while the capture waits for its rules.
_PROBE_INTERVAL_SECONDS = 5.0
DEFAULT_READY_TIMEOUT = 60.0
DEFAULT_WAIT_TIMEOUT = 30.0


class EventCapture:
    """The capture queue, rules and subscriptions, and the records received through them."""

    def __init__(self, clients: Callable[[str], Any], buses: list[str],
                 topics: list[str]) -> None:
        self._client = clients
        self.buses = buses
        """The names of the buses that get a capture rule."""
        self.topics = topics
        """The ARNs of the topics that get a capture subscription."""
        self.name = CAPTURE_PREFIX + secrets.token_hex(6)
        self.queue_url: str | None = None
        self.queue_arn: str | None = None
        self.rules: dict[str, str] = {}
        """The ARN of each capture rule, by bus name."""
        self.subscriptions: list[str] = []
        self.events: list[PublishedEvent] = []
        self.topic_messages: list[TopicMessage] = []
        self.last_received = time.monotonic()
        self._lock = threading.Lock()
        self._ready: set[str] = set()
        self._started = False

    @property
    def running(self) -> bool:
        """Whether the capture's resources exist."""
        return self._started

    # --- setup and removal ---------------------------------------------------------------

    def start(self, ready_timeout: float = DEFAULT_READY_TIMEOUT) -> None:
        """Create the queue, rules and subscriptions, and wait until the rules deliver.

        Whatever was created is removed again if this fails or is interrupted.
        """
        if self._started:
            return
        self._started = True
        atexit.register(self.stop)
        try:
            self._create_queue()
            self._create_rules()
            self._set_queue_policy()
            self._add_targets()
            self._subscribe_topics()
            self._wait_until_ready(ready_timeout)
        except BaseException:
            self.stop()
            raise
        logger.info("event capture %s is running for buses %s and topics %s", self.name,
                    ", ".join(self.buses) or "none", ", ".join(self.topics) or "none")

    def _create_queue(self) -> None:
        sqs = self._client("sqs")
        try:
            self.queue_url = sqs.create_queue(QueueName=self.name)["QueueUrl"]
            self.queue_arn = sqs.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        except ClientError as error:
            self._raise(error, "sqs:CreateQueue", f"queue {self.name}")

    def _create_rules(self) -> None:
        events = self._client("events")
        for bus in self.buses:
            try:
                self.rules[bus] = events.put_rule(
                    Name=self.name, EventBusName=bus, EventPattern=_MATCH_ALL,
                    Description="windtunnel: captures the events on this bus for tests",
                )["RuleArn"]
            except ClientError as error:
                self._raise(error, "events:PutRule", f"bus {bus}")

    def _set_queue_policy(self) -> None:
        statements: list[dict[str, Any]] = []
        if self.rules:
            statements.append({
                "Sid": "CaptureRules", "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage", "Resource": self.queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": sorted(self.rules.values())}},
            })
        if self.topics:
            statements.append({
                "Sid": "CaptureTopics", "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage", "Resource": self.queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": sorted(self.topics)}},
            })
        if not statements:
            return
        policy = {"Version": "2012-10-17", "Statement": statements}
        try:
            self._client("sqs").set_queue_attributes(
                QueueUrl=self.queue_url, Attributes={"Policy": json.dumps(policy)})
        except ClientError as error:
            self._raise(error, "sqs:SetQueueAttributes", f"queue {self.name}")

    def _add_targets(self) -> None:
        events = self._client("events")
        target = {"Id": _TARGET_ID, "Arn": self.queue_arn, "InputTransformer": {
            "InputPathsMap": {}, "InputTemplate": _INPUT_TEMPLATE}}
        for bus in self.rules:
            try:
                response = events.put_targets(Rule=self.name, EventBusName=bus,
                                              Targets=[target])
            except ClientError as error:
                self._raise(error, "events:PutTargets", f"rule {self.name} on bus {bus}")
            if response.get("FailedEntryCount"):
                entry = response["FailedEntries"][0]
                raise AwsTargetError(
                    f"the event capture could not add its queue to rule {self.name} on bus "
                    f"{bus}: {entry.get('ErrorCode')}: {entry.get('ErrorMessage')}")

    def _subscribe_topics(self) -> None:
        sns = self._client("sns")
        for topic in self.topics:
            try:
                arn = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=self.queue_arn,
                                    ReturnSubscriptionArn=True)["SubscriptionArn"]
            except ClientError as error:
                self._raise(error, "sns:Subscribe", f"topic {topic}")
            self.subscriptions.append(arn)

    def _wait_until_ready(self, timeout: float) -> None:
        """Put a probe on each bus until every capture rule has delivered one."""
        if not self.rules:
            return
        events = self._client("events")
        deadline = time.monotonic() + timeout
        next_probe = 0.0
        while True:
            missing = [bus for bus in self.rules if bus not in self._ready]
            if not missing:
                return
            now = time.monotonic()
            if now >= deadline:
                raise AwsTargetError(
                    f"the event capture's rules on {', '.join(missing)} delivered no probe "
                    f"event within {timeout:g} s. Check that the rules {self.name} exist and "
                    f"that the queue policy of {self.name} allows them, then retry with a "
                    f"longer capture_timeout=")
            if now >= next_probe:
                try:
                    events.put_events(Entries=[
                        {"Source": PROBE_SOURCE, "DetailType": "Capture ready",
                         "Detail": json.dumps({"capture": self.name}), "EventBusName": bus}
                        for bus in missing])
                except ClientError as error:
                    self._raise(error, "events:PutEvents", f"buses {', '.join(missing)}")
                next_probe = now + _PROBE_INTERVAL_SECONDS
            self.receive(wait_seconds=1)

    def stop(self) -> None:
        """Remove the subscriptions, rules and queue; log what could not be removed."""
        if not self._started:
            return
        self._started = False
        atexit.unregister(self.stop)
        sns = self._client("sns")
        for subscription in self.subscriptions:
            self._remove(partial(sns.unsubscribe, SubscriptionArn=subscription),
                         f"subscription {subscription}")
        self.subscriptions = []

        events = self._client("events")
        for bus in list(self.rules):
            self._remove(partial(events.remove_targets, Rule=self.name, EventBusName=bus,
                                 Ids=[_TARGET_ID]),
                         f"the target of rule {self.name} on bus {bus}")
            self._remove(partial(events.delete_rule, Name=self.name, EventBusName=bus),
                         f"rule {self.name} on bus {bus}")
        self.rules = {}

        if self.queue_url is not None:
            self._remove(partial(self._client("sqs").delete_queue, QueueUrl=self.queue_url),
                         f"queue {self.name}")
            self.queue_url = None
        logger.info("event capture %s removed", self.name)

    @staticmethod
    def _remove(call: Callable[[], Any], what: str) -> None:
        try:
            call()
        except ClientError as error:
            if error_code(error) in ("ResourceNotFoundException", "NotFound",
                                     "AWS.SimpleQueueService.NonExistentQueue"):
                return
            logger.warning("windtunnel could not remove %s of the event capture (%s); "
                           "delete it by hand", what, error)
        except Exception as error:
            logger.warning("windtunnel could not remove %s of the event capture (%s); "
                           "delete it by hand", what, error)

    def _raise(self, error: ClientError, action: str, resource: str) -> NoReturn:
        if is_denied(error):
            raise_capture_denied(error, action, resource)
        raise error

    # --- receiving -----------------------------------------------------------------------

    def receive(self, wait_seconds: int = 0) -> int:
        """Receive, record and delete what arrived; return the number of records added.

        The first receive waits up to ``wait_seconds`` for a message. Once messages
        arrive, the queue is received until it reports empty after a short wait.
        """
        if self.queue_url is None:
            return 0
        sqs = self._client("sqs")
        added = 0
        wait = wait_seconds
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                WaitTimeSeconds=wait).get("Messages", [])
            if not messages:
                return added
            wait = min(wait_seconds, _EMPTY_WAIT_SECONDS)
            for message in messages:
                added += self._record(message["Body"])
            sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                for index, message in enumerate(messages)])
            self.last_received = time.monotonic()

    def _record(self, body: str) -> int:
        try:
            document = json.loads(body)
        except ValueError:
            logger.warning("the event capture %s received a message that is not JSON; "
                           "ignored", self.name)
            return 0
        if isinstance(document, dict) and "ruleArn" in document:
            return self._record_event(document)
        if isinstance(document, dict) and document.get("Type") == "Notification":
            with self._lock:
                self.topic_messages.append(TopicMessage(
                    topic_arn=document["TopicArn"], message_id=document["MessageId"],
                    message=document["Message"], subject=document.get("Subject"),
                    attributes=document.get("MessageAttributes", {}),
                    message_group_id=document.get("MessageGroupId")))
            return 1
        return 0

    def _record_event(self, document: dict[str, Any]) -> int:
        event = document["event"]
        # The rule's ARN is arn:PARTITION:events:REGION:ACCOUNT:rule/BUS/NAME on a custom
        # bus and ...:rule/NAME on the default bus.
        rule_arn = str(document["ruleArn"])
        prefix, _, resource = rule_arn.partition(":rule/")
        bus = resource.split("/")[0] if "/" in resource else "default"
        if event.get("source") == PROBE_SOURCE and \
                event.get("detail", {}).get("capture") == self.name:
            self._ready.add(bus)
            return 0
        with self._lock:
            self.events.append(PublishedEvent(bus_arn=f"{prefix}:event-bus/{bus}",
                                              event=event))
        return 1

    def clear(self) -> None:
        """Receive what is waiting, then forget every record."""
        self.receive()
        with self._lock:
            self.events.clear()
            self.topic_messages.clear()


class AwsStackEvents:
    """The events and topic messages of a deployed stack, received through the capture.

    ``published()`` and ``messages()`` first receive what the capture queue holds. Records
    are kept from the capture's start until ``clear()``.
    """

    def __init__(self, stack: AwsStack) -> None:
        self._stack = stack
        self.capture: EventCapture | None = None

    def start(self, ready_timeout: float = DEFAULT_READY_TIMEOUT) -> None:
        """Start the capture for the stack's buses and topics (``with`` does this)."""
        if self.capture is not None and self.capture.running:
            return
        self.capture = EventCapture(self._stack.client, self._stack.buses(),
                                    self._stack.topics())
        self.capture.start(ready_timeout)

    def stop(self) -> None:
        """Remove the capture's queue, rules and subscriptions."""
        if self.capture is not None:
            self.capture.stop()

    def _running(self) -> EventCapture:
        if self.capture is None or not self.capture.running:
            raise AwsTargetError(
                "the event capture is not running, so stack.events has nothing to read. "
                "Open the stack with `with Stack.aws(...) as stack:` or call "
                "stack.events.start() first")
        return self.capture

    # --- reading -------------------------------------------------------------------------

    def published(self, bus: str | None = None,
                  pattern: EventPattern | Pattern | None = None, *,
                  source: str | None = None,
                  detail_type: str | None = None) -> list[dict[str, Any]]:
        """Return the events put on ``bus`` (every bus of the stack by default), in the
        order the capture received them.

        The arguments are those of the local target's ``stack.events.published``.
        """
        capture = self._running()
        capture.receive(wait_seconds=_EMPTY_WAIT_SECONDS)
        compiled = _compile(pattern)
        events = []
        for record in self._events_on(bus):
            event = record.event
            if source is not None and event.get("source") != source:
                continue
            if detail_type is not None and event.get("detail-type") != detail_type:
                continue
            if compiled is not None and not compiled.matches(event):
                continue
            events.append(copy.deepcopy(event))
        return events

    @overload
    def messages(self, *, topic: str, queue: None = None) -> list[TopicMessage]: ...

    @overload
    def messages(self, *, topic: None = None, queue: str) -> list[TopicMessage]: ...

    def messages(self, *, topic: str | None = None,
                 queue: str | None = None) -> list[TopicMessage]:
        """Return the messages published to ``topic`` (logical ID, name or ARN).

        Messages sent to a queue cannot be read on AWS without taking them from the
        application, so ``queue=`` raises :class:`NotSupportedOnAwsError`.
        """
        if queue is not None:
            raise NotSupportedOnAwsError(
                "stack.events.messages(queue=...) is not available on the AWS target: "
                "receiving from the application's queue would take its messages. Read the "
                "queue with stack.client('sqs') in a test marked windtunnel_aws_only, or "
                "mark the test windtunnel_local_only")
        if topic is None:
            raise TypeError("stack.events.messages() takes one of topic= and queue=")
        capture = self._running()
        capture.receive(wait_seconds=_EMPTY_WAIT_SECONDS)
        arn = self._stack.topic_arn(topic)
        return [message for message in capture.topic_messages if message.topic_arn == arn]

    def delivered(self, target: str) -> list[Any]:
        """Raise :class:`NotSupportedOnAwsError`: AWS does not report what targets received."""
        raise NotSupportedOnAwsError(
            f"stack.events.delivered({target!r}) is not available on the AWS target, which "
            f"does not report what rule targets and subscriptions received. Check the "
            f"target's effect (a stored item, a queue message) or mark the test "
            f"windtunnel_local_only")

    # --- waiting -------------------------------------------------------------------------

    def wait_for(self, pattern: EventPattern, bus: str | None = None,
                 timeout: float | None = None) -> dict[str, Any]:
        """Return the first captured event on ``bus`` that matches ``pattern``.

        Polls the capture queue for up to ``timeout`` seconds (30 by default, since AWS
        delivers to the capture asynchronously). Raises :class:`EventAssertionError` with
        the closest events when none matches.
        """
        capture = self._running()
        compiled = compile_pattern(dict(pattern) if isinstance(pattern, Mapping) else pattern)
        limit = DEFAULT_WAIT_TIMEOUT if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            for record in self._events_on(bus):
                if compiled.matches(record.event):
                    return copy.deepcopy(record.event)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                where = "any bus" if bus is None else f"bus {bus}"
                heading = (f"no event matching the pattern was captured on {where} within "
                           f"{limit:g} s")
                raise EventAssertionError(self.explain(heading, compiled, bus))
            capture.receive(wait_seconds=max(1, min(int(remaining), 20)))

    def settle(self, timeout: float, quiet: float) -> None:
        """Receive until nothing has arrived for ``quiet`` seconds; raise TimeoutError if
        events still arrive after ``timeout`` seconds."""
        capture = self.capture if self.capture is not None and self.capture.running else None
        if capture is None:
            time.sleep(min(quiet, timeout))
            return
        deadline = time.monotonic() + timeout
        capture.last_received = time.monotonic()
        while True:
            capture.receive(wait_seconds=1)
            now = time.monotonic()
            if now - capture.last_received >= quiet:
                return
            if now >= deadline:
                raise TimeoutError(f"events kept arriving at the capture for {timeout:g} s; "
                                   f"the stack did not become quiet")

    def clear(self) -> None:
        """Forget the records received so far (the plugin does this before each test)."""
        if self.capture is not None and self.capture.running:
            self.capture.clear()

    def explain(self, heading: str, pattern: Pattern, bus: str | None) -> str:
        """Build a failure message: ``heading``, the pattern and the closest events."""
        where = "any bus" if bus is None else f"bus {bus}"
        lines = [heading, f"pattern: {json.dumps(pattern.source, default=str)}"]
        lines.extend(explain_missing_events(pattern, self._events_on(bus), where))
        if bus is not None:
            name = self._stack.bus_name(bus)
            elsewhere = sorted({record.bus_name for record in self._events_on(None)
                                if record.bus_name != name and pattern.matches(record.event)})
            if elsewhere:
                lines.append(f"matching events were captured on other buses: "
                             f"{', '.join(elsewhere)}")
        return "\n".join(lines)

    def _events_on(self, bus: str | None) -> list[PublishedEvent]:
        if self.capture is None:
            return []
        records = list(self.capture.events)
        if bus is None:
            return records
        name = self._stack.bus_name(bus)
        return [record for record in records if record.bus_name == name]


def _compile(pattern: EventPattern | Pattern | None) -> Pattern | None:
    if pattern is None or isinstance(pattern, Pattern):
        return pattern
    return compile_pattern(dict(pattern) if isinstance(pattern, Mapping) else pattern)

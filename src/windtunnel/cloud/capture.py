"""Records of the events, messages and deliveries that pass through the embedded cloud.

The records come from hooks on moto's backends, so they contain what the services
accepted from any sender: the test's own clients, a function's SDK calls, or a delivery
from an EventBridge rule or an SNS subscription.

- An event put on an event bus (``PutEvents``, and rules whose target is another bus),
  shaped as EventBridge delivers it to targets.
- A message published to an SNS topic (``Publish``, ``PublishBatch`` and rule targets).
- A message sent to an SQS queue (``SendMessage``, ``SendMessageBatch`` and the deliveries
  of SNS subscriptions and rules).
- A delivery: what one target received from one rule or subscription.

moto keeps its state in module-level objects, so the hooks are process-wide. They report
to one recorder at a time: the recorder of the cloud whose state is loaded into moto (see
:func:`activate`).
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import json
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud

__all__ = [
    "Delivery",
    "EventRecorder",
    "PublishedEvent",
    "QueueMessage",
    "TopicMessage",
    "activate",
    "install_recording_hooks",
    "record_function_delivery",
    "recorder_for",
]

logger = logging.getLogger(__name__)

# The number of records of each kind that a recorder keeps. Older ones are dropped first.
MAX_RECORDS = 10_000


@dataclass(frozen=True)
class PublishedEvent:
    """An event that reached an event bus."""

    bus_arn: str
    event: dict[str, Any]
    """The event as EventBridge delivers it: version, id, detail-type, source, account,
    time, region, resources and detail."""

    @property
    def bus_name(self) -> str:
        """The name of the event bus."""
        return self.bus_arn.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class TopicMessage:
    """A message published to an SNS topic."""

    topic_arn: str
    message_id: str
    message: str
    subject: str | None
    attributes: dict[str, Any]
    """Message attributes as SNS passes them to subscribers: ``{name: {"Type", "Value"}}``."""
    message_group_id: str | None = None

    def json(self) -> Any:
        """Return the message parsed as JSON."""
        return json.loads(self.message)


@dataclass(frozen=True)
class QueueMessage:
    """A message sent to an SQS queue."""

    queue_arn: str
    message_id: str
    body: str
    attributes: dict[str, Any]
    """Message attributes as ReceiveMessage returns them:
    ``{name: {"DataType", "StringValue" or "BinaryValue"}}``."""
    message_group_id: str | None = None
    source_arn: str | None = None
    """The rule or SNS subscription that delivered the message, or None for SendMessage."""

    @property
    def queue_name(self) -> str:
        """The name of the queue."""
        return self.queue_arn.rsplit(":", 1)[-1]

    def json(self) -> Any:
        """Return the body parsed as JSON."""
        return json.loads(self.body)


@dataclass(frozen=True)
class Delivery:
    """A payload that one target (function, queue, topic or bus) received from a rule or an
    SNS subscription."""

    source_arn: str
    """The EventBridge rule or SNS subscription that delivered."""
    target_arn: str
    payload: str
    """The target's input as text. For a rule, it is the event after the target's input
    settings. For a subscription, it is the SNS notification or the raw message."""

    def json(self) -> Any:
        """Return the payload parsed as JSON."""
        return json.loads(self.payload)


@dataclass
class _Records:
    events: deque[PublishedEvent] = field(default_factory=lambda: deque(maxlen=MAX_RECORDS))
    topic_messages: deque[TopicMessage] = field(
        default_factory=lambda: deque(maxlen=MAX_RECORDS))
    queue_messages: deque[QueueMessage] = field(
        default_factory=lambda: deque(maxlen=MAX_RECORDS))
    deliveries: deque[Delivery] = field(default_factory=lambda: deque(maxlen=MAX_RECORDS))


class EventRecorder:
    """The events, messages and deliveries of one cloud, safe to use from any thread."""

    def __init__(self) -> None:
        self._records = _Records()
        self._changed = threading.Condition()
        self._version = 0

    @property
    def version(self) -> int:
        """A number that grows with every record, for :meth:`wait_for_record`."""
        with self._changed:
            return self._version

    def _append(self, records: deque[Any], record: Any) -> None:
        with self._changed:
            records.append(record)
            self._version += 1
            self._changed.notify_all()

    def record_event(self, record: PublishedEvent) -> None:
        """Remember an event that reached a bus."""
        self._append(self._records.events, record)

    def record_topic_message(self, record: TopicMessage) -> None:
        """Remember a message published to a topic."""
        self._append(self._records.topic_messages, record)

    def record_queue_message(self, record: QueueMessage) -> None:
        """Remember a message sent to a queue."""
        self._append(self._records.queue_messages, record)

    def record_delivery(self, record: Delivery) -> None:
        """Remember what a target received."""
        self._append(self._records.deliveries, record)

    def events(self) -> list[PublishedEvent]:
        """Return the events put on any bus, oldest first."""
        with self._changed:
            return list(self._records.events)

    def topic_messages(self) -> list[TopicMessage]:
        """Return the messages published to any topic, oldest first."""
        with self._changed:
            return list(self._records.topic_messages)

    def queue_messages(self) -> list[QueueMessage]:
        """Return the messages sent to any queue, oldest first."""
        with self._changed:
            return list(self._records.queue_messages)

    def deliveries(self) -> list[Delivery]:
        """Return what targets received, oldest first."""
        with self._changed:
            return list(self._records.deliveries)

    def clear(self) -> None:
        """Forget every record."""
        with self._changed:
            self._records = _Records()
            self._version += 1
            self._changed.notify_all()

    def wait_for_record(self, version: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a record newer than ``version``.

        Returns whether one arrived.
        """
        with self._changed:
            return self._changed.wait_for(lambda: self._version != version,
                                          timeout=max(timeout, 0.0))


# --- which recorder the hooks report to ---------------------------------------------------

_recorders: weakref.WeakKeyDictionary[Cloud, EventRecorder] = weakref.WeakKeyDictionary()
_active: list[EventRecorder] = []
_registry_lock = threading.Lock()


def recorder_for(cloud: Cloud) -> EventRecorder:
    """Return the recorder of ``cloud``, creating it (and the hooks) on first use.

    A new recorder becomes the active one, since a new cloud starts moto from empty state.
    """
    install_recording_hooks()
    with _registry_lock:
        recorder = _recorders.get(cloud)
        if recorder is None:
            recorder = _recorders[cloud] = EventRecorder()
            _active[:] = [recorder]
        return recorder


def activate(recorder: EventRecorder) -> None:
    """Send the records that the hooks make from now on to ``recorder``.

    Call it when a cloud's state is loaded into moto again, as after a restore.
    """
    with _registry_lock:
        _active[:] = [recorder]


def _current() -> EventRecorder | None:
    active = _active
    return active[0] if active else None


# --- who is delivering --------------------------------------------------------------------

_delivery = threading.local()


@contextlib.contextmanager
def _delivering_from(source_arn: str) -> Iterator[None]:
    """Attribute what is sent inside the block to the rule or subscription ``source_arn``.

    Sources nest per thread. A rule whose target is a topic delivers through the topic's
    subscriptions, and the innermost source is the one that sends to a queue.
    """
    sources: list[str] | None = getattr(_delivery, "sources", None)
    if sources is None:
        sources = _delivery.sources = []
    sources.append(source_arn)
    try:
        yield
    finally:
        sources.pop()


def _delivering_source() -> str | None:
    sources: list[str] | None = getattr(_delivery, "sources", None)
    return sources[-1] if sources else None


def record_function_delivery(source_arn: str, function_arn: str, payload: bytes) -> None:
    """Record that a rule or subscription invoked a function with ``payload``."""
    recorder = _current()
    if recorder is not None:
        recorder.record_delivery(Delivery(source_arn, function_arn,
                                          payload.decode("utf-8", "replace")))


# --- hooks on moto ------------------------------------------------------------------------

# Marks a method that this module wrapped, so that installing twice wraps once. It differs
# from moto_corrections' marker, so that a correction and a recording hook can wrap the
# same method.
_MARKER = "windtunnel_recording"


def _mark(function: Any) -> Any:
    setattr(function, _MARKER, True)
    return function


def _wrapped(owner: Any, name: str) -> bool:
    return bool(getattr(getattr(owner, name), _MARKER, False))


@functools.cache
def install_recording_hooks() -> None:
    """Wrap moto's PutEvents, rule delivery, SNS publishing and SQS sending to record them.

    The delivery corrections are installed first, so these wrappers run outside them and
    record only what the corrections let through.
    """
    from windtunnel.cloud.moto_corrections import (
        authorize_sns_deliveries,
        deliver_rule_targets_moto_lacks,
    )

    deliver_rule_targets_moto_lacks()
    authorize_sns_deliveries()
    _hook_put_events()
    _hook_rule_deliveries()
    _hook_topic_publish()
    _hook_subscription_deliveries()
    _hook_send_message()


def _hook_put_events() -> None:
    from moto.events.models import EventsBackend

    if _wrapped(EventsBackend, "put_events"):
        return
    original = EventsBackend.put_events

    def put_events(self: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # EventBridge gives an entry one time, but moto reads the clock once per matching
        # rule. The time is fixed here, so that targets get the recorded time.
        now = time.time()
        stamped = [entry if entry.get("Time") is not None else {**entry, "Time": now}
                   for entry in events]
        results = original(self, stamped)
        recorder = _current()
        if recorder is not None:
            for entry, result in zip(stamped, results, strict=False):
                if "EventId" in result:
                    _record_put_event(recorder, self, entry, str(result["EventId"]))
        return results

    EventsBackend.put_events = _mark(put_events)  # type: ignore[method-assign]


def _record_put_event(recorder: EventRecorder, backend: Any, entry: dict[str, Any],
                      event_id: str) -> None:
    """Record one accepted PutEvents entry in the shape EventBridge delivers it.

    Source: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html
    """
    bus_name = backend._normalize_event_bus_arn(entry.get("EventBusName"))
    bus_arn = str(backend.describe_event_bus(bus_name).arn)
    event = {
        "version": "0",
        "id": event_id,
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": backend.account_id,
        "time": _event_time(entry["Time"]),
        "region": backend.region_name,
        "resources": list(entry.get("Resources") or []),
        "detail": json.loads(entry["Detail"]),
    }
    recorder.record_event(PublishedEvent(bus_arn, event))
    source = _delivering_source()
    if source is not None:
        # A rule whose target is this bus delivered the event.
        recorder.record_delivery(Delivery(source, bus_arn, json.dumps(event)))


def _event_time(value: Any) -> str:
    """Format an event's time as EventBridge does (``2024-05-01T12:00:00Z``)."""
    if isinstance(value, datetime.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    elif isinstance(value, int | float | str):
        try:
            moment = datetime.datetime.fromtimestamp(float(value), datetime.UTC)
        except ValueError:
            # Neither epoch seconds nor a number: keep the caller's text.
            return str(value)
    else:
        return str(value)
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hook_rule_deliveries() -> None:
    from moto.events.models import Rule

    if _wrapped(Rule, "send_to_targets"):
        return
    original = Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        with _delivering_from(str(self.arn)):
            original(self, original_event, transform_input)

    Rule.send_to_targets = _mark(send_to_targets)  # type: ignore[method-assign]


def _hook_topic_publish() -> None:
    from moto.sns.models import Topic

    if _wrapped(Topic, "publish"):
        return
    original = Topic.publish

    def publish(self: Any, message: str, subject: str | None = None,
                message_attributes: dict[str, Any] | None = None,
                group_id: str | None = None, deduplication_id: str | None = None,
                message_structure: str | None = None) -> str:
        message_id = str(original(self, message, subject=subject,
                                  message_attributes=message_attributes, group_id=group_id,
                                  deduplication_id=deduplication_id,
                                  message_structure=message_structure))
        recorder = _current()
        if recorder is not None:
            topic_arn = str(self.arn)
            recorder.record_topic_message(TopicMessage(
                topic_arn=topic_arn,
                message_id=message_id,
                message=message,
                subject=subject,
                attributes=_copy(message_attributes or {}),
                message_group_id=group_id,
            ))
            source = _delivering_source()
            if source is not None:
                # A rule whose target is this topic delivered the message.
                recorder.record_delivery(Delivery(source, topic_arn, message))
        return message_id

    Topic.publish = _mark(publish)  # type: ignore[method-assign]


def _hook_subscription_deliveries() -> None:
    from moto.sns.models import Subscription

    if _wrapped(Subscription, "publish"):
        return
    original = Subscription.publish

    def publish(self: Any, message: str, message_id: str, subject: str | None = None,
                message_attributes: dict[str, Any] | None = None,
                group_id: str | None = None, deduplication_id: str | None = None,
                message_structure: str | None = None) -> None:
        with _delivering_from(str(self.arn)):
            original(self, message, message_id, subject=subject,
                     message_attributes=message_attributes, group_id=group_id,
                     deduplication_id=deduplication_id, message_structure=message_structure)

    Subscription.publish = _mark(publish)  # type: ignore[method-assign]


def _hook_send_message() -> None:
    from moto.sqs.models import SQSBackend

    if _wrapped(SQSBackend, "send_message"):
        return
    original = SQSBackend.send_message

    # SendMessageBatch, SNS subscriptions and EventBridge rules all send through this
    # method, one message at a time.
    def send_message(self: Any, queue_name: str, message_body: str, *args: Any,
                     **kwargs: Any) -> Any:
        message = original(self, queue_name, message_body, *args, **kwargs)
        recorder = _current()
        if recorder is not None:
            queue_arn = str(self.get_queue(queue_name).queue_arn)
            source = _delivering_source()
            recorder.record_queue_message(QueueMessage(
                queue_arn=queue_arn,
                message_id=str(message.id),
                body=str(message.body),
                attributes=_copy(message.message_attributes or {}),
                message_group_id=message.group_id,
                source_arn=source,
            ))
            if source is not None:
                recorder.record_delivery(Delivery(source, queue_arn, str(message.body)))
        return message

    SQSBackend.send_message = _mark(send_message)  # type: ignore[method-assign]


def _copy(attributes: dict[str, Any]) -> dict[str, Any]:
    """Copy message attributes two levels deep, so later changes in moto do not show."""
    return {name: dict(value) if isinstance(value, dict) else value
            for name, value in attributes.items()}

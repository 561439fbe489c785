"""SNS FIFO topics: message groups, deduplication on the virtual clock, sequence numbers.

From https://docs.aws.amazon.com/sns/latest/dg/sns-fifo-topics.html and the
``Publish`` reference (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html):

- A message published to a ``.fifo`` topic needs a ``MessageGroupId``.
- It also needs a ``MessageDeduplicationId``, unless the topic has
  ``ContentBasedDeduplication``, in which case SNS uses the SHA-256 hash of the message
  body. A message whose deduplication ID was seen in the last 5 minutes is accepted but not
  delivered. The scope is the whole topic, or each message group with
  ``FifoThroughputScope`` ``MessageGroup``.
- SNS gives each accepted message a ``SequenceNumber``, which ``Publish`` and
  ``PublishBatch`` return and the notification envelope carries.
- Subscribed SQS FIFO queues receive the message group ID and the deduplication ID, and a
  group's messages arrive in the order they were published (subscribers are delivered to
  while ``Publish`` runs, so the order is kept).

The 5 minutes run on the virtual clock of the stack when there is one.

Limitations:

- NOTE: the error messages for a missing ``MessageGroupId`` or deduplication ID are not
  checked against responses recorded from AWS.
- A duplicate ``Publish`` returns the first message's ``MessageId`` and ``SequenceNumber``;
  AWS documents only that the duplicate is accepted.
- Subscribed SQS FIFO queues deduplicate again with moto's own 5 minutes, which run on the
  wall clock.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from windtunnel.clock import VirtualClock

__all__ = [
    "current_sequence_number",
    "install_fifo_topics",
    "is_fifo_topic",
    "set_sns_clock",
    "sns_clock",
]

logger = logging.getLogger(__name__)

# The deduplication interval of FIFO topics, 5 minutes.
DEDUPLICATION_SECONDS = 300.0
# SNS sequence numbers have 20 digits (AWS's examples show 10000000000000003000).
_FIRST_SEQUENCE_NUMBER = 10**19

_clock: list[VirtualClock] = []
_sequence_number: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "sns_fifo_sequence_number", default=None)


def set_sns_clock(clock: VirtualClock | None) -> None:
    """Measure SNS deduplication intervals and schedule delivery retries on ``clock``."""
    _clock.clear()
    if clock is not None:
        _clock.append(clock)


def sns_clock() -> VirtualClock | None:
    """Return the clock set with :func:`set_sns_clock`, else the one rule deliveries use
    (the stack's), else None."""
    if _clock:
        return _clock[0]
    from windtunnel.cloud.moto_corrections import _rule_clock

    return _rule_clock()


def current_sequence_number() -> str | None:
    """Return the sequence number of the FIFO message being delivered, None for others."""
    return _sequence_number.get()


def is_fifo_topic(topic: Any) -> bool:
    """Tell whether moto's ``topic`` is a FIFO topic (moto may keep the attribute as text)."""
    return _true(getattr(topic, "fifo_topic", False))


@dataclass(frozen=True)
class _Accepted:
    message_id: str
    sequence_number: str
    expires: float


@dataclass
class _TopicHistory:
    """The messages a FIFO topic accepted in the last 5 minutes, and its next number."""

    next_sequence_number: int = _FIRST_SEQUENCE_NUMBER
    accepted: dict[tuple[str, str], _Accepted] = field(default_factory=dict)
    sequence_numbers: dict[str, str] = field(default_factory=dict)
    """Sequence numbers by message ID, for the Publish responses."""

    def forget_before(self, now: float) -> None:
        expired = [key for key, entry in self.accepted.items() if entry.expires <= now]
        for key in expired:
            entry = self.accepted.pop(key)
            self.sequence_numbers.pop(entry.message_id, None)


def _history(topic: Any) -> _TopicHistory:
    # Kept on moto's topic, so snapshots and resets of moto's state include it.
    history: _TopicHistory | None = getattr(topic, "_windtunnel_fifo_history", None)
    if history is None:
        history = _TopicHistory()
        topic._windtunnel_fifo_history = history
    return history


def sequence_number_of(topic: Any, message_id: str) -> str | None:
    """Return the sequence number a FIFO topic gave ``message_id`` in the last 5 minutes."""
    return _history(topic).sequence_numbers.get(message_id)


@functools.cache
def install_fifo_topics() -> None:
    """Install FIFO topic rules into moto's Publish, PublishBatch and their responses."""
    from moto.sns.models import SNSBackend
    from moto.sns.responses import SNSResponse

    original_publish = SNSBackend.publish
    if getattr(original_publish, "windtunnel_correction", False):
        return

    def publish(self: Any, message: str, arn: str | None, phone_number: str | None = None,
                subject: str | None = None, message_attributes: dict[str, Any] | None = None,
                group_id: str | None = None, deduplication_id: str | None = None,
                message_structure: str | None = None) -> str:
        topic = self.topics.get(arn) if arn and phone_number is None else None
        if topic is None or not is_fifo_topic(topic):
            return str(original_publish(
                self, message, arn, phone_number=phone_number, subject=subject,
                message_attributes=message_attributes, group_id=group_id,
                deduplication_id=deduplication_id, message_structure=message_structure))
        return _publish_fifo(original_publish, self, topic, message, subject,
                             message_attributes, group_id, deduplication_id,
                             message_structure)

    publish_response = SNSResponse.publish

    def publish_with_sequence_number(self: Any) -> Any:
        result = publish_response(self)
        topic = self.backend.topics.get(self._get_param("TopicArn") or
                                        self._get_param("TargetArn") or "")
        body = result.result
        if topic is not None and isinstance(body, dict) and "MessageId" in body:
            sequence_number = sequence_number_of(topic, str(body["MessageId"]))
            if sequence_number is not None:
                body["SequenceNumber"] = sequence_number
        return result

    publish_batch_response = SNSResponse.publish_batch

    def publish_batch_with_sequence_numbers(self: Any) -> Any:
        result = publish_batch_response(self)
        topic = self.backend.topics.get(self._get_param("TopicArn") or "")
        body = result.result
        if topic is not None and isinstance(body, dict):
            for entry in body.get("Successful") or []:
                sequence_number = sequence_number_of(topic, str(entry.get("MessageId")))
                if sequence_number is not None:
                    entry["SequenceNumber"] = sequence_number
        return result

    publish.windtunnel_correction = True  # type: ignore[attr-defined]
    publish_with_sequence_number.windtunnel_correction = True  # type: ignore[attr-defined]
    publish_batch_with_sequence_numbers.windtunnel_correction = True  # type: ignore[attr-defined]
    SNSBackend.publish = publish  # type: ignore[method-assign]
    SNSResponse.publish = publish_with_sequence_number  # type: ignore[method-assign]
    SNSResponse.publish_batch = publish_batch_with_sequence_numbers  # type: ignore[method-assign]


def _publish_fifo(original_publish: Any, backend: Any, topic: Any, message: str,
                  subject: str | None, message_attributes: dict[str, Any] | None,
                  group_id: str | None, deduplication_id: str | None,
                  message_structure: str | None) -> str:
    """Publish to a FIFO topic: check the IDs, drop a duplicate, number the message."""
    from moto.sns.exceptions import InvalidParameterValue

    # InvalidParameterValue has the code InvalidParameter; moto's PublishBatch reports it
    # for the entry, not for the whole request.
    if not group_id:
        raise InvalidParameterValue(
            "Invalid parameter: The MessageGroupId parameter is required for FIFO topics")
    if not deduplication_id:
        if not _true(getattr(topic, "content_based_deduplication", False)):
            raise InvalidParameterValue(
                "Invalid parameter: The topic should either have ContentBasedDeduplication "
                "enabled or MessageDeduplicationId provided explicitly")
        # Content-based deduplication hashes the body, not the attributes.
        deduplication_id = hashlib.sha256(message.encode()).hexdigest()

    history = _history(topic)
    now = _now()
    history.forget_before(now)
    scope = str(getattr(topic, "fifo_throughput_scope", "") or "Topic")
    key = (group_id if scope == "MessageGroup" else "", deduplication_id)
    previous = history.accepted.get(key)
    if previous is not None:
        logger.info("topic %s: message with deduplication ID %s not delivered, because a "
                    "message with that ID was accepted in the last 5 minutes", topic.arn,
                    deduplication_id)
        history.sequence_numbers[previous.message_id] = previous.sequence_number
        return previous.message_id

    sequence_number = str(history.next_sequence_number)
    history.next_sequence_number += 1
    token = _sequence_number.set(sequence_number)
    try:
        message_id = str(original_publish(
            backend, message, topic.arn, subject=subject,
            message_attributes=message_attributes, group_id=group_id,
            deduplication_id=deduplication_id, message_structure=message_structure))
    finally:
        _sequence_number.reset(token)
    history.accepted[key] = _Accepted(message_id, sequence_number, now + DEDUPLICATION_SECONDS)
    history.sequence_numbers[message_id] = sequence_number
    return message_id


def _now() -> float:
    clock = sns_clock()
    return clock.time() if clock is not None else time.time()


def _true(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).lower() == "true"

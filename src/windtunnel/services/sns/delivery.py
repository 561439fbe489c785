"""Deliveries of SNS subscriptions to SQS queues: envelope, raw delivery and dead-letter queues.

What an SQS subscriber receives, from
https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html and
https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html:

- By default the body is the notification envelope, a JSON object with ``Type``,
  ``MessageId``, ``TopicArn``, ``Subject`` (when the publisher gave one), ``Message``,
  ``Timestamp``, ``SignatureVersion``, ``Signature``, ``SigningCertURL``, ``UnsubscribeURL``
  and ``MessageAttributes`` (when the message has any), in that order.
- With ``RawMessageDelivery`` the body is the message itself, and the message attributes
  become SQS message attributes. A message with more than 10 attributes is not delivered
  (a client-side error), because SQS takes at most 10:
  https://docs.aws.amazon.com/sns/latest/dg/SNSMessageAttributes.html
- A message published with ``MessageStructure`` ``json`` is delivered without its message
  attributes, which SNS sends only for string messages (same page).

A delivery that fails because the endpoint is gone or its policy denies SNS goes to the
subscription's dead-letter queue, named by ``deadLetterTargetArn`` in its ``RedrivePolicy``,
when that queue's policy allows SNS. Otherwise SNS discards it:
https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html

Limitations:

- The signature is a placeholder: a real one could only be checked against the certificate
  at ``SigningCertURL``, which is on AWS's network.
- Deliveries to SQS queues and functions fail only with client-side errors, which SNS does
  not retry. Server-side errors and their retries are emulated for HTTP(S) subscribers
  (:mod:`.http_delivery`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from windtunnel.services.sns.fifo import current_sequence_number, is_fifo_topic

__all__ = [
    "Notification",
    "dead_letter_queue",
    "deliver_to_queue",
    "envelope",
    "raw_message_delivery",
    "redrive",
    "render_envelope",
    "send_to_queue",
    "sqs_message_attributes",
    "subscription_body",
]

logger = logging.getLogger(__name__)

# The number of message attributes an SQS message, and so a raw delivery, can carry.
MAX_RAW_ATTRIBUTES = 10


@dataclass(frozen=True)
class Notification:
    """One message published to a topic, as one subscription delivers it."""

    message: str
    message_id: str
    subject: str | None
    message_attributes: Mapping[str, Any]
    """moto's form, ``{name: {"Type": "String", "Value": "..."}}``, with binary values in base64."""
    group_id: str | None = None
    deduplication_id: str | None = None


def raw_message_delivery(subscription: Any) -> bool:
    """Return whether the subscription's ``RawMessageDelivery`` attribute is true.

    moto stores ``True``/``False`` from Subscribe but the text ``"false"`` from
    SetSubscriptionAttributes, which is why the text is compared here.
    """
    value = subscription.attributes.get("RawMessageDelivery", False)
    if isinstance(value, bool):
        return value
    return str(value).lower() == "true"


def envelope(subscription: Any, notification: Notification, timestamp: str) -> dict[str, Any]:
    """Build the JSON notification that SNS sends when raw delivery is off."""
    topic = subscription.topic
    topic_arn = str(topic.arn)
    endpoint = f"https://sns.{topic_arn.split(':')[3]}.amazonaws.com"
    body: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": notification.message_id,
    }
    # A FIFO topic's notifications carry the message's sequence number.
    # NOTE: its place after MessageId is not checked against a recorded notification.
    sequence_number = current_sequence_number()
    if sequence_number is not None and is_fifo_topic(topic):
        body["SequenceNumber"] = sequence_number
    body["TopicArn"] = topic_arn
    if notification.subject is not None:
        body["Subject"] = notification.subject
    body["Message"] = notification.message
    body["Timestamp"] = timestamp
    body["SignatureVersion"] = _signature_version(topic)
    body["Signature"] = base64.b64encode(
        hashlib.sha256(notification.message_id.encode()).digest()).decode()
    body["SigningCertURL"] = f"{endpoint}/SimpleNotificationService-windtunnel.pem"
    body["UnsubscribeURL"] = (f"{endpoint}/?Action=Unsubscribe&SubscriptionArn="
                              f"{subscription.arn}")
    if notification.message_attributes:
        body["MessageAttributes"] = {
            name: {"Type": value["Type"], "Value": value["Value"]}
            for name, value in notification.message_attributes.items()
        }
    return body


def render_envelope(body: Mapping[str, Any]) -> str:
    """Render the envelope as the text SNS sends, one top-level member per line.

    SNS indents each member by two spaces and writes ``" : "`` between name and value, as
    in the guide's examples and in the bodies that SQS subscribers log.
    """
    lines = [f"  {json.dumps(name)} : {json.dumps(value, ensure_ascii=False)}"
             for name, value in body.items()]
    return "{\n" + ",\n".join(lines) + "\n}"


def _signature_version(topic: Any) -> str:
    """Return the topic's ``SignatureVersion`` attribute, which is ``1`` unless set to ``2``."""
    for name in ("SignatureVersion", "signature_version"):
        value = getattr(topic, name, None)
        if value:
            return str(value)
    return "1"


def sqs_message_attributes(notification: Notification) -> dict[str, dict[str, str]]:
    """Convert SNS message attributes into the SQS message attributes of a raw delivery."""
    attributes: dict[str, dict[str, str]] = {}
    for name, value in notification.message_attributes.items():
        data_type = str(value["Type"])
        # moto keeps binary values in base64, the form its SQS backend stores them in.
        field = "BinaryValue" if data_type.startswith("Binary") else "StringValue"
        attributes[name] = {"DataType": data_type, field: str(value["Value"])}
    return attributes


def send_to_queue(queue_arn: str, body: str, notification: Notification,
                  attributes: dict[str, dict[str, str]] | None = None) -> bool:
    """Put ``body`` on the queue ``queue_arn``, or return False when the queue does not exist."""
    from moto.sqs.exceptions import QueueDoesNotExist
    from moto.sqs.models import sqs_backends

    parts = queue_arn.split(":")
    if len(parts) != 6:
        logger.info("SNS message %s not delivered: %s is not a queue ARN",
                    notification.message_id, queue_arn)
        return False
    region, account, name = parts[3], parts[4], parts[5]
    try:
        sqs_backends[account][region].send_message(
            name, body, message_attributes=attributes or {},
            deduplication_id=notification.deduplication_id, group_id=notification.group_id,
            validate_group_id=False)
    except QueueDoesNotExist:
        logger.info("SNS message %s not delivered: queue %s does not exist",
                    notification.message_id, queue_arn)
        return False
    return True


def subscription_body(subscription: Any, notification: Notification,
                      timestamp: str) -> tuple[str, dict[str, dict[str, str]] | None]:
    """Return the body and SQS message attributes that an SQS endpoint receives."""
    if raw_message_delivery(subscription):
        return notification.message, sqs_message_attributes(notification)
    return render_envelope(envelope(subscription, notification, timestamp)), None


def deliver_to_queue(subscription: Any, notification: Notification, timestamp: str) -> bool:
    """Send a notification to the subscribed queue; return whether it arrived."""
    body, attributes = subscription_body(subscription, notification, timestamp)
    if attributes is not None and len(attributes) > MAX_RAW_ATTRIBUTES:
        logger.info("subscription %s: message %s not delivered because raw delivery carries "
                    "at most %d message attributes and it has %d", subscription.arn,
                    notification.message_id, MAX_RAW_ATTRIBUTES, len(attributes))
        return False
    return send_to_queue(str(subscription.endpoint), body, notification, attributes)


def dead_letter_queue(subscription: Any) -> str | None:
    """Return ``deadLetterTargetArn`` from the subscription's ``RedrivePolicy``, if any."""
    text = subscription.attributes.get("RedrivePolicy")
    if not text:
        return None
    try:
        policy = json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError:
        logger.warning("subscription %s: RedrivePolicy is not JSON: %s", subscription.arn,
                       text)
        return None
    target = policy.get("deadLetterTargetArn") if isinstance(policy, dict) else None
    return str(target) if target else None


def redrive(subscription: Any, notification: Notification, timestamp: str,
            allowed: Callable[[str], bool]) -> bool:
    """Move a message that could not be delivered to the subscription's dead-letter queue.

    ``allowed(queue_arn)`` decides whether the queue policy lets SNS send to the queue.
    Returns whether the message reached the queue. Without a dead-letter queue, or when it
    cannot receive the message, SNS discards the message.
    """
    queue_arn = dead_letter_queue(subscription)
    if queue_arn is None:
        logger.info("subscription %s: message %s discarded because it has no dead-letter "
                    "queue", subscription.arn, notification.message_id)
        return False
    if not allowed(queue_arn):
        return False
    # NOTE: the dead-letter message carries the body the endpoint would have received.
    # Whether SNS adds message attributes that describe the failure is unverified.
    body, attributes = subscription_body(subscription, notification, timestamp)
    if attributes is not None and len(attributes) > MAX_RAW_ATTRIBUTES:
        attributes = None
    return send_to_queue(queue_arn, body, notification, attributes)

"""Events from messaging services: SQS, SNS, EventBridge and EventBridge schedules."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Mapping
from typing import Any

from windtunnel.events.base import (
    Context,
    Event,
    EventOptionError,
    Option,
    Source,
    payload_text,
    take_mapping,
    take_optional_string,
    take_string,
    take_string_list,
)

__all__ = ["EVENTBRIDGE", "SCHEDULE", "SNS", "SQS", "sqs_attributes_md5"]


# SQS.

def _sqs_attribute(name: str, value: object) -> dict[str, Any]:
    """Return a message attribute in the shape of a Lambda SQS record."""
    if isinstance(value, Mapping):
        data_type = value.get("dataType")
        if not isinstance(data_type, str):
            raise EventOptionError(f"invalid message attribute {name!r}: a mapping needs a "
                                   f"dataType such as String, Number or Binary")
        attribute: dict[str, Any] = dict(value)
    elif isinstance(value, bytes | bytearray):
        attribute = {"binaryValue": base64.b64encode(value).decode("ascii"),
                     "dataType": "Binary"}
    elif isinstance(value, bool) or not isinstance(value, str | int | float):
        raise EventOptionError(f"invalid message attribute {name!r}: {value!r}; expected a "
                               f"string, a number, bytes or a mapping with a dataType")
    elif isinstance(value, str):
        attribute = {"stringValue": value, "dataType": "String"}
    else:
        attribute = {"stringValue": str(value), "dataType": "Number"}
    attribute.setdefault("stringListValues", [])
    attribute.setdefault("binaryListValues", [])
    return attribute


def sqs_attributes_md5(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """Return MD5OfMessageAttributes as SQS computes it.

    SQS digests the attributes sorted by name. For each attribute it writes the name, the
    data type and the value, each preceded by its length as a 4-byte big-endian integer.
    One byte between type and value marks the value as a string (1) or binary (2).
    """
    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(attributes):
        attribute = attributes[name]
        data_type = str(attribute["dataType"])
        for text in (name, data_type):
            encoded = text.encode()
            digest.update(struct.pack(">I", len(encoded)) + encoded)
        if "binaryValue" in attribute:
            value = base64.b64decode(attribute["binaryValue"])
            digest.update(b"\x02" + struct.pack(">I", len(value)) + value)
        else:
            value = str(attribute.get("stringValue", "")).encode()
            digest.update(b"\x01" + struct.pack(">I", len(value)) + value)
    return digest.hexdigest()


def sqs_event(context: Context, options: dict[str, Any]) -> Event:
    """Build the event that a Lambda event source mapping sends for SQS messages."""
    has_body = "body" in options
    bodies = options.pop("bodies", None)
    body = options.pop("body", None)
    if has_body and bodies is not None:
        raise EventOptionError("give body or bodies, not both")
    if bodies is None:
        bodies = [body if has_body else "Hello from SQS!"]
    if isinstance(bodies, str) or not isinstance(bodies, list | tuple) or not bodies:
        raise EventOptionError(f"invalid bodies {bodies!r}; expected a non-empty list "
                               f"such as ['first', 'second']")
    queue = take_string(options, "queue", "my-queue")
    attributes_option = take_mapping(options, "message_attributes") or {}
    group_id = take_optional_string(options, "message_group_id")

    fifo = queue.endswith(".fifo")
    if group_id is not None and not fifo:
        raise EventOptionError(f"message_group_id needs a FIFO queue, whose name ends in "
                               f".fifo; queue {queue!r} is a standard queue")
    message_attributes = {name: _sqs_attribute(name, value)
                          for name, value in attributes_option.items()}
    sender_id = context.iam_user_id()
    sent = context.epoch_millis()
    sequence_number = int(context.digits(20))

    records = []
    for index, item in enumerate(bodies):
        text = payload_text(item, "body")
        attributes = {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(sent + index),
            "SenderId": sender_id,
            "ApproximateFirstReceiveTimestamp": str(sent + index + 3),
        }
        if fifo:
            attributes["SequenceNumber"] = str(sequence_number + index)
            attributes["MessageGroupId"] = group_id or "group-1"
            attributes["MessageDeduplicationId"] = hashlib.sha256(text.encode()).hexdigest()
        record: dict[str, Any] = {
            "messageId": context.uuid(),
            "receiptHandle": "AQEB" + context.base64(120),
            "body": text,
            "attributes": attributes,
            "messageAttributes": message_attributes,
            "md5OfBody": hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
        }
        if message_attributes:
            record["md5OfMessageAttributes"] = sqs_attributes_md5(message_attributes)
        record.update({
            "eventSource": "aws:sqs",
            "eventSourceARN": context.arn("sqs", queue),
            "awsRegion": context.region,
        })
        records.append(record)
    return {"Records": records}


SQS = Source(
    name="sqs",
    description="Amazon SQS messages from a Lambda event source mapping",
    doc_url="https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html",
    build=sqs_event,
    options=(
        Option("body", "the message body: text or a value to encode as JSON"),
        Option("bodies", "a list of message bodies, one record each"),
        Option("queue", "the queue name; a name ending in .fifo makes a FIFO queue "
                        "(default: my-queue)"),
        Option("message_attributes", "a mapping of attribute names to a string, a number, "
                                     "bytes or a mapping with a dataType"),
        Option("message_group_id", "the message group ID of a FIFO queue (default: group-1)"),
    ),
    payload_option="body",
)


# SNS.

def _sns_attribute(name: str, value: object) -> dict[str, str]:
    """Return a message attribute as SNS delivers it to Lambda: a Type and a Value."""
    if isinstance(value, Mapping):
        if not isinstance(value.get("Type"), str) or not isinstance(value.get("Value"), str):
            raise EventOptionError(f"invalid message attribute {name!r}: a mapping needs a "
                                   f"string Type and a string Value")
        return {"Type": value["Type"], "Value": value["Value"]}
    if isinstance(value, bytes | bytearray):
        return {"Type": "Binary", "Value": base64.b64encode(value).decode("ascii")}
    if isinstance(value, str):
        return {"Type": "String", "Value": value}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"Type": "Number", "Value": str(value)}
    if isinstance(value, list):
        return {"Type": "String.Array", "Value": payload_text(value, "message_attributes")}
    raise EventOptionError(f"invalid message attribute {name!r}: {value!r}; expected a "
                           f"string, a number, bytes, a list or a mapping with Type and Value")


def sns_event(context: Context, options: dict[str, Any]) -> Event:
    """Build the event that SNS sends to a subscribed Lambda function."""
    message = payload_text(options.pop("message", "Hello from SNS!"), "message")
    topic = take_string(options, "topic", "my-topic")
    subject = take_optional_string(options, "subject")
    attributes = take_mapping(options, "message_attributes") or {}

    endpoint = f"https://sns.{context.region}.amazonaws.com"
    topic_arn = context.arn("sns", topic)
    subscription_arn = f"{topic_arn}:{context.uuid()}"
    return {"Records": [{
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "EventSource": "aws:sns",
        "Sns": {
            "SignatureVersion": "1",
            "Timestamp": context.iso_time(millis=True),
            "Signature": context.base64(256),
            "SigningCertUrl": f"{endpoint}/SimpleNotificationService-{context.hex(32)}.pem",
            "MessageId": context.uuid(),
            "Message": message,
            "MessageAttributes": {name: _sns_attribute(name, value)
                                  for name, value in attributes.items()},
            "Type": "Notification",
            "UnsubscribeUrl": f"{endpoint}/?Action=Unsubscribe&SubscriptionArn="
                              f"{subscription_arn}",
            "TopicArn": topic_arn,
            "Subject": subject,
        },
    }]}


SNS = Source(
    name="sns",
    description="Amazon SNS notification delivered to a subscribed function",
    doc_url="https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html",
    build=sns_event,
    options=(
        Option("message", "the message: text or a value to encode as JSON"),
        Option("topic", "the topic name (default: my-topic)"),
        Option("subject", "the subject (default: none, which AWS sends as null)"),
        Option("message_attributes", "a mapping of attribute names to a string, a number, "
                                     "bytes, a list or a mapping with Type and Value"),
    ),
    payload_option="message",
)


# EventBridge.

def _envelope(context: Context, *, source: str, detail_type: str, resources: list[str],
              detail: dict[str, Any]) -> Event:
    """Return an EventBridge event with the top-level fields in the documented order."""
    return {
        "version": "0",
        "id": context.uuid(),
        "detail-type": detail_type,
        "source": source,
        "account": context.account,
        "time": context.iso_time(),
        "region": context.region,
        "resources": resources,
        "detail": detail,
    }


def eventbridge_event(context: Context, options: dict[str, Any]) -> Event:
    """Build an event as an EventBridge rule delivers it to its target."""
    source = take_string(options, "source", "com.example.orders")
    detail_type = take_string(options, "detail_type", "Order Placed")
    resources = take_string_list(options, "resources") or []
    detail = options.pop("detail", None)
    if detail is None:
        detail = {}
    elif isinstance(detail, str):
        # The command line passes detail as text, but EventBridge needs a JSON object.
        try:
            detail = json.loads(detail)
        except ValueError:
            raise EventOptionError(f"invalid detail {detail!r}; expected a JSON object") \
                from None
    if not isinstance(detail, Mapping):
        raise EventOptionError(f"invalid detail {detail!r}; EventBridge requires a JSON "
                               f"object")
    return _envelope(context, source=source, detail_type=detail_type, resources=resources,
                     detail=dict(detail))


EVENTBRIDGE = Source(
    name="eventbridge",
    description="Amazon EventBridge event delivered to a rule's target",
    doc_url="https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html",
    build=eventbridge_event,
    options=(
        Option("source", "the event source (default: com.example.orders)"),
        Option("detail_type", "the detail-type (default: Order Placed)"),
        Option("detail", "the detail: a mapping, or text holding a JSON object "
                         "(default: {})"),
        Option("resources", "a list of ARNs of the resources involved (default: [])"),
    ),
    payload_option="detail",
    payload_is_json=True,
)


def schedule_event(context: Context, options: dict[str, Any]) -> Event:
    """Build the Scheduled Event that an EventBridge schedule rule sends to its target."""
    rule = take_string(options, "rule", "my-schedule")
    return _envelope(context, source="aws.events", detail_type="Scheduled Event",
                     resources=[context.arn("events", f"rule/{rule}")], detail={})


SCHEDULE = Source(
    name="schedule",
    description="Scheduled Event from an EventBridge rule with a schedule expression",
    doc_url="https://docs.aws.amazon.com/eventbridge/latest/userguide/"
            "eb-run-lambda-schedule.html",
    build=schedule_event,
    options=(Option("rule", "the rule name (default: my-schedule)"),),
)

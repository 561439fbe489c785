"""Events from streams: DynamoDB Streams and Kinesis Data Streams."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from windtunnel.events.base import (
    Context,
    Event,
    EventOptionError,
    Option,
    Source,
    take_choice,
    take_mapping,
    take_string,
)

__all__ = ["DYNAMODB_STREAM", "KINESIS", "to_attribute_value"]


# DynamoDB Streams.

EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")
STREAM_VIEW_TYPES = ("NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY")


def to_attribute_value(value: object) -> dict[str, Any]:
    """Return ``value`` in DynamoDB JSON, e.g. ``{"S": "text"}`` or ``{"N": "42"}``."""
    if isinstance(value, str):
        return {"S": value}
    # bool comes before int because bool is a subclass of int.
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float | Decimal):
        return {"N": _number(value)}
    if value is None:
        return {"NULL": True}
    if isinstance(value, bytes | bytearray):
        return {"B": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Mapping):
        return {"M": {str(key): to_attribute_value(item) for key, item in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_attribute_value(item) for item in value]}
    if isinstance(value, set | frozenset):
        return _set_value(value)
    raise EventOptionError(f"cannot store {value!r} ({type(value).__name__}) in a DynamoDB "
                           f"attribute")


def _number(value: int | float | Decimal) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise EventOptionError(f"DynamoDB numbers must be finite, not {value!r}")
    return str(value)


def _set_value(value: set[Any] | frozenset[Any]) -> dict[str, Any]:
    if not value:
        raise EventOptionError("DynamoDB does not store empty sets")
    if all(isinstance(item, str) for item in value):
        return {"SS": sorted(value)}
    if all(isinstance(item, int | float | Decimal) and not isinstance(item, bool)
           for item in value):
        return {"NS": [_number(item) for item in sorted(value)]}
    if all(isinstance(item, bytes) for item in value):
        return {"BS": [base64.b64encode(item).decode("ascii") for item in sorted(value)]}
    raise EventOptionError(f"invalid DynamoDB set {value!r}; a set contains only strings, "
                           f"only numbers or only binary values")


def _value_size(value: Mapping[str, Any]) -> int:
    """Estimate the stored size of one DynamoDB JSON value in bytes."""
    kind, content = next(iter(value.items()))
    if kind == "S":
        return len(content.encode())
    if kind == "N":
        # About one byte per two significant digits, plus one.
        digits = content.lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(base64.b64decode(content))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(item.encode()) for item in content)
    if kind == "NS":
        return sum(_value_size({"N": item}) for item in content)
    if kind == "BS":
        return sum(len(base64.b64decode(item)) for item in content)
    if kind == "L":
        return 3 + sum(1 + _value_size(item) for item in content)
    # A map: its overhead, then each entry's name and value.
    return 3 + sum(1 + len(name.encode()) + _value_size(item) for name, item in content.items())


def _item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _image(name: str, keys: dict[str, Any], image: dict[str, Any]) -> dict[str, Any]:
    """Return the item ``image`` with the key attributes included, as stream images hold."""
    for key, value in keys.items():
        if key in image and image[key] != value:
            raise EventOptionError(f"{name} has {key}={image[key]!r}, but keys has "
                                   f"{key}={value!r}; a stream record's image holds the "
                                   f"same key")
    return {**keys, **image}


def dynamodb_stream_event(context: Context, options: dict[str, Any]) -> Event:
    """Build the event that a Lambda event source mapping sends for a DynamoDB stream record."""
    event_name = take_choice(options, "event_name", "INSERT", EVENT_NAMES)
    table = take_string(options, "table", "my-table")
    view_type = take_choice(options, "stream_view_type", "NEW_AND_OLD_IMAGES",
                            STREAM_VIEW_TYPES)
    keys = take_mapping(options, "keys") or {"id": context.uuid()}
    new_image = take_mapping(options, "new_image")
    old_image = take_mapping(options, "old_image")

    if event_name == "INSERT" and old_image is not None:
        raise EventOptionError("an INSERT record has no old_image; use event_name=MODIFY")
    if event_name == "REMOVE" and new_image is not None:
        raise EventOptionError("a REMOVE record has no new_image; use event_name=MODIFY")

    # INSERT carries the new item, REMOVE the old one and MODIFY both. The stream view
    # type then decides which of them the record includes.
    images: dict[str, dict[str, Any]] = {}
    if event_name in ("INSERT", "MODIFY") and view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
        images["NewImage"] = _image("new_image", keys, new_image or {})
    if event_name in ("MODIFY", "REMOVE") and view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        images["OldImage"] = _image("old_image", keys, old_image or {})

    typed_keys = {name: to_attribute_value(value) for name, value in keys.items()}
    typed_images = {kind: {name: to_attribute_value(value) for name, value in image.items()}
                    for kind, image in images.items()}
    # NOTE: SizeBytes is an estimate from DynamoDB's item size rules. AWS's count for
    # the same record can differ by a few bytes.
    size = _item_size(typed_keys) + sum(_item_size(image) for image in typed_images.values())

    stream_label = context.iso_time(millis=True).removesuffix("Z")
    record = {
        "eventID": context.hex(32),
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": context.region,
        "dynamodb": {
            "ApproximateCreationDateTime": int(context.now.timestamp()),
            "Keys": typed_keys,
            **typed_images,
            "SequenceNumber": context.digits(21),
            "SizeBytes": size,
            "StreamViewType": view_type,
        },
        "eventSourceARN": context.arn("dynamodb", f"table/{table}/stream/{stream_label}"),
    }
    return {"Records": [record]}


DYNAMODB_STREAM = Source(
    name="dynamodb-stream",
    description="DynamoDB Streams record from a Lambda event source mapping",
    doc_url="https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html",
    build=dynamodb_stream_event,
    options=(
        Option("event_name", f"one of {', '.join(EVENT_NAMES)} (default: INSERT)"),
        Option("keys", "the key attributes as plain values, e.g. {'pk': 'u1'} "
                       "(default: an id with a random UUID)"),
        Option("new_image", "the item after the change, as plain values; keys are added"),
        Option("old_image", "the item before the change, as plain values; keys are added"),
        Option("table", "the table name (default: my-table)"),
        Option("stream_view_type", f"one of {', '.join(STREAM_VIEW_TYPES)} "
                                   f"(default: NEW_AND_OLD_IMAGES)"),
    ),
    payload_option="new_image",
    payload_is_json=True,
)


# Kinesis.

def _data_bytes(value: object) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    try:
        return json.dumps(value).encode()
    except (TypeError, ValueError) as error:
        raise EventOptionError(f"invalid data {value!r}: not serializable as JSON "
                               f"({error})") from None


def kinesis_event(context: Context, options: dict[str, Any]) -> Event:
    """Build the event that a Lambda event source mapping sends for a Kinesis record."""
    data = _data_bytes(options.pop("data", "Hello from Kinesis!"))
    stream = take_string(options, "stream", "my-stream")
    partition_key = take_string(options, "partition_key", context.uuid())
    shard_id = take_string(options, "shard_id", "shardId-000000000000")

    sequence_number = context.digits(56)
    return {"Records": [{
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": sequence_number,
            "data": base64.b64encode(data).decode("ascii"),
            # Seconds since the epoch, with milliseconds as the fraction.
            "approximateArrivalTimestamp": context.epoch_millis() / 1000,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{sequence_number}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": context.arn("iam", "role/lambda-role", region=False),
        "awsRegion": context.region,
        "eventSourceARN": context.arn("kinesis", f"stream/{stream}"),
    }]}


KINESIS = Source(
    name="kinesis",
    description="Kinesis Data Streams record from a Lambda event source mapping",
    doc_url="https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html",
    build=kinesis_event,
    options=(
        Option("data", "the record data: text, bytes or a value to encode as JSON; the "
                       "event carries it base64-encoded"),
        Option("stream", "the stream name (default: my-stream)"),
        Option("partition_key", "the partition key (default: a random UUID)"),
        Option("shard_id", "the shard ID (default: shardId-000000000000)"),
    ),
    payload_option="data",
)

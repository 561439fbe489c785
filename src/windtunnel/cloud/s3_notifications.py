"""Deliver S3 event notifications to functions, queues, topics and EventBridge.

moto 5.2 runs notified functions in Docker and sends queues and topics a record without
``userIdentity``, ``requestParameters``, ``responseElements``, the bucket's
``ownerIdentity`` or the object's ``sequencer``. Here each notification that matches the
event type and the key's prefix and suffix filters receives the record S3 documents:
https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
Functions are invoked asynchronously by windtunnel's runtime. Every destination gets the
notification only while its resource-based policy allows ``s3.amazonaws.com`` for the
bucket:
https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html
A bucket with EventBridge enabled sends its events to the default bus of its Region:
https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html

Limitations: ``userIdentity.principalId`` is the account ID, not the ID of the caller.
The record is delivered while the request that caused it runs, not after it.
"""

from __future__ import annotations

import base64
import datetime
import enum
import functools
import itertools
import json
import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

from windtunnel.cloud.moto_corrections import (
    _delivery_allowed,
    _invoke_function,
    _lambda_invoker,
)

__all__ = ["route_bucket_notifications", "set_notification_clock"]

logger = logging.getLogger(__name__)

# Event types whose records have eventVersion 2.3. The others that reach this path
# (object created, removed, restore started or completed) have 2.1.
_VERSION_2_3_PREFIXES = ("s3:LifecycleExpiration", "s3:LifecycleTransition",
                         "s3:IntelligentTiering", "s3:ObjectAcl", "s3:ObjectTagging",
                         "s3:ObjectRestore:Delete")
# The API operation that EventBridge events name as their "reason":
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html
_EVENTBRIDGE_REASONS = {
    "s3:ObjectCreated:Put": "PutObject",
    "s3:ObjectCreated:Post": "POST Object",
    "s3:ObjectCreated:Copy": "CopyObject",
    "s3:ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
    "s3:ObjectRemoved:Delete": "DeleteObject",
    "s3:ObjectRemoved:DeleteMarkerCreated": "DeleteObject",
}

_clock: list[Callable[[], datetime.datetime]] = []
_sequence = itertools.count(1)
_sequence_lock = threading.Lock()


def set_notification_clock(clock: Callable[[], datetime.datetime] | None) -> None:
    """Stamp notifications with ``clock()``, the stack's virtual clock, or wall time if None."""
    _clock.clear()
    if clock is not None:
        _clock.append(clock)


@functools.cache
def route_bucket_notifications() -> None:
    """Send S3 event notifications through windtunnel instead of moto."""
    from moto.s3 import notifications

    original = notifications.send_event
    if getattr(original, "windtunnel_correction", False):
        return

    def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        name = event_name.value if isinstance(event_name, enum.Enum) else str(event_name)
        try:
            _send_event(name, bucket, key)
        except Exception:  # S3 delivers notifications after the request has succeeded
            logger.exception("bucket %s: %s notification for %s not delivered",
                             getattr(bucket, "name", "?"), name, getattr(key, "name", "?"))

    send_event.windtunnel_correction = True  # type: ignore[attr-defined]
    notifications.send_event = send_event


def _send_event(event_name: str, bucket: Any, key: Any) -> None:
    configuration = bucket.notification_configuration
    if configuration is None or key is None:
        return
    bucket_arn = f"arn:{bucket.partition}:s3:::{bucket.name}"
    now = _clock[0]() if _clock else datetime.datetime.now(datetime.UTC)
    sequencer = _next_sequencer()
    destinations = (("lambda:InvokeFunction", configuration.cloud_function),
                    ("sqs:SendMessage", configuration.queue),
                    ("sns:Publish", configuration.topic))
    for action, entries in destinations:
        for notification in entries:
            if not _matches(notification, event_name, str(key.name)):
                continue
            if not _delivery_allowed(f"bucket {bucket_arn}", "s3.amazonaws.com", action,
                                     notification.arn, bucket_arn, bucket.account_id):
                continue
            record = notification_record(event_name, bucket, key, notification.id, now,
                                         sequencer)
            _deliver(action, notification.arn, bucket_arn, json.dumps(record))
    if configuration.event_bridge is not None:
        _put_eventbridge_event(event_name, bucket, key, now, sequencer)


def _matches(notification: Any, event_name: str, key_name: str) -> bool:
    """Tell whether a notification's event types and key filters select the event.

    An event type ends in ``*`` for every event of its group (``s3:ObjectCreated:*``).
    """
    selected = any(event_name == configured or
                   (configured.endswith("*") and event_name.startswith(configured[:-1]))
                   for configured in (str(name) for name in notification.events))
    if not selected:
        return False
    rules = ((notification.filters or {}).get("S3Key") or {}).get("FilterRule") or []
    for rule in rules if isinstance(rules, list) else [rules]:
        name, value = str(rule.get("Name", "")).lower(), str(rule.get("Value", ""))
        if name == "prefix" and not key_name.startswith(value):
            return False
        if name == "suffix" and not key_name.endswith(value):
            return False
    return True


def _deliver(action: str, target_arn: str, bucket_arn: str, body: str) -> None:
    region, account = target_arn.split(":")[3:5]
    if action == "lambda:InvokeFunction":
        if not _lambda_invoker:
            logger.warning("bucket %s: notification not delivered to function %s because "
                           "no Lambda runtime is attached to the cloud", bucket_arn,
                           target_arn)
            return
        _invoke_function(bucket_arn, target_arn, body.encode())
    elif action == "sqs:SendMessage":
        from moto.sqs.models import sqs_backends

        sqs_backends[account][region].send_message(
            queue_name=target_arn.split(":")[5], message_body=body)
    else:
        from moto.sns.models import sns_backends

        sns_backends[account][region].publish(message=body, arn=target_arn)


def notification_record(event_name: str, bucket: Any, key: Any, configuration_id: str,
                        now: datetime.datetime, sequencer: str) -> dict[str, Any]:
    """Build the S3 event notification record (``Records`` with one entry)."""
    from moto.moto_api._internal import mock_random
    from moto.s3.models import OWNER

    version = "2.3" if event_name.startswith(_VERSION_2_3_PREFIXES) else "2.1"
    # The object key is URL-encoded with a space as "+", and slashes stay as they are.
    obj: dict[str, Any] = {"key": quote_plus(str(key.name), safe="/")}
    if not event_name.startswith("s3:ObjectRemoved"):
        obj["size"] = key.size
        obj["eTag"] = str(key.etag).replace('"', "")
    if bucket.is_versioned and getattr(key, "version_id", None) not in (None, "null"):
        obj["versionId"] = str(key.version_id)
    obj["sequencer"] = sequencer
    request_id = mock_random.get_random_hex(16).upper()
    host_id = base64.b64encode(mock_random.get_random_hex(48).encode()).decode()
    return {"Records": [{
        "eventVersion": version,
        "eventSource": "aws:s3",
        "awsRegion": bucket.region_name,
        "eventTime": _timestamp(now),
        "eventName": event_name.removeprefix("s3:"),
        "userIdentity": {"principalId": f"AWS:{bucket.account_id}"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": host_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": bucket.name,
                "ownerIdentity": {"principalId": OWNER},
                "arn": f"arn:{bucket.partition}:s3:::{bucket.name}",
            },
            "object": obj,
        },
    }]}


def _put_eventbridge_event(event_name: str, bucket: Any, key: Any,
                           now: datetime.datetime, sequencer: str) -> None:
    """Put the bucket's event on the default bus, in the shape of S3's EventBridge events.

    Only object created and deleted events are sent; S3's other EventBridge events
    (restore, tagging, ACL, storage class) are not emulated.
    """
    from moto.events.models import events_backends
    from moto.moto_api._internal import mock_random

    if event_name.startswith("s3:ObjectCreated"):
        detail_type = "Object Created"
    elif event_name.startswith("s3:ObjectRemoved"):
        detail_type = "Object Deleted"
    else:
        logger.debug("bucket %s: %s is not sent to EventBridge", bucket.name, event_name)
        return
    obj: dict[str, Any] = {"key": str(key.name)}
    if detail_type == "Object Created":
        obj["size"] = key.size
        obj["etag"] = str(key.etag).replace('"', "")
    if bucket.is_versioned and getattr(key, "version_id", None) not in (None, "null"):
        obj["version-id"] = str(key.version_id)
    obj["sequencer"] = sequencer
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": bucket.name},
        "object": obj,
        "request-id": mock_random.get_random_hex(16).upper(),
        "requester": bucket.account_id,
        "source-ip-address": "127.0.0.1",
        "reason": _EVENTBRIDGE_REASONS.get(event_name, event_name.rsplit(":", 1)[-1]),
    }
    if detail_type == "Object Deleted":
        detail["deletion-type"] = ("Delete Marker Created"
                                   if event_name.endswith("DeleteMarkerCreated")
                                   else "Permanently Deleted")
    backend = events_backends[bucket.account_id][bucket.region_name]
    backend.put_events([{
        "Source": "aws.s3",
        "DetailType": detail_type,
        "Detail": json.dumps(detail),
        "Resources": [f"arn:{bucket.partition}:s3:::{bucket.name}"],
        "Time": now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }])


def _next_sequencer() -> str:
    # S3 documents the sequencer as a hexadecimal value that grows for later events on
    # the same key, so one counter for the whole process is enough.
    with _sequence_lock:
        return f"{next(_sequence):018X}"


def _timestamp(moment: datetime.datetime) -> str:
    utc = moment.astimezone(datetime.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"

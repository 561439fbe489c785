"""Amazon S3 event notifications, as S3 sends them to a Lambda function."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

from windtunnel.events.base import (
    Context,
    Event,
    EventOptionError,
    Option,
    Source,
    take_int,
    take_optional_string,
    take_string,
)

__all__ = ["S3"]

CREATED = ("ObjectCreated:Put", "ObjectCreated:Post", "ObjectCreated:Copy",
           "ObjectCreated:CompleteMultipartUpload")
REMOVED = ("ObjectRemoved:Delete", "ObjectRemoved:DeleteMarkerCreated")


def s3_event(context: Context, options: dict[str, Any]) -> Event:
    """Build the event that S3 sends to a Lambda function for an object change."""
    bucket = take_string(options, "bucket", "amzn-s3-demo-bucket")
    key = take_string(options, "key", "uploads/example.json")
    # Notification configurations write "s3:ObjectCreated:Put", but records drop the prefix.
    event_name = take_string(options, "event_name", "ObjectCreated:Put").removeprefix("s3:")
    if event_name not in CREATED + REMOVED:
        raise EventOptionError(f"unsupported event_name {event_name!r}; supported: "
                               f"{', '.join(CREATED + REMOVED)}")
    size = take_int(options, "size", 1024)
    etag = take_string(options, "etag", context.hex(32))
    version_id = take_optional_string(options, "version_id")
    configuration_id = take_string(options, "configuration_id", context.uuid())
    # NOTE: the S3 guide now describes one event version for all event types (2.4 and
    # later). The default, 2.1, is the version that creation and removal events used before.
    event_version = take_string(options, "event_version", "2.1")

    if event_name == "ObjectRemoved:DeleteMarkerCreated" and version_id is None:
        # A delete marker is itself a version, so S3 always reports its version ID.
        version_id = context.alnum(32)

    s3_object: dict[str, Any] = {
        # S3 URL-encodes the key in the record, with '+' for spaces.
        "key": quote_plus(key, safe="/"),
    }
    # Removal events describe no object content, so S3 leaves out size and eTag.
    if event_name in CREATED:
        s3_object["size"] = size
        s3_object["eTag"] = etag
    if version_id is not None:
        s3_object["versionId"] = version_id
    s3_object["sequencer"] = context.hex(18, upper=True)

    principal = "AWS:" + context.iam_user_id()
    return {"Records": [{
        "eventVersion": event_version,
        "eventSource": "aws:s3",
        "awsRegion": context.region,
        "eventTime": context.iso_time(millis=True),
        "eventName": event_name,
        "userIdentity": {"principalId": principal},
        "requestParameters": {"sourceIPAddress": context.source_ip()},
        "responseElements": {
            "x-amz-request-id": context.hex(16, upper=True),
            "x-amz-id-2": context.base64(57),
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": context.alnum(14, upper=True)},
                # S3 bucket ARNs have neither a Region nor an account.
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": s3_object,
        },
    }]}


S3 = Source(
    name="s3",
    description="Amazon S3 event notification for an object created or removed",
    doc_url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/"
            "notification-content-structure.html",
    build=s3_event,
    options=(
        Option("bucket", "the bucket name (default: amzn-s3-demo-bucket)"),
        Option("key", "the object key, unencoded (default: uploads/example.json)"),
        Option("event_name", f"one of {', '.join(CREATED + REMOVED)}, with or without "
                             f"the s3: prefix (default: ObjectCreated:Put)"),
        Option("size", "the object size in bytes (default: 1024)"),
        Option("etag", "the object ETag (default: 32 random hexadecimal digits)"),
        Option("version_id", "the object version ID, for a bucket with versioning"),
        Option("configuration_id", "the ID of the notification configuration"),
        Option("event_version", "the eventVersion field (default: 2.1)"),
    ),
)

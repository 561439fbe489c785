"""Resource handlers for Kinesis streams."""

from __future__ import annotations

from typing import Any

from windtunnel.deploy.resources.base import Provisioned, ResourceContext, provisions
from windtunnel.deploy.resources.properties import (
    check_properties,
    coerce_integer,
    tags_to_dict,
)

# Properties of AWS::Kinesis::Stream, from
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-kinesis-stream.html
_STREAM_PROPERTIES = frozenset({
    "DesiredShardLevelMetrics", "Name", "RetentionPeriodHours", "ShardCount",
    "StreamEncryption", "StreamModeDetails", "Tags",
})

# Kinesis's limit for a stream name.
_STREAM_NAME_MAX_LENGTH = 128
# A new stream keeps records for 24 hours until the retention period is increased.
_DEFAULT_RETENTION_HOURS = 24
# NOTE: the shard count of a provisioned stream whose template gives none is assumed to be 1;
# the CloudFormation reference states no default.
_DEFAULT_SHARD_COUNT = 1


@provisions("AWS::Kinesis::Stream")
def create_stream(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a stream, then set its retention period, encryption and shard-level metrics."""
    check_properties(properties, _STREAM_PROPERTIES)

    name = properties.get("Name") or context.physical_name(max_length=_STREAM_NAME_MAX_LENGTH)
    mode = properties.get("StreamModeDetails", {}).get("StreamMode", "PROVISIONED")
    request: dict[str, Any] = {"StreamName": name, "StreamModeDetails": {"StreamMode": mode}}
    # An on-demand stream scales its shards itself, so it takes no shard count.
    if mode == "PROVISIONED":
        request["ShardCount"] = coerce_integer(
            properties.get("ShardCount", _DEFAULT_SHARD_COUNT), "ShardCount")

    client = context.client("kinesis")
    client.create_stream(**request)
    # AddTagsToStream rather than CreateStream's Tags, which moto 5.2 drops.
    tags = tags_to_dict(properties.get("Tags"))
    if tags:
        client.add_tags_to_stream(StreamName=name, Tags=tags)

    retention = coerce_integer(
        properties.get("RetentionPeriodHours", _DEFAULT_RETENTION_HOURS), "RetentionPeriodHours")
    if retention > _DEFAULT_RETENTION_HOURS:
        client.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=retention)
    elif retention < _DEFAULT_RETENTION_HOURS:
        # Kinesis rejects a period under 24 hours, and this call returns its error.
        client.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=retention)

    encryption = properties.get("StreamEncryption")
    if encryption is not None:
        client.start_stream_encryption(StreamName=name,
                                       EncryptionType=encryption.get("EncryptionType"),
                                       KeyId=encryption.get("KeyId"))
    if properties.get("DesiredShardLevelMetrics"):
        client.enable_enhanced_monitoring(StreamName=name,
                                          ShardLevelMetrics=properties["DesiredShardLevelMetrics"])

    arn = client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    return Provisioned(physical_id=name, attributes={"Arn": arn})

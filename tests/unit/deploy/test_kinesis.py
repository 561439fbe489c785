"""Tests for the Kinesis stream handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from windtunnel.deploy.resources.base import ResourceContext, ResourceCreationFailed
from windtunnel.deploy.resources.kinesis import create_stream

ContextFactory = Callable[..., ResourceContext]

STREAM_DOC = ("https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
              "aws-resource-kinesis-stream.html")


def summary(name: str) -> dict[str, Any]:
    client = boto3.client("kinesis", region_name="us-east-1")
    description: dict[str, Any] = client.describe_stream_summary(
        StreamName=name)["StreamDescriptionSummary"]
    return description


def test_stream_ref_and_arn(make_context: ContextFactory) -> None:
    """Ref returns the stream name and Arn its ARN (STREAM_DOC, Return values)."""
    result = create_stream(make_context("Stream", "AWS::Kinesis::Stream"),
                           {"Name": "clicks", "ShardCount": "2"})

    assert result.physical_id == "clicks"
    assert result.attributes == {"Arn": "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"}
    assert summary("clicks")["OpenShardCount"] == 2


def test_stream_generated_name(make_context: ContextFactory) -> None:
    """A stream without Name gets a generated name (STREAM_DOC, Name)."""
    result = create_stream(make_context("Clicks", "AWS::Kinesis::Stream"), {"ShardCount": 1})

    assert result.physical_id.startswith("test-stack-Clicks-")
    assert summary(result.physical_id)["StreamName"] == result.physical_id


def test_stream_configuration(make_context: ContextFactory) -> None:
    """Retention, encryption and tags are applied to the stream (STREAM_DOC)."""
    properties = {
        "Name": "audit",
        "ShardCount": 1,
        "RetentionPeriodHours": "48",
        "StreamEncryption": {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"},
        "Tags": [{"Key": "team", "Value": "audit"}],
    }
    create_stream(make_context("Stream", "AWS::Kinesis::Stream"), properties)

    stored = summary("audit")
    assert stored["RetentionPeriodHours"] == 48
    assert stored["EncryptionType"] == "KMS"
    assert stored["KeyId"] == "alias/aws/kinesis"
    tags = boto3.client("kinesis", region_name="us-east-1").list_tags_for_stream(
        StreamName="audit")["Tags"]
    assert tags == [{"Key": "team", "Value": "audit"}]


def test_stream_on_demand_mode(make_context: ContextFactory) -> None:
    """StreamModeDetails ON_DEMAND creates an on-demand stream (STREAM_DOC)."""
    create_stream(make_context("Stream", "AWS::Kinesis::Stream"),
                  {"Name": "elastic", "StreamModeDetails": {"StreamMode": "ON_DEMAND"}})

    assert summary("elastic")["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}


def test_stream_unknown_property(make_context: ContextFactory) -> None:
    """An unknown property fails as CloudFormation's schema validation does (STREAM_DOC)."""
    with pytest.raises(ResourceCreationFailed) as failure:
        create_stream(make_context("Stream", "AWS::Kinesis::Stream"), {"Shards": 1})

    assert failure.value.reason == ("Properties validation failed for resource with message: "
                                    "#: extraneous key [Shards] is not permitted")

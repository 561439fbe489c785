"""Tests for the CloudWatch Logs log group and filter handlers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from windtunnel.deploy.resources.base import ResourceContext, ResourceCreationFailed
from windtunnel.deploy.resources.kinesis import create_stream
from windtunnel.deploy.resources.logs import (
    create_log_group,
    create_metric_filter,
    create_subscription_filter,
)

ContextFactory = Callable[..., ResourceContext]

LOG_GROUP_DOC = ("https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
                 "aws-resource-logs-loggroup.html")
SUBSCRIPTION_FILTER_DOC = ("https://docs.aws.amazon.com/AWSCloudFormation/latest/"
                           "TemplateReference/aws-resource-logs-subscriptionfilter.html")
METRIC_FILTER_DOC = ("https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
                     "aws-resource-logs-metricfilter.html")


def logs() -> Any:
    return boto3.client("logs", region_name="us-east-1")


def test_log_group_ref_and_arn(make_context: ContextFactory) -> None:
    """Ref returns the name; Arn ends with ':*' as in LOG_GROUP_DOC's example."""
    result = create_log_group(make_context("Logs", "AWS::Logs::LogGroup"), {
        "LogGroupName": "/app/api", "RetentionInDays": "14",
        "Tags": [{"Key": "team", "Value": "api"}]})

    assert result.physical_id == "/app/api"
    assert result.attributes == {
        "Arn": "arn:aws:logs:us-east-1:123456789012:log-group:/app/api:*"}
    group = logs().describe_log_groups(logGroupNamePrefix="/app/api")["logGroups"][0]
    assert group["retentionInDays"] == 14
    tags = logs().list_tags_for_resource(
        resourceArn="arn:aws:logs:us-east-1:123456789012:log-group:/app/api")["tags"]
    assert tags == {"team": "api"}


def test_log_group_generated_name(make_context: ContextFactory) -> None:
    """A log group without LogGroupName gets a generated name (LOG_GROUP_DOC)."""
    result = create_log_group(make_context("ApiLogs", "AWS::Logs::LogGroup"), {})

    assert result.physical_id.startswith("test-stack-ApiLogs-")
    names = [group["logGroupName"] for group in logs().describe_log_groups()["logGroups"]]
    assert names == [result.physical_id]


@pytest.mark.parametrize(
    ("properties", "match"),
    [
        ({"Name": "x"}, r"#: extraneous key \[Name\] is not permitted"),
        ({"RetentionInDays": "two weeks"},
         "#/RetentionInDays: expected type: Integer, found: String"),
        ({"DataProtectionPolicy": {}}, "DataProtectionPolicy of AWS::Logs::LogGroup is not"),
    ],
)
def test_log_group_rejected_properties(make_context: ContextFactory,
                                       properties: dict[str, Any], match: str) -> None:
    """Invalid and unemulated properties fail with a message naming them (LOG_GROUP_DOC)."""
    with pytest.raises(ResourceCreationFailed, match=match):
        create_log_group(make_context("Logs", "AWS::Logs::LogGroup"), properties)


def test_subscription_filter_to_stream(make_context: ContextFactory) -> None:
    """The filter is stored on the log group; Ref returns its name (SUBSCRIPTION_FILTER_DOC)."""
    create_log_group(make_context("Logs", "AWS::Logs::LogGroup"), {"LogGroupName": "/app"})
    stream = create_stream(make_context("Stream", "AWS::Kinesis::Stream"), {"ShardCount": 1})

    result = create_subscription_filter(
        make_context("Filter", "AWS::Logs::SubscriptionFilter"),
        {"LogGroupName": "/app", "FilterName": "errors", "FilterPattern": "ERROR",
         "DestinationArn": stream.attributes["Arn"],
         "RoleArn": "arn:aws:iam::123456789012:role/logs-to-kinesis"})

    assert result.physical_id == "errors"
    stored = logs().describe_subscription_filters(logGroupName="/app")["subscriptionFilters"]
    assert stored[0]["filterName"] == "errors"
    assert stored[0]["filterPattern"] == "ERROR"
    assert stored[0]["destinationArn"] == stream.attributes["Arn"]


def test_subscription_filter_missing_destination(make_context: ContextFactory) -> None:
    """DestinationArn is required (SUBSCRIPTION_FILTER_DOC)."""
    with pytest.raises(ResourceCreationFailed,
                       match=r"required key \[DestinationArn\] not found"):
        create_subscription_filter(make_context("Filter", "AWS::Logs::SubscriptionFilter"),
                                   {"LogGroupName": "/app", "FilterPattern": ""})


def test_metric_filter_transformations(make_context: ContextFactory) -> None:
    """Metric transformations reach CloudWatch Logs in its spelling (METRIC_FILTER_DOC)."""
    create_log_group(make_context("Logs", "AWS::Logs::LogGroup"), {"LogGroupName": "/app"})

    result = create_metric_filter(make_context("Errors", "AWS::Logs::MetricFilter"), {
        "LogGroupName": "/app", "FilterPattern": "ERROR",
        "MetricTransformations": [{"MetricName": "Errors", "MetricNamespace": "App",
                                   "MetricValue": "1", "DefaultValue": "0"}]})

    assert result.physical_id.startswith("test-stack-Errors-")
    stored = logs().describe_metric_filters(logGroupName="/app")["metricFilters"][0]
    assert stored["filterName"] == result.physical_id
    transformation = stored["metricTransformations"][0]
    assert transformation["metricName"] == "Errors"
    assert transformation["metricNamespace"] == "App"
    assert transformation["metricValue"] == "1"
    assert transformation["defaultValue"] == 0.0


def test_metric_filter_missing_transformations(make_context: ContextFactory) -> None:
    """MetricTransformations is required (METRIC_FILTER_DOC)."""
    with pytest.raises(ResourceCreationFailed,
                       match=r"required key \[MetricTransformations\] not found"):
        create_metric_filter(make_context("Errors", "AWS::Logs::MetricFilter"),
                             {"LogGroupName": "/app", "FilterPattern": "ERROR"})

"""Tests for the CloudWatch alarm handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from windtunnel.deploy.resources.base import ResourceContext, ResourceCreationFailed
from windtunnel.deploy.resources.cloudwatch import create_alarm

ContextFactory = Callable[..., ResourceContext]

ALARM_DOC = ("https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
             "aws-resource-cloudwatch-alarm.html")

METRIC_ALARM: dict[str, Any] = {
    "ComparisonOperator": "GreaterThanThreshold",
    "EvaluationPeriods": "2",
    "MetricName": "Errors",
    "Namespace": "AWS/Lambda",
    "Dimensions": [{"Name": "FunctionName", "Value": "api"}],
    "Period": "60",
    "Statistic": "Sum",
    "Threshold": "5",
    "TreatMissingData": "notBreaching",
    "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:alerts"],
}


def describe(name: str) -> dict[str, Any]:
    client = boto3.client("cloudwatch", region_name="us-east-1")
    alarm: dict[str, Any] = client.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    return alarm


def test_alarm_ref_and_arn(make_context: ContextFactory) -> None:
    """Ref returns the alarm name and Arn its ARN (ALARM_DOC, Return values)."""
    result = create_alarm(make_context("Alarm", "AWS::CloudWatch::Alarm"),
                          {**METRIC_ALARM, "AlarmName": "api-errors"})

    assert result.physical_id == "api-errors"
    assert result.attributes == {
        "Arn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:api-errors"}


def test_alarm_stores_metric_settings(make_context: ContextFactory) -> None:
    """Numbers given as strings and the alarm's settings reach CloudWatch (ALARM_DOC)."""
    result = create_alarm(make_context("ApiErrors", "AWS::CloudWatch::Alarm"), METRIC_ALARM)

    assert result.physical_id.startswith("test-stack-ApiErrors-")
    alarm = describe(result.physical_id)
    assert alarm["EvaluationPeriods"] == 2
    assert alarm["Period"] == 60
    assert alarm["Threshold"] == 5.0
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": "api"}]
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == METRIC_ALARM["AlarmActions"]


def test_alarm_metric_math(make_context: ContextFactory) -> None:
    """An alarm on metric math stores its Metrics queries (ALARM_DOC, Metrics)."""
    metrics = [
        {"Id": "errors", "ReturnData": "false", "MetricStat": {
            "Metric": {"MetricName": "Errors", "Namespace": "AWS/Lambda"},
            "Period": "300", "Stat": "Sum"}},
        {"Id": "rate", "Expression": "errors / 300", "ReturnData": True},
    ]
    create_alarm(make_context("Alarm", "AWS::CloudWatch::Alarm"), {
        "AlarmName": "error-rate", "ComparisonOperator": "GreaterThanThreshold",
        "EvaluationPeriods": 1, "Threshold": 0.1, "Metrics": metrics})

    stored = describe("error-rate")["Metrics"]
    assert [query["Id"] for query in stored] == ["errors", "rate"]
    assert stored[0]["MetricStat"]["Period"] == 300
    assert stored[1]["Expression"] == "errors / 300"


@pytest.mark.parametrize(
    ("properties", "match"),
    [
        ({"ComparisonOperator": "GreaterThanThreshold"},
         r"#: required key \[EvaluationPeriods\] not found"),
        ({**METRIC_ALARM, "Name": "x"}, r"#: extraneous key \[Name\] is not permitted"),
        ({**METRIC_ALARM, "Threshold": "high"}, "#/Threshold: expected type: Number"),
    ],
)
def test_alarm_invalid_properties(make_context: ContextFactory, properties: dict[str, Any],
                                  match: str) -> None:
    """Invalid alarm properties fail with CloudFormation's validation message (ALARM_DOC)."""
    with pytest.raises(ResourceCreationFailed, match=match):
        create_alarm(make_context("Alarm", "AWS::CloudWatch::Alarm"), properties)

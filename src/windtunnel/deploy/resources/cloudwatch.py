"""Resource handlers for CloudWatch alarms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from windtunnel.deploy.resources.base import (
    Provisioned,
    ResourceContext,
    provisions,
    require_properties,
)
from windtunnel.deploy.resources.properties import (
    check_properties,
    coerce_boolean,
    coerce_integer,
    type_mismatch,
)

# Properties of AWS::CloudWatch::Alarm, from
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudwatch-alarm.html
_ALARM_PROPERTIES = frozenset({
    "ActionsEnabled", "AlarmActions", "AlarmDescription", "AlarmName", "ComparisonOperator",
    "DatapointsToAlarm", "Dimensions", "EvaluateLowSampleCountPercentile", "EvaluationPeriods",
    "ExtendedStatistic", "InsufficientDataActions", "MetricName", "Metrics", "Namespace",
    "OKActions", "Period", "Statistic", "Tags", "Threshold", "ThresholdMetricId",
    "TreatMissingData", "Unit",
})
# Alarm properties that PutMetricAlarm takes unchanged under the same name.
_PASSED_THROUGH = ("AlarmActions", "AlarmDescription", "ComparisonOperator", "Dimensions",
                   "EvaluateLowSampleCountPercentile", "ExtendedStatistic",
                   "InsufficientDataActions", "MetricName", "Namespace", "OKActions",
                   "Statistic", "Tags", "ThresholdMetricId", "TreatMissingData", "Unit")
_INTEGERS = ("DatapointsToAlarm", "EvaluationPeriods", "Period")

# CloudWatch's limit for an alarm name.
_ALARM_NAME_MAX_LENGTH = 255


@provisions("AWS::CloudWatch::Alarm")
def create_alarm(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a metric alarm; ``Ref`` returns its name."""
    check_properties(properties, _ALARM_PROPERTIES)
    require_properties(properties, "ComparisonOperator", "EvaluationPeriods")

    name = properties.get("AlarmName") or context.physical_name(
        max_length=_ALARM_NAME_MAX_LENGTH)
    request: dict[str, Any] = {"AlarmName": name}
    for key in _PASSED_THROUGH:
        if key in properties:
            request[key] = properties[key]
    for key in _INTEGERS:
        if key in properties:
            request[key] = coerce_integer(properties[key], key)
    if "Threshold" in properties:
        request["Threshold"] = _double(properties["Threshold"], "Threshold")
    if "ActionsEnabled" in properties:
        request["ActionsEnabled"] = coerce_boolean(properties["ActionsEnabled"], "ActionsEnabled")
    if "Metrics" in properties:
        request["Metrics"] = [_metric_data_query(query, f"Metrics/{position}")
                              for position, query in enumerate(properties["Metrics"])]

    client = context.client("cloudwatch")
    client.put_metric_alarm(**request)
    alarm = client.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    return Provisioned(physical_id=name, attributes={"Arn": alarm["AlarmArn"]})


def _metric_data_query(query: Mapping[str, Any], path: str) -> dict[str, Any]:
    """Coerce the numbers and booleans of one metric math query; its shape is the API's."""
    translated = dict(query)
    if "Period" in translated:
        translated["Period"] = coerce_integer(translated["Period"], f"{path}/Period")
    if "ReturnData" in translated:
        translated["ReturnData"] = coerce_boolean(translated["ReturnData"], f"{path}/ReturnData")
    stat = translated.get("MetricStat")
    if stat is not None and "Period" in stat:
        translated["MetricStat"] = {**stat, "Period": coerce_integer(
            stat["Period"], f"{path}/MetricStat/Period")}
    return translated


def _double(value: Any, path: str) -> float:
    if isinstance(value, bool):
        raise type_mismatch(path, "Number", "Boolean")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise type_mismatch(path, "Number", type(value).__name__) from None

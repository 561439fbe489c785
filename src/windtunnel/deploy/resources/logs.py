"""Resource handlers for CloudWatch Logs log groups, subscription filters and metric filters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from windtunnel.deploy.resources.base import (
    Provisioned,
    ResourceContext,
    ResourceCreationFailed,
    provisions,
    require_properties,
)
from windtunnel.deploy.resources.properties import (
    check_properties,
    coerce_integer,
    reject_not_emulated,
    tags_to_dict,
)

# Properties of AWS::Logs::LogGroup, from
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-logs-loggroup.html
_LOG_GROUP_PROPERTIES = frozenset({
    "BearerTokenAuthenticationEnabled", "DataProtectionPolicy", "DeletionProtectionEnabled",
    "FieldIndexPolicies", "KmsKeyId", "LogGroupClass", "LogGroupName", "ResourcePolicyDocument",
    "RetentionInDays", "Tags",
})
# NOTE: moto stores none of these log group settings, so a template using them fails.
_LOG_GROUP_NOT_EMULATED = frozenset({
    "BearerTokenAuthenticationEnabled", "DataProtectionPolicy", "DeletionProtectionEnabled",
    "FieldIndexPolicies", "ResourcePolicyDocument",
})

# CloudWatch Logs' limit for a log group name.
_LOG_GROUP_NAME_MAX_LENGTH = 512

# Properties of AWS::Logs::SubscriptionFilter, from
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-logs-subscriptionfilter.html
_SUBSCRIPTION_FILTER_PROPERTIES = frozenset({
    "ApplyOnTransformedLogs", "DestinationArn", "Distribution", "EmitSystemFields",
    "FieldSelectionCriteria", "FilterName", "FilterPattern", "LogGroupName", "RoleArn",
})
_SUBSCRIPTION_FILTER_NOT_EMULATED = frozenset({
    "ApplyOnTransformedLogs", "EmitSystemFields", "FieldSelectionCriteria",
})

# Properties of AWS::Logs::MetricFilter, from
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-logs-metricfilter.html
_METRIC_FILTER_PROPERTIES = frozenset({
    "ApplyOnTransformedLogs", "EmitSystemFieldDimensions", "FieldSelectionCriteria",
    "FilterName", "FilterPattern", "LogGroupName", "MetricTransformations",
})
_METRIC_FILTER_NOT_EMULATED = frozenset({
    "ApplyOnTransformedLogs", "EmitSystemFieldDimensions", "FieldSelectionCriteria",
})

# CloudWatch Logs' limit for a filter name.
_FILTER_NAME_MAX_LENGTH = 512


@provisions("AWS::Logs::LogGroup")
def create_log_group(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a log group and set its retention; ``Ref`` returns its name."""
    check_properties(properties, _LOG_GROUP_PROPERTIES)
    reject_not_emulated(context.resource_type, properties, _LOG_GROUP_NOT_EMULATED)

    name = properties.get("LogGroupName") or context.physical_name(
        max_length=_LOG_GROUP_NAME_MAX_LENGTH)
    request: dict[str, Any] = {"logGroupName": name}
    if "KmsKeyId" in properties:
        request["kmsKeyId"] = properties["KmsKeyId"]
    if "LogGroupClass" in properties:
        request["logGroupClass"] = properties["LogGroupClass"]
    tags = tags_to_dict(properties.get("Tags"))
    if tags:
        request["tags"] = tags

    client = context.client("logs")
    client.create_log_group(**request)
    if "RetentionInDays" in properties:
        client.put_retention_policy(
            logGroupName=name,
            retentionInDays=coerce_integer(properties["RetentionInDays"], "RetentionInDays"))

    # The resource reference gives the ARN with the ":*" that stands for all log streams.
    arn = context.arn("logs", f"log-group:{name}:*")
    return Provisioned(physical_id=name, attributes={"Arn": arn})


@provisions("AWS::Logs::SubscriptionFilter")
def create_subscription_filter(context: ResourceContext,
                               properties: dict[str, Any]) -> Provisioned:
    """Subscribe a destination to a log group; ``Ref`` returns the filter name."""
    check_properties(properties, _SUBSCRIPTION_FILTER_PROPERTIES)
    reject_not_emulated(context.resource_type, properties, _SUBSCRIPTION_FILTER_NOT_EMULATED)
    require_properties(properties, "DestinationArn", "FilterPattern", "LogGroupName")

    name = properties.get("FilterName") or context.physical_name(
        max_length=_FILTER_NAME_MAX_LENGTH)
    request: dict[str, Any] = {
        "logGroupName": properties["LogGroupName"],
        "filterName": name,
        "filterPattern": properties["FilterPattern"],
        "destinationArn": properties["DestinationArn"],
    }
    if "RoleArn" in properties:
        request["roleArn"] = properties["RoleArn"]
    if "Distribution" in properties:
        request["distribution"] = properties["Distribution"]

    context.client("logs").put_subscription_filter(**request)
    return Provisioned(physical_id=name)


@provisions("AWS::Logs::MetricFilter")
def create_metric_filter(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a metric filter on a log group; ``Ref`` returns the filter name."""
    check_properties(properties, _METRIC_FILTER_PROPERTIES)
    reject_not_emulated(context.resource_type, properties, _METRIC_FILTER_NOT_EMULATED)
    require_properties(properties, "FilterPattern", "LogGroupName", "MetricTransformations")

    name = properties.get("FilterName") or context.physical_name(
        max_length=_FILTER_NAME_MAX_LENGTH)
    transformations = [
        _metric_transformation(item, f"MetricTransformations/{position}")
        for position, item in enumerate(properties["MetricTransformations"])
    ]
    context.client("logs").put_metric_filter(
        logGroupName=properties["LogGroupName"], filterName=name,
        filterPattern=properties["FilterPattern"], metricTransformations=transformations)
    return Provisioned(physical_id=name)


def _metric_transformation(value: Mapping[str, Any], path: str) -> dict[str, Any]:
    """Translate a metric transformation, which the API spells in camel case."""
    missing = [key for key in ("MetricName", "MetricNamespace", "MetricValue")
               if key not in value]
    if missing:
        raise ResourceCreationFailed(
            f"Properties validation failed for resource with message: "
            f"#/{path}: required key [{', '.join(missing)}] not found"
        )

    transformation: dict[str, Any] = {
        "metricName": value["MetricName"],
        "metricNamespace": value["MetricNamespace"],
        "metricValue": value["MetricValue"],
    }
    if "DefaultValue" in value:
        transformation["defaultValue"] = float(value["DefaultValue"])
    if value.get("Dimensions"):
        transformation["dimensions"] = tags_to_dict(value["Dimensions"])
    if "Unit" in value:
        transformation["unit"] = value["Unit"]
    return transformation


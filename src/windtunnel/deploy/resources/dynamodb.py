"""Resource handlers for DynamoDB tables."""

from __future__ import annotations

import json
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
    coerce_boolean,
    coerce_integer,
    coerce_integers,
    not_emulated,
    reject_not_emulated,
)

# Properties of AWS::DynamoDB::Table, from
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-table.html
_TABLE_PROPERTIES = frozenset({
    "AttributeDefinitions", "BillingMode", "ContributorInsightsSpecification",
    "DeletionProtectionEnabled", "GlobalSecondaryIndexes", "ImportSourceSpecification",
    "KeySchema", "KinesisStreamSpecification", "LocalSecondaryIndexes", "OnDemandThroughput",
    "PointInTimeRecoverySpecification", "ProvisionedThroughput", "ResourcePolicy",
    "SSESpecification", "StreamSpecification", "TableClass", "TableName", "Tags",
    "TimeToLiveSpecification", "WarmThroughput",
})

# NOTE: moto 5.2 does not implement EnableKinesisStreamingDestination, and the emulation has
# no S3 import, so these properties fail. Enabled Contributor Insights fails too (see below).
_TABLE_NOT_EMULATED = frozenset({"ImportSourceSpecification", "KinesisStreamSpecification"})

# CloudFormation's limit for a generated table name.
_TABLE_NAME_MAX_LENGTH = 255


@provisions("AWS::DynamoDB::Table")
def create_table(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a table, then apply TTL, point-in-time recovery and a resource policy."""
    check_properties(properties, _TABLE_PROPERTIES)
    reject_not_emulated(context.resource_type, properties, _TABLE_NOT_EMULATED)
    require_properties(properties, "KeySchema")
    _reject_contributor_insights(context, properties.get("ContributorInsightsSpecification"),
                                 "ContributorInsightsSpecification")

    client = context.client("dynamodb")
    name = properties.get("TableName") or context.physical_name(
        max_length=_TABLE_NAME_MAX_LENGTH)
    request = _create_table_request(context, name, properties)
    table = client.create_table(**request)["TableDescription"]

    if "TimeToLiveSpecification" in properties:
        _update_time_to_live(client, name, properties["TimeToLiveSpecification"])
    if "PointInTimeRecoverySpecification" in properties:
        _update_point_in_time_recovery(client, name, properties["PointInTimeRecoverySpecification"])
    if "ResourcePolicy" in properties:
        _put_resource_policy(client, table["TableArn"], properties["ResourcePolicy"])
    stream_policy = properties.get("StreamSpecification", {}).get("ResourcePolicy")
    if stream_policy is not None:
        _put_resource_policy(client, table["LatestStreamArn"], stream_policy)

    # StreamArn exists only for a table with a stream; Fn::GetAtt on it fails otherwise.
    attributes = {"Arn": table["TableArn"]}
    if "LatestStreamArn" in table:
        attributes["StreamArn"] = table["LatestStreamArn"]
    return Provisioned(physical_id=name, attributes=attributes)


def _create_table_request(context: ResourceContext, name: str,
                          properties: Mapping[str, Any]) -> dict[str, Any]:
    """Translate the template's properties into a CreateTable request."""
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": properties["KeySchema"],
        # CloudFormation's default billing mode is PROVISIONED, as the API's is.
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
    }
    if "AttributeDefinitions" in properties:
        request["AttributeDefinitions"] = properties["AttributeDefinitions"]
    if "ProvisionedThroughput" in properties:
        request["ProvisionedThroughput"] = _provisioned_throughput(
            properties["ProvisionedThroughput"], "ProvisionedThroughput")
    if "OnDemandThroughput" in properties:
        request["OnDemandThroughput"] = coerce_integers(
            properties["OnDemandThroughput"], "OnDemandThroughput")
    if "WarmThroughput" in properties:
        request["WarmThroughput"] = coerce_integers(properties["WarmThroughput"], "WarmThroughput")

    if "GlobalSecondaryIndexes" in properties:
        request["GlobalSecondaryIndexes"] = [
            _global_secondary_index(context, index, position)
            for position, index in enumerate(properties["GlobalSecondaryIndexes"])
        ]
    if "LocalSecondaryIndexes" in properties:
        request["LocalSecondaryIndexes"] = [
            {key: index[key] for key in ("IndexName", "KeySchema", "Projection") if key in index}
            for index in properties["LocalSecondaryIndexes"]
        ]

    if "StreamSpecification" in properties:
        # The template states only the view type; a stated specification enables the stream.
        request["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": properties["StreamSpecification"].get("StreamViewType"),
        }
    if "SSESpecification" in properties:
        request["SSESpecification"] = _sse_specification(properties["SSESpecification"])
    if "TableClass" in properties:
        request["TableClass"] = properties["TableClass"]
    if "DeletionProtectionEnabled" in properties:
        request["DeletionProtectionEnabled"] = coerce_boolean(
            properties["DeletionProtectionEnabled"], "DeletionProtectionEnabled")
    if properties.get("Tags"):
        request["Tags"] = properties["Tags"]
    return request


def _global_secondary_index(context: ResourceContext, index: Mapping[str, Any],
                            position: int) -> dict[str, Any]:
    path = f"GlobalSecondaryIndexes/{position}"
    _reject_contributor_insights(context, index.get("ContributorInsightsSpecification"),
                                 f"{path}/ContributorInsightsSpecification")

    request: dict[str, Any] = {
        key: index[key] for key in ("IndexName", "KeySchema", "Projection") if key in index
    }
    if "ProvisionedThroughput" in index:
        request["ProvisionedThroughput"] = _provisioned_throughput(
            index["ProvisionedThroughput"], f"{path}/ProvisionedThroughput")
    if "OnDemandThroughput" in index:
        request["OnDemandThroughput"] = coerce_integers(
            index["OnDemandThroughput"], f"{path}/OnDemandThroughput")
    if "WarmThroughput" in index:
        request["WarmThroughput"] = coerce_integers(
            index["WarmThroughput"], f"{path}/WarmThroughput")
    return request


def _reject_contributor_insights(context: ResourceContext,
                                 specification: Mapping[str, Any] | None, path: str) -> None:
    """Fail for enabled CloudWatch Contributor Insights, which moto cannot turn on."""
    if specification is None:
        return
    # Disabled is the service's default state, so stating it needs no API call.
    if coerce_boolean(specification.get("Enabled", False), f"{path}/Enabled"):
        raise not_emulated(context.resource_type, path,
                           "Contributor Insights cannot be enabled locally, so remove the "
                           "property or set Enabled to false")


def _provisioned_throughput(value: Mapping[str, Any], path: str) -> dict[str, int]:
    units = ("ReadCapacityUnits", "WriteCapacityUnits")
    missing = [name for name in units if name not in value]
    if missing:
        raise ResourceCreationFailed(
            f"Properties validation failed for resource with message: "
            f"#/{path}: required key [{', '.join(missing)}] not found"
        )
    return {name: coerce_integer(value[name], f"{path}/{name}") for name in units}


def _sse_specification(value: Mapping[str, Any]) -> dict[str, Any]:
    # CloudFormation names the switch SSEEnabled where the API names it Enabled.
    request: dict[str, Any] = {
        "Enabled": coerce_boolean(value.get("SSEEnabled", False), "SSESpecification/SSEEnabled"),
    }
    if "SSEType" in value:
        request["SSEType"] = value["SSEType"]
    if "KMSMasterKeyId" in value:
        request["KMSMasterKeyId"] = value["KMSMasterKeyId"]
    return request


def _update_time_to_live(client: Any, name: str, value: Mapping[str, Any]) -> None:
    enabled = coerce_boolean(value.get("Enabled", False), "TimeToLiveSpecification/Enabled")
    # TTL starts disabled, so a disabled specification without an attribute needs no call.
    if not enabled and "AttributeName" not in value:
        return
    client.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": enabled, "AttributeName": value.get("AttributeName")},
    )


def _update_point_in_time_recovery(client: Any, name: str, value: Mapping[str, Any]) -> None:
    path = "PointInTimeRecoverySpecification"
    enabled = coerce_boolean(value.get("PointInTimeRecoveryEnabled", False),
                             f"{path}/PointInTimeRecoveryEnabled")
    specification: dict[str, Any] = {"PointInTimeRecoveryEnabled": enabled}
    if "RecoveryPeriodInDays" in value:
        specification["RecoveryPeriodInDays"] = coerce_integer(
            value["RecoveryPeriodInDays"], f"{path}/RecoveryPeriodInDays")
    client.update_continuous_backups(TableName=name,
                                     PointInTimeRecoverySpecification=specification)


def _put_resource_policy(client: Any, arn: str, value: Mapping[str, Any]) -> None:
    document = value.get("PolicyDocument")
    policy = document if isinstance(document, str) else json.dumps(document)
    client.put_resource_policy(ResourceArn=arn, Policy=policy)

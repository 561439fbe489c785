"""Tests for the DynamoDB table handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from windtunnel.deploy.resources.base import ResourceContext, ResourceCreationFailed
from windtunnel.deploy.resources.dynamodb import create_table

ContextFactory = Callable[..., ResourceContext]

TABLE_DOC = ("https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
             "aws-resource-dynamodb-table.html")

KEYS: dict[str, Any] = {
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                             {"AttributeName": "sk", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                  {"AttributeName": "sk", "KeyType": "RANGE"}],
}


def describe(name: str) -> dict[str, Any]:
    table: dict[str, Any] = boto3.client("dynamodb", region_name="us-east-1").describe_table(
        TableName=name)["Table"]
    return table


def test_table_named_by_template(make_context: ContextFactory) -> None:
    """Ref returns the table name and Arn the table ARN (source: TABLE_DOC, Return values)."""
    result = create_table(make_context("Table", "AWS::DynamoDB::Table"),
                          {**KEYS, "TableName": "orders", "BillingMode": "PAY_PER_REQUEST"})

    assert result.physical_id == "orders"
    assert result.attributes["Arn"] == "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
    assert "StreamArn" not in result.attributes
    assert describe("orders")["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_table_generated_name(make_context: ContextFactory) -> None:
    """A table without TableName gets a {stack}-{logical ID}-{suffix} name (TABLE_DOC)."""
    result = create_table(make_context("Orders", "AWS::DynamoDB::Table"),
                          {**KEYS, "BillingMode": "PAY_PER_REQUEST"})

    assert result.physical_id.startswith("test-stack-Orders-")
    assert describe(result.physical_id)["TableName"] == result.physical_id


def test_table_stores_keys_indexes_and_throughput(make_context: ContextFactory) -> None:
    """Keys, GSIs, LSIs and provisioned throughput given as strings reach DynamoDB."""
    properties = {
        **KEYS,
        "AttributeDefinitions": [*KEYS["AttributeDefinitions"],
                                 {"AttributeName": "gsi", "AttributeType": "S"}],
        "TableName": "indexed",
        "ProvisionedThroughput": {"ReadCapacityUnits": "5", "WriteCapacityUnits": "3"},
        "GlobalSecondaryIndexes": [{
            "IndexName": "by-gsi",
            "KeySchema": [{"AttributeName": "gsi", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
            "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 1},
            "ContributorInsightsSpecification": {"Enabled": False},
        }],
        "LocalSecondaryIndexes": [{
            "IndexName": "by-gsi-local",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "gsi", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }],
    }
    create_table(make_context("Table", "AWS::DynamoDB::Table"), properties)

    table = describe("indexed")
    assert table["KeySchema"] == KEYS["KeySchema"]
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert table["ProvisionedThroughput"]["WriteCapacityUnits"] == 3
    gsi = table["GlobalSecondaryIndexes"][0]
    assert gsi["IndexName"] == "by-gsi"
    assert gsi["ProvisionedThroughput"]["ReadCapacityUnits"] == 2
    lsi = table["LocalSecondaryIndexes"][0]
    assert lsi["IndexName"] == "by-gsi-local"
    assert lsi["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_table_stream_ttl_sse_and_protection(make_context: ContextFactory) -> None:
    """Stream, TTL, SSE, PITR, deletion protection and tags are applied (TABLE_DOC)."""
    properties = {
        **KEYS,
        "TableName": "configured",
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
        "TimeToLiveSpecification": {"AttributeName": "expires", "Enabled": "true"},
        "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS",
                             "KMSMasterKeyId": "alias/aws/dynamodb"},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": "true"},
        "DeletionProtectionEnabled": "true",
        "Tags": [{"Key": "team", "Value": "orders"}],
    }
    result = create_table(make_context("Table", "AWS::DynamoDB::Table"), properties)

    client = boto3.client("dynamodb", region_name="us-east-1")
    table = describe("configured")
    assert table["StreamSpecification"] == {"StreamEnabled": True,
                                            "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert result.attributes["StreamArn"] == table["LatestStreamArn"]
    assert table["SSEDescription"]["SSEType"] == "KMS"
    assert table["DeletionProtectionEnabled"] is True
    ttl = client.describe_time_to_live(TableName="configured")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
    backups = client.describe_continuous_backups(TableName="configured")
    recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert recovery["PointInTimeRecoveryStatus"] == "ENABLED"
    tags = client.list_tags_of_resource(ResourceArn=result.attributes["Arn"])["Tags"]
    assert tags == [{"Key": "team", "Value": "orders"}]


def test_table_resource_policy(make_context: ContextFactory) -> None:
    """ResourcePolicy.PolicyDocument is attached to the table (TABLE_DOC)."""
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "dynamodb:GetItem", "Resource": "*"}]}
    result = create_table(make_context("Table", "AWS::DynamoDB::Table"),
                          {**KEYS, "TableName": "shared", "BillingMode": "PAY_PER_REQUEST",
                           "ResourcePolicy": {"PolicyDocument": policy}})

    client = boto3.client("dynamodb", region_name="us-east-1")
    stored = client.get_resource_policy(ResourceArn=result.attributes["Arn"])["Policy"]
    assert "dynamodb:GetItem" in stored


@pytest.mark.parametrize(
    ("properties", "message", "source"),
    [
        ({"AttributeDefinitions": KEYS["AttributeDefinitions"]},
         "#: required key [KeySchema] not found", TABLE_DOC),
        ({**KEYS, "Colour": "blue"}, "#: extraneous key [Colour] is not permitted", TABLE_DOC),
        ({**KEYS, "DeletionProtectionEnabled": "maybe"},
         "#/DeletionProtectionEnabled: expected type: Boolean, found: String", TABLE_DOC),
        ({**KEYS, "ProvisionedThroughput": {"ReadCapacityUnits": 1}},
         "#/ProvisionedThroughput: required key [WriteCapacityUnits] not found", TABLE_DOC),
    ],
)
def test_table_invalid_properties(make_context: ContextFactory, properties: dict[str, Any],
                                  message: str, source: str) -> None:
    """Invalid properties fail with CloudFormation's validation message."""
    with pytest.raises(ResourceCreationFailed) as failure:
        create_table(make_context("Table", "AWS::DynamoDB::Table"), properties)

    assert failure.value.reason == (
        f"Properties validation failed for resource with message: {message}")


@pytest.mark.parametrize(
    "extra",
    [
        {"KinesisStreamSpecification": {"StreamArn": "arn:aws:kinesis:us-east-1:1:stream/s"}},
        {"ContributorInsightsSpecification": {"Enabled": True}},
    ],
)
def test_table_unemulated_property(make_context: ContextFactory, extra: dict[str, Any]) -> None:
    """A documented property that the emulation cannot apply fails and names itself."""
    with pytest.raises(ResourceCreationFailed, match="not emulated") as failure:
        create_table(make_context("Table", "AWS::DynamoDB::Table"),
                     {**KEYS, "BillingMode": "PAY_PER_REQUEST", **extra})

    assert next(iter(extra)) in failure.value.reason

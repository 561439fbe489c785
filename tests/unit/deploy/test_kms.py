"""Tests for the KMS key and alias handlers."""

from __future__ import annotations

import json
from collections.abc import Callable

import boto3
import pytest

from windtunnel.deploy.resources.base import ResourceContext, ResourceCreationFailed
from windtunnel.deploy.resources.kms import create_alias, create_key

ContextFactory = Callable[..., ResourceContext]

KEY_DOC = ("https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
           "aws-resource-kms-key.html")
ALIAS_DOC = ("https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
             "aws-resource-kms-alias.html")

POLICY = {"Version": "2012-10-17", "Statement": [{
    "Sid": "root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
    "Action": "kms:*", "Resource": "*"}]}


def test_key_ref_and_attributes(make_context: ContextFactory) -> None:
    """Ref returns the key ID; Arn and KeyId are attributes (KEY_DOC, Return values)."""
    result = create_key(make_context("Key", "AWS::KMS::Key"),
                        {"KeyPolicy": POLICY, "Description": "app key",
                         "Tags": [{"Key": "team", "Value": "app"}]})

    client = boto3.client("kms", region_name="us-east-1")
    metadata = client.describe_key(KeyId=result.physical_id)["KeyMetadata"]
    assert result.attributes == {"Arn": metadata["Arn"], "KeyId": result.physical_id}
    assert metadata["Arn"] == f"arn:aws:kms:us-east-1:123456789012:key/{result.physical_id}"
    assert metadata["Description"] == "app key"
    # Defaults from KEY_DOC: a SYMMETRIC_DEFAULT key that is enabled.
    assert metadata["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert metadata["Enabled"] is True
    policy = client.get_key_policy(KeyId=result.physical_id, PolicyName="default")["Policy"]
    assert json.loads(policy) == POLICY
    tags = client.list_resource_tags(KeyId=result.physical_id)["Tags"]
    assert tags == [{"TagKey": "team", "TagValue": "app"}]


def test_key_rotation_and_disabled(make_context: ContextFactory) -> None:
    """EnableKeyRotation turns rotation on and Enabled false disables the key (KEY_DOC)."""
    result = create_key(make_context("Key", "AWS::KMS::Key"),
                        {"EnableKeyRotation": "true", "Enabled": "false",
                         "KeySpec": "SYMMETRIC_DEFAULT"})

    client = boto3.client("kms", region_name="us-east-1")
    assert client.get_key_rotation_status(KeyId=result.physical_id)["KeyRotationEnabled"]
    assert client.describe_key(KeyId=result.physical_id)["KeyMetadata"]["Enabled"] is False


def test_asymmetric_signing_key(make_context: ContextFactory) -> None:
    """KeySpec and KeyUsage are passed to CreateKey (KEY_DOC)."""
    result = create_key(make_context("Key", "AWS::KMS::Key"),
                        {"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"})

    client = boto3.client("kms", region_name="us-east-1")
    metadata = client.describe_key(KeyId=result.physical_id)["KeyMetadata"]
    assert metadata["KeySpec"] == "RSA_2048"
    assert metadata["KeyUsage"] == "SIGN_VERIFY"


@pytest.mark.parametrize(
    ("properties", "match"),
    [
        ({"Policy": POLICY}, r"#: extraneous key \[Policy\] is not permitted"),
        ({"PendingWindowInDays": 3}, "PendingWindowInDays: 3 is not in the range 7 to 30"),
    ],
)
def test_key_invalid_properties(make_context: ContextFactory, properties: dict[str, object],
                                match: str) -> None:
    """Invalid key properties fail with CloudFormation's validation message (KEY_DOC)."""
    with pytest.raises(ResourceCreationFailed, match=match):
        create_key(make_context("Key", "AWS::KMS::Key"), properties)


def test_alias_ref_is_name(make_context: ContextFactory) -> None:
    """Ref returns the alias name and the alias targets the key (ALIAS_DOC)."""
    key = create_key(make_context("Key", "AWS::KMS::Key"), {})

    result = create_alias(make_context("Alias", "AWS::KMS::Alias"),
                          {"AliasName": "alias/app", "TargetKeyId": key.physical_id})

    assert result.physical_id == "alias/app"
    client = boto3.client("kms", region_name="us-east-1")
    aliases = {alias["AliasName"]: alias.get("TargetKeyId")
               for alias in client.list_aliases()["Aliases"]}
    assert aliases["alias/app"] == key.physical_id


def test_alias_missing_target(make_context: ContextFactory) -> None:
    """TargetKeyId is required (ALIAS_DOC)."""
    with pytest.raises(ResourceCreationFailed, match=r"required key \[TargetKeyId\] not found"):
        create_alias(make_context("Alias", "AWS::KMS::Alias"), {"AliasName": "alias/app"})

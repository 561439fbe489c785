"""Tests for the Secrets Manager secret and resource policy handlers."""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from windtunnel.deploy.resources.base import ResourceContext, ResourceCreationFailed
from windtunnel.deploy.resources.secretsmanager import create_resource_policy, create_secret

ContextFactory = Callable[..., ResourceContext]

SECRET_DOC = ("https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
              "aws-resource-secretsmanager-secret.html")
GENERATE_DOC = ("https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
                "aws-properties-secretsmanager-secret-generatesecretstring.html")
POLICY_DOC = ("https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
              "aws-resource-secretsmanager-resourcepolicy.html")


def secret_value(arn: str) -> str:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    value: str = client.get_secret_value(SecretId=arn)["SecretString"]
    return value


def test_secret_ref_is_arn(make_context: ContextFactory) -> None:
    """Ref and Fn::GetAtt Id return the secret ARN (SECRET_DOC, Return values)."""
    result = create_secret(make_context("Secret", "AWS::SecretsManager::Secret"),
                           {"Name": "db/password", "SecretString": "hunter2",
                            "Description": "Database password"})

    assert result.physical_id.startswith(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:db/password-")
    assert result.attributes == {"Id": result.physical_id}
    assert secret_value(result.physical_id) == "hunter2"


def test_secret_generated_in_template(make_context: ContextFactory) -> None:
    """GenerateStringKey places the password in SecretStringTemplate (GENERATE_DOC)."""
    options = {"SecretStringTemplate": '{"username": "admin"}',
               "GenerateStringKey": "password", "PasswordLength": "20",
               "ExcludePunctuation": True, "ExcludeCharacters": "abc"}
    result = create_secret(make_context("Secret", "AWS::SecretsManager::Secret"),
                           {"GenerateSecretString": options})

    document = json.loads(secret_value(result.physical_id))
    assert document["username"] == "admin"
    password = document["password"]
    assert len(password) == 20
    assert not set(password) & set(string.punctuation)
    assert not set(password) & set("abc")


def test_secret_generated_default_length(make_context: ContextFactory) -> None:
    """Without PasswordLength the generated password has 32 characters (GENERATE_DOC)."""
    result = create_secret(make_context("Secret", "AWS::SecretsManager::Secret"),
                           {"GenerateSecretString": {}})

    assert len(secret_value(result.physical_id)) == 32


@pytest.mark.parametrize(
    ("properties", "match"),
    [
        ({"SecretString": "a", "GenerateSecretString": {}}, "only 1 subschema matches"),
        ({"Value": "a"}, r"#: extraneous key \[Value\] is not permitted"),
        ({"GenerateSecretString": {"Length": 8}},
         r"#/GenerateSecretString: extraneous key \[Length\] is not permitted"),
        ({"GenerateSecretString": {"GenerateStringKey": "password"}},
         "SecretStringTemplate and GenerateStringKey must be specified together"),
        ({"ReplicaRegions": [{"Region": "eu-west-1"}]}, "ReplicaRegions .* not emulated"),
    ],
)
def test_secret_rejected_properties(make_context: ContextFactory, properties: dict[str, Any],
                                    match: str) -> None:
    """Invalid and unemulated properties fail with a message naming them (SECRET_DOC)."""
    with pytest.raises(ResourceCreationFailed, match=match):
        create_secret(make_context("Secret", "AWS::SecretsManager::Secret"), properties)


def test_resource_policy_attached(make_context: ContextFactory) -> None:
    """ResourcePolicy attaches the document; Ref returns the secret ARN (POLICY_DOC)."""
    secret = create_secret(make_context("Secret", "AWS::SecretsManager::Secret"),
                           {"SecretString": "s"})
    document = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "secretsmanager:DeleteSecret",
        "Resource": "*"}]}

    result = create_resource_policy(
        make_context("Policy", "AWS::SecretsManager::ResourcePolicy"),
        {"SecretId": secret.physical_id, "ResourcePolicy": document})

    assert result.physical_id == secret.physical_id
    client = boto3.client("secretsmanager", region_name="us-east-1")
    stored = client.get_resource_policy(SecretId=secret.physical_id)["ResourcePolicy"]
    assert json.loads(stored) == document


def test_resource_policy_missing_secret(make_context: ContextFactory) -> None:
    """SecretId is required (POLICY_DOC)."""
    with pytest.raises(ResourceCreationFailed, match=r"required key \[SecretId\] not found"):
        create_resource_policy(make_context("Policy", "AWS::SecretsManager::ResourcePolicy"),
                               {"ResourcePolicy": {}})

"""Tests for the SSM parameter handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from windtunnel.deploy.resources.base import ResourceContext, ResourceCreationFailed
from windtunnel.deploy.resources.ssm import create_parameter

ContextFactory = Callable[..., ResourceContext]

PARAMETER_DOC = ("https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
                 "aws-resource-ssm-parameter.html")


def test_parameter_ref_and_attributes(make_context: ContextFactory) -> None:
    """Ref returns the name; Type and Value are attributes (PARAMETER_DOC, Return values)."""
    result = create_parameter(make_context("Parameter", "AWS::SSM::Parameter"), {
        "Name": "/app/url", "Type": "String", "Value": "https://example.com",
        "Description": "Service URL", "Tags": {"team": "app"}})

    assert result.physical_id == "/app/url"
    assert result.attributes == {"Type": "String", "Value": "https://example.com"}
    client = boto3.client("ssm", region_name="us-east-1")
    stored = client.get_parameter(Name="/app/url")["Parameter"]
    assert stored["Type"] == "String"
    assert stored["Value"] == "https://example.com"
    tags = client.list_tags_for_resource(ResourceType="Parameter",
                                         ResourceId="/app/url")["TagList"]
    assert tags == [{"Key": "team", "Value": "app"}]


def test_string_list_generated_name(make_context: ContextFactory) -> None:
    """A StringList parameter without Name gets a generated name (PARAMETER_DOC)."""
    result = create_parameter(make_context("Hosts", "AWS::SSM::Parameter"),
                              {"Type": "StringList", "Value": "a,b,c"})

    assert result.physical_id.startswith("test-stack-Hosts-")
    stored = boto3.client("ssm", region_name="us-east-1").get_parameter(
        Name=result.physical_id)["Parameter"]
    assert stored["Type"] == "StringList"
    assert stored["Value"] == "a,b,c"


@pytest.mark.parametrize(
    ("properties", "message", "source"),
    [
        # "AWS CloudFormation doesn't support creating a SecureString parameter type."
        ({"Type": "SecureString", "Value": "secret"},
         "#/Type: SecureString is not a valid enum value", PARAMETER_DOC),
        ({"Type": "String"}, "#: required key [Value] not found", PARAMETER_DOC),
        ({"Type": "String", "Value": "v", "KeyId": "alias/k"},
         "#: extraneous key [KeyId] is not permitted", PARAMETER_DOC),
    ],
)
def test_parameter_invalid_properties(make_context: ContextFactory, properties: dict[str, Any],
                                      message: str, source: str) -> None:
    """Invalid parameters fail with CloudFormation's validation message."""
    with pytest.raises(ResourceCreationFailed) as failure:
        create_parameter(make_context("Parameter", "AWS::SSM::Parameter"), properties)

    assert failure.value.reason == (
        f"Properties validation failed for resource with message: {message}")

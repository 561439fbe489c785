"""Tests for the SQS queue and queue policy handlers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from windtunnel.deploy.resources.base import ResourceContext, ResourceCreationFailed
from windtunnel.deploy.resources.sqs import (
    create_queue,
    create_queue_inline_policy,
    create_queue_policy,
)

ContextFactory = Callable[..., ResourceContext]

QUEUE_DOC = ("https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
             "aws-resource-sqs-queue.html")
QUEUE_POLICY_DOC = ("https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
                    "aws-resource-sqs-queuepolicy.html")


def attributes_of(url: str) -> dict[str, str]:
    client = boto3.client("sqs", region_name="us-east-1")
    attributes: dict[str, str] = client.get_queue_attributes(
        QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return attributes


def test_queue_ref_and_attributes(make_context: ContextFactory) -> None:
    """Ref returns the queue URL; Arn, QueueName and QueueUrl are attributes (QUEUE_DOC)."""
    result = create_queue(make_context("Queue", "AWS::SQS::Queue"), {"QueueName": "jobs"})

    assert result.physical_id == "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"
    assert result.attributes == {
        "Arn": "arn:aws:sqs:us-east-1:123456789012:jobs",
        "QueueName": "jobs",
        "QueueUrl": result.physical_id,
    }


def test_queue_stores_attributes(make_context: ContextFactory) -> None:
    """Numbers given as strings, the redrive policy and tags reach SQS (QUEUE_DOC)."""
    dead_letter = create_queue(make_context("DeadLetter", "AWS::SQS::Queue"), {})
    properties = {
        "DelaySeconds": "5",
        "VisibilityTimeout": 60,
        "MessageRetentionPeriod": "86400",
        "ReceiveMessageWaitTimeSeconds": 10,
        "MaximumMessageSize": 2048,
        "KmsMasterKeyId": "alias/aws/sqs",
        "KmsDataKeyReusePeriodSeconds": 600,
        "RedrivePolicy": {"deadLetterTargetArn": dead_letter.attributes["Arn"],
                          "maxReceiveCount": 3},
        "Tags": [{"Key": "team", "Value": "jobs"}],
    }
    result = create_queue(make_context("Queue", "AWS::SQS::Queue"), properties)

    stored = attributes_of(result.physical_id)
    assert stored["DelaySeconds"] == "5"
    assert stored["VisibilityTimeout"] == "60"
    assert stored["MessageRetentionPeriod"] == "86400"
    assert stored["ReceiveMessageWaitTimeSeconds"] == "10"
    assert stored["MaximumMessageSize"] == "2048"
    assert stored["KmsMasterKeyId"] == "alias/aws/sqs"
    assert json.loads(stored["RedrivePolicy"]) == {
        "deadLetterTargetArn": dead_letter.attributes["Arn"], "maxReceiveCount": 3}
    tags = boto3.client("sqs", region_name="us-east-1").list_queue_tags(
        QueueUrl=result.physical_id)["Tags"]
    assert tags == {"team": "jobs"}


@pytest.mark.xfail(reason="moto 5.2 does not store RedriveAllowPolicy", strict=True)
def test_queue_redrive_allow_policy(make_context: ContextFactory) -> None:
    """RedriveAllowPolicy is stored as the queue's JSON attribute (QUEUE_DOC)."""
    result = create_queue(make_context("Queue", "AWS::SQS::Queue"),
                          {"RedriveAllowPolicy": {"redrivePermission": "denyAll"}})

    stored = attributes_of(result.physical_id)
    assert json.loads(stored["RedriveAllowPolicy"]) == {"redrivePermission": "denyAll"}


def test_fifo_queue_generated_name(make_context: ContextFactory) -> None:
    """A generated FIFO queue name ends with .fifo, as SQS requires (QUEUE_DOC, QueueName)."""
    result = create_queue(make_context("Orders", "AWS::SQS::Queue"),
                          {"FifoQueue": "true", "ContentBasedDeduplication": True})

    name = result.attributes["QueueName"]
    assert name.startswith("test-stack-Orders-")
    assert name.endswith(".fifo")
    assert len(name) <= 80
    stored = attributes_of(result.physical_id)
    assert stored["FifoQueue"] == "true"
    assert stored["ContentBasedDeduplication"] == "true"


def test_standard_queue_generated_name(make_context: ContextFactory) -> None:
    """A standard queue's generated name has no .fifo suffix (QUEUE_DOC)."""
    result = create_queue(make_context("Orders", "AWS::SQS::Queue"), {"FifoQueue": False})

    assert not result.attributes["QueueName"].endswith(".fifo")
    assert "FifoQueue" not in attributes_of(result.physical_id)


def test_queue_unknown_property(make_context: ContextFactory) -> None:
    """An unknown property fails as CloudFormation's schema validation does (QUEUE_DOC)."""
    with pytest.raises(ResourceCreationFailed) as failure:
        create_queue(make_context("Queue", "AWS::SQS::Queue"), {"Colour": "blue"})

    assert failure.value.reason == ("Properties validation failed for resource with message: "
                                    "#: extraneous key [Colour] is not permitted")


def test_queue_policy_sets_policy(make_context: ContextFactory) -> None:
    """QueuePolicy sets the Policy attribute of every queue in Queues (QUEUE_POLICY_DOC)."""
    first = create_queue(make_context("First", "AWS::SQS::Queue"), {})
    second = create_queue(make_context("Second", "AWS::SQS::Queue"), {})
    document = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": "*"}]}

    result = create_queue_policy(
        make_context("Policy", "AWS::SQS::QueuePolicy"),
        {"PolicyDocument": document, "Queues": [first.physical_id, second.physical_id]})

    for queue in (first, second):
        assert json.loads(attributes_of(queue.physical_id)["Policy"]) == document
    assert result.attributes == {"Id": result.physical_id}


def test_queue_inline_policy_ref(make_context: ContextFactory) -> None:
    """QueueInlinePolicy sets the policy of one queue and its Ref is the queue URL."""
    queue = create_queue(make_context("Queue", "AWS::SQS::Queue"), {})
    document = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}]}

    result = create_queue_inline_policy(
        make_context("Policy", "AWS::SQS::QueueInlinePolicy"),
        {"PolicyDocument": document, "Queue": queue.physical_id})

    assert result.physical_id == queue.physical_id
    assert json.loads(attributes_of(queue.physical_id)["Policy"]) == document


@pytest.mark.parametrize(
    ("properties", "missing"),
    [({"Queues": []}, "PolicyDocument"), ({"PolicyDocument": {}}, "Queues")],
)
def test_queue_policy_missing_property(make_context: ContextFactory,
                                       properties: dict[str, Any], missing: str) -> None:
    """PolicyDocument and Queues are required (QUEUE_POLICY_DOC)."""
    with pytest.raises(ResourceCreationFailed) as failure:
        create_queue_policy(make_context("Policy", "AWS::SQS::QueuePolicy"), properties)

    assert failure.value.reason.endswith(f"#: required key [{missing}] not found")

"""Tests for the SNS topic, subscription and topic policy handlers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from windtunnel.deploy.resources.base import ResourceContext, ResourceCreationFailed
from windtunnel.deploy.resources.sns import (
    create_subscription,
    create_topic,
    create_topic_inline_policy,
    create_topic_policy,
)
from windtunnel.deploy.resources.sqs import create_queue

ContextFactory = Callable[..., ResourceContext]

TOPIC_DOC = ("https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
             "aws-resource-sns-topic.html")
SUBSCRIPTION_DOC = ("https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
                    "aws-resource-sns-subscription.html")
TOPIC_POLICY_DOC = ("https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
                    "aws-resource-sns-topicpolicy.html")


def sns() -> Any:
    return boto3.client("sns", region_name="us-east-1")


def test_topic_ref_and_attributes(make_context: ContextFactory) -> None:
    """Ref returns the topic ARN; TopicArn and TopicName are attributes (TOPIC_DOC)."""
    result = create_topic(make_context("Topic", "AWS::SNS::Topic"),
                          {"TopicName": "events", "DisplayName": "Events",
                           "Tags": [{"Key": "team", "Value": "events"}]})

    arn = "arn:aws:sns:us-east-1:123456789012:events"
    assert result.physical_id == arn
    assert result.attributes == {"TopicArn": arn, "TopicName": "events"}
    assert sns().get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "Events"
    assert sns().list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "team", "Value": "events"}]


def test_fifo_topic_generated_name(make_context: ContextFactory) -> None:
    """A generated FIFO topic name ends with .fifo (TOPIC_DOC, TopicName)."""
    result = create_topic(make_context("Orders", "AWS::SNS::Topic"),
                          {"FifoTopic": "true", "ContentBasedDeduplication": True})

    name = result.attributes["TopicName"]
    assert name.startswith("test-stack-Orders-")
    assert name.endswith(".fifo")
    stored = sns().get_topic_attributes(TopicArn=result.physical_id)["Attributes"]
    assert stored["FifoTopic"] == "true"
    assert stored["ContentBasedDeduplication"] == "true"


def test_topic_inline_subscriptions(make_context: ContextFactory) -> None:
    """Each entry of the Subscription property subscribes its endpoint (TOPIC_DOC)."""
    queue = create_queue(make_context("Queue", "AWS::SQS::Queue"), {})
    result = create_topic(make_context("Topic", "AWS::SNS::Topic"), {
        "Subscription": [{"Protocol": "sqs", "Endpoint": queue.attributes["Arn"]}]})

    subscriptions = sns().list_subscriptions_by_topic(TopicArn=result.physical_id)
    endpoints = [item["Endpoint"] for item in subscriptions["Subscriptions"]]
    assert endpoints == [queue.attributes["Arn"]]


def test_subscription_attributes(make_context: ContextFactory) -> None:
    """Filter policy, scope, raw delivery and redrive policy become attributes."""
    topic = create_topic(make_context("Topic", "AWS::SNS::Topic"), {})
    queue = create_queue(make_context("Queue", "AWS::SQS::Queue"), {})
    dead_letter = create_queue(make_context("DeadLetter", "AWS::SQS::Queue"), {})
    properties = {
        "TopicArn": topic.physical_id,
        "Protocol": "sqs",
        "Endpoint": queue.attributes["Arn"],
        "FilterPolicy": {"kind": ["order"]},
        "FilterPolicyScope": "MessageBody",
        "RawMessageDelivery": "true",
        "RedrivePolicy": {"deadLetterTargetArn": dead_letter.attributes["Arn"]},
    }
    result = create_subscription(make_context("Subscription", "AWS::SNS::Subscription"),
                                 properties)

    assert result.physical_id.startswith(f"{topic.physical_id}:")
    stored = sns().get_subscription_attributes(SubscriptionArn=result.physical_id)["Attributes"]
    assert json.loads(stored["FilterPolicy"]) == {"kind": ["order"]}
    assert stored["FilterPolicyScope"] == "MessageBody"
    assert stored["RawMessageDelivery"] == "true"
    assert json.loads(stored["RedrivePolicy"]) == {
        "deadLetterTargetArn": dead_letter.attributes["Arn"]}


def test_subscription_other_region(make_context: ContextFactory) -> None:
    """A Region other than the stack's is named as not emulated (SUBSCRIPTION_DOC)."""
    topic = create_topic(make_context("Topic", "AWS::SNS::Topic"), {})

    with pytest.raises(ResourceCreationFailed, match=r"Region .* not emulated"):
        create_subscription(make_context("Subscription", "AWS::SNS::Subscription"),
                            {"TopicArn": topic.physical_id, "Protocol": "email",
                             "Endpoint": "someone@example.com", "Region": "eu-west-1"})


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"TopicArn": "arn:aws:sns:us-east-1:123456789012:t"},
         "#: required key [Protocol] not found"),
        ({"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Protocol": "sqs",
          "Filter": {}}, "#: extraneous key [Filter] is not permitted"),
    ],
)
def test_subscription_invalid_properties(make_context: ContextFactory,
                                         properties: dict[str, Any], message: str) -> None:
    """Protocol and TopicArn are required; unknown keys fail (SUBSCRIPTION_DOC)."""
    with pytest.raises(ResourceCreationFailed) as failure:
        create_subscription(make_context("Subscription", "AWS::SNS::Subscription"), properties)

    assert failure.value.reason == (
        f"Properties validation failed for resource with message: {message}")


def test_topic_unknown_property(make_context: ContextFactory) -> None:
    """An unknown property fails as CloudFormation's schema validation does (TOPIC_DOC)."""
    with pytest.raises(ResourceCreationFailed, match=r"extraneous key \[Name\]"):
        create_topic(make_context("Topic", "AWS::SNS::Topic"), {"Name": "events"})


def test_topic_policy_sets_policy(make_context: ContextFactory) -> None:
    """TopicPolicy sets the Policy attribute of each topic in Topics (TOPIC_POLICY_DOC)."""
    topic = create_topic(make_context("Topic", "AWS::SNS::Topic"), {})
    document = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sns:Publish", "Resource": topic.physical_id}]}

    result = create_topic_policy(make_context("Policy", "AWS::SNS::TopicPolicy"),
                                 {"PolicyDocument": document, "Topics": [topic.physical_id]})

    stored = sns().get_topic_attributes(TopicArn=topic.physical_id)["Attributes"]["Policy"]
    assert json.loads(stored) == document
    assert result.attributes == {"Id": result.physical_id}


def test_topic_inline_policy_ref(make_context: ContextFactory) -> None:
    """TopicInlinePolicy sets one topic's policy and its Ref is the topic ARN."""
    topic = create_topic(make_context("Topic", "AWS::SNS::Topic"), {})
    document = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "sns:Publish", "Resource": "*"}]}

    result = create_topic_inline_policy(make_context("Policy", "AWS::SNS::TopicInlinePolicy"),
                                        {"PolicyDocument": document,
                                         "TopicArn": topic.physical_id})

    assert result.physical_id == topic.physical_id
    stored = sns().get_topic_attributes(TopicArn=topic.physical_id)["Attributes"]["Policy"]
    assert json.loads(stored) == document


def test_topic_policy_missing_topics(make_context: ContextFactory) -> None:
    """Topics is required (TOPIC_POLICY_DOC)."""
    with pytest.raises(ResourceCreationFailed, match=r"required key \[Topics\] not found"):
        create_topic_policy(make_context("Policy", "AWS::SNS::TopicPolicy"),
                            {"PolicyDocument": {}})

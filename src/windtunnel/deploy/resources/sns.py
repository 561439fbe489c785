"""Resource handlers for SNS topics, subscriptions and topic policies."""

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
from windtunnel.deploy.resources.iam import PolicyUse, find_policy_problem, rejected_policy
from windtunnel.deploy.resources.properties import (
    check_properties,
    coerce_boolean,
    coerce_integer,
    not_emulated,
)

# Properties of AWS::SNS::Topic, from
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sns-topic.html
_TOPIC_PROPERTIES = frozenset({
    "ArchivePolicy", "ContentBasedDeduplication", "DataProtectionPolicy",
    "DeliveryStatusLogging", "DisplayName", "FifoThroughputScope", "FifoTopic",
    "KmsMasterKeyId", "SignatureVersion", "Subscription", "Tags", "TopicName", "TracingConfig",
})
# Topic properties that CreateTopic takes as attributes of the same name.
_TOPIC_STRING_ATTRIBUTES = ("DisplayName", "FifoThroughputScope", "KmsMasterKeyId",
                            "SignatureVersion", "TracingConfig")

# SNS's limit for a topic name, the .fifo suffix included.
_TOPIC_NAME_MAX_LENGTH = 256
_FIFO_SUFFIX = ".fifo"

# The prefix of the feedback attributes for each protocol in DeliveryStatusLogging, from
# https://docs.aws.amazon.com/sns/latest/dg/topics-attrib.html
_FEEDBACK_ATTRIBUTE_PREFIXES = {
    "application": "Application", "firehose": "Firehose", "http/s": "HTTP",
    "lambda": "Lambda", "sqs": "SQS",
}

# Properties of AWS::SNS::Subscription, from
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sns-subscription.html
_SUBSCRIPTION_PROPERTIES = frozenset({
    "DeliveryPolicy", "Endpoint", "FilterPolicy", "FilterPolicyScope", "Protocol",
    "RawMessageDelivery", "RedrivePolicy", "Region", "ReplayPolicy", "SubscriptionRoleArn",
    "TopicArn",
})
_SUBSCRIPTION_JSON_ATTRIBUTES = ("DeliveryPolicy", "FilterPolicy", "RedrivePolicy", "ReplayPolicy")

_TOPIC_POLICY_PROPERTIES = frozenset({"PolicyDocument", "Topics"})
_TOPIC_INLINE_POLICY_PROPERTIES = frozenset({"PolicyDocument", "TopicArn"})


@provisions("AWS::SNS::Topic")
def create_topic(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a standard or FIFO topic with its inline subscriptions; ``Ref`` returns its ARN."""
    check_properties(properties, _TOPIC_PROPERTIES)

    fifo = coerce_boolean(properties.get("FifoTopic", False), "FifoTopic")
    # A generated FIFO topic name keeps the .fifo suffix that SNS requires.
    name = properties.get("TopicName") or context.physical_name(
        max_length=_TOPIC_NAME_MAX_LENGTH, suffix=_FIFO_SUFFIX if fifo else "")

    request: dict[str, Any] = {"Name": name, "Attributes": _topic_attributes(properties, fifo)}
    if properties.get("Tags"):
        request["Tags"] = properties["Tags"]
    if "DataProtectionPolicy" in properties:
        request["DataProtectionPolicy"] = _json_text(properties["DataProtectionPolicy"])

    client = context.client("sns")
    arn = client.create_topic(**request)["TopicArn"]

    # The feedback attributes are accepted by SetTopicAttributes only, one at a time.
    for attribute, value in _delivery_status_attributes(properties).items():
        client.set_topic_attributes(TopicArn=arn, AttributeName=attribute, AttributeValue=value)
    for position, subscription in enumerate(properties.get("Subscription", [])):
        missing = [key for key in ("Endpoint", "Protocol") if key not in subscription]
        if missing:
            raise ResourceCreationFailed(
                f"Properties validation failed for resource with message: "
                f"#/Subscription/{position}: required key [{', '.join(missing)}] not found"
            )
        client.subscribe(TopicArn=arn, Protocol=subscription["Protocol"],
                         Endpoint=subscription["Endpoint"])

    return Provisioned(physical_id=arn, attributes={"TopicArn": arn, "TopicName": name})


def _topic_attributes(properties: Mapping[str, Any], fifo: bool) -> dict[str, str]:
    attributes = {name: str(properties[name]) for name in _TOPIC_STRING_ATTRIBUTES
                  if name in properties}
    if fifo:
        attributes["FifoTopic"] = "true"
    if "ContentBasedDeduplication" in properties:
        enabled = coerce_boolean(properties["ContentBasedDeduplication"],
                                 "ContentBasedDeduplication")
        attributes["ContentBasedDeduplication"] = "true" if enabled else "false"
    if "ArchivePolicy" in properties:
        attributes["ArchivePolicy"] = _json_text(properties["ArchivePolicy"])
    return attributes


def _delivery_status_attributes(properties: Mapping[str, Any]) -> dict[str, str]:
    """Translate DeliveryStatusLogging into the topic's per-protocol feedback attributes."""
    attributes: dict[str, str] = {}
    for position, logging_config in enumerate(properties.get("DeliveryStatusLogging", [])):
        path = f"DeliveryStatusLogging/{position}"
        protocol = logging_config.get("Protocol")
        prefix = _FEEDBACK_ATTRIBUTE_PREFIXES.get(protocol or "")
        if prefix is None:
            allowed = ", ".join(_FEEDBACK_ATTRIBUTE_PREFIXES)
            raise ResourceCreationFailed(
                f"Properties validation failed for resource with message: "
                f"#/{path}/Protocol: {protocol} is not a valid enum value (expected one of "
                f"{allowed})"
            )
        for role in ("SuccessFeedbackRoleArn", "FailureFeedbackRoleArn"):
            if role in logging_config:
                attributes[f"{prefix}{role}"] = logging_config[role]
        if "SuccessFeedbackSampleRate" in logging_config:
            rate = coerce_integer(logging_config["SuccessFeedbackSampleRate"],
                                  f"{path}/SuccessFeedbackSampleRate")
            attributes[f"{prefix}SuccessFeedbackSampleRate"] = str(rate)
    return attributes


@provisions("AWS::SNS::Subscription")
def create_subscription(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Subscribe an endpoint to a topic; ``Ref`` returns the subscription ARN."""
    check_properties(properties, _SUBSCRIPTION_PROPERTIES)
    require_properties(properties, "Protocol", "TopicArn")

    # NOTE: the handler's client is bound to the stack's region, so a subscription to a
    # topic in another region (the Region property) cannot be created.
    region = properties.get("Region")
    if region is not None and region != context.region:
        raise not_emulated(context.resource_type, "Region",
                           f"the subscription must be in the stack's region {context.region}, "
                           f"not {region}")

    request: dict[str, Any] = {
        "TopicArn": properties["TopicArn"],
        "Protocol": properties["Protocol"],
        "Attributes": _subscription_attributes(properties),
        "ReturnSubscriptionArn": True,
    }
    if "Endpoint" in properties:
        request["Endpoint"] = properties["Endpoint"]

    arn = context.client("sns").subscribe(**request)["SubscriptionArn"]
    return Provisioned(physical_id=arn)


def _subscription_attributes(properties: Mapping[str, Any]) -> dict[str, str]:
    """Render the subscription's properties as Subscribe attributes, which are all strings."""
    attributes = {name: _json_text(properties[name]) for name in _SUBSCRIPTION_JSON_ATTRIBUTES
                  if name in properties}
    if "FilterPolicyScope" in properties:
        attributes["FilterPolicyScope"] = properties["FilterPolicyScope"]
    if "RawMessageDelivery" in properties:
        raw = coerce_boolean(properties["RawMessageDelivery"], "RawMessageDelivery")
        attributes["RawMessageDelivery"] = "true" if raw else "false"
    if "SubscriptionRoleArn" in properties:
        attributes["SubscriptionRoleArn"] = properties["SubscriptionRoleArn"]
    return attributes


@provisions("AWS::SNS::TopicPolicy")
def create_topic_policy(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Set the policy document on each topic, given by ARN."""
    check_properties(properties, _TOPIC_POLICY_PROPERTIES)
    require_properties(properties, "PolicyDocument", "Topics")

    client = context.client("sns")
    _check_topic_policy(context, properties["PolicyDocument"])
    policy = _json_text(properties["PolicyDocument"])
    for arn in properties["Topics"]:
        client.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=policy)

    # CloudFormation assigns the policy an ID of its own; Fn::GetAtt Id returns the same.
    policy_id = context.physical_name(max_length=255)
    return Provisioned(physical_id=policy_id, attributes={"Id": policy_id})


@provisions("AWS::SNS::TopicInlinePolicy")
def create_topic_inline_policy(context: ResourceContext,
                               properties: dict[str, Any]) -> Provisioned:
    """Set the policy document on one topic; ``Ref`` returns the topic ARN."""
    check_properties(properties, _TOPIC_INLINE_POLICY_PROPERTIES)
    require_properties(properties, "PolicyDocument", "TopicArn")
    _check_topic_policy(context, properties["PolicyDocument"])

    context.client("sns").set_topic_attributes(
        TopicArn=properties["TopicArn"], AttributeName="Policy",
        AttributeValue=_json_text(properties["PolicyDocument"]))
    return Provisioned(physical_id=properties["TopicArn"])


def _check_topic_policy(context: ResourceContext, document: Any) -> None:
    """Raise SNS's error for a topic policy that is not valid policy grammar.

    SNS rejects a policy without Principal with "Policy Error: null", and moto 5.2 stores
    any document. NOTE: the same message is assumed for every other grammar error.
    """
    if find_policy_problem(document, PolicyUse.RESOURCE) is not None:
        raise rejected_policy(context, "SetTopicAttributes", "InvalidParameter",
                              "Invalid parameter: Policy Error: null")


def _json_text(value: Any) -> str:
    """Return a policy given as a JSON object or as a JSON string as a JSON string."""
    return value if isinstance(value, str) else json.dumps(value)

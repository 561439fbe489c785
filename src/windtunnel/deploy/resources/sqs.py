"""Resource handlers for SQS queues and queue policies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from windtunnel.deploy.resources.base import (
    Provisioned,
    ResourceContext,
    provisions,
    require_properties,
)
from windtunnel.deploy.resources.iam import PolicyUse, find_policy_problem, rejected_policy
from windtunnel.deploy.resources.properties import (
    check_properties,
    coerce_boolean,
    coerce_integer,
    tags_to_dict,
)

# Properties of AWS::SQS::Queue, from
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sqs-queue.html
# Each one except QueueName and Tags is a CreateQueue attribute of the same name.
_INTEGER_ATTRIBUTES = frozenset({
    "DelaySeconds", "KmsDataKeyReusePeriodSeconds", "MaximumMessageSize",
    "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds", "VisibilityTimeout",
})
_BOOLEAN_ATTRIBUTES = frozenset({"ContentBasedDeduplication", "FifoQueue", "SqsManagedSseEnabled"})
_STRING_ATTRIBUTES = frozenset({"DeduplicationScope", "FifoThroughputLimit", "KmsMasterKeyId"})
# NOTE: moto 5.2 accepts RedriveAllowPolicy but does not store it, so GetQueueAttributes
# leaves it out and no queue is kept from naming this one as its dead-letter queue.
_JSON_ATTRIBUTES = frozenset({"RedriveAllowPolicy", "RedrivePolicy"})
_QUEUE_PROPERTIES = (_INTEGER_ATTRIBUTES | _BOOLEAN_ATTRIBUTES | _STRING_ATTRIBUTES
                     | _JSON_ATTRIBUTES | {"QueueName", "Tags"})

# SQS's limit for a queue name, the .fifo suffix included.
_QUEUE_NAME_MAX_LENGTH = 80
_FIFO_SUFFIX = ".fifo"

_QUEUE_POLICY_PROPERTIES = frozenset({"PolicyDocument", "Queues"})
_QUEUE_INLINE_POLICY_PROPERTIES = frozenset({"PolicyDocument", "Queue"})


@provisions("AWS::SQS::Queue")
def create_queue(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a standard or FIFO queue; ``Ref`` returns its URL."""
    check_properties(properties, _QUEUE_PROPERTIES)

    fifo = coerce_boolean(properties.get("FifoQueue", False), "FifoQueue")
    # A generated FIFO queue name keeps the .fifo suffix that SQS requires.
    name = properties.get("QueueName") or context.physical_name(
        max_length=_QUEUE_NAME_MAX_LENGTH, suffix=_FIFO_SUFFIX if fifo else "")

    request: dict[str, Any] = {"QueueName": name, "Attributes": _queue_attributes(properties)}
    tags = tags_to_dict(properties.get("Tags"))
    if tags:
        request["tags"] = tags

    client = context.client("sqs")
    url = client.create_queue(**request)["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    return Provisioned(physical_id=url,
                       attributes={"Arn": arn, "QueueName": name, "QueueUrl": url})


def _queue_attributes(properties: Mapping[str, Any]) -> dict[str, str]:
    """Render the queue's properties as CreateQueue attributes, which are all strings."""
    attributes: dict[str, str] = {}
    for name, value in properties.items():
        if name in _INTEGER_ATTRIBUTES:
            attributes[name] = str(coerce_integer(value, name))
        elif name in _BOOLEAN_ATTRIBUTES:
            attributes[name] = "true" if coerce_boolean(value, name) else "false"
        elif name in _STRING_ATTRIBUTES:
            attributes[name] = str(value)
        elif name in _JSON_ATTRIBUTES:
            # Templates give the redrive policies as JSON objects or as JSON strings.
            attributes[name] = value if isinstance(value, str) else json.dumps(value)

    # A standard queue is SQS's default, so FifoQueue=false needs no attribute.
    if attributes.get("FifoQueue") == "false":
        del attributes["FifoQueue"]
    return attributes


@provisions("AWS::SQS::QueuePolicy")
def create_queue_policy(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Set the policy document on each queue, given by URL."""
    check_properties(properties, _QUEUE_POLICY_PROPERTIES)
    require_properties(properties, "PolicyDocument", "Queues")

    client = context.client("sqs")
    _check_queue_policy(context, properties["PolicyDocument"])
    policy = _policy_text(properties["PolicyDocument"])
    for url in properties["Queues"]:
        client.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})

    # CloudFormation assigns the policy an ID of its own; Fn::GetAtt Id returns the same.
    policy_id = context.physical_name(max_length=255)
    return Provisioned(physical_id=policy_id, attributes={"Id": policy_id})


@provisions("AWS::SQS::QueueInlinePolicy")
def create_queue_inline_policy(context: ResourceContext,
                               properties: dict[str, Any]) -> Provisioned:
    """Set the policy document on one queue, given by URL."""
    check_properties(properties, _QUEUE_INLINE_POLICY_PROPERTIES)
    require_properties(properties, "PolicyDocument", "Queue")

    client = context.client("sqs")
    _check_queue_policy(context, properties["PolicyDocument"])
    client.set_queue_attributes(QueueUrl=properties["Queue"],
                                Attributes={"Policy": _policy_text(properties["PolicyDocument"])})
    return Provisioned(physical_id=properties["Queue"])


def _policy_text(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def _check_queue_policy(context: ResourceContext, document: Any) -> None:
    """Raise SQS's error for a queue policy that is not valid policy grammar.

    SQS returns one message whatever is wrong with the document. moto 5.2 stores any
    document.
    """
    if find_policy_problem(document, PolicyUse.RESOURCE) is not None:
        raise rejected_policy(context, "SetQueueAttributes", "InvalidAttributeValue",
                              "Invalid value for the parameter Policy.")

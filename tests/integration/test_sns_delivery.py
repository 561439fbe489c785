"""SNS subscriptions deliver to SQS and Lambda as SNS does: filter policies, the notification
envelope, raw message delivery and subscription dead-letter queues.

Sources:
- Envelope fields and their order:
  https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
- Raw message delivery (body only, attributes as SQS message attributes):
  https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html
- At most 10 attributes with raw delivery, none with MessageStructure json:
  https://docs.aws.amazon.com/sns/latest/dg/SNSMessageAttributes.html
- Filter policies, whose non-matching messages are not delivered:
  https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html
- Dead-letter queues for client-side errors (a deleted endpoint, a policy that denies SNS),
  which need a queue policy that allows SNS:
  https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html
  https://docs.aws.amazon.com/sns/latest/dg/sns-configure-dead-letter-queue.html
- SAM's SNS event FilterPolicy:
  https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-sns.html
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from windtunnel import DeploymentError, EmulatedStack, Stack

HANDLER = """
def handler(event, context):
    return event
"""


def _queue_policy(queue: str) -> str:
    return f"""
  {queue}Policy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref {queue}]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {{Service: sns.amazonaws.com}}
            Action: sqs:SendMessage
            Resource: !GetAtt {queue}.Arn
            Condition:
              ArnEquals: {{aws:SourceArn: !Ref Topic}}
"""


TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31

Resources:
  Topic:
    Type: AWS::SNS::Topic

  EnvelopeQueue:
    Type: AWS::SQS::Queue
  EnvelopeSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Topic
      Protocol: sqs
      Endpoint: !GetAtt EnvelopeQueue.Arn
      FilterPolicy: {kind: [order]}

  RawQueue:
    Type: AWS::SQS::Queue
  RawSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Topic
      Protocol: sqs
      Endpoint: !GetAtt RawQueue.Arn
      RawMessageDelivery: true
      FilterPolicyScope: MessageBody
      FilterPolicy: {order: {total: [{numeric: [">", 10]}]}}

  # No queue policy: SNS may not send to it, so messages go to the dead-letter queue.
  ClosedQueue:
    Type: AWS::SQS::Queue
  ClosedSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Topic
      Protocol: sqs
      Endpoint: !GetAtt ClosedQueue.Arn
      FilterPolicy: {kind: [order]}
      RedrivePolicy: {deadLetterTargetArn: !GetAtt DeadLetterQueue.Arn}
  DeadLetterQueue:
    Type: AWS::SQS::Queue

  # A function that does not exist: a client-side error.
  MissingFunctionSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Topic
      Protocol: lambda
      Endpoint: !Sub arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:function:missing
      FilterPolicy: {kind: [refund]}
      RedrivePolicy: {deadLetterTargetArn: !GetAtt DeadLetterQueue.Arn}

  # The dead-letter queue itself has no policy for SNS, so the message is lost.
  UnreachableQueue:
    Type: AWS::SQS::Queue
  UnreachableSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Topic
      Protocol: sqs
      Endpoint: !GetAtt UnreachableQueue.Arn
      FilterPolicy: {kind: [unreachable]}
      RedrivePolicy: {deadLetterTargetArn: !GetAtt ClosedDeadLetterQueue.Arn}
  ClosedDeadLetterQueue:
    Type: AWS::SQS::Queue

  Subscriber:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      CodeUri: src/
      Handler: app.handler
      Events:
        Orders:
          Type: SNS
          Properties:
            Topic: !Ref Topic
            FilterPolicy:
              kind: [order]
              amount: [{numeric: [">=", 100]}]
""" + "".join(_queue_policy(queue) for queue in ("EnvelopeQueue", "RawQueue", "DeadLetterQueue"))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("sns-delivery")
    (root / "template.yaml").write_text(TEMPLATE)
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER)
    with Stack.local(root, stack_name="sns-delivery") as loaded:
        yield loaded


@pytest.fixture(autouse=True)
def fresh_state(stack: EmulatedStack) -> Iterator[None]:
    yield
    stack.reset()


def _receive(stack: EmulatedStack, logical_id: str) -> list[dict[str, Any]]:
    received = stack.client("sqs").receive_message(
        QueueUrl=stack.physical_id(logical_id), MaxNumberOfMessages=10,
        MessageAttributeNames=["All"])
    messages: list[dict[str, Any]] = received.get("Messages", [])
    return messages


def _publish(stack: EmulatedStack, message: str, *, kind: str,
             subject: str | None = None, **numbers: str) -> str:
    attributes: dict[str, Any] = {"kind": {"DataType": "String", "StringValue": kind}}
    for name, value in numbers.items():
        attributes[name] = {"DataType": "Number", "StringValue": value}
    request: dict[str, Any] = {"TopicArn": stack.physical_id("Topic"), "Message": message,
                               "MessageAttributes": attributes}
    if subject is not None:
        request["Subject"] = subject
    message_id: str = stack.client("sns").publish(**request)["MessageId"]
    stack.settle()
    return message_id


def test_envelope_fields_in_order(stack: EmulatedStack) -> None:
    """Without raw delivery the queue receives the JSON envelope, fields in SNS's order."""
    message_id = _publish(stack, "hello", kind="order", subject="Greeting", amount="5")

    [message] = _receive(stack, "EnvelopeQueue")
    body = json.loads(message["Body"])

    assert list(body) == ["Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp",
                          "SignatureVersion", "Signature", "SigningCertURL",
                          "UnsubscribeURL", "MessageAttributes"]
    assert body["Type"] == "Notification"
    assert body["MessageId"] == message_id
    assert body["TopicArn"] == stack.physical_id("Topic")
    assert body["Subject"] == "Greeting"
    assert body["Message"] == "hello"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["Timestamp"])
    assert body["SignatureVersion"] == "1"
    assert body["MessageAttributes"] == {"kind": {"Type": "String", "Value": "order"},
                                         "amount": {"Type": "Number", "Value": "5"}}
    assert "MessageAttributes" not in message
    assert message["Body"].startswith('{\n  "Type" : "Notification",\n  "MessageId" : ')


def test_envelope_unsubscribe_url_names_subscription(stack: EmulatedStack) -> None:
    """UnsubscribeURL is in the topic's region and names the receiving subscription."""
    _publish(stack, "hello", kind="order")

    [message] = _receive(stack, "EnvelopeQueue")
    body = json.loads(message["Body"])

    subscription_arn = stack.physical_id("EnvelopeSubscription")
    assert body["UnsubscribeURL"] == (
        "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
        f"{subscription_arn}")
    assert body["SigningCertURL"].startswith("https://sns.us-east-1.amazonaws.com/")
    assert "Subject" not in body


def test_raw_delivery_sends_body_and_attributes(stack: EmulatedStack) -> None:
    """Raw delivery sends the message itself, with SQS message attributes."""
    payload = json.dumps({"order": {"total": 12}})
    _publish(stack, payload, kind="order", amount="12")

    [message] = _receive(stack, "RawQueue")

    assert message["Body"] == payload
    assert message["MessageAttributes"]["kind"] == {"DataType": "String",
                                                    "StringValue": "order"}
    assert message["MessageAttributes"]["amount"] == {"DataType": "Number",
                                                      "StringValue": "12"}


def test_raw_delivery_false_sends_envelope(stack: EmulatedStack) -> None:
    """RawMessageDelivery set back to "false" delivers the envelope again."""
    sns = stack.client("sns")
    subscription_arn = stack.physical_id("RawSubscription")
    sns.set_subscription_attributes(SubscriptionArn=subscription_arn,
                                    AttributeName="RawMessageDelivery",
                                    AttributeValue="false")
    payload = json.dumps({"order": {"total": 12}})
    _publish(stack, payload, kind="order")

    [message] = _receive(stack, "RawQueue")

    assert json.loads(message["Body"])["Message"] == payload


def test_raw_delivery_over_ten_attributes_discarded(stack: EmulatedStack) -> None:
    """Raw delivery of 11 attributes fails, while the envelope carries all of them."""
    payload = json.dumps({"order": {"total": 12}})
    numbers = {f"n{index}": str(index) for index in range(10)}
    _publish(stack, payload, kind="order", **numbers)

    assert _receive(stack, "RawQueue") == []
    [message] = _receive(stack, "EnvelopeQueue")
    assert len(json.loads(message["Body"])["MessageAttributes"]) == 11


def test_json_structure_drops_attributes(stack: EmulatedStack) -> None:
    """MessageStructure json delivers the sqs entry, without message attributes."""
    stack.client("sns").publish(
        TopicArn=stack.physical_id("Topic"), MessageStructure="json",
        Message=json.dumps({"default": "for everyone", "sqs": "for queues"}),
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}})
    stack.settle()

    [message] = _receive(stack, "EnvelopeQueue")
    body = json.loads(message["Body"])
    assert body["Message"] == "for queues"
    assert "MessageAttributes" not in body


def test_body_policy_filters_raw_subscription(stack: EmulatedStack) -> None:
    """A MessageBody policy compares the JSON body, not the attributes."""
    _publish(stack, json.dumps({"order": {"total": 3}}), kind="order")

    assert _receive(stack, "RawQueue") == []
    assert len(_receive(stack, "EnvelopeQueue")) == 1


def test_filtered_message_is_not_a_failure(stack: EmulatedStack) -> None:
    """A message the filter policy rejects reaches neither the queue nor the DLQ."""
    _publish(stack, "refund 1", kind="rebate")

    assert _receive(stack, "EnvelopeQueue") == []
    assert _receive(stack, "ClosedQueue") == []
    assert _receive(stack, "DeadLetterQueue") == []


def test_denied_delivery_goes_to_dead_letter_queue(stack: EmulatedStack) -> None:
    """A queue whose policy denies SNS gets nothing; its DLQ gets the envelope."""
    message_id = _publish(stack, "order 1", kind="order")

    assert _receive(stack, "ClosedQueue") == []
    [message] = _receive(stack, "DeadLetterQueue")
    body = json.loads(message["Body"])
    assert body["MessageId"] == message_id
    assert body["Message"] == "order 1"
    assert body["UnsubscribeURL"].endswith(stack.physical_id("ClosedSubscription"))


def test_missing_function_goes_to_dead_letter_queue(stack: EmulatedStack) -> None:
    """A subscribed function that does not exist sends the message to the DLQ."""
    _publish(stack, "refund 1", kind="refund")

    [message] = _receive(stack, "DeadLetterQueue")
    body = json.loads(message["Body"])
    assert body["Message"] == "refund 1"
    assert body["UnsubscribeURL"].endswith(stack.physical_id("MissingFunctionSubscription"))


def test_dead_letter_queue_needs_policy(stack: EmulatedStack) -> None:
    """A DLQ whose policy does not allow SNS receives nothing: the message is discarded."""
    _publish(stack, "lost", kind="unreachable")

    assert _receive(stack, "UnreachableQueue") == []
    assert _receive(stack, "ClosedDeadLetterQueue") == []
    assert _receive(stack, "DeadLetterQueue") == []


def test_sam_event_filter_policy(stack: EmulatedStack) -> None:
    """The SAM SNS event's FilterPolicy decides which messages invoke the function."""
    _publish(stack, "small", kind="order", amount="5")
    _publish(stack, "large", kind="order", amount="150")

    deliveries = stack.events.delivered("Subscriber")

    messages = [json.loads(delivery.payload)["Records"][0]["Sns"]["Message"]
                for delivery in deliveries]
    assert messages == ["large"]


def test_subscribe_rejects_policy_over_key_limit(stack: EmulatedStack) -> None:
    """Subscribe rejects a policy with more than 5 keys (InvalidParameter, HTTP 400)."""
    policy = {f"key{index}": ["value"] for index in range(6)}

    with pytest.raises(ClientError) as raised:
        stack.client("sns").subscribe(
            TopicArn=stack.physical_id("Topic"), Protocol="sqs",
            Endpoint=stack.physical_id("EnvelopeQueue"),
            Attributes={"FilterPolicy": json.dumps(policy)})

    assert raised.value.response["Error"]["Code"] == "InvalidParameter"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_invalid_filter_policy_fails_deployment(tmp_path: Path) -> None:
    """An AWS::SNS::Subscription with an invalid filter policy fails to create."""
    template = """
Resources:
  Topic:
    Type: AWS::SNS::Topic
  Queue:
    Type: AWS::SQS::Queue
  Subscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Topic
      Protocol: sqs
      Endpoint: !GetAtt Queue.Arn
      FilterPolicy: {kind: [{wildcard: "order-*"}]}
"""
    (tmp_path / "template.yaml").write_text(template)

    with pytest.raises(DeploymentError) as caught:
        Stack.local(tmp_path, stack_name="invalid-filter")

    assert caught.value.logical_id == "Subscription"
    assert ("Invalid parameter: Attributes Reason: FilterPolicy: Unrecognized match type "
            "wildcard") in caught.value.reason

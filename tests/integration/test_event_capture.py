"""``stack.events`` with functions, rules and subscriptions: what was published and delivered.

Sources:
- Rule targets receive the event, or the output of the target's InputTransformer:
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
- Targets need resource-based policies for events.amazonaws.com (Lambda permission, queue
  and topic policies): https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html
- An event bus can be the target of a rule:
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-bus-to-bus.html
- SNS delivers to SQS a JSON notification whose Message is the published message, Type
  ``Notification``: https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
- SNS invokes a function with Records[].Sns.Message:
  https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html
- A function needs events:PutEvents on the bus in its role's policies:
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from windtunnel import EmulatedStack, EventAssertionError, Stack

pytestmark = pytest.mark.integration

HANDLERS = """
import json
import os

import boto3

events = boto3.client("events")


def publish(event, context):
    events.put_events(Entries=[{
        "EventBusName": os.environ["BUS"],
        "Source": "shop",
        "DetailType": "OrderPlaced",
        "Detail": json.dumps(event),
    }])
    return "published"


def consume(event, context):
    return event
"""

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31

Globals:
  Function:
    Runtime: python3.12
    CodeUri: src/
    Environment:
      Variables:
        BUS: !Ref ShopBus

Resources:
  ShopBus:
    Type: AWS::Events::EventBus
    Properties:
      Name: shop
  ArchiveBus:
    Type: AWS::Events::EventBus
    Properties:
      Name: archive

  PublisherFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.publish
      Policies:
        - EventBridgePutEventsPolicy:
            EventBusName: !Ref ShopBus
  # The same code without a policy for events:PutEvents.
  UnauthorizedPublisherFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.publish

  ConsumerFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.consume
  ConsumerPermission:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !Ref ConsumerFunction
      Action: lambda:InvokeFunction
      Principal: events.amazonaws.com
      SourceArn: !GetAtt OrderRule.Arn
  NotifiedFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.consume
      Events:
        Notification:
          Type: SNS
          Properties:
            Topic: !Ref OrderTopic

  OrderRule:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref ShopBus
      EventPattern:
        source: [shop]
        detail-type: [OrderPlaced]
      Targets:
        - Id: queue
          Arn: !GetAtt OrderQueue.Arn
        - Id: closed-queue
          Arn: !GetAtt ClosedQueue.Arn
        - Id: function
          Arn: !GetAtt ConsumerFunction.Arn
          InputTransformer:
            InputPathsMap:
              order: $.detail.order
            InputTemplate: '{"order": <order>}'
        - Id: topic
          Arn: !Ref OrderTopic
        - Id: archive
          Arn: !GetAtt ArchiveBus.Arn

  OrderQueue:
    Type: AWS::SQS::Queue
  OrderQueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref OrderQueue]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: events.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt OrderQueue.Arn
            Condition:
              ArnEquals: {aws:SourceArn: !GetAtt OrderRule.Arn}
  # No policy: EventBridge may not send to it.
  ClosedQueue:
    Type: AWS::SQS::Queue

  OrderTopic:
    Type: AWS::SNS::Topic
  OrderTopicPolicy:
    Type: AWS::SNS::TopicPolicy
    Properties:
      Topics: [!Ref OrderTopic]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: events.amazonaws.com}
            Action: sns:Publish
            Resource: !Ref OrderTopic
  TopicQueue:
    Type: AWS::SQS::Queue
  TopicQueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref TopicQueue]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: sns.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt TopicQueue.Arn
  TopicQueueSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref OrderTopic
      Protocol: sqs
      Endpoint: !GetAtt TopicQueue.Arn
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("event-capture")
    (root / "template.yaml").write_text(TEMPLATE)
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLERS)
    with Stack.local(root, stack_name="capture") as loaded:
        yield loaded


@pytest.fixture(autouse=True)
def fresh_state(stack: EmulatedStack) -> None:
    stack.reset()


def _rule_arn(stack: EmulatedStack) -> str:
    return str(stack.deployed.resources["OrderRule"].attributes["Arn"])


def _place_order(stack: EmulatedStack, order: int) -> None:
    stack.invoke("PublisherFunction", {"order": order}).raise_for_error()


def test_wait_for_event_from_function(stack: EmulatedStack) -> None:
    """The event a function puts on its bus is returned by wait_for."""
    _place_order(stack, 1)

    event = stack.events.wait_for({"source": ["shop"], "detail": {"order": [1]}},
                                  bus="ShopBus")

    assert event["detail-type"] == "OrderPlaced"
    assert event["detail"] == {"order": 1}


def test_function_target_receives_transformed_input(stack: EmulatedStack) -> None:
    """A Lambda target receives the InputTransformer's output, and is recorded with it."""
    _place_order(stack, 2)
    stack.settle()

    [delivery] = stack.events.delivered("ConsumerFunction")
    consumer = stack.function_name("ConsumerFunction")
    [invocation] = [result for result in stack.invocations
                    if result.function_name == consumer]

    assert delivery.json() == {"order": 2}
    assert delivery.source_arn == _rule_arn(stack)
    assert invocation.payload == {"order": 2}


def test_function_target_named_by_name_or_arn(stack: EmulatedStack) -> None:
    """A function target is found by logical ID, name or ARN."""
    _place_order(stack, 3)
    stack.settle()
    name = stack.function_name("ConsumerFunction")
    arn = stack.client("lambda").get_function_configuration(FunctionName=name)["FunctionArn"]

    for reference in ("ConsumerFunction", name, arn):
        assert [delivery.json() for delivery in stack.events.delivered(reference)] == [
            {"order": 3}]


def test_queue_target_receives_event(stack: EmulatedStack) -> None:
    """A queue target allowed by its policy receives the event; the message names the rule."""
    _place_order(stack, 4)
    [published] = stack.events.published(bus="ShopBus")

    [delivery] = stack.events.delivered("OrderQueue")
    [message] = stack.events.messages(queue="OrderQueue")
    received = stack.client("sqs").receive_message(
        QueueUrl=stack.physical_id("OrderQueue"))["Messages"]

    assert delivery.json()["id"] == published["id"]
    assert delivery.json()["detail"] == {"order": 4}
    assert message.source_arn == _rule_arn(stack)
    assert [item["Body"] for item in received] == [message.body]


def test_queue_without_policy_receives_nothing(stack: EmulatedStack) -> None:
    """A delivery that the queue policy does not allow is not recorded."""
    _place_order(stack, 5)

    assert stack.events.delivered("ClosedQueue") == []
    assert stack.events.messages(queue="ClosedQueue") == []


def test_topic_target_and_its_subscriptions(stack: EmulatedStack) -> None:
    """A topic target receives the event, and its subscriptions deliver a notification."""
    _place_order(stack, 6)
    stack.settle()
    topic_arn = stack.physical_id("OrderTopic")

    [topic_delivery] = stack.events.delivered("OrderTopic")
    [published] = stack.events.messages(topic="OrderTopic")
    [queued] = stack.events.messages(queue="TopicQueue")
    [notified] = stack.events.delivered("NotifiedFunction")

    assert topic_delivery.json()["detail"] == {"order": 6}
    assert published.json()["detail"] == {"order": 6}
    assert queued.source_arn is not None
    assert queued.source_arn.startswith(topic_arn + ":")
    assert queued.json()["Type"] == "Notification"
    assert queued.json()["TopicArn"] == topic_arn
    assert json.loads(queued.json()["Message"])["detail"] == {"order": 6}
    [record] = notified.json()["Records"]
    assert record["Sns"]["TopicArn"] == topic_arn
    assert json.loads(record["Sns"]["Message"])["detail"] == {"order": 6}


def test_bus_target_receives_event(stack: EmulatedStack) -> None:
    """A rule whose target is another bus puts the event on that bus too."""
    _place_order(stack, 7)

    [archived] = stack.events.published(bus="ArchiveBus")
    [delivery] = stack.events.delivered("ArchiveBus")

    assert archived["source"] == "shop"
    assert archived["detail"] == {"order": 7}
    assert delivery.source_arn == _rule_arn(stack)
    assert delivery.json()["detail"] == {"order": 7}


def test_wait_for_names_putevents_denial(stack: EmulatedStack) -> None:
    """The failure message names a PutEvents call that IAM denied to a function."""
    result = stack.invoke("UnauthorizedPublisherFunction", {"order": 8})
    function_name = stack.function_name("UnauthorizedPublisherFunction")

    with pytest.raises(EventAssertionError) as raised:
        stack.events.wait_for({"source": ["shop"]}, bus="ShopBus", timeout=0)
    message = str(raised.value)

    assert result.function_error == "Unhandled"
    assert "AccessDeniedException" in result.payload["errorMessage"]
    assert "no event was published on bus ShopBus since the stack was loaded or reset" in \
        message
    assert ("IAM denied events:PutEvents 1 time since the stack was loaded or reset (see "
            "stack.iam.denials):") in message
    assert (f"  function {function_name} on "
            f"arn:aws:events:us-east-1:123456789012:event-bus/shop") in message


def test_denial_before_reset_is_not_named(stack: EmulatedStack) -> None:
    """A denial from before the last reset is left out of the message."""
    stack.invoke("UnauthorizedPublisherFunction", {"order": 9})
    stack.reset()

    with pytest.raises(EventAssertionError) as raised:
        stack.events.wait_for({"source": ["shop"]}, timeout=0)

    assert "IAM denied" not in str(raised.value)

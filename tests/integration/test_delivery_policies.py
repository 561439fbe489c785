"""Deliveries between services reach their target only when its resource-based policy allows.

Sources:
- SNS to SQS needs a queue policy for sns.amazonaws.com, usually limited to the topic with
  aws:SourceArn: https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html
- SNS to Lambda needs the function policy to allow sns.amazonaws.com, and the event shape:
  https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html
- EventBridge targets need resource-based policies for events.amazonaws.com (Lambda
  functions, SQS queues, SNS topics):
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html
- SAM's SNS and EventBridgeRule events add the AWS::Lambda::Permission and, with
  SqsSubscription, the AWS::SQS::QueuePolicy:
  https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-sns.html
  https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-eventbridgerule.html
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from windtunnel import DeploymentError, EmulatedStack, Stack
from windtunnel.cloud.moto_corrections import (
    authorize_sns_deliveries,
    validate_bucket_notification_destinations,
)

HANDLER = """
def handler(event, context):
    return event
"""

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31

Globals:
  Function:
    Runtime: python3.12
    CodeUri: src/
    Handler: app.handler

Resources:
  Topic:
    Type: AWS::SNS::Topic
  OtherTopic:
    Type: AWS::SNS::Topic

  # SNS to SQS: with the usual policy, without a policy, with another topic's ARN.
  AllowedQueue:
    Type: AWS::SQS::Queue
  AllowedQueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref AllowedQueue]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: sns.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt AllowedQueue.Arn
            Condition:
              ArnEquals: {aws:SourceArn: !Ref Topic}
  AllowedSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Topic
      Protocol: sqs
      Endpoint: !GetAtt AllowedQueue.Arn
  ClosedQueue:
    Type: AWS::SQS::Queue
  ClosedSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Topic
      Protocol: sqs
      Endpoint: !GetAtt ClosedQueue.Arn
  OtherSourceQueue:
    Type: AWS::SQS::Queue
  OtherSourceQueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref OtherSourceQueue]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: sns.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt OtherSourceQueue.Arn
            Condition:
              ArnEquals: {aws:SourceArn: !Ref OtherTopic}
  OtherSourceSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Topic
      Protocol: sqs
      Endpoint: !GetAtt OtherSourceQueue.Arn

  # SAM adds the permissions for these event sources.
  SubscribedFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Notification:
          Type: SNS
          Properties:
            Topic: !Ref Topic
        Shop:
          Type: EventBridgeRule
          Properties:
            Pattern:
              source: [shop]
  QueueReaderFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Buffered:
          Type: SNS
          Properties:
            Topic: !Ref OtherTopic
            SqsSubscription: true

  # No permission: neither SNS nor EventBridge may invoke it.
  UnpermittedFunction:
    Type: AWS::Serverless::Function
  UnpermittedSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Topic
      Protocol: lambda
      Endpoint: !GetAtt UnpermittedFunction.Arn

  # EventBridge to SQS, Lambda and SNS.
  AppRule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern:
        source: [app]
      Targets:
        - {Id: allowed, Arn: !GetAtt EventsQueue.Arn}
        - {Id: closed, Arn: !GetAtt ClosedEventsQueue.Arn}
        - {Id: function, Arn: !GetAtt UnpermittedFunction.Arn}
        - {Id: topic, Arn: !Ref EventsTopic}
        - {Id: default-topic, Arn: !Ref DefaultPolicyTopic}
  EventsQueue:
    Type: AWS::SQS::Queue
  EventsQueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref EventsQueue]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: events.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt EventsQueue.Arn
            Condition:
              ArnEquals: {aws:SourceArn: !GetAtt AppRule.Arn}
  ClosedEventsQueue:
    Type: AWS::SQS::Queue
  EventsTopic:
    Type: AWS::SNS::Topic
  EventsTopicPolicy:
    Type: AWS::SNS::TopicPolicy
    Properties:
      Topics: [!Ref EventsTopic]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: events.amazonaws.com}
            Action: sns:Publish
            Resource: !Ref EventsTopic
  DefaultPolicyTopic:
    Type: AWS::SNS::Topic
  TopicReaderQueue:
    Type: AWS::SQS::Queue
  TopicReaderQueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref TopicReaderQueue]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: sns.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt TopicReaderQueue.Arn
  EventsTopicSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref EventsTopic
      Protocol: sqs
      RawMessageDelivery: true
      Endpoint: !GetAtt TopicReaderQueue.Arn
  DefaultPolicyTopicSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref DefaultPolicyTopic
      Protocol: sqs
      RawMessageDelivery: true
      Endpoint: !GetAtt TopicReaderQueue.Arn
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("deliveries")
    (root / "template.yaml").write_text(TEMPLATE)
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER)
    # moto's SNS delivers to queues and functions itself; this correction checks their
    # policies first and runs Lambda subscribers in process.
    authorize_sns_deliveries()
    with Stack.local(root, stack_name="deliveries") as loaded:
        yield loaded


@pytest.fixture(autouse=True)
def fresh_state(stack: EmulatedStack) -> Iterator[None]:
    yield
    stack.reset()


def _messages(stack: EmulatedStack, logical_id: str) -> list[str]:
    """Return the bodies of the messages waiting in a queue of the stack."""
    received = stack.client("sqs").receive_message(QueueUrl=stack.physical_id(logical_id),
                                                   MaxNumberOfMessages=10)
    return [message["Body"] for message in received.get("Messages", [])]


def _publish(stack: EmulatedStack, logical_id: str, message: str) -> None:
    stack.client("sns").publish(TopicArn=stack.physical_id(logical_id), Message=message)
    stack.settle()


def _put_event(stack: EmulatedStack, source: str, detail: dict[str, Any]) -> None:
    stack.client("events").put_events(Entries=[{
        "Source": source, "DetailType": "Test", "Detail": json.dumps(detail)}])
    stack.settle()


def _invocations_of(stack: EmulatedStack, logical_id: str) -> list[Any]:
    name = stack.physical_id(logical_id)
    return [result.payload for result in stack.invocations if result.function_name == name]


def test_sns_delivers_to_queue_that_allows_topic(stack: EmulatedStack) -> None:
    """The queue policy for sns.amazonaws.com with the topic's aws:SourceArn lets it in."""
    _publish(stack, "Topic", "order 1")

    bodies = _messages(stack, "AllowedQueue")

    assert len(bodies) == 1
    assert json.loads(bodies[0])["Message"] == "order 1"


def test_sns_skips_queue_without_policy(stack: EmulatedStack,
                                        caplog: pytest.LogCaptureFixture) -> None:
    """A queue without a policy receives nothing, and the drop is logged with both ARNs."""
    caplog.set_level(logging.INFO, logger="windtunnel.cloud.moto_corrections")
    _publish(stack, "Topic", "order 2")

    topic_arn = stack.physical_id("Topic")
    queue_arn = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.physical_id("ClosedQueue"),
        AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    drops = [record.getMessage() for record in caplog.records
             if queue_arn in record.getMessage()]

    assert _messages(stack, "ClosedQueue") == []
    assert len(drops) == 1
    assert topic_arn in drops[0]
    assert "sqs:SendMessage" in drops[0]


def test_sns_skips_queue_for_other_topic(stack: EmulatedStack) -> None:
    """A queue policy whose aws:SourceArn names another topic does not let this one in."""
    _publish(stack, "Topic", "order 3")

    assert _messages(stack, "OtherSourceQueue") == []


def test_sns_invokes_function_with_permission(stack: EmulatedStack) -> None:
    """SAM's SNS event adds the permission, and the function gets SNS's Lambda event."""
    _publish(stack, "Topic", "order 4")

    [event] = _invocations_of(stack, "SubscribedFunction")
    [record] = event["Records"]

    assert record["EventSource"] == "aws:sns"
    assert record["Sns"]["Type"] == "Notification"
    assert record["Sns"]["Message"] == "order 4"
    assert record["Sns"]["TopicArn"] == stack.physical_id("Topic")
    assert record["EventSubscriptionArn"].startswith(stack.physical_id("Topic") + ":")


def test_sns_skips_function_without_permission(stack: EmulatedStack) -> None:
    """A function subscribed without an AWS::Lambda::Permission is not invoked."""
    _publish(stack, "Topic", "order 5")

    assert _invocations_of(stack, "UnpermittedFunction") == []


def test_sam_sqs_subscription_delivers(stack: EmulatedStack) -> None:
    """SAM's SqsSubscription adds a queue policy for the topic, so the message arrives, and
    its event source mapping passes it on to the function."""
    _publish(stack, "OtherTopic", "buffered")

    [message] = stack.events.messages(queue="QueueReaderFunctionBufferedQueue")
    reader = stack.physical_id("QueueReaderFunction")
    readings = [result for result in stack.invocations if result.function_name == reader]

    assert json.loads(message.body)["Message"] == "buffered"
    assert message.source_arn is not None
    assert len(readings) == 1


def test_eventbridge_invokes_function_with_permission(stack: EmulatedStack) -> None:
    """SAM's EventBridgeRule event adds the permission for its rule."""
    _put_event(stack, "shop", {"order": 6})

    [event] = _invocations_of(stack, "SubscribedFunction")

    assert event["source"] == "shop"
    assert event["detail"] == {"order": 6}


def test_eventbridge_delivers_to_queue_that_allows_rule(stack: EmulatedStack) -> None:
    """The queue policy for events.amazonaws.com with the rule's ARN lets the event in."""
    _put_event(stack, "app", {"order": 7})

    [body] = _messages(stack, "EventsQueue")

    assert json.loads(body)["detail"] == {"order": 7}


def test_eventbridge_skips_queue_without_policy(stack: EmulatedStack) -> None:
    """A queue without a policy receives no event."""
    _put_event(stack, "app", {"order": 8})

    assert _messages(stack, "ClosedEventsQueue") == []


def test_eventbridge_skips_function_without_permission(stack: EmulatedStack) -> None:
    """A function without a permission for events.amazonaws.com is not invoked."""
    _put_event(stack, "app", {"order": 9})

    assert _invocations_of(stack, "UnpermittedFunction") == []


def test_eventbridge_publishes_to_topic_that_allows_it(stack: EmulatedStack) -> None:
    """A topic policy for events.amazonaws.com lets the event in; the topic's default
    policy does not, because it allows only callers from the owner's account."""
    _put_event(stack, "app", {"order": 10})

    bodies = _messages(stack, "TopicReaderQueue")

    assert len(bodies) == 1
    assert json.loads(bodies[0])["detail"] == {"order": 10}


# S3 checks a notification's destinations when the configuration is put.
# Sources: https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html
# and the response recorded in https://github.com/awslabs/aws-lambda-redshift-loader/issues/219
# (InvalidArgument, "Unable to validate the following destination configurations").

S3_TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Uploads:
    Type: AWS::S3::Bucket
  ResizeFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      CodeUri: src/
      Handler: app.handler
      Events:
        Created:
          Type: S3
          Properties:
            Bucket: !Ref Uploads
            Events: s3:ObjectCreated:*
"""

UNPERMITTED_QUEUE_TEMPLATE = """
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Uploads:
    Type: AWS::S3::Bucket
    Properties:
      NotificationConfiguration:
        QueueConfigurations:
          - Event: s3:ObjectCreated:*
            Queue: !GetAtt Queue.Arn
"""


def _application(root: Path, template: str) -> Path:
    (root / "template.yaml").write_text(template)
    (root / "src").mkdir(exist_ok=True)
    (root / "src" / "app.py").write_text(HANDLER)
    validate_bucket_notification_destinations()
    return root


def test_sam_s3_event_loads_with_its_permission(tmp_path: Path) -> None:
    """SAM's S3 event adds the permission, so the bucket's notification is accepted."""
    with Stack.local(_application(tmp_path, S3_TEMPLATE), stack_name="uploads") as loaded:
        stored = loaded.client("s3").get_bucket_notification_configuration(
            Bucket=loaded.physical_id("Uploads"))

    [configuration] = stored["LambdaFunctionConfigurations"]
    assert configuration["LambdaFunctionArn"].endswith(loaded.physical_id("ResizeFunction"))


def test_notification_to_unpermitted_queue_fails_load(tmp_path: Path) -> None:
    """A bucket notification to a queue whose policy does not allow S3 fails the bucket."""
    with pytest.raises(DeploymentError) as caught:
        Stack.local(_application(tmp_path, UNPERMITTED_QUEUE_TEMPLATE), stack_name="uploads")

    assert caught.value.logical_id == "Uploads"
    assert "Unable to validate the following destination configurations" in caught.value.reason


def test_put_notification_checks_function_policy(tmp_path: Path) -> None:
    """PutBucketNotificationConfiguration fails until the function policy allows S3 for
    the bucket; the error names the function."""
    template = """
Resources:
  Uploads:
    Type: AWS::S3::Bucket
  Resize:
    Type: AWS::Serverless::Function
    Properties: {Runtime: python3.12, CodeUri: src/, Handler: app.handler}
Transform: AWS::Serverless-2016-10-31
"""
    with Stack.local(_application(tmp_path, template), stack_name="uploads") as loaded:
        s3 = loaded.client("s3")
        bucket = loaded.physical_id("Uploads")
        function_arn = loaded.client("lambda").get_function(
            FunctionName=loaded.physical_id("Resize"))["Configuration"]["FunctionArn"]
        configuration = {"LambdaFunctionConfigurations": [
            {"LambdaFunctionArn": function_arn, "Events": ["s3:ObjectCreated:*"]}]}

        with pytest.raises(ClientError) as caught:
            s3.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration=configuration)
        loaded.client("lambda").add_permission(
            FunctionName=function_arn, StatementId="s3", Action="lambda:InvokeFunction",
            Principal="s3.amazonaws.com", SourceArn=f"arn:aws:s3:::{bucket}")
        s3.put_bucket_notification_configuration(Bucket=bucket,
                                                 NotificationConfiguration=configuration)

    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidArgument"
    assert error["Message"] == "Unable to validate the following destination configurations"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

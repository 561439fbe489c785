"""S3 event notifications reach functions, queues, topics and EventBridge.

Sources:
- Event types, destinations and prefix/suffix filters:
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventNotifications.html
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html
- The record S3 sends (eventVersion 2.1 for object created and removed events, the key
  URL-encoded, no size or eTag for removals):
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
- S3 invokes functions asynchronously: https://docs.aws.amazon.com/lambda/latest/dg/with-s3.html
- Destination permissions for s3.amazonaws.com:
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html
- EventBridge events from S3 ("Object Created", "Object Deleted", source aws.s3):
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from windtunnel import EmulatedStack, Stack

HANDLER = """
def handler(event, context):
    return event
"""

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Removed: {Type: AWS::SQS::Queue}
  RemovedPolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref Removed]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: s3.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt Removed.Arn
  Reports: {Type: AWS::SNS::Topic}
  ReportsPolicy:
    Type: AWS::SNS::TopicPolicy
    Properties:
      Topics: [!Ref Reports]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: s3.amazonaws.com}
            Action: sns:Publish
            Resource: !Ref Reports
  ReportReader: {Type: AWS::SQS::Queue}
  ReportReaderPolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref ReportReader]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: sns.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt ReportReader.Arn
  ReportSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Reports
      Protocol: sqs
      Endpoint: !GetAtt ReportReader.Arn
      RawMessageDelivery: true
  BusReader: {Type: AWS::SQS::Queue}
  BusReaderPolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref BusReader]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: events.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt BusReader.Arn
  ObjectEvents:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: {source: [aws.s3]}
      Targets: [{Id: reader, Arn: !GetAtt BusReader.Arn}]

  Uploads:
    Type: AWS::S3::Bucket
    DependsOn: [RemovedPolicy, ReportsPolicy]
    Properties:
      NotificationConfiguration:
        QueueConfigurations:
          - Event: s3:ObjectRemoved:*
            Queue: !GetAtt Removed.Arn
        TopicConfigurations:
          - Event: s3:ObjectCreated:*
            Topic: !Ref Reports
            Filter: {S3Key: {Rules: [{Name: prefix, Value: reports/}]}}
        EventBridgeConfiguration: {EventBridgeEnabled: true}

  Thumbnail:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      CodeUri: src/
      Handler: app.handler
      Events:
        Photo:
          Type: S3
          Properties:
            Bucket: !Ref Uploads
            Events: s3:ObjectCreated:*
            Filter: {S3Key: {Rules: [{Name: suffix, Value: .jpg}]}}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root = tmp_path_factory.mktemp("s3-notifications")
    (root / "template.yaml").write_text(TEMPLATE)
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER)
    with Stack.local(root, stack_name="s3-notifications") as loaded:
        yield loaded


@pytest.fixture(autouse=True)
def _reset(stack: EmulatedStack) -> None:
    stack.reset()


def _put(stack: EmulatedStack, key: str, body: bytes = b"data") -> None:
    stack.client("s3").put_object(Bucket=stack.physical_id("Uploads"), Key=key, Body=body)
    stack.settle()


def _thumbnail_events(stack: EmulatedStack) -> list[dict[str, Any]]:
    name = stack.function_name("Thumbnail")
    return [invocation.payload for invocation in stack.invocations
            if invocation.function_name == name]


def _bodies(stack: EmulatedStack, queue: str) -> list[dict[str, Any]]:
    response = stack.client("sqs").receive_message(QueueUrl=stack.physical_id(queue),
                                                   MaxNumberOfMessages=10)
    return [json.loads(message["Body"]) for message in response.get("Messages", [])]


def test_put_invokes_function_with_s3_event(stack: EmulatedStack) -> None:
    """A new .jpg object invokes the function with S3's record."""
    _put(stack, "2024/summer trip.jpg", b"12345")

    [event] = _thumbnail_events(stack)
    [record] = event["Records"]
    bucket = stack.physical_id("Uploads")
    assert record["eventVersion"] == "2.1"
    assert record["eventSource"] == "aws:s3"
    assert record["awsRegion"] == "us-east-1"
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["eventTime"].endswith("Z")
    assert set(record) == {"eventVersion", "eventSource", "awsRegion", "eventTime",
                           "eventName", "userIdentity", "requestParameters",
                           "responseElements", "s3"}
    assert set(record["responseElements"]) == {"x-amz-request-id", "x-amz-id-2"}
    s3 = record["s3"]
    assert s3["s3SchemaVersion"] == "1.0"
    assert s3["bucket"]["name"] == bucket
    assert s3["bucket"]["arn"] == f"arn:aws:s3:::{bucket}"
    assert "principalId" in s3["bucket"]["ownerIdentity"]
    assert s3["object"]["key"] == "2024/summer+trip.jpg"
    assert s3["object"]["size"] == 5
    assert s3["object"]["eTag"] == "827ccb0eea8a706c4c34a16891f84e7b"
    assert len(s3["object"]["sequencer"]) > 0


def test_suffix_filter_skips_other_keys(stack: EmulatedStack) -> None:
    """An object whose key does not end in .jpg does not invoke the function."""
    _put(stack, "notes.txt")

    assert _thumbnail_events(stack) == []


def test_prefix_filter_selects_topic_messages(stack: EmulatedStack) -> None:
    """Only keys under reports/ reach the topic, and its subscribers get S3's record.

    The topic also received S3's s3:TestEvent when the configuration was put.
    """
    _put(stack, "reports/q1.csv")
    _put(stack, "other/q1.csv")

    bodies = _bodies(stack, "ReportReader")
    assert [body["Event"] for body in bodies if "Event" in body] == ["s3:TestEvent"]
    [record] = [record for body in bodies for record in body.get("Records", [])]
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["object"]["key"] == "reports/q1.csv"


def test_delete_sends_removed_record_to_queue(stack: EmulatedStack) -> None:
    """Deleting an object sends ObjectRemoved:Delete, without size and eTag."""
    _put(stack, "old.txt")
    stack.client("s3").delete_object(Bucket=stack.physical_id("Uploads"), Key="old.txt")
    stack.settle()

    records = [record for body in _bodies(stack, "Removed")
               for record in body.get("Records", [])]
    [record] = records
    assert record["eventName"] == "ObjectRemoved:Delete"
    assert set(record["s3"]["object"]) == {"key", "sequencer"}


def test_eventbridge_receives_object_created(stack: EmulatedStack) -> None:
    """A bucket with EventBridge enabled sends "Object Created" from aws.s3 to the bus."""
    _put(stack, "any.bin", b"abc")

    events = [body for body in _bodies(stack, "BusReader")
              if body.get("detail-type") == "Object Created"]
    [event] = events
    assert event["source"] == "aws.s3"
    assert event["resources"] == [f"arn:aws:s3:::{stack.physical_id('Uploads')}"]
    assert event["detail"]["bucket"] == {"name": stack.physical_id("Uploads")}
    assert event["detail"]["object"]["key"] == "any.bin"
    assert event["detail"]["object"]["size"] == 3
    assert event["detail"]["reason"] == "PutObject"


def test_event_time_follows_virtual_clock(stack: EmulatedStack) -> None:
    """eventTime is when S3 finished the request, on the stack's clock."""
    stack.clock.advance(86_400)
    _put(stack, "later.jpg")

    [event] = _thumbnail_events(stack)
    expected = stack.clock.now().strftime("%Y-%m-%dT%H:%M:%S")
    assert event["Records"][0]["eventTime"].startswith(expected)


def test_queue_without_s3_permission_gets_nothing(stack: EmulatedStack) -> None:
    """After the queue policy stops allowing S3, removals no longer reach the queue."""
    sqs = stack.client("sqs")
    sqs.set_queue_attributes(QueueUrl=stack.physical_id("Removed"),
                             Attributes={"Policy": ""})
    _put(stack, "kept.txt")
    stack.client("s3").delete_object(Bucket=stack.physical_id("Uploads"), Key="kept.txt")
    stack.settle()

    records = [record for body in _bodies(stack, "Removed")
               for record in body.get("Records", [])]
    assert records == []


def test_eventbridge_receives_object_deleted(stack: EmulatedStack) -> None:
    """DeleteObject on an unversioned bucket sends "Object Deleted", permanently deleted."""
    _put(stack, "gone.bin")
    stack.client("s3").delete_object(Bucket=stack.physical_id("Uploads"), Key="gone.bin")
    stack.settle()

    events = [body for body in _bodies(stack, "BusReader")
              if body.get("detail-type") == "Object Deleted"]
    [event] = events
    assert event["detail"]["reason"] == "DeleteObject"
    assert event["detail"]["deletion-type"] == "Permanently Deleted"
    assert event["detail"]["object"]["key"] == "gone.bin"
    assert "size" not in event["detail"]["object"]
